#pragma once
// The executor every piece of node state lives on: one strand of the node's io_context.
// Code that touches node state runs on it; everything else posts into it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <utility>

#include "completion.hpp"
#include "suspend.hpp"

namespace actr::detail {

namespace asio = boost::asio;
/// The node's serial executor: a strand when the node runs several threads, the io_context's own
/// executor when it runs one (already serial, and a strand would only add a lock per post).
using Strand = asio::any_io_executor;

/// Wraps an Asio completion handler so it can be stored type-erased and invoked from anywhere:
/// the invocation is always posted to the handler's own executor, never run inline, so that
/// completing a waiter can't re-enter the code that completed it.
template <class... Args, class Handler>
Completion<Args...> deferred_completion(Handler&& handler) {
  return [h = std::forward<Handler>(handler)](Args... args) mutable {
    auto ex = asio::get_associated_executor(h);
    asio::post(ex, [h = std::move(h), ... args = std::move(args)]() mutable { h(std::move(args)...); });
  };
}

/// Lets one completion per window resume its coroutine inline instead of posting it.
///
/// Why: the scheduler answering an in-process call would otherwise post the caller's resumption,
/// and the caller's next call would post the scheduler's: two trips through the io_context per
/// round trip. Resuming the caller right where the reply is produced lets a caller on the node's
/// own strand issue its next call while the scheduler is still running, so the scheduler finds it
/// queued and never parks. A window admits one resumption, so a caller that immediately fails
/// again and retries in a loop cannot recurse; and only where the window is opened (a point with
/// no iteration in progress) does inline code run.
class InlineResumer {
 public:
  explicit InlineResumer(Strand strand) : strand_(std::move(strand)) {}

  /// Runs `f` (which completes some waiter) with the window open; call on the strand.
  template <class F>
  void with_window(F&& f) {
    bool was_open = std::exchange(open_, true);
    std::forward<F>(f)();
    open_ = was_open && open_;
  }

  /// A completion that stores its value in `*slot` (the parked caller's frame) and resumes the
  /// caller: inline when a window is open and the caller lives on the strand; posted otherwise.
  template <class T>
  Completion<T> completion(Resume resume, T* slot) {
    return [this, resume = std::move(resume), slot](T value) mutable {
      *slot = std::move(value);
      if (open_ && resume.executor() == strand_) {
        open_ = false;
        resume();
        return;
      }
      std::move(resume).post();
    };
  }

 private:
  Strand strand_;
  bool open_ = false;
};

}  // namespace actr::detail
