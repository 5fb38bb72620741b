#pragma once
// Coroutines waiting for a condition owned by one strand ("room in the queue", "the handler
// finished"). Waiters re-check their condition after waking, so a notify with nobody waiting is
// simply lost, never needed later. A waiter may carry a deadline.

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <memory>
#include <optional>

#include "executor.hpp"

namespace actr::detail {

class WaitList {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WaitList(Strand strand) : strand_(std::move(strand)) {}
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList() { notify_all(false); }

  /// Call on the strand. true: notified; false: the deadline passed or the list was cancelled.
  asio::awaitable<bool> wait(std::optional<Clock::time_point> deadline = std::nullopt) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(bool)>(
        [this, deadline](auto handler) {
          auto waiter = std::make_shared<Waiter>();
          waiter->resume = deferred_completion<bool>(std::move(handler));
          if (deadline) {
            waiter->timer.emplace(strand_, *deadline);
            waiter->timer->async_wait([weak = std::weak_ptr<Waiter>(waiter)](boost::system::error_code) {
              if (auto w = weak.lock()) finish(*w, false);
            });
          }
          waiters_.push_back(std::move(waiter));
        },
        asio::use_awaitable);
  }

  void notify_one() {
    while (!waiters_.empty()) {
      auto waiter = std::move(waiters_.front());
      waiters_.pop_front();
      if (!waiter->done) {
        finish(*waiter, true);
        return;
      }
    }
  }

  void notify_all(bool woken = true) {
    if (waiters_.empty()) return;
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& waiter : waiters) finish(*waiter, woken);
  }

  bool empty() const { return waiters_.empty(); }

 private:
  struct Waiter {
    std::move_only_function<void(bool)> resume;
    std::optional<asio::steady_timer> timer;
    bool done = false;
  };

  static void finish(Waiter& waiter, bool woken) {
    if (waiter.done) return;
    waiter.done = true;
    if (waiter.timer) waiter.timer->cancel();
    waiter.resume(woken);
  }

  Strand strand_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace actr::detail
