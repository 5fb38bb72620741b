#pragma once
// The node's side of actr-signal: registration over HTTP (/ais/register, /ais/renew) and one
// signaling WebSocket for everything else. It heartbeats at the server's interval, reconnects with
// exponential backoff and jitter when the socket drops, renews the credential before it expires
// (at 80% of its life), and unregisters on stop. Everything runs on the node's strand.

#include <actr/signaling.pb.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "envelope.hpp"
#include "wait_list.hpp"

namespace actr::detail {

struct SignalingSettings {
  std::string signaling_url;  // ws://host:port/signaling/ws
  std::string ais_url;        // http://host:port/ais
  std::uint32_t realm_id = 0;
  std::string realm_secret;
  std::optional<std::uint32_t> heartbeat_interval_secs;  // overrides the server's suggestion
  std::chrono::milliseconds request_timeout{5'000};
};

class SignalingClient : public std::enable_shared_from_this<SignalingClient> {
 public:
  using Ok = RegisterResponse::RegisterOk;

  SignalingClient(Strand strand, SignalingSettings settings, std::function<float()> mailbox_backlog);

  /// Registers over HTTP and opens the signaling WebSocket; then keeps it alive in the background.
  asio::awaitable<Result<Ok>> start(RegisterRequest request);
  /// Unregisters (bounded) and closes; the background loops end.
  asio::awaitable<void> stop();

  const ActrId& id() const { return registration_.actr_id(); }
  const AIdCredential& credential() const { return registration_.credential(); }
  bool connected() const { return ws_ != nullptr; }

  /// One request/answer over the WebSocket (reply_for), bounded by the request timeout.
  asio::awaitable<Result<signaling::SignalingToActr>> request(signaling::ActrToSignaling payload);
  asio::awaitable<Result<RouteCandidatesResponse::RouteCandidatesOk>> route_candidates(
      RouteCandidatesRequest request);
  /// The Ed25519 public key for `key_id`, cached.
  asio::awaitable<Result<std::string>> signing_key(std::uint32_t key_id);
  asio::awaitable<Result<void>> subscribe_actr_up(const ActrType& type);
  void on_actr_up(std::function<void(const ActrId&)> callback) { on_actr_up_ = std::move(callback); }
  /// Called (on the strand) when the registration was lost for good and the node registered
  /// again: a new ActrId and credential. Direct wires already open keep working.
  void on_reregistered(std::function<void(const ActrId&)> callback) {
    on_reregistered_ = std::move(callback);
  }

 private:
  using Ws = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using Reply = std::move_only_function<void(Result<signaling::SignalingToActr>)>;

  asio::awaitable<Result<Ok>> post_register(const RegisterRequest& request);
  asio::awaitable<Result<void>> open_socket();
  asio::awaitable<void> read_loop(std::shared_ptr<Ws> ws);
  asio::awaitable<void> write_loop();
  asio::awaitable<void> heartbeat_loop();
  asio::awaitable<void> keep_connected();
  asio::awaitable<void> renew_loop();
  void lost(std::shared_ptr<Ws> ws, const std::string& why);
  /// POST /ais/register again with the first request (same ws_address, ACL, service); one at a
  /// time: a second caller waits for the first's outcome.
  asio::awaitable<Result<void>> reregister(std::string why);
  void spawn_reregister(std::string why);
  /// Subscriptions end with the signaling connection: a reconnect renews them.
  asio::awaitable<void> resubscribe();
  void send(signaling::SignalingEnvelope envelope);
  asio::awaitable<Result<signaling::SignalingToActr>> await_reply(std::string envelope_id);
  std::string next_envelope_id();

  Strand strand_;
  SignalingSettings settings_;
  std::function<float()> mailbox_backlog_;
  std::function<void(const ActrId&)> on_actr_up_;
  std::function<void(const ActrId&)> on_reregistered_;
  RegisterRequest register_request_;
  Ok registration_;
  std::vector<ActrType> subscriptions_;
  bool reregistering_ = false;
  std::shared_ptr<Ws> ws_;
  std::deque<std::string> outbox_;
  WaitList outbox_ready_;
  WaitList disconnected_;
  WaitList reregistered_;
  std::unordered_map<std::string, Reply> replies_;
  std::unordered_map<std::uint32_t, std::string> signing_keys_;
  std::uint64_t envelope_counter_ = 0;
  std::string envelope_prefix_;
  bool stopping_ = false;
};

}  // namespace actr::detail
