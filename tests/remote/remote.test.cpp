// Across processes: calls, tells, discovery, ACL, credentials, duplicates, large payloads, a
// killed server and a restarted actr-signal. The fixture is in fixture.hpp.

#include "fixture.hpp"

namespace actr::test {
namespace {

TEST_F(Remote, TypedCallTellAndRawCallAcrossProcesses) {
  start_server();
  start_client(client_config());
  run([](Context& ctx) -> asio::awaitable<void> {
    auto server = co_await find_server(ctx);
    auto dest = Dest::actor(server);
    Text text;
    text.set_text("hello");
    CallOptions options(std::chrono::milliseconds(5'000));
    options.metadata = {{"tenant", "blue"}, {"k", "v with spaces"}};
    auto reply = co_await ctx.call(dest, text, options);
    EXPECT_TRUE(reply);
    if (!reply) co_return;
    EXPECT_EQ(reply->text(), "hello");
    EXPECT_EQ(reply->caller(), to_string(ctx.self_id()));
    EXPECT_EQ(std::vector<std::string>(reply->metadata().begin(), reply->metadata().end()),
              (std::vector<std::string>{"tenant=blue", "k=v with spaces"}));
    auto trace = parse_traceparent(reply->traceparent());
    EXPECT_TRUE(trace);
    if (trace) {
      EXPECT_EQ(trace->trace_id, ctx.trace().trace_id);  // same trace, carried across
    }

    NoteRequest note;
    note.set_text("n1");
    EXPECT_TRUE(co_await ctx.tell(dest, note));
    auto notes = co_await ctx.call(dest, NotesRequest{});
    EXPECT_TRUE(notes);
    if (notes) {
      EXPECT_EQ(notes->notes_size(), 1);
    }

    Text raw_text;
    raw_text.set_text("raw");
    auto raw =
        co_await ctx.call_raw(dest, "remote.v1.RemoteTest.Echo", RPC_RELIABLE, raw_text.SerializeAsString());
    EXPECT_TRUE(raw);
    EchoReply decoded;
    EXPECT_TRUE(raw && decoded.ParseFromString(*raw));
    EXPECT_EQ(decoded.text(), "raw");
  });
}

// The node advertises "ws://[::1]:PORT": an IPv6 literal needs its brackets to be dialed.
TEST_F(Remote, AnIpv6ListenerIsAdvertisedSoThatCallersCanDialIt) {
  start_server({"--listen-host", "::1"});
  start_client(client_config());
  run([](Context& ctx) -> asio::awaitable<void> {
    auto dest = Dest::actor(co_await find_server(ctx));
    Text text;
    text.set_text("over ipv6");
    auto reply = co_await ctx.call(dest, text, CallOptions(std::chrono::milliseconds(5'000)));
    EXPECT_TRUE(reply) << (reply ? "" : reply.error().to_string());
    if (reply) {
      EXPECT_EQ(reply->text(), "over ipv6");
    }
  });
}

TEST_F(Remote, UnknownRouteAndRemoteHandlerError) {
  start_server();
  start_client(client_config());
  run([](Context& ctx) -> asio::awaitable<void> {
    auto dest = Dest::actor(co_await find_server(ctx));
    auto unknown = co_await ctx.call_raw(dest, "remote.v1.RemoteTest.Nope", RPC_RELIABLE, std::string());
    EXPECT_FALSE(unknown);
    if (!unknown) {
      EXPECT_EQ(unknown.error().code, ErrorCode::UnknownRoute);
    }
    FailRequest request;
    request.set_code(static_cast<std::uint32_t>(ErrorCode::NotFound));
    request.set_message("no such thing");
    auto failed = co_await ctx.call(dest, request);
    EXPECT_FALSE(failed);
    if (!failed) {
      EXPECT_EQ(failed.error(), (Error{ErrorCode::NotFound, "no such thing"}));
    }
  });
}

TEST_F(Remote, DiscoveryWithAndWithoutLockFile) {
  start_server();
  auto lock_path =
      std::filesystem::temp_directory_path() / ("actr-lock-" + std::to_string(signal.port) + ".toml");
  config::LockFile lock;
  lock.upsert(config::LockedDependency{"other", make_actr_type("acme", "other", "1.0.0"), "other.v1.Other",
                                       "sha256:" + std::string(64, '0')});
  ASSERT_TRUE(config::save_lock_file(lock, lock_path));
  start_client(client_config("remote-client", lock_path.string()));
  run([](Context& ctx) -> asio::awaitable<void> {
    auto missing = co_await ctx.discover_route_candidate(kServerType);
    EXPECT_FALSE(missing);
    if (!missing) {
      EXPECT_EQ(missing.error().code, ErrorCode::DependencyNotFound);
      EXPECT_NE(missing.error().message.find("manifest.toml"), std::string::npos) << missing.error().message;
    }
  });
  client.reset();
  node.reset();
  std::filesystem::remove(lock_path);
  driver = std::make_shared<Driver>();
  start_client(client_config());  // no lock file: discovery without a fingerprint
  run([](Context& ctx) -> asio::awaitable<void> {
    auto found = co_await ctx.discover_route_candidates(kServerType, 3);
    EXPECT_TRUE(found);
    if (found) {
      EXPECT_EQ(found->size(), 1u);
    }
    auto nobody = co_await ctx.discover_route_candidate(make_actr_type("acme", "nobody", "1.0.0"));
    EXPECT_FALSE(nobody);
  });
}

TEST_F(Remote, AclDeniesACallerType) {
  start_server({"--deny-type", "acme:remote-denied:1.0.0"});
  start_client(client_config());
  ActrId server_id;
  run([&](Context& ctx) -> asio::awaitable<void> { server_id = co_await find_server(ctx); });
  client.reset();
  node.reset();
  driver = std::make_shared<Driver>();
  start_client(client_config("remote-denied"));
  run([](Context& ctx) -> asio::awaitable<void> {  // signaling applies the server's ACL to discovery
    auto found = co_await ctx.discover_route_candidate(kServerType);
    EXPECT_FALSE(found);
    if (!found) {
      EXPECT_EQ(found.error().code, ErrorCode::NotFound);
    }
  });
  // And the server itself refuses a denied caller that reaches it directly.
  Text text;
  auto responses = raw_exchange(signal, server_id, "remote-denied",
                                {raw_request("remote.v1.RemoteTest.Echo", "acl-1", text)});
  ASSERT_EQ(responses.size(), 1u);
  ASSERT_TRUE(responses[0].has_error());
  EXPECT_EQ(responses[0].error().code(), static_cast<std::uint32_t>(ErrorCode::PermissionDenied));
}

TEST_F(Remote, ForgedCredentialIsRefusedByTheListener) {
  start_server();
  start_client(client_config());
  std::string ws_address;
  ActrId server_id;
  run([&](Context& ctx) -> asio::awaitable<void> { server_id = co_await find_server(ctx); });
  auto ok =
      signal::test::register_ok(signal.port, signal.secret, signal::test::make_register(1, "acme", "forger"));
  auto stranger = generate_signing_keypair();
  IdentityClaims claims;
  claims.ParseFromString(ok.credential().claims());
  auto forged = sign_credential(claims, ok.credential().key_id(), stranger.secret_key);
  ASSERT_TRUE(forged);
  ws_address = server_ws_address(signal);
  ASSERT_FALSE(ws_address.empty());
  asio::io_context io;
  auto dialed = asio::co_spawn(io,
                               wire::connect(io.get_executor(), ws_address, server_id, ok.actr_id(), *forged,
                                             std::chrono::steady_clock::now() + std::chrono::seconds(5)),
                               asio::use_future);
  io.run();
  auto result = dialed.get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::PermissionDenied) << result.error().to_string();
}

TEST_F(Remote, DuplicatedRequestIdRunsOnce) {
  start_server();
  start_client(client_config());
  ActrId server_id;
  run([&](Context& ctx) -> asio::awaitable<void> { server_id = co_await find_server(ctx); });
  CountRequest count;
  count.set_tag("once");
  auto request = raw_request("remote.v1.RemoteTest.Count", "retry-1", count);
  // The same request twice, as a retry after a lost answer would send it.
  auto responses = raw_exchange(signal, server_id, "remote-client", {request, request});
  ASSERT_EQ(responses.size(), 2u);
  for (const auto& response : responses) {
    CountReply reply;
    ASSERT_TRUE(reply.ParseFromString(response.payload()));
    EXPECT_EQ(reply.count(), 1u);  // answered twice, executed once
  }
}

TEST_F(Remote, LargePayloadsAndManyConcurrentCalls) {
  start_server();
  start_client(client_config());
  run([](Context& ctx) -> asio::awaitable<void> {
    auto dest = Dest::actor(co_await find_server(ctx));
    Blob blob;
    std::string data(8u << 20, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 2654435761u >> 13);
    blob.set_data(data);
    auto reply = co_await ctx.call(dest, blob, std::chrono::milliseconds(30'000));
    EXPECT_TRUE(reply);
    if (reply) {
      EXPECT_TRUE(reply->data() == data);
    }
  });
  // 1000 calls in flight at once from the host, each through the actor, each with its own text:
  // many arrive in one read and wait in the mailbox, or for a turn of the server's io_context
  // (TestServer::serve), after the buffer their bytes came in was reused.
  std::vector<std::future<Result<Payload>>> calls;
  driver->step = [](Context& ctx) -> asio::awaitable<void> {
    auto found = co_await ctx.discover_route_candidate(kServerType);
    if (!found) throw std::runtime_error(found.error().to_string());
    std::vector<std::future<bool>> inner;
    auto ex = co_await asio::this_coro::executor;
    auto dest = Dest::actor(*found);
    for (int i = 0; i < 1000; ++i) {
      Text text;
      text.set_text("call " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 40), '.'));
      // A named lambda: g++ 12 corrupts closure temporaries in expressions that contain co_await.
      auto one_call = [&ctx, dest, text]() -> asio::awaitable<bool> {
        auto r = co_await ctx.call(dest, text, std::chrono::milliseconds(30'000));
        co_return r && r->text() == text.text();
      };
      inner.push_back(asio::co_spawn(ex, std::move(one_call), asio::use_future));
    }
    EXPECT_EQ(co_await count_true(inner), 1000);
  };
  auto done = asio::co_spawn(client->executor(),
                             client->send_request(Outbound("test.Driver.Run", RPC_RELIABLE, Payload{},
                                                           std::chrono::milliseconds(60'000))),
                             asio::use_future);
  auto result = done.get();
  ASSERT_TRUE(result) << result.error().to_string();
}

// 64 big calls at once: their answers (2.5 MiB) outgrow the server's send queue (512 KiB), and
// one read brings several requests, so answers meet a full queue. They wait for room; none is lost.
TEST_F(Remote, BigAnswersWaitForRoomOnTheWireInsteadOfBeingDropped) {
  start_server();
  start_client(client_config());
  run([](Context& ctx) -> asio::awaitable<void> {
    auto dest = Dest::actor(co_await find_server(ctx));
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::future<bool>> calls;
    for (int i = 0; i < 64; ++i) {
      Blob blob;
      blob.set_data(std::string(40'000, static_cast<char>('a' + i % 26)) + std::to_string(i));
      auto one_call = [&ctx, dest, blob]() -> asio::awaitable<bool> {
        auto r = co_await ctx.call(dest, blob, std::chrono::milliseconds(10'000));
        if (!r) ADD_FAILURE() << r.error().to_string();
        co_return r && r->data() == blob.data();
      };
      calls.push_back(asio::co_spawn(ex, std::move(one_call), asio::use_future));
    }
    EXPECT_EQ(co_await count_true(calls), 64);
  });
}

TEST_F(Remote, ServerKilledMidCallFailsPromptlyAndTheCallerRecovers) {
  start_server();
  start_client(client_config());
  ActrId first;
  run([&](Context& ctx) -> asio::awaitable<void> {
    first = co_await find_server(ctx);
    Text warm;
    EXPECT_TRUE(co_await ctx.call(Dest::actor(first), warm));  // the direct wire is up
  });
  auto killer = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the long call get there first
    server->stop(SIGKILL);
  });
  run([&](Context& ctx) -> asio::awaitable<void> {
    SleepRequest sleep;
    sleep.set_millis(20'000);
    auto started = std::chrono::steady_clock::now();
    auto reply = co_await ctx.call(Dest::actor(first), sleep, std::chrono::milliseconds(30'000));
    EXPECT_FALSE(reply);
    if (!reply) {
      EXPECT_EQ(reply.error().code, ErrorCode::Unavailable) << reply.error().to_string();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));  // not at the deadline
  });
  killer.get();
  start_server();  // a new instance registers
  run([&](Context& ctx) -> asio::awaitable<void> {
    auto found = co_await ctx.discover_route_candidate(kServerType);
    EXPECT_TRUE(found);
    if (!found) co_return;
    Text text;
    text.set_text("again");
    auto reply = co_await ctx.call(Dest::actor(*found), text);
    EXPECT_TRUE(reply) << (reply ? "" : reply.error().to_string());
  });
}

TEST_F(Remote, SignalingRestartKeepsDirectWiresAndNodesReconnect) {
  start_server();
  start_client(client_config());
  ActrId server_id;
  run([&](Context& ctx) -> asio::awaitable<void> {
    server_id = co_await find_server(ctx);
    Text text;
    EXPECT_TRUE(co_await ctx.call(Dest::actor(server_id), text));
  });
  signal.process->stop(SIGTERM);
  run([&](Context& ctx) -> asio::awaitable<void> {  // signaling is down: the direct wire still works
    Text text;
    text.set_text("during");
    auto reply = co_await ctx.call(Dest::actor(server_id), text);
    EXPECT_TRUE(reply) << (reply ? "" : reply.error().to_string());
  });
  signal.start();  // same port, same data: nodes reconnect with backoff
  run([&](Context& ctx) -> asio::awaitable<void> {
    Result<ActrId> found = fail(ErrorCode::Unavailable, "not yet");
    for (int i = 0; i < 100 && !found; ++i) {  // bounded: reconnection backoff is at most 5 s
      found = co_await ctx.discover_route_candidate(kServerType);
      if (!found) {
        asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::use_awaitable);
      }
    }
    EXPECT_TRUE(found) << (found ? "" : found.error().to_string());
  });
}

}  // namespace
}  // namespace actr::test
