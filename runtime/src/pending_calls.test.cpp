#include "pending_calls.hpp"

#include <gtest/gtest.h>

namespace actr::detail {
namespace {

struct PendingCallsTest : ::testing::Test {
  asio::io_context io;
  Strand strand = asio::make_strand(io);
  PendingCalls pending{strand};
  std::vector<Result<Payload>> results;

  PendingCalls::Completion record() {
    return [this](Result<Payload> r) { results.push_back(std::move(r)); };
  }
};

TEST_F(PendingCallsTest, CompletesOnceWithTheReply) {
  pending.add(1, Clock::now() + std::chrono::seconds(10), record());
  EXPECT_TRUE(pending.contains(1));
  EXPECT_TRUE(pending.complete(1, Payload(std::string("x"))));
  EXPECT_FALSE(pending.complete(1, Payload(std::string("again"))));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(*std::move(*results[0]).take_bytes(), "x");
  EXPECT_EQ(pending.size(), 0u);
}

TEST_F(PendingCallsTest, ExpiresAtTheDeadlineEvenWithLaterEntries) {
  pending.add(2, Clock::now() + std::chrono::seconds(30), record());
  pending.add(3, Clock::now() + std::chrono::milliseconds(20), record());  // re-arms earlier
  io.run_for(std::chrono::milliseconds(300));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().code, ErrorCode::TimedOut);
  EXPECT_TRUE(pending.contains(2));
  EXPECT_FALSE(pending.contains(3));
}

TEST_F(PendingCallsTest, DuplicateLiveIdIsRefused) {
  pending.add(4, Clock::now() + std::chrono::seconds(10), record());
  pending.add(4, Clock::now() + std::chrono::seconds(10), record());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(pending.size(), 1u);
}

TEST_F(PendingCallsTest, FailAllEndsEveryCall) {
  for (std::uint64_t id : {1, 2, 3}) pending.add(id, Clock::now() + std::chrono::seconds(10), record());
  pending.fail_all(Error{ErrorCode::Unavailable, "gone"});
  ASSERT_EQ(results.size(), 3u);
  for (auto& r : results) EXPECT_EQ(r.error().code, ErrorCode::Unavailable);
  EXPECT_EQ(pending.size(), 0u);
  io.run_for(std::chrono::milliseconds(10));  // the cancelled timer must not fire anything
  EXPECT_EQ(results.size(), 3u);
}

}  // namespace
}  // namespace actr::detail
