// The push side of ConnectionImpl's reader: frames handed to a FrameSink as they arrive, lent
// straight from the read buffer when nothing is held, with pauses and resumption.

#include <boost/asio/post.hpp>

#include "connection_impl.hpp"

namespace actr::wire {

namespace asio = boost::asio;

void ConnectionImpl::deliver_held_frames() {
  std::shared_ptr<FrameSink> sink;
  bool resume = false;
  std::optional<Error> end;
  for (std::size_t delivered = 0;; ++delivered) {
    Frame frame;
    std::uint64_t resumes = 0;
    {
      std::lock_guard lock(mu_);
      if (!sink) {
        if (sink_closed_) return;
        sink = sink_.lock();
        if (!sink) return;  // its owner is gone: nobody takes frames any more
      }
      if (sink_paused_) break;
      if (in_.empty()) {
        if (terminal_) {
          end = terminal_;
          sink_closed_ = true;
        }
        break;
      }
      frame = std::move(in_.front());
      in_.pop_front();
      in_bytes_ -= frame.data.size() + kFrameHeaderBytes;
      if (reading_paused_ && in_bytes_ <= options_.receive_queue_limit / 2 && !terminal_) {
        reading_paused_ = false;
        resume = true;
      }
      resumes = sink_resumes_;
    }
    flush_early(delivered);
    if (!sink->on_frame(frame.lane, frame.data)) {
      std::lock_guard lock(mu_);
      if (sink_resumes_ == resumes) sink_paused_ = true;
    }
  }
  if (resume) resume_reading();
  if (end) sink->on_closed(*end);
}

bool ConnectionImpl::lend_to_sink() {
  std::shared_ptr<FrameSink> sink;
  std::size_t lent = 0;
  bool refused = false;
  for (; lent < parsed_.size(); ++lent) {
    std::uint64_t resumes = 0;
    {
      std::lock_guard lock(mu_);
      // Frames held from before go first (deliver_held_frames), and none go after the end.
      if (sink_paused_ || !in_.empty() || terminal_) break;
      if (!sink && !(sink = sink_.lock())) break;
      resumes = sink_resumes_;
    }
    flush_early(lent);
    const Parsed& parsed = parsed_[lent];
    if (!sink->on_frame(parsed.lane, parsed.data())) {
      std::lock_guard lock(mu_);
      if (sink_resumes_ == resumes) sink_paused_ = true;
      ++lent;
      refused = true;
      break;
    }
  }
  parsed_.erase(parsed_.begin(), parsed_.begin() + static_cast<std::ptrdiff_t>(lent));
  return parsed_.empty() && !refused;
}

void ConnectionImpl::flush_early(std::size_t delivered) {
  const std::size_t every = options_.flush_every_frames;
  if (every != 0 && delivered != 0 && delivered % every == 0) pump_if_deferred();
}

void ConnectionImpl::run_sink() {
  {
    detail::Delivering delivering(this);
    deliver_held_frames();
  }
  pump_if_deferred();
}

void ConnectionImpl::deliver_to(std::weak_ptr<FrameSink> sink) {
  {
    std::lock_guard lock(mu_);
    sink_ = std::move(sink);
  }
  has_sink_.store(true, std::memory_order_release);
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->run_sink(); });
}

void ConnectionImpl::resume_delivery() {
  {
    std::lock_guard lock(mu_);
    ++sink_resumes_;
    if (!sink_paused_) return;
    sink_paused_ = false;
  }
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->run_sink(); });
}

}  // namespace actr::wire
