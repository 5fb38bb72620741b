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
  return enqueue(lane, data, &data, tail, &tail);
}

Result<void> ConnectionImpl::send_copy(PayloadType lane, std::string_view data) {
  return enqueue(lane, data, nullptr, {}, nullptr);
}

Result<void> ConnectionImpl::enqueue(PayloadType lane, std::string_view data, std::string* data_owner,
                                     std::string_view tail, std::string* tail_owner) {
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
  const auto copied = [](std::string_view part, const std::string* owner) {
    return !owner || part.size() <= kCopyLimit ? part.size() : 0;
  };
  const bool masked = role_ == Role::dialer;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (terminal_) return fail(ErrorCode::Unavailable, terminal_->message);
    if (out_bytes_ != 0 && out_bytes_ + size > options_.send_queue_limit) {
      return fail(ErrorCode::ConnectionNotReady,
                  fmt::format("send queue full ({} bytes queued, limit {}): co_await wait_writable()",
                              out_bytes_, options_.send_queue_limit));
    }
    // The frame goes straight into pending_: header, lane header, then each part, copied when
    // small (or not ours to keep), else masked where it lies and written from its own string.
    ws::MaskKey key{};
    if (masked) key = next_mask();
    // resize_and_overwrite: the frame's room is not zero-filled first (it is ~200 bytes a call).
    const std::size_t at = pending_.size();
    const std::size_t room =
        ws::kMaxHeaderBytes + kFrameHeaderBytes + copied(data, data_owner) + copied(tail, tail_owner);
    std::pair<std::size_t, std::string*> externals[2];
    std::size_t external_count = 0;
    pending_.resize_and_overwrite(at + room, [&](char* base, std::size_t) {
      char* out = base + at;
      std::size_t used = ws::write_header(out, ws::kBinary, size, true, masked ? &key : nullptr);
      const std::size_t body = used;  // the WebSocket payload starts here
      const auto lane_header = detail::encode_header(lane, static_cast<std::uint32_t>(length));
      std::memcpy(out + used, lane_header.data(), lane_header.size());
      used += lane_header.size();
      std::size_t offset = kFrameHeaderBytes;  // where the next part starts in the WebSocket payload
      std::size_t unmasked = body;             // pending_ bytes from here on are still to be masked
      for (auto [part, owner] : {std::pair{data, data_owner}, std::pair{tail, tail_owner}}) {
        if (part.empty()) continue;
        if (copied(part, owner)) {
          std::memcpy(out + used, part.data(), part.size());
          used += part.size();
        } else {
          if (masked) {
            ws::apply_mask(out + unmasked, used - unmasked, key, offset - (used - unmasked));
            ws::apply_mask(owner->data(), owner->size(), key, offset);
            unmasked = used;
          }
          externals[external_count++] = {at + used, owner};
        }
        offset += part.size();
      }
      if (masked) ws::apply_mask(out + unmasked, used - unmasked, key, offset - (used - unmasked));
      return at + used;
    });
    for (std::size_t i = 0; i < external_count; ++i)
      out_.push_back(External{externals[i].first, std::move(*externals[i].second)});
    pending_bytes_ += size;
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
  staging_.clear();
  batch_.clear();
  wbufs_.clear();
  wbuf_index_ = 0;
  batch_bytes_ = 0;
  close_in_batch_ = false;
  {
    std::lock_guard lock(mu_);
    if (!terminal_) {
      staging_.swap(pending_);
      batch_.swap(out_);
      batch_bytes_ = std::exchange(pending_bytes_, 0);
    }
    if (socket_closed_ || (staging_.empty() && control_.empty())) {
      writer_active_ = false;
      pending_.clear();
      out_.clear();
      return false;
    }
  }
  // Control frames first: a pong or our close frame should not wait behind a big batch.
  if (!control_.empty()) {
    control_writing_.swap(control_);
    control_.clear();
    wbufs_.emplace_back(control_writing_.data(), control_writing_.size());
    close_in_batch_ = close_queued_ && !close_written_;
  }
  std::size_t from = 0;
  for (const auto& external : batch_) {
    if (external.at > from) wbufs_.emplace_back(staging_.data() + from, external.at - from);
    wbufs_.emplace_back(external.data.data(), external.data.size());
    from = external.at;
  }
  if (staging_.size() > from) wbufs_.emplace_back(staging_.data() + from, staging_.size() - from);
  return true;
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
  if (staging_.capacity() > kKeptStaging) std::string().swap(staging_);
  if (control_writing_.capacity() > kKeptStaging) std::string().swap(control_writing_);
  std::vector<std::unique_ptr<detail::ReadyWaiter>> ready;
  bool more = true;
  {
    std::lock_guard lock(mu_);
    // Nothing left to write: the writer stops here, under this lock, instead of taking it once
    // more in build_batch() only to find the queue empty (one lock pair per batch fewer).
    if (socket_closed_ || ((terminal_ || pending_.empty()) && control_.empty())) {
      writer_active_ = false;
      pending_.clear();
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
  if (masked) {
    std::lock_guard lock(mu_);  // the key stream is send()'s too
    key = next_mask();
  }
  char* out = control_.data() + at;
  const std::size_t head = ws::write_header(out, opcode, payload.size(), true, masked ? &key : nullptr);
  if (!payload.empty()) std::memcpy(out + head, payload.data(), payload.size());
  if (masked) ws::apply_mask(out + head, payload.size(), key);
  control_.resize(at + head + payload.size());
  request_write();
}

}  // namespace actr::wire
