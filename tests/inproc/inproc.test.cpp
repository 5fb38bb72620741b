// In-process end to end: the host calls its workload through ActorRef, the workload calls back
// through Context. Ordering and concurrency are proven with barriers and counters, never sleeps.

#include <gtest/gtest.h>

#include "test_workload.hpp"

namespace inproc::test {
namespace {

using actr::ErrorCode;

template <class T>
std::future<T> spawn(const actr::ActorRef& actor, asio::awaitable<T> work) {
  return asio::co_spawn(actor.executor(), std::move(work), asio::use_future);
}

struct InProcess : ::testing::Test {
  std::shared_ptr<TestWorkload> workload = std::make_shared<TestWorkload>();
  std::unique_ptr<actr::Node> node;
  std::optional<actr::ActorRef> actor;

  void start(actr::NodeConfig config = test_config()) {
    node = std::make_unique<actr::Node>(config);
    auto started = node->start(workload);
    ASSERT_TRUE(started) << started.error().to_string();
    actor = *started;
  }
  void TearDown() override {
    actor.reset();
    node.reset();
  }
  EchoRequest echo(std::string text) {
    EchoRequest request;
    request.set_text(std::move(text));
    return request;
  }
};

TEST_F(InProcess, TypedCallRoundTrips) {
  start();
  auto reply = actor->call_sync(echo("hello"));
  ASSERT_TRUE(reply) << reply.error().to_string();
  EXPECT_EQ(reply->text(), "hello");
}

TEST_F(InProcess, TypedCallFromACoroutineOnTheActorsStrand) {
  start();
  auto reply = spawn(*actor, actor->call(echo("co"))).get();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->text(), "co");
}

TEST_F(InProcess, TellIsDeliveredBeforeLaterCallsAndNeverAnswered) {
  start();
  NoteRequest note;
  note.set_text("n1");
  auto told = spawn(*actor, actor->tell(note)).get();
  ASSERT_TRUE(told) << told.error().to_string();
  ASSERT_TRUE(actor->call_sync(echo("after")));  // serial FIFO: the tell ran first
  EXPECT_EQ(workload->notes, std::vector<std::string>{"n1:shell"});
}

TEST_F(InProcess, WorkloadCallsTheShellAndTheShellCallsTheWorkload) {
  start();
  actor->handle<ShellQuestion>([](ShellQuestion question) -> asio::awaitable<actr::Result<ShellAnswer>> {
    ShellAnswer answer;
    answer.set_text("shell says " + question.text());
    co_return answer;
  });
  AskShellRequest request;
  request.set_text("hi");
  auto reply = actor->call_sync(request);
  ASSERT_TRUE(reply) << reply.error().to_string();
  EXPECT_EQ(reply->text(), "shell says hi");
}

TEST_F(InProcess, ShellWithoutHandlerIsUnknownRoute) {
  start();
  AskShellRequest request;
  auto reply = actor->call_sync(request);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::UnknownRoute);
}

TEST_F(InProcess, UnknownRouteAndDecodeFailureAreErrors) {
  start();
  auto unknown =
      spawn(*actor, actor->send_request(actr::Outbound{
                        "inproc.v1.TestService.Nope", actr::RPC_RELIABLE, actr::Payload(std::string()), {}}))
          .get();
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::UnknownRoute);
  EXPECT_NE(unknown.error().message.find("inproc.v1.TestService.Nope"), std::string::npos);

  auto garbage =
      spawn(*actor, actor->send_request(actr::Outbound{"inproc.v1.TestService.Echo",
                                                       actr::RPC_RELIABLE,
                                                       actr::Payload(std::string("\xff\xff\xff", 3)),
                                                       {}}))
          .get();
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::DecodeFailure);
  ASSERT_TRUE(actor->call_sync(echo("still serving")));
}

TEST_F(InProcess, HandlerErrorsAndExceptionsReachTheCallerAndTheNodeKeepsServing) {
  start();
  FailRequest request;
  request.set_mode(0);
  auto error = actor->call_sync(request);
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error(), (actr::Error{ErrorCode::PermissionDenied, "not for you"}));

  request.set_mode(1);
  auto thrown = actor->call_sync(request);
  ASSERT_FALSE(thrown);
  EXPECT_EQ(thrown.error().code, ErrorCode::Internal);
  EXPECT_NE(thrown.error().message.find("boom"), std::string::npos);
  ASSERT_TRUE(actor->call_sync(echo("alive")));
}

TEST_F(InProcess, NotYetAvailablePartsAnswerClearly) {
  start();
  FailRequest request;
  request.set_mode(2);  // call a remote actor
  auto peer = actor->call_sync(request);
  ASSERT_FALSE(peer);
  EXPECT_EQ(peer.error().code, ErrorCode::Unavailable);
  request.set_mode(3);  // discovery
  EXPECT_EQ(actor->call_sync(request).error().code, ErrorCode::Unavailable);
  request.set_mode(4);  // media
  EXPECT_EQ(actor->call_sync(request).error().code, ErrorCode::NotImplemented);
}

TEST_F(InProcess, CallEndsAtItsDeadlineAndLeavesNothingPending) {
  start();
  SleepRequest request;
  request.set_millis(60'000);
  auto reply = actor->call_sync(request, std::chrono::milliseconds(50));
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::TimedOut);
  EXPECT_EQ(actor->stats().pending_calls, 0u);
  auto bad = actor->call_sync(echo("x"), std::chrono::milliseconds(0));
  EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
}

TEST_F(InProcess, SerialByDefault) {
  start();
  std::vector<std::future<actr::Result<SlowResponse>>> calls;
  for (int i = 0; i < 6; ++i) {
    SlowRequest request;
    request.set_account("acct" + std::to_string(i));
    calls.push_back(spawn(*actor, actor->call(request)));
  }
  for (auto& call : calls) ASSERT_TRUE(call.get());
  EXPECT_EQ(workload->max_active, 1);
}

TEST_F(InProcess, DifferentConflictKeysInterleave) {
  workload->policy.key_by_field("inproc.v1.TestService.Slow", "account");
  workload->barrier_expected = 4;  // each handler waits until all four are inside at once
  start();
  std::vector<std::future<actr::Result<SlowResponse>>> calls;
  for (int i = 0; i < 4; ++i) {
    SlowRequest request;
    request.set_account("acct" + std::to_string(i));
    calls.push_back(spawn(*actor, actor->call(request)));
  }
  for (auto& call : calls) ASSERT_TRUE(call.get());
  EXPECT_EQ(workload->max_active, 4);
}

TEST_F(InProcess, SameConflictKeyKeepsOrderAndNeverOverlaps) {
  workload->policy.key_by_field("inproc.v1.TestService.Slow", "account");
  start();
  std::vector<std::future<actr::Result<SlowResponse>>> calls;
  for (std::uint32_t step = 0; step < 5; ++step) {
    SlowRequest request;
    request.set_account("same");
    request.set_step(step);
    calls.push_back(spawn(*actor, actor->call(request)));
  }
  for (auto& call : calls) ASSERT_TRUE(call.get());
  EXPECT_EQ(workload->max_active, 1);
  EXPECT_EQ(workload->slow_order,
            (std::vector<std::string>{"same:0", "same:1", "same:2", "same:3", "same:4"}));
}

TEST_F(InProcess, BudgetCapsInterleaving) {
  workload->policy.key_by_caller("inproc.v1.TestService.Slow");  // all from the shell: one key
  workload->policy.key_by_field("inproc.v1.TestService.Slow", "account").budget(2);
  start();
  std::vector<std::future<actr::Result<SlowResponse>>> calls;
  for (int i = 0; i < 6; ++i) {
    SlowRequest request;
    request.set_account("a" + std::to_string(i));
    calls.push_back(spawn(*actor, actor->call(request)));
  }
  for (auto& call : calls) ASSERT_TRUE(call.get());
  EXPECT_EQ(workload->max_active, 2);
}

TEST_F(InProcess, SignalLaneOvertakesQueuedWork) {
  start();
  auto block = spawn(*actor, actor->call(BlockRequest{}));
  workload->blocked.get_future().wait();  // the handler is now busy; everything below queues
  std::vector<std::future<actr::Result<EchoResponse>>> echoes;
  for (int i = 0; i < 3; ++i) echoes.push_back(spawn(*actor, actor->call(echo(std::to_string(i)))));
  auto ping = spawn(*actor, actor->call(PingRequest{}));
  workload->release.open(actor->executor());  // posted after the calls above were enqueued
  ASSERT_TRUE(block.get());
  ASSERT_TRUE(ping.get());
  for (auto& e : echoes) ASSERT_TRUE(e.get());
  EXPECT_EQ(workload->events,
            (std::vector<std::string>{"start", "block", "ping", "echo:0", "echo:1", "echo:2"}));
}

TEST_F(InProcess, FullMailboxHoldsSendersThenRefuses) {
  auto config = test_config();
  config.mailbox_capacity = 1;  // one queued, kOverflowFactor held, then refused
  start(config);
  auto block = spawn(*actor, actor->call(BlockRequest{}));
  workload->blocked.get_future().wait();
  std::vector<std::future<actr::Result<void>>> tells;
  for (int i = 0; i < 6; ++i) {
    NoteRequest note;
    note.set_text(std::to_string(i));
    tells.push_back(spawn(*actor, actor->tell(note)));
  }
  // #0 queued at once, #1-#4 held (their senders wait), #5 refused.
  ASSERT_TRUE(tells[0].get());
  auto refused = tells[5].get();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Unavailable);
  EXPECT_NE(refused.error().message.find("full"), std::string::npos);
  EXPECT_EQ(tells[1].wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  workload->release.open(actor->executor());
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(tells[i].get());
  ASSERT_TRUE(block.get());
  ASSERT_TRUE(actor->call_sync(echo("drained")));
  EXPECT_EQ(workload->notes,
            (std::vector<std::string>{"0:shell", "1:shell", "2:shell", "3:shell", "4:shell"}));
}

TEST_F(InProcess, HeldTellGivesUpAtItsDeadline) {
  auto config = test_config();
  config.mailbox_capacity = 1;
  start(config);
  auto block = spawn(*actor, actor->call(BlockRequest{}));
  workload->blocked.get_future().wait();
  NoteRequest note;
  ASSERT_TRUE(spawn(*actor, actor->tell(note)).get());
  auto held = spawn(*actor, actor->tell(note, std::chrono::milliseconds(30))).get();
  ASSERT_FALSE(held);
  EXPECT_EQ(held.error().code, ErrorCode::TimedOut);
  workload->release.open(actor->executor());
  ASSERT_TRUE(block.get());
  ASSERT_TRUE(actor->call_sync(echo("x")));
  EXPECT_EQ(workload->notes.size(), 1u);  // the one that gave up was never delivered
}

TEST_F(InProcess, DataChunksArriveInOrder) {
  start();
  StreamRequest request;
  request.set_count(1000);
  auto reply = actor->call_sync(request);
  ASSERT_TRUE(reply) << reply.error().to_string();
  ASSERT_EQ(reply->received_size(), 1000);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(reply->received(i), static_cast<std::uint64_t>(i));
}

TEST_F(InProcess, ManyConcurrentCallersAllAnswered) {
  start();
  std::vector<std::future<actr::Result<EchoResponse>>> calls;
  for (int i = 0; i < 2000; ++i) calls.push_back(spawn(*actor, actor->call(echo(std::to_string(i)))));
  for (int i = 0; i < 2000; ++i) {
    auto reply = calls[i].get();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->text(), std::to_string(i));
  }
}

TEST_F(InProcess, CallersOnEveryKindOfExecutorWithSeveralNodeThreads) {
  // Threads on the node make its executor a real strand; callers come from plain threads
  // (call_sync), from coroutines on the strand (replies resume them inline) and from another
  // io_context (their resumption is posted back to it). Every call is answered with its own text.
  auto config = test_config();
  config.threads = 3;
  start(config);
  constexpr int kPerCaller = 300;
  auto sequential = [this](std::string prefix) -> asio::awaitable<int> {
    int answered = 0;
    for (int i = 0; i < kPerCaller; ++i) {
      auto text = prefix + std::to_string(i);
      auto call = actor->call(echo(text));  // named: see docs/runtime.md on g++ 12 and co_await
      auto reply = co_await std::move(call);
      if (reply && reply->text() == text) ++answered;
    }
    co_return answered;
  };
  asio::io_context elsewhere;
  auto on_other_context = asio::co_spawn(elsewhere, sequential("other-"), asio::use_future);
  std::thread other_thread([&] { elsewhere.run(); });
  std::vector<std::future<int>> on_strand;
  for (int c = 0; c < 4; ++c)
    on_strand.push_back(spawn(*actor, sequential("strand" + std::to_string(c) + "-")));
  std::vector<std::thread> blocking;
  std::atomic<int> blocking_answered{0};
  for (int t = 0; t < 3; ++t) {
    blocking.emplace_back([&, t] {
      for (int i = 0; i < kPerCaller; ++i) {
        auto text = "thread" + std::to_string(t) + "-" + std::to_string(i);
        auto reply = actor->call_sync(echo(text));
        if (reply && reply->text() == text) ++blocking_answered;
      }
    });
  }
  for (auto& thread : blocking) thread.join();
  for (auto& future : on_strand) EXPECT_EQ(future.get(), kPerCaller);
  EXPECT_EQ(on_other_context.get(), kPerCaller);
  other_thread.join();
  EXPECT_EQ(blocking_answered.load(), 3 * kPerCaller);
  EXPECT_EQ(actor->stats().requests_handled, 8u * kPerCaller);
  EXPECT_EQ(actor->stats().pending_calls, 0u);
  // The node thread that resumed the last caller on `elsewhere` may still be returning from that
  // post; stop the node (its threads then run nothing else) before `elsewhere` is destroyed.
  actor->shutdown();
  EXPECT_TRUE(actor->wait_for_shutdown(std::chrono::seconds(5)));
}

TEST_F(InProcess, BackToBackCallsOnTheStrandLetTimersRun) {
  // A caller on the strand is resumed inline by each reply, so its calls never pass through the
  // io_context; the scheduler still yields now and then, or this timer would never fire.
  start();
  auto fired = std::make_shared<std::atomic<bool>>(false);
  auto timer = std::make_shared<asio::steady_timer>(actor->executor(), std::chrono::milliseconds(1));
  timer->async_wait([fired](boost::system::error_code) { *fired = true; });
  auto back_to_back = [this, fired]() -> asio::awaitable<int> {
    int made = 0;
    while (!*fired && made < 2'000'000) {
      auto call = actor->call(echo("x"));
      auto reply = co_await std::move(call);
      if (!reply) break;
      ++made;
    }
    co_return made;
  };
  int calls = spawn(*actor, back_to_back()).get();
  EXPECT_TRUE(*fired) << "the timer never ran during " << calls << " back-to-back calls";
  EXPECT_GT(calls, 0);
}

/// Implements only dispatch (no generated base): the runtime serves it through Workload::serve's
/// default, which must answer and turn exceptions into errors like the generated one.
class DispatchOnly : public actr::Workload {
 public:
  asio::awaitable<actr::Result<actr::Payload>> dispatch(std::string_view route_key, actr::Payload request,
                                                        actr::Context&) override {
    auto echo = std::move(request).take<EchoRequest>();
    if (!echo) co_return std::unexpected(echo.error());
    if (echo->text() == "throw") throw std::runtime_error("dispatch blew up on " + std::string(route_key));
    EchoResponse response;
    response.set_text(echo->text());
    co_return actr::Payload::of(std::move(response));
  }
};

/// A serve() that forgets to answer "silent" requests.
class ForgetfulServe : public DispatchOnly {
 public:
  asio::awaitable<void> serve(actr::IncomingRequestPtr request) override {
    const auto* echo = request->payload().get_if<EchoRequest>();
    if (echo && echo->text() == "silent") co_return;
    co_await DispatchOnly::serve(std::move(request));
  }
};

actr::ActorRef start_node(std::unique_ptr<actr::Node>& node, std::shared_ptr<actr::Workload> workload) {
  node = std::make_unique<actr::Node>(test_config());
  auto started = node->start(std::move(workload));
  EXPECT_TRUE(started) << started.error().to_string();
  return *started;
}

EchoRequest text_request(std::string text) {
  EchoRequest request;
  request.set_text(std::move(text));
  return request;
}

TEST(Serve, ADispatchOnlyWorkloadAnswersAndReportsExceptions) {
  std::unique_ptr<actr::Node> node;
  auto actor = start_node(node, std::make_shared<DispatchOnly>());
  auto reply = actor.call_sync(text_request("plain"));
  ASSERT_TRUE(reply) << reply.error().to_string();
  EXPECT_EQ(reply->text(), "plain");
  auto thrown = actor.call_sync(text_request("throw"));
  ASSERT_FALSE(thrown);
  EXPECT_EQ(thrown.error().code, ErrorCode::Internal);
  EXPECT_NE(thrown.error().message.find("dispatch blew up on inproc.v1."), std::string::npos)
      << thrown.error().message;
  ASSERT_TRUE(actor.call_sync(text_request("still serving")));
}

TEST(Serve, AServeThatNeverAnswersFailsItsCallerAtOnceAndFreesTheWorkload) {
  std::unique_ptr<actr::Node> node;
  auto actor = start_node(node, std::make_shared<ForgetfulServe>());
  auto started = std::chrono::steady_clock::now();
  auto silent = actor.call_sync(text_request("silent"), std::chrono::milliseconds(20000));
  ASSERT_FALSE(silent);
  EXPECT_EQ(silent.error().code, ErrorCode::Internal);
  EXPECT_NE(silent.error().message.find("without answering"), std::string::npos) << silent.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));  // not at the deadline
  auto next = actor.call_sync(text_request("next"));  // the serial slot was given back
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(next->text(), "next");
}

/// Records the trace every request's handler sees; "nest" also tells itself a note.
class TraceRecorder : public actr::Workload {
 public:
  asio::awaitable<actr::Result<actr::Payload>> dispatch(std::string_view, actr::Payload request,
                                                        actr::Context& ctx) override {
    seen.push_back(ctx.trace());
    if (const auto* echo = request.get_if<EchoRequest>(); echo && echo->text() == "nest") {
      NoteRequest note;
      note.set_text("inner");
      auto told = co_await ctx.tell(actr::Dest::local(), note);
      if (!told) co_return std::unexpected(told.error());
    }
    if (request.get_if<NoteRequest>()) co_return actr::Payload::of(NoteResponse{});
    co_return actr::Payload::of(EchoResponse{});
  }
  std::vector<actr::TraceContext> seen;  // touched on the node's strand only
};

TEST(Serve, AHostCallGetsATraceWhenItsHandlerLooksAndNestedWorkContinuesIt) {
  std::unique_ptr<actr::Node> node;
  auto recorder = std::make_shared<TraceRecorder>();
  auto actor = start_node(node, recorder);
  ASSERT_TRUE(actor.call_sync(text_request("nest")));
  ASSERT_TRUE(actor.call_sync(text_request("after the note")));  // serial: the note ran before
  ASSERT_TRUE(actor.call_sync(text_request("another")));
  ASSERT_EQ(recorder->seen.size(), 4u);
  const auto& outer = recorder->seen[0];
  const auto& inner = recorder->seen[1];
  EXPECT_TRUE(outer.valid());
  EXPECT_TRUE(inner.valid());
  EXPECT_EQ(inner.trace_id, outer.trace_id);  // the note is a child span of the same trace
  EXPECT_NE(inner.span_id, outer.span_id);
  EXPECT_TRUE(recorder->seen[2].valid());
  EXPECT_NE(recorder->seen[2].trace_id, outer.trace_id);  // each host call is a trace of its own
  EXPECT_NE(recorder->seen[3].trace_id, recorder->seen[2].trace_id);
}

}  // namespace
}  // namespace inproc::test
