// The writing half of ConnectionImpl: send(), batching, the gather write and control frames.

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <span>

#include "connection_impl.hpp"

namespace actr::wire {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Payloads up to this size are copied next to their header, so a batch of small messages is one
// contiguous buffer; bigger ones are written from the caller's string (masked in place by a dialer).
constexpr std::size_t kCopyLimit = 2048;
// Batches written back-to-back before the writer yields the strand to other work.
constexpr int kBatchesPerTurn = 16;
// Asio passes at most this many buffers to one sendmsg.
constexpr std::size_t kMaxIov = 64;
// A staging buffer grown by a big batch is given back once it exceeds this.
constexpr std::size_t kKeptStaging = 1u << 20;

bool would_block(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

Result<void> ConnectionImpl::send(PayloadType lane, std::string& data, std::string& tail) {
  const std::size_t length = data.size() + tail.size();
  const std::size_t size = length + kFrameHeaderBytes;
  if (size > options_.max_message_size || length > std::numeric_limits<std::uint32_t>::max()) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("frame of {} bytes exceeds max_message_size ({} bytes)", size,
                            options_.max_message_size));
  }
  if (!PayloadType_IsValid(lane)) {
    return fail(ErrorCode::InvalidArgument, fmt::format("unknown lane {}", static_cast<int>(lane)));
  }
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (terminal_) return fail(ErrorCode::Unavailable, terminal_->message);
    if (out_bytes_ != 0 && out_bytes_ + size > options_.send_queue_limit) {
      return fail(ErrorCode::ConnectionNotReady,
                  fmt::format("send queue full ({} bytes queued, limit {}): co_await wait_writable()",
                              out_bytes_, options_.send_queue_limit));
    }
    out_.push_back(Outgoing{lane, std::move(data), std::move(tail)});
    out_bytes_ += size;
    if (!writer_active_) wake = writer_active_ = true;
  }
  if (!wake) return {};
  if (detail::t_delivering == this) {
    pump_deferred_ = true;  // on our strand, inside process(): it pumps once the deliveries are done
  } else {
    // Posted, not run here: whatever else the caller sends in this turn joins the same batch.
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->pump(); });
  }
  return {};
}

void ConnectionImpl::request_write() {
  {
    std::lock_guard lock(mu_);
    if (writer_active_) return;  // the running writer picks control_ up in its next batch
    writer_active_ = true;
  }
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->pump(); });
}

void ConnectionImpl::pump() {
  for (int batches = 0; batches < kBatchesPerTurn; ++batches) {
    if (!build_batch()) return;
    error_code ec;
    write_now(ec);
    if (ec && !would_block(ec)) {
      write_failed(ec);
      return;
    }
    if (wbuf_index_ < wbufs_.size()) {
      // The socket buffer is full: Asio writes the rest when it drains.
      std::vector<asio::const_buffer> rest(wbufs_.begin() + static_cast<std::ptrdiff_t>(wbuf_index_),
                                           wbufs_.end());
      asio::async_write(stream_.socket(), rest,
                        [self = shared_from_this()](error_code write_ec, std::size_t) {
                          if (write_ec) {
                            self->write_failed(write_ec);
                            return;
                          }
                          if (self->batch_written()) self->pump();
                        });
      return;
    }
    if (!batch_written()) return;
  }
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->pump(); });
}

void ConnectionImpl::pump_if_deferred() {
  if (!pump_deferred_) return;
  pump_deferred_ = false;
  pump();
}

bool ConnectionImpl::build_batch() {
  batch_.clear();
  staging_.clear();
  segments_.clear();
  wbufs_.clear();
  wbuf_index_ = 0;
  batch_bytes_ = 0;
  close_in_batch_ = false;
  {
    std::lock_guard lock(mu_);
    if (!terminal_) batch_.swap(out_);
    if (socket_closed_ || (batch_.empty() && control_.empty())) {
      writer_active_ = false;
      out_.clear();
      return false;
    }
  }
  // Control frames first: a pong or our close frame should not wait behind a big batch.
  if (!control_.empty()) {
    staging_.assign(control_.begin(), control_.end());
    add_staging_segment(0, control_.size());
    control_.clear();
    close_in_batch_ = close_queued_ && !close_written_;
  }
  for (auto& message : batch_) encode_message(message);
  for (const auto& s : segments_) {
    wbufs_.emplace_back(s.ext ? s.ext : staging_.data() + s.offset, s.size);
  }
  return true;
}

void ConnectionImpl::add_staging_segment(std::size_t offset, std::size_t size) {
  if (!segments_.empty() && !segments_.back().ext &&
      segments_.back().offset + segments_.back().size == offset) {
    segments_.back().size += size;
    return;
  }
  segments_.push_back(Segment{nullptr, offset, size});
}

void ConnectionImpl::encode_message(Outgoing& message) {
  const std::size_t length = message.data.size() + message.tail.size();
  const std::size_t payload = kFrameHeaderBytes + length;
  const bool masked = role_ == Role::dialer;
  ws::MaskKey key{};
  if (masked) key = next_mask();
  const auto copied = [](const std::string& part) { return part.size() <= kCopyLimit ? part.size() : 0; };
  const std::size_t at = staging_.size();
  staging_.resize(at + ws::kMaxHeaderBytes + kFrameHeaderBytes + copied(message.data) + copied(message.tail));
  char* out = staging_.data() + at;
  std::size_t used = ws::write_header(out, ws::kBinary, payload, true, masked ? &key : nullptr);
  const auto lane_header = detail::encode_header(message.lane, static_cast<std::uint32_t>(length));
  std::memcpy(out + used, lane_header.data(), lane_header.size());
  if (masked) ws::apply_mask(out + used, lane_header.size(), key);
  used += lane_header.size();
  // Each part is copied next to the header when small, else written from its own string; a
  // dialer masks it where it lies (the strings were moved in: nothing else sees them).
  std::size_t offset = kFrameHeaderBytes;  // where the part starts in the WebSocket payload
  std::size_t run = at;                    // staging bytes from here on are not in segments_ yet
  for (std::string* part : {&message.data, &message.tail}) {
    if (part->empty()) continue;
    if (copied(*part)) {
      std::memcpy(out + used, part->data(), part->size());
      if (masked) ws::apply_mask(out + used, part->size(), key, offset);
      used += part->size();
    } else {
      if (masked) ws::apply_mask(part->data(), part->size(), key, offset);
      add_staging_segment(run, at + used - run);
      run = at + used;
      segments_.push_back(Segment{part->data(), 0, part->size()});
    }
    offset += part->size();
  }
  staging_.resize(at + used);
  if (at + used > run) add_staging_segment(run, at + used - run);
  batch_bytes_ += payload;
}

std::size_t ConnectionImpl::send_one(asio::const_buffer buffer, error_code& ec) {
  // send(2) rather than Asio's sendmsg(2): a batch of small frames is one buffer, and sendmsg
  // also copies a message header and an iovec in from user space on every call. The socket is
  // non-blocking (start()).
  for (;;) {
    ssize_t n = ::send(stream_.socket().native_handle(), buffer.data(), buffer.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      ec.clear();
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) {
      ec = error_code(errno, asio::error::get_system_category());
      return 0;
    }
  }
}

std::size_t ConnectionImpl::write_now(error_code& ec) {
  std::size_t written = 0;
  while (wbuf_index_ < wbufs_.size()) {
    const std::size_t count = std::min(kMaxIov, wbufs_.size() - wbuf_index_);
    std::size_t n = 0;
    if (count == 1) {
      n = send_one(wbufs_[wbuf_index_], ec);
    } else {
      std::span<const asio::const_buffer> window(wbufs_.data() + wbuf_index_, count);
      n = stream_.socket().write_some(window, ec);
    }
    if (ec) break;
    written += n;
    while (n > 0) {
      auto& buffer = wbufs_[wbuf_index_];
      if (n < buffer.size()) {
        buffer += n;
        break;
      }
      n -= buffer.size();
      ++wbuf_index_;
    }
  }
  return written;
}

bool ConnectionImpl::batch_written() {
  batch_.clear();
  if (staging_.capacity() > kKeptStaging) std::vector<char>().swap(staging_);
  std::vector<std::unique_ptr<detail::ReadyWaiter>> ready;
  bool more = true;
  {
    std::lock_guard lock(mu_);
    // Nothing left to write: the writer stops here, under this lock, instead of taking it once
    // more in build_batch() only to find the queue empty (one lock pair per batch fewer).
    if (socket_closed_ || ((terminal_ || out_.empty()) && control_.empty())) {
      writer_active_ = false;
      out_.clear();
      more = false;
    }
    if (!terminal_) {
      out_bytes_ -= batch_bytes_;
      for (auto it = ready_waiters_.begin(); it != ready_waiters_.end();) {
        if (writable_locked(it->frame_bytes)) {
          ready.push_back(std::move(it->waiter));
          it = ready_waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  for (auto& waiter : ready) waiter->complete();
  if (close_in_batch_) {
    close_written_ = true;
    after_close_written();
  }
  return more;
}

void ConnectionImpl::write_failed(error_code ec) {
  {
    std::lock_guard lock(mu_);
    writer_active_ = false;
  }
  if (socket_closed_) return;
  set_terminal(Error{ErrorCode::Unavailable, fmt::format("connection lost: write failed: {}", ec.message())},
               false);
  close_socket();
}

void ConnectionImpl::queue_control(std::uint8_t opcode, std::string_view payload) {
  if (close_queued_ || socket_closed_) return;  // nothing follows our close frame
  const std::size_t at = control_.size();
  control_.resize(at + ws::kMaxHeaderBytes + payload.size());
  const bool masked = role_ == Role::dialer;
  ws::MaskKey key{};
  if (masked) key = next_mask();
  char* out = control_.data() + at;
  const std::size_t head = ws::write_header(out, opcode, payload.size(), true, masked ? &key : nullptr);
  if (!payload.empty()) std::memcpy(out + head, payload.data(), payload.size());
  if (masked) ws::apply_mask(out + head, payload.size(), key);
  control_.resize(at + head + payload.size());
  request_write();
}

}  // namespace actr::wire
