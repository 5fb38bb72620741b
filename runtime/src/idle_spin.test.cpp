#include "idle_spin.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <thread>

namespace actr::detail {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(IdleSpin, ConfiguredValueWinsElseOnlyWithTwoCpus) {
  EXPECT_EQ(resolve_idle_spin(std::nullopt, 1), 0us);
  EXPECT_EQ(resolve_idle_spin(std::nullopt, 2), kDefaultIdleSpin);
  EXPECT_EQ(resolve_idle_spin(0us, 8), 0us);
  EXPECT_EQ(resolve_idle_spin(200us, 1), 200us);
  EXPECT_EQ(resolve_idle_spin(-5us, 8), 0us);
  EXPECT_GE(usable_cpus(), 1u);
}

// Empty-handed spins in a row park the thread for a while; one that finds work resets the count.
TEST(IdleSpin, TheGovernorRestsAfterEmptySpinsAndTriesAgain) {
  SpinGovernor governor;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < SpinGovernor::kGiveUpAfter - 1; ++i) {
      ASSERT_TRUE(governor.should_spin());
      governor.spun(false);
    }
    ASSERT_TRUE(governor.should_spin());
    governor.spun(true);  // found work: the count starts over
  }
  for (int i = 0; i < SpinGovernor::kGiveUpAfter; ++i) {
    ASSERT_TRUE(governor.should_spin());
    governor.spun(false);
  }
  for (int i = 0; i < SpinGovernor::kRestFor; ++i) EXPECT_FALSE(governor.should_spin());
  EXPECT_TRUE(governor.should_spin());  // rested: it tries again
  governor.spun(false);
  EXPECT_TRUE(governor.should_spin());  // and needs kGiveUpAfter empty spins to stop once more
}

TEST(IdleSpin, RunsReadyWorkAndTimersThenReturnsWhenOutOfWork) {
  asio::io_context io;
  int ran = 0;
  for (int i = 0; i < 3; ++i) asio::post(io, [&] { ++ran; });
  asio::steady_timer timer(io, 2ms);  // longer than the spin: it fires after the thread parked
  timer.async_wait([&](boost::system::error_code ec) { ran += ec ? 0 : 10; });
  run_spinning(io, 500us);
  EXPECT_EQ(ran, 13);
  EXPECT_TRUE(io.stopped());
}

// Work from another thread is picked up both by the spinning loop and after it parked.
TEST(IdleSpin, TakesWorkFromOtherThreadsWhileSpinningAndAfterParking) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread runner([&] { run_spinning(io, 20ms); });
  for (auto idle : {0ms, 50ms}) {  // 50 ms: well past the spin, so the loop is parked in epoll
    std::this_thread::sleep_for(idle);
    std::promise<std::thread::id> ran_on;
    asio::post(io, [&] { ran_on.set_value(std::this_thread::get_id()); });
    auto done = ran_on.get_future();
    ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(done.get(), runner.get_id());
  }
  guard.reset();
  io.stop();
  runner.join();
}

TEST(IdleSpin, StopEndsItWhileSpinningOrParked) {
  for (std::chrono::microseconds spin :
       {std::chrono::microseconds(10s), 1us}) {  // 10 s: stopped mid-spin; 1 µs: stopped while parked
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    std::promise<void> returned;
    std::thread runner([&] {
      run_spinning(io, spin);
      returned.set_value();
    });
    std::this_thread::sleep_for(5ms);
    io.stop();
    EXPECT_EQ(returned.get_future().wait_for(5s), std::future_status::ready);
    runner.join();
  }
}

}  // namespace
}  // namespace actr::detail
