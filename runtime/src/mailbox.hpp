#pragma once
// The workload's inbound queue: one FIFO per priority (RPC_SIGNAL before everything else), each
// bounded. A sender that finds its queue full is held in an overflow line and admitted in order as
// room frees (pushback); past `capacity * kOverflowFactor` held messages the mailbox refuses.

#include <deque>
#include <functional>
#include <optional>

#include "envelope.hpp"
#include "wait_list.hpp"

namespace actr::detail {

class Mailbox {
 public:
  static constexpr std::size_t kOverflowFactor = 4;

  enum class Admission { Queued, Held, Full, Closed };
  /// Called for each held envelope as it is admitted; false drops it (its sender gave up).
  using AdmitHook = std::function<bool(Envelope&)>;

  Mailbox(Strand strand, std::size_t capacity, AdmitHook on_admit);

  /// All members: call on the strand.
  Admission push(EnvelopePtr envelope);
  /// The next envelope, RPC_SIGNAL first; nullptr when nothing is queued (or once closed).
  EnvelopePtr try_pop();
  /// Completes when try_pop() may find something: an envelope was queued, or the mailbox closed.
  asio::awaitable<bool> wait_readable() { return readable_.wait(); }
  /// Stops admission and wakes the reader; returns what was still queued or held.
  std::deque<EnvelopePtr> close();

  std::size_t queued() const { return signal_.queue.size() + normal_.queue.size(); }
  std::size_t held() const { return signal_.overflow.size() + normal_.overflow.size(); }
  /// Asked by every inline run: deque::empty() is a compare, size() a computation.
  bool empty() const {
    return signal_.queue.empty() && normal_.queue.empty() && signal_.overflow.empty() &&
           normal_.overflow.empty();
  }
  std::size_t capacity() const { return capacity_; }
  bool closed() const { return closed_; }

 private:
  struct Lane {
    std::deque<EnvelopePtr> queue;
    std::deque<EnvelopePtr> overflow;
  };
  Lane& lane_for(const Envelope& envelope) { return envelope.lane == RPC_SIGNAL ? signal_ : normal_; }
  void refill(Lane& lane);

  std::size_t capacity_;
  AdmitHook on_admit_;
  Lane signal_;
  Lane normal_;
  WaitList readable_;
  bool closed_ = false;
};

}  // namespace actr::detail
