#pragma once
// Calls waiting for their answer, by request_id. Each entry ends exactly once: with the reply,
// with an error, or with TimedOut when its deadline passes. One timer serves the whole table,
// armed at the earliest deadline, so a call costs no timer operation of its own.

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>

#include "envelope.hpp"
#include "executor.hpp"

namespace actr::detail {

class PendingCalls {
 public:
  using Completion = detail::Completion<Result<Payload>>;

  explicit PendingCalls(Strand strand) : timer_(strand) {}
  PendingCalls(const PendingCalls&) = delete;
  PendingCalls& operator=(const PendingCalls&) = delete;

  /// All members: call on the strand.
  /// Keyed by the sequence number this node put into the request_id (see NodeCore::number).
  void add(std::uint64_t sequence, Clock::time_point deadline, Completion&& done);
  /// false when no such call is waiting (it timed out, or the sequence is unknown).
  bool complete(std::uint64_t sequence, Result<Payload> result);
  bool contains(std::uint64_t sequence) const { return entries_.contains(sequence); }
  void fail_all(const Error& error);
  /// Safe from any thread (for stats).
  std::size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  using Deadlines = std::multimap<Clock::time_point, std::uint64_t>;
  struct Entry {
    Completion done;
    Deadlines::iterator deadline;
  };

  void arm(Clock::time_point deadline);
  void expire();

  // Both containers allocate a node per call. (A std::pmr::unsynchronized_pool_resource was tried:
  // libstdc++'s costs about 300 instructions per allocate/deallocate pair, malloc's about 120.)
  std::unordered_map<std::uint64_t, Entry> entries_;
  Deadlines deadlines_;
  asio::steady_timer timer_;
  Clock::time_point armed_for_ = Clock::time_point::max();
  std::atomic<std::size_t> size_{0};
};

}  // namespace actr::detail
