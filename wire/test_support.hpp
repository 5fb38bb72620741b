#pragma once
// Helpers for the wire tests: an io_context runner, identities signed by a test authority, an echo peer.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "actr/protocol/credential.hpp"
#include "actr/protocol/encoding.hpp"
#include "actr/protocol/ids.hpp"
#include "actr/wire/websocket.hpp"

// gtest's ASSERT_* return from the function; coroutines need co_return.
#define CO_ASSERT_TRUE(cond)                     \
  if (!(cond)) {                                 \
    ADD_FAILURE() << "assertion failed: " #cond; \
    co_return;                                   \
  } else                                         \
    (void)0
#define CO_ASSERT_OK(result)                                              \
  if (!(result)) {                                                        \
    ADD_FAILURE() << #result " failed: " << (result).error().to_string(); \
    co_return;                                                            \
  } else                                                                  \
    (void)0

namespace actr::wire::testing {

namespace asio = boost::asio;
using namespace std::chrono_literals;

/// Runs `body` on a fresh io_context served by `threads` threads and fails the test if it does not
/// finish within `limit`. Whatever is still pending when the body ends is torn down with the context.
inline void run(std::function<asio::awaitable<void>()> body, int threads = 1,
                std::chrono::seconds limit = std::chrono::seconds(30)) {
  asio::io_context io(threads);
  std::atomic<bool> done{false};
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    error = e;
    done = true;
    io.stop();
  });
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { io.run_for(limit); });
  io.run_for(limit);
  io.stop();
  for (auto& t : pool) t.join();
  ASSERT_TRUE(done) << "the test coroutine did not finish within " << limit.count() << " s";
  if (error) std::rethrow_exception(error);
}

struct Identity {
  ActrId id;
  AIdCredential credential;
};

/// Plays the signaling server: one signing key, credentials on demand.
struct Authority {
  SigningKeypair keys = generate_signing_keypair();

  Identity issue(std::uint64_t serial, std::int64_t ttl_seconds = 3600) const {
    Identity out;
    out.id = make_actr_id(7, serial, make_actr_type("acme", "wire-test", "v1"));
    IdentityClaims claims;
    claims.set_realm_id(7);
    claims.set_actor_id(to_string(out.id));
    claims.set_expires_at(
        static_cast<std::uint64_t>(static_cast<std::int64_t>(unix_now_seconds()) + ttl_seconds));
    out.credential = *sign_credential(claims, 1, keys.secret_key);
    return out;
  }

  /// A verifier like the runtime's: the credential must be signed by this authority and name the caller.
  Verifier verifier(std::shared_ptr<std::atomic<int>> calls = nullptr) const {
    return [pubkey = keys.public_key, calls](ActrId claimed,
                                             AIdCredential credential) -> asio::awaitable<Result<ActrId>> {
      if (calls) ++*calls;
      auto claims = verify_credential(credential, pubkey, claimed, unix_now_seconds());
      if (!claims) co_return std::unexpected(claims.error());
      co_return claimed;
    };
  }
};

/// A one-shot value that a coroutine can wait for (single-threaded io_context only).
template <class T>
class Slot {
 public:
  explicit Slot(asio::any_io_executor ex) : timer_(ex) {
    timer_.expires_at(asio::steady_timer::time_point::max());
  }
  void set(T value) {
    value_ = std::move(value);
    timer_.cancel();
  }
  asio::awaitable<T> get() {
    if (!value_) {
      boost::system::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return std::move(*value_);
  }
  bool has_value() const { return value_.has_value(); }

 private:
  asio::steady_timer timer_;
  std::optional<T> value_;
};

/// Sends, waiting for room in the queue when the connection pushes back.
inline asio::awaitable<Result<void>> send_when_writable(Connection& connection, PayloadType lane,
                                                        std::string data) {
  Result<void> result = connection.send(lane, std::move(data));
  while (!result && result.error().code == ErrorCode::ConnectionNotReady) {
    co_await connection.wait_writable(data.size());
    result = connection.send(lane, std::move(data));
  }
  co_return result;
}

/// Echoes every frame back on its lane until the connection ends.
inline asio::awaitable<void> echo(std::shared_ptr<Connection> connection) {
  for (;;) {
    Result<Frame> frame = co_await connection->receive();
    if (!frame) break;
    Result<void> sent = co_await send_when_writable(*connection, frame->lane, std::move(frame->data));
    if (!sent) break;
  }
}

/// A listener whose connections echo.
inline std::shared_ptr<Listener> start_echo_listener(asio::any_io_executor ex, const Authority& authority,
                                                     Options options = {}) {
  auto listener = Listener::start(
      ex, "127.0.0.1", 0, authority.verifier(),
      [ex](std::shared_ptr<Connection> connection) {
        asio::co_spawn(ex, echo(std::move(connection)), asio::detached);
      },
      options);
  EXPECT_TRUE(listener) << listener.error().to_string();
  return listener ? *listener : nullptr;
}

inline std::string address_of(const Listener& listener) {
  return "ws://127.0.0.1:" + std::to_string(listener.port());
}

/// Both ends of one loopback connection: `near` (identity `client`) dialed `far` (identity
/// `server`) through `listener`.
struct ConnectedPair {
  std::shared_ptr<Listener> listener;
  std::shared_ptr<Connection> near;
  std::shared_ptr<Connection> far;
  Identity client;
  Identity server;
};

inline asio::awaitable<std::optional<ConnectedPair>> connect_pair(asio::any_io_executor ex,
                                                                  const Authority& authority,
                                                                  Options listener_options = {},
                                                                  Options dial_options = {}) {
  ConnectedPair pair;
  pair.client = authority.issue(1);
  pair.server = authority.issue(2);
  auto accepted = std::make_shared<Slot<std::shared_ptr<Connection>>>(ex);
  auto listener = Listener::start(
      ex, "127.0.0.1", 0, authority.verifier(),
      [accepted](std::shared_ptr<Connection> c) { accepted->set(std::move(c)); }, listener_options);
  if (!listener) {
    ADD_FAILURE() << "listener: " << listener.error().to_string();
    co_return std::nullopt;
  }
  pair.listener = *listener;
  auto dialed = co_await connect(ex, address_of(*pair.listener), pair.server.id, pair.client.id,
                                 pair.client.credential, std::chrono::steady_clock::now() + 5s, dial_options);
  if (!dialed) {
    ADD_FAILURE() << "dial: " << dialed.error().to_string();
    co_return std::nullopt;
  }
  pair.near = *dialed;
  pair.far = co_await accepted->get();
  co_return pair;
}

inline std::chrono::steady_clock::time_point in(std::chrono::milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

inline bool contains(std::string_view text, std::string_view fragment) {
  return text.find(fragment) != std::string_view::npos;
}

}  // namespace actr::wire::testing
