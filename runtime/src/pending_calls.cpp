#include "pending_calls.hpp"

#include <algorithm>
#include <bit>
#include <string>

namespace actr::detail {
namespace {

constexpr std::size_t kMinBuckets = 16;
// Storage is kept when the table drains, so a busy node stops allocating here for good; but a burst
// past this many calls in flight gives its memory back once it is over (100k waiting calls hold
// ~20 MB, which an idle node should not keep). Regrowing costs far less than the burst itself.
constexpr std::size_t kKeepSlots = 4096;
constexpr std::size_t kArity = 4;  // half the levels of a binary heap, and siblings share a cache line

// Fibonacci hashing: the product's top bits depend on every bit of the sequence, and consecutive
// sequences (the usual case) land evenly spread, so probes stay short. No division either.
std::size_t home(std::uint64_t sequence, int shift) { return (sequence * 0x9E3779B97F4A7C15ULL) >> shift; }

}  // namespace

PendingCalls::PendingCalls(Strand strand) : timer_(strand) { resize_buckets(kMinBuckets); }

void PendingCalls::add(std::uint64_t sequence, Clock::time_point deadline, Completion&& done,
                       const void* via) {
  if ((count_ + 1) * 2 > buckets_.size()) resize_buckets(buckets_.size() * 2);
  auto bucket = find(sequence);
  if (buckets_[bucket].slot != kNone) {
    // Reusing a live sequence would steal the first caller's answer: refuse it.
    done(fail(ErrorCode::InvalidArgument,
              "request " + std::to_string(sequence) + " is already waiting for a reply"));
    return;
  }
  // What may throw (allocation) comes first, so that a failure leaves the table as it was.
  if (free_ == kNone) {  // a new slot, onto the free list
    links_.resize(slots_.size() + 1);
    slots_.emplace_back();
    free_ = static_cast<std::uint32_t>(slots_.size() - 1);
  }
  bool in_run = run_tail_ == kNone || !(deadline < slots_[run_tail_].deadline);
  if (!in_run) heap_.emplace_back();
  auto slot = free_;
  free_ = links_[slot].next;
  slots_[slot].done = std::move(done);
  slots_[slot].sequence = sequence;
  slots_[slot].deadline = deadline;
  slots_[slot].via = via;
  buckets_[bucket] = {sequence, slot};
  if (in_run) {
    links_[slot] = {kNone, run_tail_, kNone};
    (run_tail_ == kNone ? run_head_ : links_[run_tail_].next) = slot;
    run_tail_ = slot;
  } else {
    sift_up(heap_.size() - 1, {deadline, slot});
  }
  size_.store(++count_, std::memory_order_relaxed);
  if (deadline < armed_for_) arm(deadline);
}

bool PendingCalls::complete(std::uint64_t sequence, Result<Payload> result) {
  auto bucket = find(sequence);
  auto slot = buckets_[bucket].slot;
  if (slot == kNone) return false;
  erase_bucket(bucket);
  unlink(slot);
  // Out of the slab before it runs: the completion may add (and so reuse the slot, or grow the slab).
  auto done = std::move(slots_[slot].done);
  links_[slot].next = free_;
  free_ = slot;
  size_.store(--count_, std::memory_order_relaxed);
  if (count_ == 0 && slots_.size() > kKeepSlots) clear();
  done(std::move(result));
  return true;
}

void PendingCalls::fail_all(const Error& error) {
  // Taken out first: a call that one of these completions adds is a new one, not failed here.
  std::vector<Completion> failing;
  failing.reserve(count_);
  for (auto slot = run_head_; slot != kNone; slot = links_[slot].next) {
    failing.push_back(std::move(slots_[slot].done));
  }
  for (auto& timed : heap_) failing.push_back(std::move(slots_[timed.slot].done));
  clear();
  for (auto& done : failing) done(std::unexpected(error));
}

std::size_t PendingCalls::find(std::uint64_t sequence) const {
  auto i = home(sequence, shift_);
  while (buckets_[i].slot != kNone && buckets_[i].sequence != sequence) i = (i + 1) & mask_;
  return i;
}

// Backward-shift deletion: pulls later entries of the cluster back over the hole (unless that would
// put one before its home bucket), so lookups never meet tombstones.
void PendingCalls::erase_bucket(std::size_t i) {
  for (auto j = (i + 1) & mask_; buckets_[j].slot != kNone; j = (j + 1) & mask_) {
    if (((j - home(buckets_[j].sequence, shift_)) & mask_) >= ((j - i) & mask_)) {
      buckets_[i] = buckets_[j];
      i = j;
    }
  }
  buckets_[i].slot = kNone;
}

void PendingCalls::resize_buckets(std::size_t count) {
  std::vector<Bucket> old(count);
  old.swap(buckets_);
  mask_ = count - 1;
  shift_ = 64 - std::countr_zero(count);
  for (const auto& bucket : old) {
    if (bucket.slot != kNone) buckets_[find(bucket.sequence)] = bucket;
  }
}

void PendingCalls::unlink(std::uint32_t slot) {
  const auto link = links_[slot];
  if (link.heap_pos == kNone) {
    (link.prev == kNone ? run_head_ : links_[link.prev].next) = link.next;
    (link.next == kNone ? run_tail_ : links_[link.next].prev) = link.prev;
    return;
  }
  auto last = heap_.back();
  heap_.pop_back();
  if (link.heap_pos == heap_.size()) return;
  if (link.heap_pos > 0 && last.deadline < heap_[(link.heap_pos - 1) / kArity].deadline) {
    sift_up(link.heap_pos, last);
  } else {
    sift_down(link.heap_pos, last);
  }
}

void PendingCalls::sift_up(std::size_t pos, Timed timed) {
  while (pos > 0) {
    auto parent = (pos - 1) / kArity;
    if (!(timed.deadline < heap_[parent].deadline)) break;
    place(pos, heap_[parent]);
    pos = parent;
  }
  place(pos, timed);
}

void PendingCalls::sift_down(std::size_t pos, Timed timed) {
  const auto size = heap_.size();
  for (auto first = pos * kArity + 1; first < size; first = pos * kArity + 1) {
    auto least = first;
    for (auto c = first + 1, end = std::min(first + kArity, size); c < end; ++c) {
      if (heap_[c].deadline < heap_[least].deadline) least = c;
    }
    if (!(heap_[least].deadline < timed.deadline)) break;
    place(pos, heap_[least]);
    pos = least;
  }
  place(pos, timed);
}

std::uint32_t PendingCalls::earliest() const {
  if (heap_.empty()) return run_head_;
  if (run_head_ != kNone && !(heap_.front().deadline < slots_[run_head_].deadline)) return run_head_;
  return heap_.front().slot;
}

// Empties the table, keeping its storage unless a burst grew it past kKeepSlots.
void PendingCalls::clear() {
  free_ = run_head_ = run_tail_ = kNone;
  size_.store(count_ = 0, std::memory_order_relaxed);
  if (slots_.size() <= kKeepSlots) {
    heap_.clear();
    slots_.clear();
    links_.clear();
    std::fill(buckets_.begin(), buckets_.end(), Bucket{});
    return;
  }
  heap_ = std::vector<Timed>();
  slots_ = std::vector<Slot>();
  links_ = std::vector<Link>();
  buckets_.clear();
  resize_buckets(kMinBuckets);
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
  for (auto slot = earliest(); slot != kNone && slots_[slot].deadline <= now; slot = earliest()) {
    complete(slots_[slot].sequence, fail(ErrorCode::TimedOut, "no reply before the deadline"));
  }
  if (auto slot = earliest(); slot != kNone) arm(slots_[slot].deadline);
}

std::vector<std::uint64_t> PendingCalls::riding(const void* via) const {
  std::vector<std::uint64_t> sequences;
  for (const auto& bucket : buckets_) {
    if (bucket.slot != kNone && slots_[bucket.slot].via == via) sequences.push_back(bucket.sequence);
  }
  return sequences;
}

}  // namespace actr::detail
