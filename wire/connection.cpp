// An open WebSocket connection: RFC 6455 framing on the raw socket (see connection_impl.hpp for why
// not Beast's websocket::stream).

#include <fmt/format.h>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstring>
#include <random>

#include "connection_impl.hpp"

namespace actr::wire {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

namespace {

// The read buffer starts at this size and grows to hold the biggest frame being received; it is
// given back once empty if it grew beyond kKeptBuffer.
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kKeptBuffer = 1u << 20;
// Keep at least this much room for the next read, so a small leftover does not cause tiny reads.
constexpr std::size_t kMinReadRoom = 16 * 1024;
// Frames bigger than kReadChunk / kFramesPerRead grow the buffer to hold this many of them (at most
// kKeptBuffer, unless one frame is bigger): one read then takes what the socket holds, and a frame
// that straddles two reads is moved to the front only once per several frames. With room for one
// or two, a stream of 64 KiB chunks was moved whole after nearly every read (docs/wire.md).
constexpr std::size_t kFramesPerRead = 8;

template <class Handler>
struct FrameWaiterImpl final : detail::FrameWaiter {
  explicit FrameWaiterImpl(Handler h) : handler(std::move(h)) {}
  void complete(Result<Frame> result, bool may_run_inline) override {
    auto ex = asio::get_associated_executor(handler);
    auto resume = [h = std::move(handler), r = std::move(result)]() mutable { std::move(h)(std::move(r)); };
    if (may_run_inline) {
      asio::dispatch(ex, std::move(resume));
    } else {
      asio::post(ex, std::move(resume));
    }
  }
  Handler handler;
};

template <class Handler>
struct ReadyWaiterImpl final : detail::ReadyWaiter {
  explicit ReadyWaiterImpl(Handler h) : handler(std::move(h)) {}
  void complete() override {
    auto ex = asio::get_associated_executor(handler);
    asio::post(ex, [h = std::move(handler)]() mutable { std::move(h)(); });
  }
  Handler handler;
};

std::string_view close_code_name(std::uint16_t code) {
  switch (code) {
    case 1000: return "normal closure";
    case 1001: return "going away";
    case 1002: return "protocol error";
    case 1003: return "unsupported data";
    case 1007: return "bad payload";
    case 1008: return "policy violation";
    case 1009: return "message too big";
    case 1011: return "internal error";
    default: return "no reason given";
  }
}

std::string describe_peer_close(std::uint16_t code, std::string_view text) {
  if (text.empty()) text = close_code_name(code);
  return fmt::format("connection closed by peer: {} (close code {})", text, code);
}

}  // namespace

ConnectionImpl::ConnectionImpl(beast::tcp_stream stream, Role role, Options options)
    : stream_(std::move(stream)), role_(role), options_(std::move(options)), timer_(stream_.get_executor()) {
  // Masking keys only need to be unpredictable to the network path (RFC 6455 section 10.3), and no
  // untrusted script chooses our payloads: a per-connection random seed and splitmix64 suffice.
  std::random_device seed;
  mask_state_ = (std::uint64_t{seed()} << 32) ^ seed();
}

ws::MaskKey ConnectionImpl::next_mask() {
  std::uint64_t z = (mask_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  ws::MaskKey key;
  std::memcpy(key.data(), &z, key.size());
  return key;
}

void ConnectionImpl::start(ActrId peer, std::string_view early) {
  peer_ = std::move(peer);
  if (socket_closed_) return;  // close() won the race with the handshake
  started_ = true;
  stream_.expires_never();
  error_code ec;
  stream_.socket().non_blocking(true, ec);  // the writer tries a plain sendmsg first
  rcap_ = std::max(kReadChunk, early.size());
  rbuf_ = std::make_unique_for_overwrite<char[]>(rcap_);
  if (!early.empty()) std::memcpy(rbuf_.get(), early.data(), early.size());
  rend_ = early.size();
  if (closed_.load(std::memory_order_acquire)) {
    start_close(ws::close_code::kGoingAway, "connection closed during the handshake");
  } else {
    arm_idle_timer();
  }
  process();
}

// ---- receiving ------------------------------------------------------------------------------------

void ConnectionImpl::read_more() {
  if (waiting_read_ || socket_closed_) return;
  prepare_buffer();
  waiting_read_ = true;
  // Issued after our writes (see process), so that a peer sharing the core has often answered by
  // then. A read that drained the socket makes the next one wait in epoll without trying first
  // (drained_read.hpp); plain async_read_some tries every read at once, one EAGAIN each time the
  // peer has not answered yet (docs/wire.md).
#if ACTR_WIRE_DRAINED_READ
  reader_.start(stream_.socket(), rbuf_.get() + rend_, rcap_ - rend_, shared_from_this());
#else
  stream_.socket().async_read_some(
      asio::buffer(rbuf_.get() + rend_, rcap_ - rend_),
      [self = shared_from_this()](error_code ec, std::size_t bytes) { self->on_read(ec, bytes); });
#endif
}

void ConnectionImpl::read_done(std::shared_ptr<ConnectionImpl>& self, const error_code& ec,
                               std::size_t bytes) {
  ConnectionImpl& connection = *self;
  asio::dispatch(connection.stream_.get_executor(),
                 [self = std::move(self), ec, bytes] { self->on_read(ec, bytes); });
}

void ConnectionImpl::on_read(error_code ec, std::size_t bytes) {
  waiting_read_ = false;
  if (ec) {
    if (socket_closed_) return;
    if (close_queued_ || peer_closed_) {  // the closing handshake ends with the peer's EOF
      close_socket();
      return;
    }
    set_terminal(Error{ErrorCode::Unavailable, fmt::format("connection lost: {}", ec.message())}, false);
    close_socket();
    return;
  }
  rend_ += bytes;
  ++activity_;
  process();
}

void ConnectionImpl::process() {
  if (socket_closed_ || in_reader_) return;
  in_reader_ = true;
  parse();
  in_reader_ = false;
  const bool sink = has_sink_.load(std::memory_order_acquire);
  if (sink && !parsed_.empty()) {
    bool all_lent = false;
    {
      detail::Delivering delivering(this);
      all_lent = lend_to_sink();
    }
    if (all_lent) {  // the usual case: nothing to publish or hand over from the queue
      pump_if_deferred();
      read_more();
      return;
    }
  }
  Wake wake;
  const bool room = publish(wake);
  // After publishing, because a waiter may resume its coroutine right here (when this thread
  // already runs its executor): that code may call back into this connection, which is consistent
  // by now. What it sends meanwhile is written right after, as one batch, without a trip through
  // the scheduler.
  if (!wake.empty() || sink) {
    {
      detail::Delivering delivering(this);
      for (auto& [waiter, frame] : wake) waiter->complete(Result<Frame>(std::move(frame)), true);
      if (sink) deliver_held_frames();
    }
    pump_if_deferred();
  }
  // The next read last, after the answers went out: a peer sharing this core may then have
  // answered already, and the read finds its frame instead of an EAGAIN and a trip through epoll.
  if (room) read_more();
}

void ConnectionImpl::parse() {
  want_ = 0;
  while (!socket_closed_) {
    if (broken_framing_ || peer_closed_) {  // nothing after a violation or the peer's close counts
      rpos_ = rend_;
      skip_ = 0;
      break;
    }
    const std::size_t avail = rend_ - rpos_;
    if (skip_ > 0) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, avail));
      rpos_ += n;
      skip_ -= n;
      if (skip_ > 0) break;
      continue;
    }
    char* p = rbuf_.get() + rpos_;
    ws::FrameHeader header;
    const std::size_t head = ws::parse_header(p, avail, header);
    if (head == 0) {
      if (avail > 0) want_ = ws::kMaxHeaderBytes;
      break;
    }
    if (auto why = ws::header_violation(header, role_ == Role::listener); !why.empty()) {
      protocol_violation(why);
      break;
    }
    const bool control = header.opcode >= ws::kClose;
    if (!control) {
      const bool continuation = header.opcode == ws::kContinuation;
      if (continuation && message_opcode_ == 0) {
        protocol_violation("continuation frame without a message to continue");
        break;
      }
      if (!continuation && message_opcode_ != 0) {
        protocol_violation("new message before the fragmented one was finished");
        break;
      }
      const std::uint64_t message_size = (continuation ? message_.size() : 0) + header.length;
      if (close_queued_ || message_size > options_.max_message_size) {
        // Closing (data is no longer delivered) or too big: drop the payload unread, keep parsing so
        // the peer's close frame is still seen.
        if (!close_queued_) {
          fail_connection(
              Error{ErrorCode::DecodeFailure,
                    fmt::format("message from the peer exceeds max_message_size ({} bytes)",
                                options_.max_message_size)},
              ws::close_code::kTooBig,
              fmt::format("message exceeds max_message_size ({} bytes)", options_.max_message_size));
        }
        message_.clear();
        message_opcode_ = header.fin ? 0 : (continuation ? message_opcode_ : header.opcode);
        rpos_ += head;
        skip_ = header.length;
        continue;
      }
    }
    if (avail - head < header.length) {
      want_ = head + static_cast<std::size_t>(header.length);
      break;
    }
    char* payload = p + head;
    const auto size = static_cast<std::size_t>(header.length);
    if (header.masked) ws::apply_mask(payload, size, header.mask);
    rpos_ += head + size;
    if (control) {
      on_control_frame(header.opcode, payload, size);
    } else {
      on_data_frame(header, payload);
    }
  }
  if (rpos_ == rend_) rpos_ = rend_ = 0;
}

void ConnectionImpl::on_data_frame(const ws::FrameHeader& header, const char* payload) {
  const std::string_view data(payload, static_cast<std::size_t>(header.length));
  if (header.opcode != ws::kContinuation) {
    if (header.fin) {
      deliver_message(header.opcode, data, true);  // the common case: no reassembly
      return;
    }
    message_opcode_ = header.opcode;
    message_.assign(data);
    return;
  }
  message_.append(data);
  if (!header.fin) return;
  const std::uint8_t opcode = message_opcode_;
  message_opcode_ = 0;
  deliver_message(opcode, message_, false);
  message_.clear();
  if (message_.capacity() > kKeptBuffer) message_.shrink_to_fit();
}

void ConnectionImpl::deliver_message(std::uint8_t opcode, std::string_view message, bool borrowed) {
  if (opcode != ws::kBinary) {
    fail_connection(Error{ErrorCode::DecodeFailure, "malformed frame: expected a binary message, got text"},
                    ws::close_code::kProtocolError);
    return;
  }
  Result<detail::FrameView> view = detail::decode_frame(message);
  if (!view) {
    fail_connection(std::move(view.error()), ws::close_code::kProtocolError);
    return;
  }
  if (borrowed) {
    parsed_.push_back(Parsed{view->lane, view->data, {}, false});
  } else {
    parsed_.push_back(Parsed{view->lane, {}, std::string(view->data), true});
  }
}

void ConnectionImpl::on_control_frame(std::uint8_t opcode, const char* payload, std::size_t size) {
  switch (opcode) {
    case ws::kPing: queue_control(ws::kPong, std::string_view(payload, size)); return;
    case ws::kPong: ping_pending_ = false; return;
    default: break;
  }
  // A close frame: [code: 2 bytes, big endian][reason: UTF-8], or empty.
  std::uint16_t code = ws::close_code::kNoStatus;
  std::string_view text;
  if (size == 1) {
    protocol_violation("close frame with a 1-byte body");
    return;
  }
  if (size >= 2) {
    code = static_cast<std::uint16_t>(static_cast<unsigned char>(payload[0]) << 8 |
                                      static_cast<unsigned char>(payload[1]));
    text = std::string_view(payload + 2, size - 2);
    if (!ws::valid_close_code(code)) {
      protocol_violation(fmt::format("invalid close code {}", code));
      return;
    }
    if (!ws::valid_utf8(text)) {
      protocol_violation("close reason is not UTF-8");
      return;
    }
  }
  publish_now();  // what arrived before the close frame is received before the end
  set_terminal(Error{ErrorCode::Unavailable, describe_peer_close(code, text)}, false);
  peer_closed_ = true;
  if (close_written_) {
    close_socket();  // our close was answered: the handshake is complete
  } else if (!close_queued_) {
    start_close(code == ws::close_code::kNoStatus ? ws::close_code::kNormal : code, {});  // the echo
  }
}

void ConnectionImpl::protocol_violation(std::string_view why) {
  fail_connection(Error{ErrorCode::DecodeFailure, fmt::format("WebSocket protocol error: {}", why)},
                  ws::close_code::kProtocolError, {}, true);
}

void ConnectionImpl::prepare_buffer() {
  const std::size_t pending = rend_ - rpos_;
  if (pending == 0) rpos_ = rend_ = 0;
  if (pending == 0 && rcap_ > kKeptBuffer && want_ <= kReadChunk) {
    rbuf_ = std::make_unique_for_overwrite<char[]>(kReadChunk);  // a big message went by: give it back
    rcap_ = kReadChunk;
  }
  const std::size_t needed = std::max(want_, pending + kMinReadRoom);
  const std::size_t fitting = std::max(needed, std::min(kFramesPerRead * want_, kKeptBuffer));
  if (fitting <= rcap_ && rcap_ - rpos_ >= needed) return;
  if (fitting > rcap_) {
    const std::size_t capacity = std::max(fitting, std::min(rcap_ * 2, needed + kKeptBuffer));
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    std::memcpy(bigger.get(), rbuf_.get() + rpos_, pending);
    rbuf_ = std::move(bigger);
    rcap_ = capacity;
  } else {
    std::memmove(rbuf_.get(), rbuf_.get() + rpos_, pending);
  }
  rpos_ = 0;
  rend_ = pending;
}

bool ConnectionImpl::publish(Wake& wake) {
  std::lock_guard lock(mu_);
  if (terminal_) {  // closing: what arrives now is not delivered
    parsed_.clear();
    return true;
  }
  for (auto& parsed : parsed_) {
    if (!frame_waiters_.empty()) {
      wake.emplace_back(std::move(frame_waiters_.front()), parsed.take());
      frame_waiters_.pop_front();
    } else {
      in_bytes_ += parsed.data().size() + kFrameHeaderBytes;
      in_.push_back(parsed.take());
    }
  }
  parsed_.clear();
  if (in_bytes_ >= options_.receive_queue_limit) {
    reading_paused_ = true;
    return false;
  }
  return true;
}

void ConnectionImpl::publish_now() {
  Wake wake;
  publish(wake);
  for (auto& [waiter, frame] : wake) waiter->complete(Result<Frame>(std::move(frame)), false);
}

std::optional<Result<Frame>> ConnectionImpl::try_receive_locked(bool& resume_reading) {
  if (!in_.empty()) {
    Frame frame = std::move(in_.front());
    in_.pop_front();
    in_bytes_ -= frame.data.size() + kFrameHeaderBytes;
    if (reading_paused_ && in_bytes_ <= options_.receive_queue_limit / 2 && !terminal_) {
      reading_paused_ = false;
      resume_reading = true;
    }
    return Result<Frame>(std::move(frame));
  }
  if (terminal_) return Result<Frame>(std::unexpect, *terminal_);
  return std::nullopt;
}

std::optional<Result<Frame>> ConnectionImpl::try_receive() {
  bool resume = false;
  std::optional<Result<Frame>> ready;
  {
    std::lock_guard lock(mu_);
    ready = try_receive_locked(resume);
  }
  if (resume) resume_reading();
  return ready;
}

Result<std::size_t> ConnectionImpl::try_receive_some(std::vector<Frame>& out, std::size_t max) {
  bool resume = false;
  std::size_t moved = 0;
  {
    std::lock_guard lock(mu_);
    if (in_.empty() && terminal_) return std::unexpected(*terminal_);
    for (; moved < max && !in_.empty(); ++moved) {
      in_bytes_ -= in_.front().data.size() + kFrameHeaderBytes;
      out.push_back(std::move(in_.front()));
      in_.pop_front();
    }
    if (reading_paused_ && in_bytes_ <= options_.receive_queue_limit / 2 && !terminal_) {
      reading_paused_ = false;
      resume = true;
    }
  }
  if (resume) resume_reading();
  return moved;
}

void ConnectionImpl::resume_reading() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->process(); });
}

template <class Token>
auto ConnectionImpl::async_receive(Token&& token) {
  return asio::async_initiate<Token, void(Result<Frame>)>(
      [self = shared_from_this()](auto handler) {
        using Handler = decltype(handler);
        bool resume = false;
        std::optional<Result<Frame>> ready;
        {
          std::lock_guard lock(self->mu_);
          ready = self->try_receive_locked(resume);
          if (!ready) {
            self->frame_waiters_.push_back(std::make_unique<FrameWaiterImpl<Handler>>(std::move(handler)));
          }
        }
        if (!ready) return;
        if (resume) self->resume_reading();
        FrameWaiterImpl<Handler> direct(std::move(handler));
        direct.complete(std::move(*ready), false);  // never inside the initiation
      },
      token);
}

// ---- sending: see connection_write.cpp ------------------------------------------------------

bool ConnectionImpl::writable_locked(std::size_t frame_bytes) const {
  return terminal_ || out_bytes_ == 0 ||
         out_bytes_ + frame_bytes + kFrameHeaderBytes <= options_.send_queue_limit;
}

bool ConnectionImpl::writable(std::size_t frame_bytes) const {
  std::lock_guard lock(mu_);
  return writable_locked(frame_bytes);
}

template <class Token>
auto ConnectionImpl::async_wait_writable(std::size_t frame_bytes, std::uint64_t id, Token&& token) {
  return asio::async_initiate<Token, void()>(
      [self = shared_from_this(), frame_bytes, id](auto handler) {
        using Handler = decltype(handler);
        {
          std::lock_guard lock(self->mu_);
          if (!self->writable_locked(frame_bytes)) {
            self->ready_waiters_.push_back(
                ReadyWait{frame_bytes, id, std::make_unique<ReadyWaiterImpl<Handler>>(std::move(handler))});
            return;
          }
        }
        ReadyWaiterImpl<Handler> direct(std::move(handler));
        direct.complete();
      },
      token);
}

std::uint64_t ConnectionImpl::next_ready_waiter_id() {
  std::lock_guard lock(mu_);
  return ++ready_waiter_ids_;
}

void ConnectionImpl::expire_ready_waiter(std::uint64_t id) {
  std::unique_ptr<detail::ReadyWaiter> expired;
  {
    std::lock_guard lock(mu_);
    auto it = std::ranges::find(ready_waiters_, id, &ReadyWait::id);
    if (it == ready_waiters_.end()) return;  // completed already
    expired = std::move(it->waiter);
    ready_waiters_.erase(it);
  }
  expired->complete();
}

std::size_t ConnectionImpl::queued_bytes() const {
  std::lock_guard lock(mu_);
  return out_bytes_;
}

// ---- idle detection -------------------------------------------------------------------------------

void ConnectionImpl::arm_idle_timer() {
  if (options_.idle_timeout.count() <= 0 || close_queued_ || socket_closed_) return;
  // No per-message timer: a tick every idle_timeout/2 compares activity counts.
  timer_.expires_after(options_.idle_timeout / 2);
  timer_.async_wait([self = shared_from_this()](error_code ec) { self->on_timer(ec); });
}

void ConnectionImpl::on_timer(error_code ec) {
  if (ec || socket_closed_) return;  // cancelled, or re-armed for another purpose
  if (close_queued_) {
    close_socket();  // the peer did not finish the closing handshake in time
    return;
  }
  if (activity_ != activity_seen_) {
    activity_seen_ = activity_;
    quiet_ticks_ = 0;
    ping_pending_ = false;
  } else if (++quiet_ticks_ >= 2) {
    set_terminal(Error{ErrorCode::Unavailable,
                       fmt::format("connection timed out: nothing received from the peer for {} ms",
                                   options_.idle_timeout.count())},
                 false);
    close_socket();
    return;
  } else if (options_.keep_alive_pings && !ping_pending_) {
    ping_pending_ = true;
    queue_control(ws::kPing, {});
  }
  arm_idle_timer();
}

// ---- closing --------------------------------------------------------------------------------------

bool ConnectionImpl::set_terminal(Error error, bool drop_received) {
  std::deque<std::unique_ptr<detail::FrameWaiter>> frame_waiters;
  std::vector<ReadyWait> ready_waiters;
  {
    std::lock_guard lock(mu_);
    if (terminal_) return false;
    terminal_ = error;
    closed_.store(true, std::memory_order_release);
    pending_.clear();
    out_.clear();
    pending_bytes_ = 0;
    out_bytes_ = 0;
    if (drop_received) {
      in_.clear();
      in_bytes_ = 0;
    }
    frame_waiters.swap(frame_waiters_);
    ready_waiters.swap(ready_waiters_);
  }
  for (auto& waiter : frame_waiters) waiter->complete(Result<Frame>(std::unexpect, error), false);
  for (auto& wait : ready_waiters) wait.waiter->complete();
  // A sink hears of the end in a turn of its own, after the frames still held.
  if (has_sink_.load(std::memory_order_acquire))
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->run_sink(); });
  return true;
}

void ConnectionImpl::fail_connection(Error error, std::uint16_t code, std::string close_reason,
                                     bool broken_framing) {
  if (close_reason.empty()) close_reason = error.message;
  publish_now();  // the frames before the bad one are received first
  if (broken_framing) broken_framing_ = true;
  if (set_terminal(std::move(error), false)) start_close(code, std::move(close_reason));
}

void ConnectionImpl::close(std::string_view reason) {
  if (!set_terminal(Error{ErrorCode::Unavailable, fmt::format("connection closed: {}", reason)}, true))
    return;
  asio::post(stream_.get_executor(), [self = shared_from_this(), text = std::string(reason)]() mutable {
    self->start_close(ws::close_code::kNormal, std::move(text));
  });
}

void ConnectionImpl::start_close(std::uint16_t code, std::string reason) {
  if (close_queued_ || socket_closed_) return;
  if (!started_) {
    close_socket();  // still in the opening handshake: there is no WebSocket to close politely
    return;
  }
  std::string body(2, '\0');
  body[0] = static_cast<char>(code >> 8);
  body[1] = static_cast<char>(code & 0xff);
  body += ws::close_reason_text(reason);
  queue_control(ws::kClose, body);
  close_queued_ = true;
  // The closing handshake is bounded; the same timer ticked for idle detection until now.
  if (options_.handshake_timeout.count() > 0) {
    timer_.expires_after(options_.handshake_timeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) { self->on_timer(ec); });
  } else {
    timer_.cancel();
  }
  // Read on until the peer's close frame, even if a full receive queue had paused the reader.
  bool paused;
  {
    std::lock_guard lock(mu_);
    paused = reading_paused_;
    reading_paused_ = false;
  }
  if (paused) resume_reading();
}

void ConnectionImpl::after_close_written() {
  if (peer_closed_) {
    close_socket();  // we echoed the peer's close: done
  } else if (broken_framing_) {
    // The peer's bytes cannot be parsed any more, so its close frame would not be recognised: shut
    // down our side and read until its EOF (or the closing deadline).
    error_code ec;
    stream_.socket().shutdown(asio::socket_base::shutdown_send, ec);
  }
  // Otherwise the reader waits for the peer's close frame.
}

void ConnectionImpl::close_socket() {
  if (socket_closed_) return;
  socket_closed_ = true;
  timer_.cancel();
  stream_.close();
}

// ---- Connection -----------------------------------------------------------------------------------

Connection::Connection(std::shared_ptr<ConnectionImpl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() { impl_->close("connection released"); }

const ActrId& Connection::peer() const { return impl_->peer(); }
Result<void> Connection::send(PayloadType lane, std::string&& data) {
  std::string none;
  return impl_->send(lane, data, none);
}
Result<void> Connection::send(PayloadType lane, std::string&& data, std::string&& tail) {
  return impl_->send(lane, data, tail);
}
Result<void> Connection::send_copy(PayloadType lane, std::string_view data) {
  return impl_->send_copy(lane, data);
}
void Connection::close(std::string_view reason) { impl_->close(reason); }
void Connection::deliver_to(std::weak_ptr<FrameSink> sink) { impl_->deliver_to(std::move(sink)); }
void Connection::resume_delivery() { impl_->resume_delivery(); }
bool Connection::is_open() const { return impl_->is_open(); }
std::size_t Connection::queued_bytes() const { return impl_->queued_bytes(); }

asio::awaitable<Result<Frame>> Connection::receive() {
  std::shared_ptr<ConnectionImpl> impl = impl_;
  std::optional<Result<Frame>> ready = impl->try_receive();
  if (!ready) {
    Result<Frame> received = co_await impl->async_receive(asio::use_awaitable);
    ready.emplace(std::move(received));
  }
  co_return std::move(*ready);
}

asio::awaitable<Result<std::size_t>> Connection::receive_some(std::vector<Frame>& out, std::size_t max) {
  std::shared_ptr<ConnectionImpl> impl = impl_;
  Result<std::size_t> result = impl->try_receive_some(out, max);
  if (result && *result == 0 && max > 0) {
    Result<Frame> first = co_await impl->async_receive(asio::use_awaitable);
    if (first) {
      out.push_back(std::move(*first));
      result = 1 + impl->try_receive_some(out, max - 1).value_or(0);
    } else {
      result = std::unexpected(std::move(first.error()));
    }
  }
  co_return result;
}

asio::awaitable<void> Connection::wait_writable(std::size_t frame_bytes,
                                                std::chrono::steady_clock::time_point deadline) {
  std::shared_ptr<ConnectionImpl> impl = impl_;
  if (impl->writable(frame_bytes)) co_return;
  const std::uint64_t id = impl->next_ready_waiter_id();
  // Ends the wait at the deadline; cancelled (and then harmless) when room comes first.
  asio::steady_timer expiry(co_await asio::this_coro::executor, deadline);
  if (deadline != std::chrono::steady_clock::time_point::max()) {
    expiry.async_wait([impl, id](error_code ec) {
      if (!ec) impl->expire_ready_waiter(id);
    });
  }
  co_await impl->async_wait_writable(frame_bytes, id, asio::use_awaitable);
}

}  // namespace actr::wire
