#pragma once
// Parks an Asio coroutine until the runtime resumes it, without a coroutine frame of its own.
//
// Why: `async_initiate(use_awaitable, ...)` runs every initiation inside a coroutine of its own:
// one more frame to allocate, start, fill with the result and destroy, per call. The runtime owns
// both ends of a call, so the caller keeps its result in its own frame and the runtime parks and
// resumes the caller's awaitable thread directly.
//
//   Result<Payload> reply;
//   auto park = suspend([&](Resume resume) { table.add(id, completion(std::move(resume), &reply)); });
//   co_await std::move(park);   // resumed by resume(); `reply` is filled by then
//
// `start` runs after the coroutine is suspended (inside await_suspend), so it must not resume the
// coroutine itself: post, or hand the Resume to someone who runs later.
//
// Relies on Boost.Asio 1.74's awaitable internals (awaitable_thread and the function-object form of
// awaitable_frame_base::await_transform, the same hook async_result<use_awaitable_t> uses).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/version.hpp>
#include <utility>

static_assert(
    BOOST_VERSION / 100 == 1074,
    "runtime/src/suspend.hpp uses Boost.Asio 1.74 internals: check awaitable_thread before upgrading");

namespace actr::detail {

namespace asio = boost::asio;

/// A parked coroutine. Calling it resumes the coroutine on the calling thread (call it on the
/// coroutine's executor); dropping it unresumed destroys the coroutine's stack on that executor.
class Resume {
 public:
  using Thread = asio::detail::awaitable_thread<asio::any_io_executor>;

  explicit Resume(Thread&& thread) noexcept : thread_(std::move(thread)) {}
  Resume(Resume&&) noexcept = default;
  Resume& operator=(Resume&&) = delete;

  asio::any_io_executor executor() const { return thread_.get_executor(); }
  /// Resumes here and now.
  void operator()() { thread_.launch(); }
  /// Resumes through the coroutine's executor (never inline).
  void post() && {
    auto ex = thread_.get_executor();
    asio::post(ex, [self = std::move(*this)]() mutable { self(); });
  }

 private:
  Thread thread_;
};

/// Awaited from an `asio::awaitable` coroutine: suspends it and calls `start(Resume)`.
template <class Start>
auto suspend(Start start) {
  return [start = std::move(start)](
             asio::detail::awaitable_frame_base<asio::any_io_executor>* frame) mutable -> Resume::Thread* {
    start(Resume(std::move(*frame->detach_thread())));
    return nullptr;
  };
}

}  // namespace actr::detail
