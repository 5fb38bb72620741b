// Start, stop and the paths in between: on_start errors, on_stop exactly once, shutdown with
// calls in flight, and calls after the end.

#include <gtest/gtest.h>

#include "test_workload.hpp"

namespace inproc::test {
namespace {

using actr::ErrorCode;

TEST(Lifecycle, OnStartErrorAbortsTheStartAndIsReturned) {
  auto workload = std::make_shared<TestWorkload>();
  workload->start_result = actr::fail(ErrorCode::DependencyNotFound, "no database");
  actr::Node node(test_config());
  auto started = node.start(workload);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error(), (actr::Error{ErrorCode::DependencyNotFound, "no database"}));
  EXPECT_EQ(workload->events, std::vector<std::string>{"start"});  // on_stop only after a good start
}

TEST(Lifecycle, InvalidConfigIsRefused) {
  auto config = test_config();
  config.actr_type.set_name("bad name");
  actr::Node node(config);
  auto started = node.start(std::make_shared<TestWorkload>());
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::InvalidArgument);
}

TEST(Lifecycle, OrderIsStartHandlersStopAndStopRunsOnce) {
  auto workload = std::make_shared<TestWorkload>();
  {
    actr::Node node(test_config());
    auto actor = node.start(workload);
    ASSERT_TRUE(actor);
    EchoRequest request;
    request.set_text("x");
    ASSERT_TRUE(actor->call_sync(request));
    actor->shutdown();
    actor->shutdown();
    EXPECT_TRUE(actor->wait_for_shutdown(std::chrono::seconds(5)));
    EXPECT_TRUE(actor->wait_for_shutdown(std::chrono::seconds(5)));  // idempotent
    auto late = actor->call_sync(request);
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, ErrorCode::Unavailable);
  }  // ~Node after an explicit shutdown: nothing runs twice
  EXPECT_EQ(workload->events, (std::vector<std::string>{"start", "echo:x", "stop"}));
}

TEST(Lifecycle, DestructorStopsARunningNode) {
  auto workload = std::make_shared<TestWorkload>();
  {
    actr::Node node(test_config());
    ASSERT_TRUE(node.start(workload));
  }
  EXPECT_EQ(workload->events, (std::vector<std::string>{"start", "stop"}));
}

TEST(Lifecycle, ShutdownWithCallsInFlightEndsThemAll) {
  auto workload = std::make_shared<TestWorkload>();
  actr::Node node(test_config());
  auto actor = node.start(workload);
  ASSERT_TRUE(actor);
  auto block = asio::co_spawn(actor->executor(), actor->call(BlockRequest{}), asio::use_future);
  workload->blocked.get_future().wait();
  std::vector<std::future<actr::Result<EchoResponse>>> queued;
  for (int i = 0; i < 10; ++i) {
    queued.push_back(asio::co_spawn(actor->executor(), actor->call(EchoRequest{}), asio::use_future));
  }
  actor->shutdown();
  auto blocked_reply = block.get();
  ASSERT_FALSE(blocked_reply);
  EXPECT_EQ(blocked_reply.error().code, ErrorCode::Unavailable);
  for (auto& call : queued) {
    auto reply = call.get();
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, ErrorCode::Unavailable);
  }
  // The blocked handler never returns by itself: the grace period bounds the wait for on_stop.
  EXPECT_TRUE(actor->wait_for_shutdown(std::chrono::seconds(5)));
  EXPECT_EQ(workload->events.back(), "stop");
}

}  // namespace
}  // namespace inproc::test
