#include "actr/runtime/in_process_call.hpp"

#include <boost/asio/post.hpp>

#include "node_core.hpp"
#include "suspend.hpp"

namespace actr::detail {

InProcessCall::InProcessCall(NodeCore& core, Target target)
    : core_(core), target_(target), on_strand_(core.on_strand()) {}

InProcessCall::~InProcessCall() = default;

bool InProcessCall::must_yield() {
  if (!on_strand_ || ++core_.inline_streak_ <= NodeCore::kInlineStreak) return false;
  core_.inline_streak_ = 0;
  step_ = Step::Yield;
  return true;
}

bool InProcessCall::start(Outbound message) {
  if (!core_.accepting()) return start(std::unexpected(core_.not_running()));
  return start(core_.make_envelope(DIRECTION_REQUEST, std::move(message), shell_caller(), nullptr));
}

bool InProcessCall::start(Result<EnvelopePtr> envelope) {
  if (!envelope) {
    reply_ = std::unexpected(std::move(envelope.error()));
    return true;
  }
  sequence_ = (*envelope)->sequence;
  deadline_ = (*envelope)->deadline;
  envelope_ = std::move(*envelope);
  step_ = Step::Queue;
  if (!on_strand_ || target_ != Target::Workload) return false;
  switch (core_.run_inline(envelope_, &reply_)) {
    case NodeCore::Inline::Answered: return true;
    case NodeCore::Inline::Running: step_ = Step::Wait; return false;
    case NodeCore::Inline::NotRun: return false;
  }
  return false;
}

InProcessCall::Thread* InProcessCall::Park::operator()(Frame* frame) const {
  // Runs inside await_suspend: the caller is parked, and nothing here may resume it inline.
  Resume resume(std::move(*frame->detach_thread()));
  NodeCore& core = call->core_;
  switch (call->step_) {
    case Step::Yield: std::move(resume).post(); break;
    case Step::Wait:  // its handler suspended: it answers through the pending table
      core.pending_.add(call->sequence_, call->deadline_,
                        core.resumer_.completion(std::move(resume), &call->reply_));
      break;
    case Step::Queue: {
      auto done = core.resumer_.completion(std::move(resume), &call->reply_);
      if (call->on_strand_) {
        core.start_request(call->target_, std::move(call->envelope_), std::move(done));
        break;
      }
      asio::post(core.strand_, [self = core.shared_from_this(), target = call->target_,
                                envelope = std::move(call->envelope_), done = std::move(done)]() mutable {
        self->start_request(target, std::move(envelope), std::move(done));
      });
      break;
    }
  }
  return nullptr;
}

}  // namespace actr::detail
