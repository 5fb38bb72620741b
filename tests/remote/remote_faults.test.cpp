// Across processes, part two: nodes built from their files, data streams on the stream lanes,
// RPC_SIGNAL priority, retries with the same request_id over a cut connection, re-registration
// after actr-signal lost its data, and nodes running two io threads. The fixture is in fixture.hpp.

#include <fmt/format.h>

#include <actr/config/fingerprint.hpp>
#include <boost/asio/redirect_error.hpp>

#include <atomic>
#include <fstream>
#include <thread>

#include "actr/runtime/node_files.hpp"
#include "fixture.hpp"
#include "proxy.hpp"

namespace actr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
constexpr std::chrono::milliseconds kTenSeconds{10'000};

/// Polls `condition` every 10 ms until it holds or `timeout` passes (a wait, never a proof).
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// The sequences the server's stream handler saw, asked over a connection of its own.
std::vector<std::uint64_t> stream_state(const Signal& signal, const ActrId& server,
                                        const std::string& stream) {
  StreamStateRequest request;
  request.set_stream_id(stream);
  auto responses = raw_exchange(signal, server, "remote-client",
                                {raw_request("remote.v1.RemoteTest.StreamState", "state", request)});
  StreamStateReply reply;
  if (responses.size() != 1 || !reply.ParseFromString(responses[0].payload())) return {};
  return {reply.sequences().begin(), reply.sequences().end()};
}

/// Opens the server's gate: a chunk on its "release" stream, sent over a connection of its own.
void release(const Signal& signal, const ActrId& server) {
  DataChunk chunk;
  chunk.set_stream_id("release");
  chunk.set_sequence(0);
  chunk.set_payload("go");
  std::string bytes = chunk.SerializeAsString();
  EXPECT_TRUE(raw_session(signal, server, "remote-client", [&](wire::Connection& c) -> asio::awaitable<void> {
    EXPECT_TRUE(c.send(STREAM_RELIABLE, std::move(bytes)));
    // An answered request behind it proves the chunk was read before the connection closes.
    Text text;
    auto echo = raw_request("remote.v1.RemoteTest.Echo", "after-release", text);
    EXPECT_TRUE(c.send(RPC_RELIABLE, echo.SerializeAsString()));
    auto frame = co_await c.receive();
    EXPECT_TRUE(frame);
  }));
}

DataChunk make_chunk(std::string stream, std::uint64_t sequence, std::size_t bytes) {
  DataChunk chunk;
  chunk.set_stream_id(std::move(stream));
  chunk.set_sequence(sequence);
  chunk.set_payload(std::string(bytes, static_cast<char>('a' + sequence % 26)));
  return chunk;
}

/// A one-shot event for coroutines on one executor: wait() until set() (bounded).
struct Event {
  explicit Event(asio::any_io_executor ex) : timer(ex, std::chrono::steady_clock::time_point::max()) {}
  asio::awaitable<bool> wait(std::chrono::milliseconds timeout) {
    if (!is_set) {
      timer.expires_after(timeout);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return is_set;
  }
  void set() {
    is_set = true;
    timer.cancel();
  }
  asio::steady_timer timer;
  bool is_set = false;
};

void write_file(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST_F(Remote, NodesStartFromTheirFiles) {
  const fs::path dir = fs::temp_directory_path() / ("actr-files-" + std::to_string(signal.port));
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      std::string(RemoteTestHandler::kServiceName));
  ASSERT_NE(service, nullptr);
  const std::string fingerprint = config::service_fingerprint(*service);
  // The server: listener, ACL (only files-client), exported service, all from its files.
  write_file(dir / "server" / "actr.toml", fmt::format(R"([signaling]
url = "{}"
[realm]
id = 1
secret = "{}"
[websocket]
listen = "127.0.0.1:0"
[heartbeat]
interval_secs = 1
[[acl]]
permission = "allow"
from_type = "acme:files-client:1.0.0"
realm = 1
[duplicate_filter]
answer_max_kib = 1
[logging]
level = "warn"
)",
                                                       signal.url(), signal.secret));
  write_file(dir / "server" / "manifest.toml", R"([package]
manufacturer = "acme"
name = "remote-test"
version = "1.0.0"
description = "the test server, from files"
[exports]
protos = ["proto/remote_test.proto"]
services = ["remote.v1.RemoteTest"]
)");
  fs::create_directories(dir / "server" / "proto");
  fs::copy_file(ACTR_REMOTE_TEST_PROTO, dir / "server" / "proto" / "remote_test.proto",
                fs::copy_options::overwrite_existing);
  // The client: no listener, a dependency on the server, locked to its fingerprint.
  write_file(dir / "client" / "actr.toml",
             fmt::format("[signaling]\nurl = \"{}\"\n[realm]\nid = 1\nsecret = \"{}\"\n", signal.url(),
                         signal.secret));
  write_file(dir / "client" / "manifest.toml",
             "[package]\nmanufacturer = \"acme\"\nname = \"files-client\"\nversion = \"1.0.0\"\n"
             "[dependencies]\nserver = \"acme:remote-test:1.0.0\"\n");
  write_file(
      dir / "client" / "manifest.lock.toml",
      fmt::format("version = 1\n[[dependency]]\nalias = \"server\"\nactr_type = \"acme:remote-test:1.0.0\"\n"
                  "service = \"remote.v1.RemoteTest\"\nfingerprint = \"{}\"\n",
                  fingerprint));

  server = std::make_unique<Process>(std::vector<std::string>{ACTR_REMOTE_TEST_SERVER_BIN, "--config",
                                                              (dir / "server" / "actr.toml").string()});
  ASSERT_FALSE(server->wait_for_line("ready").empty()) << "test server did not start from its files";
  auto files = load_node_files(dir / "client" / "actr.toml");
  ASSERT_TRUE(files) << files.error().to_string();
  EXPECT_TRUE(files->config.remote->ws_listen_host.empty());
  start_client(files->config);
  run([](Context& ctx) -> asio::awaitable<void> {
    auto server_id = co_await find_server(ctx);
    Text text;
    text.set_text("from files");
    auto reply = co_await ctx.call(Dest::actor(server_id), text);
    EXPECT_TRUE(reply) << (reply ? "" : reply.error().to_string());
    if (reply) {
      EXPECT_EQ(reply->text(), "from files");
      EXPECT_EQ(reply->caller(), to_string(ctx.self_id()));
    }
    // The file's duplicate filter keeps no answer over 1 KiB (the default keeps up to 1 MiB): a
    // retry of a 4 KiB answer is refused, not run again.
    Blob blob;
    blob.set_data(std::string(4096, 'f'));
    CallOptions options(kTenSeconds);
    options.request_id = "files-big-1";
    EXPECT_TRUE(co_await ctx.call(Dest::actor(server_id), blob, options));
    auto retry = co_await ctx.call(Dest::actor(server_id), blob, options);
    EXPECT_FALSE(retry);
    if (!retry) {
      EXPECT_EQ(retry.error().code, ErrorCode::Unavailable) << retry.error().to_string();
    }
  });
  // The file's ACL: a remote-client may not even see the server.
  EXPECT_TRUE(server_ws_address(signal).empty());
  // The service and its fingerprint were registered from the manifest.
  auto ok = signal::test::register_ok(signal.port, signal.secret,
                                      signal::test::make_register(1, "acme", "files-client"));
  auto finder = signal::test::WsClient::connect(signal.port, ok);
  ASSERT_TRUE(finder);
  auto answer = finder->request(finder->actr(
      [&](signaling::ActrToSignaling& a) { a.mutable_discovery_request()->set_manufacturer("acme"); }));
  ASSERT_TRUE(answer);
  bool listed = false;
  for (const auto& entry : answer->server_to_actr().discovery_response().success().entries()) {
    if (entry.actr_type() == kServerType) {
      listed = true;
      EXPECT_EQ(entry.service_fingerprint(), fingerprint);
      EXPECT_EQ(entry.description(), "the test server, from files");
    }
  }
  EXPECT_TRUE(listed);
  fs::remove_all(dir);
}

// With one io thread the server's connections run on its node's executor and chunks are delivered
// as frames arrive; with two each connection has a strand and every frame hops to the node's.
class RemoteIoThreads : public Remote, public ::testing::WithParamInterface<int> {};

INSTANTIATE_TEST_SUITE_P(ServerThreads, RemoteIoThreads, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "Thread" + (info.param > 1 ? "s" : "");
                         });

TEST_P(RemoteIoThreads, ReliableStreamPushesBackAndLosesNothing) {
  start_server({"--stream-capacity", "4", "--threads", std::to_string(GetParam())});
  start_client(client_config());
  // 1 MiB chunks, more than the stream queue (4), both wire queues (8 MiB each) and the socket
  // buffers can hold together: with the receiver's handler held, the sender must be held too.
  constexpr int kChunks = 64;
  std::atomic<int> sent{0};
  std::atomic<bool> all_sent{false};
  ActrId server_id;
  run([&](Context& ctx) -> asio::awaitable<void> { server_id = co_await find_server(ctx); });
  auto sender = std::async(std::launch::async, [&] {
    run([&](Context& ctx) -> asio::awaitable<void> {
      auto dest = Dest::actor(server_id);
      bool ok = true;
      for (int i = 0; i < kChunks && ok; ++i) {
        auto chunk = make_chunk("reliable", static_cast<std::uint64_t>(i), 1u << 20);
        auto delivered = co_await ctx.send_data_chunk(dest, std::move(chunk), STREAM_RELIABLE);
        EXPECT_TRUE(delivered) << (delivered ? "" : delivered.error().to_string());
        ok = delivered.has_value();
        if (ok) ++sent;
      }
      all_sent = ok;
    });
  });
  // The handler holds chunk 0; the queue fills; the wire fills; the sender waits.
  ASSERT_TRUE(eventually([&] { return stream_state(signal, server_id, "reliable").size() == 1; }));
  ASSERT_TRUE(eventually([&] { return sent.load() >= 6; }));
  EXPECT_LT(sent.load(), kChunks);  // held: nothing the receiver could not take was accepted
  EXPECT_FALSE(all_sent.load());
  release(signal, server_id);
  sender.get();
  EXPECT_TRUE(all_sent.load());
  std::vector<std::uint64_t> expected(kChunks);
  for (int i = 0; i < kChunks; ++i) expected[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(i);
  ASSERT_TRUE(
      eventually([&] { return stream_state(signal, server_id, "reliable").size() == expected.size(); }));
  EXPECT_EQ(stream_state(signal, server_id, "reliable"), expected);  // all of them, in order
}

TEST_F(Remote, LatencyFirstStreamDropsWhenFull) {
  start_server({"--stream-capacity", "4"});
  start_client(client_config());
  ActrId server_id;
  run([&](Context& ctx) -> asio::awaitable<void> {
    server_id = co_await find_server(ctx);
    auto chunk = make_chunk("latency", 0, 16);
    EXPECT_TRUE(co_await ctx.send_data_chunk(Dest::actor(server_id), std::move(chunk), STREAM_LATENCY_FIRST));
  });
  ASSERT_TRUE(eventually([&] { return stream_state(signal, server_id, "latency").size() == 1; }));
  run([&](Context& ctx) -> asio::awaitable<void> {
    auto dest = Dest::actor(server_id);
    for (std::uint64_t i = 1; i <= 20; ++i) {  // the handler holds chunk 0: 4 fit, 16 are dropped
      auto chunk = make_chunk("latency", i, 16);
      auto sent = co_await ctx.send_data_chunk(dest, std::move(chunk), STREAM_LATENCY_FIRST);
      EXPECT_TRUE(sent) << (sent ? "" : sent.error().to_string());  // never held, never an error
    }
    Text barrier;  // answered after the link's earlier frames were all handed to the stream
    EXPECT_TRUE(co_await ctx.call(dest, barrier));
  });
  release(signal, server_id);
  const std::vector<std::uint64_t> expected{0, 1, 2, 3, 4};
  ASSERT_TRUE(
      eventually([&] { return stream_state(signal, server_id, "latency").size() >= expected.size(); }));
  EXPECT_EQ(stream_state(signal, server_id, "latency"), expected);
}

TEST_F(Remote, SignalLaneOvertakesQueuedWorkAcrossProcesses) {
  start_server();
  start_client(client_config());
  run([](Context& ctx) -> asio::awaitable<void> {
    auto dest = Dest::actor(co_await find_server(ctx));
    auto ex = co_await asio::this_coro::executor;
    auto started = std::make_shared<Event>(ex);
    auto on_started = [started](DataChunk, const ActrId&) -> asio::awaitable<void> {
      started->set();
      co_return;
    };
    EXPECT_TRUE(ctx.register_stream("started", std::move(on_started)));
    HoldRequest h0;
    h0.set_tag("h0");
    h0.set_announce(true);
    EXPECT_TRUE(co_await ctx.tell(dest, h0));
    EXPECT_TRUE(co_await started->wait(10s));     // the server's handler is busy with h0
    for (std::string tag : {"h1", "h2", "h3"}) {  // RPC_RELIABLE work queues behind it
      HoldRequest hold;
      hold.set_tag(tag);
      EXPECT_TRUE(co_await ctx.tell(dest, hold));
    }
    UrgentRequest urgent_tell;
    urgent_tell.set_tag("u-tell");
    EXPECT_TRUE(co_await ctx.tell(dest, urgent_tell));
    // An RPC_SIGNAL call, and behind it on the same link the chunk that frees h0.
    auto urgent_call = [&ctx, dest]() -> asio::awaitable<bool> {
      UrgentRequest urgent;
      urgent.set_tag("u-call");
      auto reply = co_await ctx.call(dest, urgent, kTenSeconds);
      co_return reply.has_value();
    };
    auto free_h0 = [&ctx, dest]() -> asio::awaitable<bool> {
      auto chunk = make_chunk("release", 0, 1);
      auto sent = co_await ctx.send_data_chunk(dest, std::move(chunk), STREAM_RELIABLE);
      co_return sent.has_value();
    };
    auto called = asio::co_spawn(ex, std::move(urgent_call), asio::use_future);
    auto freed = asio::co_spawn(ex, std::move(free_h0), asio::use_future);
    while (called.wait_for(0s) != std::future_status::ready ||
           freed.wait_for(0s) != std::future_status::ready) {
      asio::steady_timer tick(ex, 5ms);
      co_await tick.async_wait(asio::use_awaitable);
    }
    EXPECT_TRUE(called.get());
    EXPECT_TRUE(freed.get());
    LogRequest log_request;
    auto log = co_await ctx.call(dest, log_request, kTenSeconds);
    EXPECT_TRUE(log);
    if (log) {
      EXPECT_EQ(std::vector<std::string>(log->entries().begin(), log->entries().end()),
                (std::vector<std::string>{"h0", "u-tell", "u-call", "h1", "h2", "h3"}));
    }
  });
}

TEST_F(Remote, FullMailboxRefusesAtOnceAndARetryIsAdmittedLater) {
  start_server({"--mailbox-capacity", "1"});  // one queued, four held, then refused
  start_client(client_config());
  ActrId server_id;
  run([&](Context& ctx) -> asio::awaitable<void> { server_id = co_await find_server(ctx); });
  SleepRequest sleep;
  sleep.set_millis(1'500);  // keeps the handler busy while the rest arrives
  std::vector<RpcEnvelope> requests{raw_request("remote.v1.RemoteTest.Sleep", "s-0", sleep)};
  for (int i = 1; i <= 6; ++i) {
    Text text;
    text.set_text("e-" + std::to_string(i));
    requests.push_back(raw_request("remote.v1.RemoteTest.Echo", text.text(), text));
  }
  std::vector<RpcEnvelope> responses;
  std::optional<RpcEnvelope> retried;
  ASSERT_TRUE(raw_session(
      signal, server_id, "remote-raw", [&](wire::Connection& connection) -> asio::awaitable<void> {
        for (const auto& request : requests) (void)connection.send(RPC_RELIABLE, request.SerializeAsString());
        while (responses.size() < requests.size()) {
          auto frame = co_await connection.receive();
          if (!frame) co_return;
          responses.emplace_back().ParseFromString(frame->data);
        }
        (void)connection.send(RPC_RELIABLE, requests.back().SerializeAsString());  // the refused one, again
        auto frame = co_await connection.receive();
        if (frame) retried.emplace().ParseFromString(frame->data);
      }));
  ASSERT_EQ(responses.size(), requests.size());
  // The refusal comes first, long before the sleeper's answer, and names its request.
  EXPECT_EQ(responses[0].request_id(), "e-6");
  ASSERT_TRUE(responses[0].has_error());
  EXPECT_EQ(responses[0].error().code(), static_cast<std::uint32_t>(ErrorCode::Unavailable));
  EXPECT_NE(responses[0].error().message().find("full"), std::string::npos) << responses[0].error().message();
  std::vector<std::string> answered;
  for (std::size_t i = 1; i < responses.size(); ++i) {
    EXPECT_FALSE(responses[i].has_error()) << responses[i].request_id();
    answered.push_back(responses[i].request_id());
  }
  EXPECT_EQ(answered, (std::vector<std::string>{"s-0", "e-1", "e-2", "e-3", "e-4", "e-5"}));
  // Never run, so not remembered: the retry runs now instead of waiting on a cache entry.
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->request_id(), "e-6");
  ASSERT_FALSE(retried->has_error()) << retried->error().message();
  EchoReply reply;
  ASSERT_TRUE(reply.ParseFromString(retried->payload()));
  EXPECT_EQ(reply.text(), "e-6");
}

TEST_F(Remote, CutLinkFailsAtOnceAndARetryWithTheSameRequestIdRunsOnce) {
  auto server_port = free_port();
  TcpProxy proxy(server_port);  // the client reaches the server through it
  start_server(
      {"--listen-port", std::to_string(server_port), "--advertise-port", std::to_string(proxy.port())});
  start_client(client_config());
  run([&](Context& ctx) -> asio::awaitable<void> {
    auto dest = Dest::actor(co_await find_server(ctx));
    auto ex = co_await asio::this_coro::executor;
    auto started = std::make_shared<Event>(ex);
    auto on_started = [started](DataChunk, const ActrId&) -> asio::awaitable<void> {
      started->set();
      co_return;
    };
    EXPECT_TRUE(ctx.register_stream("started", std::move(on_started)));
    auto hold = [&ctx, dest](bool announce) -> asio::awaitable<Result<HoldReply>> {
      HoldRequest request;
      request.set_tag("op");
      request.set_announce(announce);
      CallOptions options(kTenSeconds);
      options.request_id = "op-1";  // the caller's own id: a retry reuses it
      co_return co_await ctx.call(dest, request, options);
    };
    auto first = asio::co_spawn(ex, hold(true), asio::use_future);
    EXPECT_TRUE(co_await started->wait(10s));  // the server runs it and holds it
    auto cut_at = std::chrono::steady_clock::now();
    proxy.cut();
    while (first.wait_for(0s) != std::future_status::ready) {
      asio::steady_timer tick(ex, 5ms);
      co_await tick.async_wait(asio::use_awaitable);
    }
    auto lost = first.get();
    EXPECT_FALSE(lost);
    if (!lost) {
      EXPECT_EQ(lost.error().code, ErrorCode::Unavailable) << lost.error().to_string();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - cut_at, 5s);  // at once, not at the 10 s deadline

    // The retry dials a fresh link; the server, still running op-1, answers it when op-1 ends.
    auto retry = asio::co_spawn(ex, hold(false), asio::use_future);
    auto free_op = [&ctx, dest]() -> asio::awaitable<bool> {
      auto chunk = make_chunk("release", 0, 1);
      auto sent = co_await ctx.send_data_chunk(dest, std::move(chunk), STREAM_RELIABLE);
      co_return sent.has_value();
    };
    auto freed = asio::co_spawn(ex, std::move(free_op), asio::use_future);
    while (retry.wait_for(0s) != std::future_status::ready) {
      asio::steady_timer tick(ex, 5ms);
      co_await tick.async_wait(asio::use_awaitable);
    }
    auto answered = retry.get();
    EXPECT_TRUE(answered) << (answered ? "" : answered.error().to_string());
    if (answered) {
      EXPECT_EQ(answered->count(), 1u);  // ran once
    }
    EXPECT_TRUE(freed.get());
    auto again = co_await hold(false);  // answered from the cache
    EXPECT_TRUE(again);
    if (again) {
      EXPECT_EQ(again->count(), 1u);
    }
    HoldRequest fresh;
    fresh.set_tag("op");
    auto second = co_await ctx.call(dest, fresh, kTenSeconds);  // a new request_id runs again
    EXPECT_TRUE(second);
    if (second) {
      EXPECT_EQ(second->count(), 2u);
    }
  });
  EXPECT_EQ(proxy.accepted(), 2);  // one link before the cut, one after
}

// The duplicate filter keeps no answer over 1 MiB (65,536 of them would hold 64 GiB): a retry of
// such a request is told its answer is gone, and the handler does not run a second time.
TEST_F(Remote, ARetryOfAnAnswerTooLargeToKeepIsRefusedNotRunTwice) {
  start_server();
  start_client(client_config());
  run([](Context& ctx) -> asio::awaitable<void> {
    auto dest = Dest::actor(co_await find_server(ctx));
    Blob blob;
    blob.set_data(std::string(std::size_t{2} << 20, 'b'));
    CallOptions options(kTenSeconds);
    options.request_id = "big-1";
    auto first = co_await ctx.call(dest, blob, options);
    EXPECT_TRUE(first) << (first ? "" : first.error().to_string());
    if (first) {
      EXPECT_EQ(first->data(), blob.data());
    }
    auto retry = co_await ctx.call(dest, blob, options);
    EXPECT_FALSE(retry);
    if (!retry) {
      EXPECT_EQ(retry.error().code, ErrorCode::Unavailable) << retry.error().to_string();
      EXPECT_NE(retry.error().message.find("'big-1' already ran"), std::string::npos)
          << retry.error().message;
    }
    CountRequest count;
    count.set_tag("big");
    auto ran = co_await ctx.call(dest, count, kTenSeconds);
    EXPECT_TRUE(ran);
    if (ran) {
      EXPECT_EQ(ran->count(), 2u);  // Big once, then this Count
    }
  });
}

// A path that stops carrying bytes (hung peer, black hole) fills the wire's queues; calls still end
// by their deadlines, those waiting to be sent as well as those waiting for an answer, and the link
// works again once the path does.
TEST_F(Remote, CallsEndByTheirDeadlinesWhenThePathStalls) {
  auto server_port = free_port();
  TcpProxy proxy(server_port);
  start_server(
      {"--listen-port", std::to_string(server_port), "--advertise-port", std::to_string(proxy.port())});
  start_client(client_config());
  run([&](Context& ctx) -> asio::awaitable<void> {
    auto dest = Dest::actor(co_await find_server(ctx));
    Text hello;
    hello.set_text("before");
    EXPECT_TRUE(co_await ctx.call(dest, hello, kTenSeconds));  // the link is up
    proxy.stall();
    // 48 MiB: more than the socket buffers on the path and the wire's 8 MiB send queue together.
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::future<Result<BlobReply>>> calls;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 12; ++i) {
      auto big = [&ctx, dest]() -> asio::awaitable<Result<BlobReply>> {
        Blob blob;
        blob.set_data(std::string(4u << 20, 'b'));
        co_return co_await ctx.call(dest, blob, std::chrono::milliseconds(1'000));
      };
      calls.push_back(asio::co_spawn(ex, big(), asio::use_future));
    }
    for (auto& call : calls) {
      while (call.wait_for(0s) != std::future_status::ready) {
        asio::steady_timer tick(ex, 5ms);
        co_await tick.async_wait(asio::use_awaitable);
      }
      auto result = call.get();
      EXPECT_FALSE(result);
      if (!result) {
        EXPECT_EQ(result.error().code, ErrorCode::TimedOut) << result.error().to_string();
        EXPECT_NE(result.error().message.find("call remote.v1."), std::string::npos)
            << result.error().message;
        EXPECT_NE(result.error().message.find("got no reply within 1000 ms"), std::string::npos);
      }
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);  // by the 1 s deadlines, give or take
    proxy.resume();
    hello.set_text("after");
    auto after = co_await ctx.call(dest, hello, std::chrono::milliseconds(30'000));
    EXPECT_TRUE(after) << (after ? "" : after.error().to_string());
  });
}

TEST_F(Remote, LostRegistrationIsRenewedAndDirectWiresKeepWorking) {
  start_server();
  start_client(client_config());
  ActrId server_id;
  run([&](Context& ctx) -> asio::awaitable<void> {
    server_id = co_await find_server(ctx);
    Text text;
    EXPECT_TRUE(co_await ctx.call(Dest::actor(server_id), text));
  });
  signal.restart_with_fresh_data();                 // every registration and signing key is gone
  run([&](Context& ctx) -> asio::awaitable<void> {  // the direct wire does not need signaling
    Text text;
    text.set_text("still here");
    auto reply = co_await ctx.call(Dest::actor(server_id), text);
    EXPECT_TRUE(reply) << (reply ? "" : reply.error().to_string());
  });
  // A third node, registered only with the new actr-signal, finds the server (it registered
  // again, with its ws_address) and calls it over a new direct connection.
  auto third_driver = std::make_shared<Driver>();
  Node third(client_config());
  auto third_ref = third.start(third_driver);
  ASSERT_TRUE(third_ref) << third_ref.error().to_string();
  third_driver->step = [](Context& ctx) -> asio::awaitable<void> {
    auto found = co_await find_server_soon(ctx);
    EXPECT_TRUE(found) << (found ? "" : found.error().to_string());
    if (!found) co_return;
    Text text;
    text.set_text("third");
    auto reply = co_await ctx.call(Dest::actor(*found), text);
    EXPECT_TRUE(reply) << (reply ? "" : reply.error().to_string());
    if (reply) {
      EXPECT_EQ(reply->caller(), to_string(ctx.self_id()));  // the server verified our new credential
    }
  };
  auto done = asio::co_spawn(third_ref->executor(),
                             third_ref->send_request(Outbound("test.Driver.Run", RPC_RELIABLE, Payload{},
                                                              std::chrono::milliseconds(60'000))),
                             asio::use_future);
  auto result = done.get();
  ASSERT_TRUE(result) << result.error().to_string();
  // The first client registered again too: it discovers through the new actr-signal.
  run([](Context& ctx) -> asio::awaitable<void> {
    auto found = co_await find_server_soon(ctx);
    EXPECT_TRUE(found) << (found ? "" : found.error().to_string());
  });
}

TEST_F(Remote, TwoIoThreadsOnBothSides) {
  start_server({"--threads", "2"});
  start_client(client_config("remote-client", {}, 2));
  ActrId server_id;
  run([&](Context& ctx) -> asio::awaitable<void> {
    server_id = co_await find_server(ctx);
    auto ex = co_await asio::this_coro::executor;
    auto dest = Dest::actor(server_id);
    std::vector<std::future<bool>> calls;
    for (int i = 0; i < 200; ++i) {
      auto one_call = [&ctx, dest, i]() -> asio::awaitable<bool> {
        Text text;
        text.set_text(std::to_string(i));
        auto reply = co_await ctx.call(dest, text, std::chrono::milliseconds(30'000));
        co_return reply && reply->text() == std::to_string(i);
      };
      calls.push_back(asio::co_spawn(ex, std::move(one_call), asio::use_future));
    }
    int answered = 0;
    for (auto& call : calls) {
      while (call.wait_for(0s) != std::future_status::ready) {
        asio::steady_timer tick(ex, 2ms);
        co_await tick.async_wait(asio::use_awaitable);
      }
      answered += call.get();
    }
    EXPECT_EQ(answered, 200);
  });
  // More callers verified by the listener at once, each on a connection of its own.
  std::vector<std::future<std::size_t>> others;
  for (int i = 0; i < 4; ++i) {
    others.push_back(std::async(std::launch::async, [&] {
      Text text;
      return raw_exchange(signal, server_id, "remote-client",
                          {raw_request("remote.v1.RemoteTest.Echo", "t", text)})
          .size();
    }));
  }
  for (auto& other : others) EXPECT_EQ(other.get(), 1u);
}

}  // namespace
}  // namespace actr::test
