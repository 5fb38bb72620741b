#pragma once
// The multi-process suite's fixture: the real actr-signal, a real node process
// (actr_remote_test_server) and a node inside the test process whose workload runs each test's
// steps through its Context.

#include <gtest/gtest.h>
#include <actr/config/lock_file.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <future>

#include "actr/protocol/credential.hpp"
#include "actr/runtime/node.hpp"
#include "actr/wire/websocket.hpp"
#include "harness.hpp"
#include "process.hpp"
#include "remote_test.actr.hpp"

namespace actr::test {

namespace asio = boost::asio;
using namespace remote::v1;
using Step = std::function<asio::awaitable<void>(Context&)>;

inline const ActrType kServerType = make_actr_type("acme", "remote-test", "1.0.0");

/// Runs the test's steps inside the client actor, where Context can reach remote actors.
class Driver : public Workload {
 public:
  Step step;
  asio::awaitable<Result<Payload>> dispatch(std::string_view, Payload, Context& ctx) override {
    co_await step(ctx);
    co_return Payload{};
  }
};

struct Signal {
  unsigned short port = free_port();
  std::string data_dir = std::filesystem::temp_directory_path() / ("actr-remote-" + std::to_string(port));
  std::unique_ptr<Process> process;
  std::string secret;

  Signal() { start(); }
  ~Signal() { std::filesystem::remove_all(data_dir); }
  void start() {
    std::vector<std::string> args{ACTR_SIGNAL_BIN, "--listen", "127.0.0.1:" + std::to_string(port),
                                  "--data-dir", data_dir};
    if (!secret.empty()) args.insert(args.end(), {"--realm", "1=" + secret});  // keep the secret
    process = std::make_unique<Process>(args);
    if (secret.empty()) {
      auto line = process->wait_for_line("secret: ");
      if (!line.empty()) secret = line.substr(line.find("secret: ") + 8);
    }
    process->wait_for_line("listening on");
  }
  /// Stops actr-signal, wipes its data (registrations, signing keys) and starts it again on the
  /// same port with the same realm secret: every registration is lost for good.
  void restart_with_fresh_data() {
    process->stop(SIGTERM);
    std::filesystem::remove_all(data_dir);
    start();
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port) + "/signaling/ws"; }
};

/// The test server's direct-connect address, as route candidates tell an allowed caller.
inline std::string server_ws_address(const Signal& signal) {
  auto ok = signal::test::register_ok(signal.port, signal.secret,
                                      signal::test::make_register(1, "acme", "remote-client"));
  auto finder = signal::test::WsClient::connect(signal.port, ok);
  if (!finder) return {};
  auto answer = finder->request(finder->actr([&](signaling::ActrToSignaling& a) {
    *a.mutable_route_candidates_request()->mutable_target_type() = kServerType;
    a.mutable_route_candidates_request()->set_client_fingerprint("");
  }));
  if (!answer || answer->server_to_actr().route_candidates_response().success().ws_address_map_size() == 0)
    return {};
  return answer->server_to_actr().route_candidates_response().success().ws_address_map(0).ws_address();
}

/// Opens a direct connection to `server` as a freshly registered `name` actor (no runtime on our
/// side) and runs `session` on it: for control traffic that must not share the runtime's link.
inline bool raw_session(const Signal& signal, const ActrId& server, const std::string& name,
                        const std::function<asio::awaitable<void>(wire::Connection&)>& session) {
  auto ok =
      signal::test::register_ok(signal.port, signal.secret, signal::test::make_register(1, "acme", name));
  auto ws = signal::test::WsClient::connect(signal.port, ok);
  if (!ws) return false;
  auto ws_address = server_ws_address(signal);
  if (ws_address.empty()) return false;
  asio::io_context io;
  bool connected = false;
  auto done = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto connection =
            co_await wire::connect(io.get_executor(), ws_address, server, ok.actr_id(), ok.credential(),
                                   std::chrono::steady_clock::now() + std::chrono::seconds(5));
        if (!connection) co_return;
        connected = true;
        co_await session(**connection);
        (*connection)->close("done");
      },
      asio::use_future);
  io.run();
  done.get();
  return connected;
}

/// Sends `requests` over a direct connection opened as a freshly registered `name` actor (no
/// runtime on our side: raw frames, as a buggy or retrying peer would send them), one at a time,
/// each waiting for its answer.
inline std::vector<RpcEnvelope> raw_exchange(const Signal& signal, const ActrId& server,
                                             const std::string& name,
                                             const std::vector<RpcEnvelope>& requests) {
  std::vector<RpcEnvelope> responses;
  raw_session(signal, server, name, [&](wire::Connection& connection) -> asio::awaitable<void> {
    for (const auto& request : requests) {
      (void)connection.send(RPC_RELIABLE, request.SerializeAsString());
      auto frame = co_await connection.receive();
      if (!frame) break;
      responses.emplace_back().ParseFromString(frame->data);
    }
  });
  return responses;
}

inline RpcEnvelope raw_request(std::string route_key, std::string request_id,
                               const google::protobuf::Message& payload) {
  RpcEnvelope request;
  request.set_route_key(std::move(route_key));
  request.set_request_id(std::move(request_id));
  request.set_direction(DIRECTION_REQUEST);
  request.set_timeout_ms(5'000);
  request.set_payload(payload.SerializeAsString());
  return request;
}

struct Remote : ::testing::Test {
  Signal signal;
  std::unique_ptr<Process> server;
  std::shared_ptr<Driver> driver = std::make_shared<Driver>();
  std::unique_ptr<Node> node;
  std::optional<ActorRef> client;

  void start_server(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{ACTR_REMOTE_TEST_SERVER_BIN, "--signaling", signal.url(), "--secret",
                                  signal.secret};
    args.insert(args.end(), extra.begin(), extra.end());
    server = std::make_unique<Process>(args);
    ASSERT_FALSE(server->wait_for_line("ready").empty()) << "test server did not start";
  }
  NodeConfig client_config(std::string name = "remote-client", std::string lock_file = {},
                           std::size_t threads = 1) {
    NodeConfig config;
    config.threads = threads;
    config.actr_type = make_actr_type("acme", name, "1.0.0");
    config.realm_id = 1;
    RemoteConfig remote;
    remote.signaling_url = signal.url();
    remote.realm_secret = signal.secret;
    remote.ws_listen_host.clear();
    remote.lock_file = std::move(lock_file);
    config.remote = std::move(remote);
    return config;
  }
  void start_client(NodeConfig config) {
    node = std::make_unique<Node>(std::move(config));
    auto started = node->start(driver);
    ASSERT_TRUE(started) << started.error().to_string();
    client = *started;
  }
  void SetUp() override { ASSERT_FALSE(signal.secret.empty()) << "actr-signal did not start"; }
  void TearDown() override {
    client.reset();
    node.reset();
  }
  /// Runs `step` in the client actor and waits (bounded) for it.
  void run(Step step, std::chrono::milliseconds timeout = std::chrono::milliseconds(60'000)) {
    driver->step = std::move(step);
    auto done =
        asio::co_spawn(client->executor(),
                       client->send_request(Outbound("test.Driver.Run", RPC_RELIABLE, Payload{}, timeout)),
                       asio::use_future);
    auto result = done.get();
    ASSERT_TRUE(result) << result.error().to_string();
  }
  /// Discovery until it finds a server (bounded: reconnection and re-registration take a few
  /// backoff steps, at most 5 s each). Polls a condition; never a sleep as proof.
  static asio::awaitable<Result<ActrId>> find_server_soon(Context& ctx) {
    Result<ActrId> found = fail(ErrorCode::Unavailable, "not yet");
    for (int i = 0; i < 150; ++i) {
      found = co_await ctx.discover_route_candidate(kServerType);
      if (found) break;
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::use_awaitable);
    }
    co_return found;
  }
  /// How many of `calls` came true. Polls, yielding between polls, so the calls (spawned on this
  /// same executor) keep running while it waits.
  static asio::awaitable<int> count_true(std::vector<std::future<bool>>& calls) {
    auto ex = co_await asio::this_coro::executor;
    int count = 0;
    for (auto& call : calls) {
      while (call.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        co_await asio::post(ex, asio::use_awaitable);
      }
      count += call.get();
    }
    co_return count;
  }
  static asio::awaitable<ActrId> find_server(Context& ctx) {
    auto found = co_await ctx.discover_route_candidate(kServerType);
    EXPECT_TRUE(found) << (found ? "" : found.error().to_string());
    co_return found ? *found : ActrId{};
  }
};

}  // namespace actr::test
