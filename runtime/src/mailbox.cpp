#include "mailbox.hpp"

namespace actr::detail {

Mailbox::Mailbox(Strand strand, std::size_t capacity, AdmitHook on_admit)
    : capacity_(capacity == 0 ? 1 : capacity), on_admit_(std::move(on_admit)), readable_(std::move(strand)) {}

Mailbox::Admission Mailbox::push(EnvelopePtr envelope) {
  if (closed_) return Admission::Closed;
  Lane& lane = lane_for(*envelope);
  if (lane.queue.size() < capacity_ && lane.overflow.empty()) {
    lane.queue.push_back(std::move(envelope));
    readable_.notify_one();
    return Admission::Queued;
  }
  if (lane.overflow.size() >= capacity_ * kOverflowFactor) return Admission::Full;
  lane.overflow.push_back(std::move(envelope));
  return Admission::Held;
}

void Mailbox::refill(Lane& lane) {
  while (lane.queue.size() < capacity_ && !lane.overflow.empty()) {
    EnvelopePtr envelope = std::move(lane.overflow.front());
    lane.overflow.pop_front();
    if (on_admit_(*envelope)) lane.queue.push_back(std::move(envelope));
  }
}

EnvelopePtr Mailbox::try_pop() {
  if (closed_) return nullptr;
  for (Lane* lane : {&signal_, &normal_}) {
    if (lane->queue.empty()) continue;
    EnvelopePtr next = std::move(lane->queue.front());
    lane->queue.pop_front();
    refill(*lane);
    return next;
  }
  return nullptr;
}

std::deque<EnvelopePtr> Mailbox::close() {
  closed_ = true;
  std::deque<EnvelopePtr> left;
  for (Lane* lane : {&signal_, &normal_}) {
    for (auto* queue : {&lane->queue, &lane->overflow}) {
      for (auto& envelope : *queue) left.push_back(std::move(envelope));
      queue->clear();
    }
  }
  readable_.notify_all(false);
  return left;
}

}  // namespace actr::detail
