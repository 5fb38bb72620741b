#pragma once
// The runtime's side of one in-process request, kept in the calling coroutine's own frame.
// Not user API: ActorRef::call and the runtime's Context use it.
//
//   detail::InProcessCall op(core, target);
//   if (op.must_yield()) co_await op.park();      // now and then, let other work run first
//   if (!op.start(...)) co_await op.park();       // answered inline, or wait for the answer
//   Result<Payload> reply = op.take_reply();
//
// Why not a coroutine returning the reply: every in-process call would pay a second coroutine
// frame (allocated, started, its result moved out, destroyed) just to wait. `park()` suspends the
// caller directly (see src/suspend.hpp) and the answer lands in this object.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "actr/framework.hpp"

namespace actr::detail {

class NodeCore;
struct Envelope;
/// Where an in-process message goes.
enum class Target : std::uint8_t { Workload, Shell };

class InProcessCall {
 public:
  using Frame = boost::asio::detail::awaitable_frame_base<boost::asio::any_io_executor>;
  using Thread = boost::asio::detail::awaitable_thread<boost::asio::any_io_executor>;
  using EnvelopePtr = std::unique_ptr<Envelope>;

  /// Awaitable: parks the caller until the call's next step resumes it.
  struct Park {
    InProcessCall* call;
    Thread* operator()(Frame* frame) const;
  };

  InProcessCall(NodeCore& core, Target target);
  InProcessCall(const InProcessCall&) = delete;
  InProcessCall& operator=(const InProcessCall&) = delete;
  ~InProcessCall();

  /// true when the caller has run many requests inline back to back and should park() once, so
  /// that timers, sockets and other callers get a turn (NodeCore::kInlineStreak).
  bool must_yield();
  /// Sends the request. true: answered already (inline, or refused); false: park() to wait.
  bool start(Result<EnvelopePtr> envelope);
  /// The same for a shell → workload request (ActorRef::call).
  bool start(Outbound message);
  Park park() { return Park{this}; }
  Result<Payload> take_reply() { return std::move(reply_); }

 private:
  enum class Step : std::uint8_t { Yield, Queue, Wait };

  NodeCore& core_;
  Target target_;
  bool on_strand_;
  Step step_ = Step::Yield;
  std::uint64_t sequence_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  EnvelopePtr envelope_;
  Result<Payload> reply_;
};

}  // namespace actr::detail
