#pragma once
// Calls waiting for their answer, by request_id. Each entry ends exactly once: with the reply,
// with an error, or with TimedOut when its deadline passes. One timer serves the whole table,
// armed at the earliest deadline, so a call costs no timer operation of its own.
//
// Every remote call adds and completes one entry, so neither allocates once the table has grown:
// entries sit in a slab reused through a free list, and an open-addressing hash finds them by
// sequence. Deadlines are ordered twice over: calls made with the same timeout arrive in deadline
// order, so most join a sorted run (a list: O(1) to append and to unlink); one that would break
// its order goes to a 4-ary min-heap instead (at worst, every call: O(log n) then). Both know
// where each entry sits, so a reply takes its deadline out at once rather than leaving it for the
// timer to skip.

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <vector>

#include "envelope.hpp"
#include "executor.hpp"

namespace actr::detail {

class PendingCalls {
 public:
  using Completion = detail::Completion<Result<Payload>>;

  explicit PendingCalls(Strand strand);
  PendingCalls(const PendingCalls&) = delete;
  PendingCalls& operator=(const PendingCalls&) = delete;

  /// All members: call on the strand.
  /// Keyed by the sequence number this node put into the request_id (see NodeCore::number).
  /// `via`: what the call rides on (a peer link), for riding(); the table never dereferences it.
  void add(std::uint64_t sequence, Clock::time_point deadline, Completion&& done, const void* via = nullptr);
  /// false when no such call is waiting (it timed out, or the sequence is unknown).
  bool complete(std::uint64_t sequence, Result<Payload> result);
  bool contains(std::uint64_t sequence) const { return buckets_[find(sequence)].slot != kNone; }
  void fail_all(const Error& error);
  /// The calls added with `via` (a scan of the table: for when a link dies, not per call).
  std::vector<std::uint64_t> riding(const void* via) const;
  /// Safe from any thread (for stats).
  std::size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  struct Slot {
    Completion done;
    std::uint64_t sequence = 0;
    Clock::time_point deadline;
    const void* via = nullptr;
  };
  // Apart from the 144-byte slots, so that ordering deadlines touches little memory.
  struct Link {
    std::uint32_t heap_pos = kNone;  // kNone: in the run
    std::uint32_t prev = kNone;      // neighbours in the run; for a free slot, next is the next free one
    std::uint32_t next = kNone;
  };
  struct Bucket {
    std::uint64_t sequence = 0;
    std::uint32_t slot = kNone;  // kNone: empty
  };
  struct Timed {
    Clock::time_point deadline;
    std::uint32_t slot;
  };

  /// The bucket holding `sequence`, or the empty one where it would go.
  std::size_t find(std::uint64_t sequence) const;
  void erase_bucket(std::size_t i);
  void resize_buckets(std::size_t count);
  void unlink(std::uint32_t slot);
  void sift_up(std::size_t pos, Timed timed);
  void sift_down(std::size_t pos, Timed timed);
  void place(std::size_t pos, Timed timed) {
    heap_[pos] = timed;
    links_[timed.slot].heap_pos = static_cast<std::uint32_t>(pos);
  }
  /// The slot whose deadline comes first; kNone when none is waiting.
  std::uint32_t earliest() const;
  void clear();
  void arm(Clock::time_point deadline);
  void expire();

  std::vector<Slot> slots_;
  std::vector<Link> links_;  // one per slot
  std::uint32_t free_ = kNone;
  std::size_t count_ = 0;        // waiting entries
  std::vector<Bucket> buckets_;  // a power of two of them, at most half full
  std::size_t mask_ = 0;         // buckets_.size() - 1
  int shift_ = 0;                // 64 - log2(buckets_.size())
  std::uint32_t run_head_ = kNone;
  std::uint32_t run_tail_ = kNone;
  std::vector<Timed> heap_;
  asio::steady_timer timer_;
  Clock::time_point armed_for_ = Clock::time_point::max();
  std::atomic<std::size_t> size_{0};
};

}  // namespace actr::detail
