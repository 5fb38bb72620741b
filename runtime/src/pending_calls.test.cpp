#include "pending_calls.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <random>

namespace actr::detail {
namespace {

using namespace std::chrono_literals;

struct PendingCallsTest : ::testing::Test {
  asio::io_context io;
  Strand strand = asio::make_strand(io);
  PendingCalls pending{strand};
  std::vector<Result<Payload>> results;
  std::vector<std::uint64_t> sequences;  // whose call each result ended (record_as)

  PendingCalls::Completion record() {
    return [this](Result<Payload> r) { results.push_back(std::move(r)); };
  }
  PendingCalls::Completion record_as(std::uint64_t sequence) {
    return [this, sequence](Result<Payload> r) {
      sequences.push_back(sequence);
      results.push_back(std::move(r));
    };
  }
  static std::string bytes(Result<Payload>& r) {
    return r ? *std::move(*r).take_bytes() : r.error().to_string();
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
  EXPECT_EQ(results[0].error(),
            (Error{ErrorCode::InvalidArgument, "request 4 is already waiting for a reply"}));
  EXPECT_EQ(pending.size(), 1u);
  EXPECT_TRUE(pending.complete(4, Payload(std::string("first"))));  // the first one kept waiting
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(*std::move(*results[1]).take_bytes(), "first");
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

TEST_F(PendingCallsTest, ManyCallsEachEndOnceWithTheirOwnReply) {
  constexpr std::uint64_t kCalls = 100'000;
  std::mt19937_64 rng(7);
  auto base = Clock::now() + 1h;
  std::vector<int> ends(kCalls + 1);  // 1 for each call's own reply, 100 for anything else
  for (std::uint64_t s = 1; s <= kCalls; ++s) {
    pending.add(s, base + std::chrono::milliseconds(rng() % 600'000),
                [&, s](Result<Payload> r) { ends[s] += bytes(r) == std::to_string(s) ? 1 : 100; });
  }
  EXPECT_EQ(pending.size(), kCalls);
  std::vector<std::uint64_t> order(kCalls);
  std::iota(order.begin(), order.end(), 1);
  std::shuffle(order.begin(), order.end(), rng);
  for (std::size_t i = 0; i < order.size(); ++i) {
    ASSERT_TRUE(pending.complete(order[i], Payload(std::to_string(order[i]))));
  }
  EXPECT_EQ(std::count(ends.begin() + 1, ends.end(), 1), static_cast<std::ptrdiff_t>(kCalls));
  EXPECT_EQ(pending.size(), 0u);
  EXPECT_FALSE(pending.complete(order[0], Payload{}));
}

TEST_F(PendingCallsTest, AgreesWithAMapUnderRandomCalls) {
  // Deadlines are an hour past or an hour ahead, so which calls a poll expires is known.
  struct End {
    std::uint64_t sequence;
    Clock::time_point deadline;
    ErrorCode code;  // Internal: the reply
  };
  std::vector<End> log;
  std::map<std::uint64_t, Clock::time_point> model;
  std::mt19937_64 rng(11);
  auto now = Clock::now();
  for (int step = 0; step < 300'000; ++step) {
    auto s = rng() % 3000, op = rng() % 64;
    if (op < 32) {
      auto deadline = now + std::chrono::nanoseconds(rng() % 1'000'000) + (op < 2 ? -1h : 1h);
      pending.add(s, deadline, [&log, s, deadline](Result<Payload> r) {
        log.push_back({s, deadline, r ? ErrorCode::Internal : r.error().code});
      });
      bool fresh = model.emplace(s, deadline).second;  // else refused at once
      ASSERT_TRUE(fresh ? log.empty() : log.size() == 1 && log[0].code == ErrorCode::InvalidArgument);
    } else if (op < 63) {
      auto it = model.find(s);
      ASSERT_EQ(pending.complete(s, Payload{}), it != model.end());
      if (it != model.end()) {
        ASSERT_TRUE(log.size() == 1 && log[0].sequence == s && log[0].deadline == it->second);
        model.erase(it);
      }
    } else {
      io.restart();
      io.poll();
      std::size_t passed = std::erase_if(model, [&](const auto& entry) { return entry.second < now; });
      ASSERT_EQ(log.size(), passed);
      for (std::size_t i = 0; i < log.size(); ++i) {
        ASSERT_EQ(log[i].code, ErrorCode::TimedOut);
        ASSERT_TRUE(i == 0 || log[i - 1].deadline <= log[i].deadline);
      }
    }
    ASSERT_EQ(pending.size(), model.size());
    log.clear();
  }
}

TEST_F(PendingCallsTest, OnlyPassedDeadlinesExpireEarliestFirst) {
  auto now = Clock::now();
  const std::chrono::milliseconds after[] = {30s, 40ms, -1s, 10s, 20ms, -3s, 60ms};  // 3, 6: passed
  for (std::uint64_t s = 1; s <= 7; ++s) pending.add(s, now + after[s - 1], record_as(s));
  io.run_for(300ms);
  EXPECT_EQ(sequences, (std::vector<std::uint64_t>{6, 3, 5, 2, 7}));
  for (auto& result : results) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), (Error{ErrorCode::TimedOut, "no reply before the deadline"}));
  }
  EXPECT_EQ(pending.size(), 2u);
  EXPECT_TRUE(pending.complete(4, Payload(std::string("four"))));
  EXPECT_TRUE(pending.complete(1, Payload(std::string("one"))));
  ASSERT_EQ(results.size(), 7u);
  EXPECT_EQ(bytes(results[5]), "four");
  EXPECT_EQ(bytes(results[6]), "one");
}

TEST_F(PendingCallsTest, CompletionsMayAddAndCompleteReentrantly) {
  auto later = Clock::now() + 10s;
  pending.add(2, later, record_as(2));
  pending.add(1, later, [&](Result<Payload> r) {
    record_as(1)(std::move(r));
    EXPECT_FALSE(pending.contains(1));      // removed before it runs
    pending.add(1, later, record_as(101));  // its own sequence, now free
    EXPECT_TRUE(pending.complete(2, Payload(std::string("two"))));
    EXPECT_FALSE(pending.complete(2, Payload{}));
    pending.add(3, later - 5s, record_as(3));
  });
  EXPECT_TRUE(pending.complete(1, Payload(std::string("one"))));
  EXPECT_EQ(sequences, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(pending.size(), 2u);
  EXPECT_TRUE(pending.complete(1, Payload(std::string("again"))));
  EXPECT_TRUE(pending.complete(3, Payload(std::string("three"))));
  EXPECT_EQ(sequences, (std::vector<std::uint64_t>{1, 2, 101, 3}));
  EXPECT_EQ(bytes(results[2]), "again");
  EXPECT_EQ(pending.size(), 0u);
}

TEST_F(PendingCallsTest, ResumedCallerMakesItsNextCall) {
  // Each reply resumes a caller that makes its next call at once, as a coroutine does.
  constexpr std::uint64_t kCalls = 10'000;
  std::uint64_t replies = 0;
  std::function<void(std::uint64_t)> call = [&](std::uint64_t s) {
    pending.add(s, Clock::now() + 10s, [&, s](Result<Payload> r) {
      ASSERT_TRUE(r);
      ++replies;
      if (s < kCalls) call(s + 1);
    });
  };
  call(1);
  for (std::uint64_t s = 1; s <= kCalls; ++s) ASSERT_TRUE(pending.complete(s, Payload{}));
  EXPECT_EQ(replies, kCalls);
  EXPECT_EQ(pending.size(), 0u);
}

TEST_F(PendingCallsTest, TimedOutCallerMayCallAgain) {
  pending.add(1, Clock::now() + 10ms, [&](Result<Payload> r) {
    record_as(1)(std::move(r));
    pending.add(1, Clock::now() + 20ms, record_as(11));  // re-arms the timer
    pending.add(2, Clock::now() - 1s, record_as(2));     // expires in this same pass
  });
  pending.add(3, Clock::now() + 30s, record_as(3));
  io.run_for(300ms);
  EXPECT_EQ(sequences, (std::vector<std::uint64_t>{1, 2, 11}));
  EXPECT_EQ(pending.size(), 1u);
  EXPECT_TRUE(pending.contains(3));
}

TEST_F(PendingCallsTest, FailAllLeavesCallsItsCompletionsAdd) {
  auto later = Clock::now() + 10s;
  for (std::uint64_t s : {1, 2, 3}) {
    pending.add(s, later + std::chrono::milliseconds(s % 2), [&, s](Result<Payload> r) {
      record_as(s)(std::move(r));
      EXPECT_FALSE(pending.complete(4 - s, Payload{}));  // taken out by this fail_all too
      pending.add(s + 10, later, record_as(s + 10));     // retries
    });
  }
  pending.fail_all(Error{ErrorCode::Unavailable, "gone"});
  ASSERT_EQ(results.size(), 3u);
  for (auto& result : results) EXPECT_EQ(result.error().code, ErrorCode::Unavailable);
  EXPECT_EQ(pending.size(), 3u);
  for (std::uint64_t s : {11, 12, 13}) EXPECT_TRUE(pending.complete(s, Payload{}));
  ASSERT_EQ(results.size(), 6u);
  for (std::size_t i = 3; i < 6; ++i) EXPECT_TRUE(results[i]);
}

TEST_F(PendingCallsTest, WorksAfterGrowingAndAfterEmptying) {
  for (int round = 0; round < 3; ++round) {
    const std::uint64_t calls = round == 1 ? 50 : 20'000;  // past the storage kept once drained
    for (std::uint64_t s = 1; s <= calls; ++s) {
      pending.add(s, Clock::now() + 10s - std::chrono::microseconds(s % 7), record());
    }
    EXPECT_EQ(pending.size(), calls);
    for (std::uint64_t s = calls; s >= 1; --s) ASSERT_TRUE(pending.complete(s, Payload{}));
    EXPECT_EQ(pending.size(), 0u);
    for (std::uint64_t s = 1; s <= calls; ++s) pending.add(s, Clock::now() + 10s, record());
    pending.fail_all(Error{ErrorCode::Unavailable, "gone"});
    EXPECT_EQ(pending.size(), 0u);
  }
  pending.add(9, Clock::now() + 10ms, record());  // emptied, it still times out
  io.run_for(200ms);
  ASSERT_EQ(results.size(), 2u * (20'000 + 50 + 20'000) + 1);
  EXPECT_EQ(results.back().error().code, ErrorCode::TimedOut);
}

TEST_F(PendingCallsTest, SequenceMayBeReusedOnceEnded) {
  pending.add(5, Clock::now() + 10s, record_as(5));
  EXPECT_TRUE(pending.complete(5, Payload(std::string("first"))));
  pending.add(5, Clock::now() + 5ms, record_as(55));
  io.run_for(100ms);
  pending.add(5, Clock::now() + 10s, record_as(555));
  EXPECT_TRUE(pending.complete(5, Payload(std::string("third"))));
  EXPECT_EQ(sequences, (std::vector<std::uint64_t>{5, 55, 555}));
  EXPECT_EQ(bytes(results[0]), "first");
  EXPECT_EQ(results[1].error().code, ErrorCode::TimedOut);
  EXPECT_EQ(bytes(results[2]), "third");
}

}  // namespace
}  // namespace actr::detail

namespace actr::detail {
namespace {

TEST_F(PendingCallsTest, KnowsWhichCallsRideOnWhat) {
  int link_a = 0, link_b = 0;  // only their addresses matter
  const auto later = Clock::now() + std::chrono::seconds(30);
  pending.add(1, later, record(), &link_a);
  pending.add(2, later, record(), &link_b);
  pending.add(3, later, record(), &link_a);
  pending.add(4, later, record());
  auto on_a = pending.riding(&link_a);
  std::sort(on_a.begin(), on_a.end());
  EXPECT_EQ(on_a, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(pending.riding(&link_b), std::vector<std::uint64_t>{2});
  EXPECT_TRUE(pending.complete(3, Payload{}));
  EXPECT_EQ(pending.riding(&link_a), std::vector<std::uint64_t>{1});  // a completed call rides no more
  pending.fail_all(Error{ErrorCode::Unavailable, "bye"});
  EXPECT_TRUE(pending.riding(&link_a).empty());
}

}  // namespace
}  // namespace actr::detail
