#pragma once
// Takes envelopes off the mailbox and runs their handlers on the workload's strand.
//   - No rule for the route: serial. The request runs alone, to completion.
//   - A conflict key (the caller, or a scalar request field): requests with different keys
//     interleave at their co_await points, up to the budget; the same key never overlaps and
//     keeps its order. A serial request waits for all keyed work to finish, and vice versa.
// The loop never skips ahead: when the head can't start, everything behind it waits too.

#include <google/protobuf/descriptor.h>

#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "actr/framework/workload.hpp"
#include "mailbox.hpp"

namespace actr::detail {

class Scheduler {
 public:
  using Handle = std::function<asio::awaitable<void>(EnvelopePtr)>;

  /// Envelopes handled back to back before the loop yields to other work on the strand.
  static constexpr std::size_t kYieldEvery = 64;

  Scheduler(Strand strand, Mailbox& mailbox, SchedulingPolicy policy, Handle handle);

  /// Runs until the mailbox closes and the last handler it started has returned.
  asio::awaitable<void> run();
  /// true once run() has finished; false if `deadline` came first.
  asio::awaitable<bool> wait_finished(Clock::time_point deadline);
  bool finished() const { return finished_; }
  std::size_t in_flight() const { return in_flight_; }

  /// Takes the handler slot for a request its caller runs inline (NodeCore::run_inline): only
  /// when nothing runs and the loop holds no envelope, so running it now keeps the mailbox order,
  /// and only for a route that runs serially (a keyed one may interleave: the loop decides).
  /// The caller must also have found the mailbox empty.
  bool try_claim(std::string_view route_key) {
    if (in_flight_ > 0 || holding_ || finished_) return false;
    if (!policy_.empty() && policy_.find(route_key)) return false;
    ++in_flight_;
    claimed_ = true;
    return true;
  }
  /// Gives back the serial slot (taken by try_claim, or by run() for a request without a
  /// conflict key) once its handler has produced its answer.
  void release() {
    --in_flight_;
    claimed_ = false;
    if (!slot_freed_.empty()) slot_freed_.notify_all();
  }

 private:
  struct FieldKey {
    const google::protobuf::Message* prototype = nullptr;  // nullptr: the rule can't apply, run serially
    const google::protobuf::FieldDescriptor* field = nullptr;
  };
  std::optional<std::string> conflict_key(Envelope& envelope);
  const FieldKey& field_key(std::string_view route_key, const std::string& field);
  asio::awaitable<void> run_keyed(EnvelopePtr envelope, std::string key);

  Strand strand_;
  Mailbox& mailbox_;
  SchedulingPolicy policy_;
  Handle handle_;
  std::unordered_map<std::string, FieldKey> field_keys_;
  std::unordered_set<std::string> keys_in_flight_;
  std::size_t in_flight_ = 0;
  bool holding_ = false;  // popped an envelope that has not started yet
  bool claimed_ = false;  // try_claim's holder runs: take nothing off the mailbox meanwhile
  bool finished_ = false;
  WaitList slot_freed_;
  WaitList finished_waiters_;
};

}  // namespace actr::detail
