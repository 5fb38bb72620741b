#include "pending_calls.hpp"

namespace actr::detail {

void PendingCalls::add(std::uint64_t sequence, Clock::time_point deadline, Completion&& done) {
  auto [it, inserted] = entries_.try_emplace(sequence);
  if (!inserted) {
    // Reusing a live sequence would steal the first caller's answer: refuse it.
    done(fail(ErrorCode::InvalidArgument,
              "request " + std::to_string(sequence) + " is already waiting for a reply"));
    return;
  }
  it->second.done = std::move(done);
  it->second.deadline = deadlines_.emplace(deadline, sequence);
  size_.store(entries_.size(), std::memory_order_relaxed);
  if (deadline < armed_for_) arm(deadline);
}

bool PendingCalls::complete(std::uint64_t sequence, Result<Payload> result) {
  auto it = entries_.find(sequence);
  if (it == entries_.end()) return false;
  auto done = std::move(it->second.done);
  deadlines_.erase(it->second.deadline);
  entries_.erase(it);
  size_.store(entries_.size(), std::memory_order_relaxed);
  done(std::move(result));
  return true;
}

void PendingCalls::fail_all(const Error& error) {
  std::unordered_map<std::uint64_t, Entry> entries;
  entries.swap(entries_);
  deadlines_.clear();
  size_.store(0, std::memory_order_relaxed);
  for (auto& [id, entry] : entries) entry.done(std::unexpected(error));
}

void PendingCalls::arm(Clock::time_point deadline) {
  armed_for_ = deadline;
  timer_.expires_at(deadline);
  timer_.async_wait([this, deadline](boost::system::error_code ec) {
    if (ec || deadline != armed_for_) return;  // re-armed for an earlier deadline meanwhile
    armed_for_ = Clock::time_point::max();
    expire();
  });
}

void PendingCalls::expire() {
  auto now = Clock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    complete(deadlines_.begin()->second, fail(ErrorCode::TimedOut, "no reply before the deadline"));
  }
  if (!deadlines_.empty()) arm(deadlines_.begin()->first);
}

}  // namespace actr::detail
