#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <limits>

#include "connection_impl.hpp"

namespace actr::wire {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {

// A read buffer grown by a big message is given back once it exceeds this.
constexpr std::size_t kKeptReadBuffer = 1u << 20;

template <class Handler>
struct FrameWaiterImpl final : detail::FrameWaiter {
  explicit FrameWaiterImpl(Handler h) : handler(std::move(h)) {}
  void complete(Result<Frame> result) override {
    auto ex = asio::get_associated_executor(handler);
    asio::post(ex, [h = std::move(handler), r = std::move(result)]() mutable { std::move(h)(std::move(r)); });
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
    case websocket::close_code::normal: return "normal closure";
    case websocket::close_code::going_away: return "going away";
    case websocket::close_code::protocol_error: return "protocol error";
    case websocket::close_code::bad_payload: return "bad payload";
    case websocket::close_code::policy_error: return "policy violation";
    case websocket::close_code::too_big: return "message too big";
    case websocket::close_code::internal_error: return "internal error";
    default: return "no reason given";
  }
}

std::string describe_peer_close(const websocket::close_reason& reason) {
  std::string_view text(reason.reason.data(), reason.reason.size());
  if (text.empty()) text = close_code_name(reason.code);
  return fmt::format("connection closed by peer: {} (close code {})", text, reason.code);
}

}  // namespace

namespace detail {

void configure_stream(WsStream& ws) {
  ws.auto_fragment(false);
  ws.binary(true);
  ws.read_message_max(0);  // the reader enforces options.max_message_size itself, see read_next()
  // Client frames are masked through this buffer: a bigger one means fewer writes for big messages.
  ws.write_buffer_bytes(64 * 1024);
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = websocket::stream_base::none();  // the TCP stream's deadline bounds it
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
}

void set_open_timeouts(WsStream& ws) {
  beast::get_lowest_layer(ws).expires_never();
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = websocket::stream_base::none();
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
}

void set_closing_timeout(WsStream& ws, const Options& options) {
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = options.handshake_timeout.count() > 0
                                   ? websocket::stream_base::duration(options.handshake_timeout)
                                   : websocket::stream_base::none();
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
}

std::string_view close_reason_text(std::string_view reason) {
  constexpr std::size_t kMax = 123;
  if (reason.size() <= kMax) return reason;
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;
  return reason.substr(0, cut);
}

}  // namespace detail

ConnectionImpl::ConnectionImpl(beast::tcp_stream stream, Options options)
    : ws_(std::move(stream)), options_(std::move(options)), idle_timer_(ws_.get_executor()) {
  detail::configure_stream(ws_);
  // Pings and pongs never complete a read: count them as activity here. Runs inside our own read, on
  // the strand, while the read's handler keeps this object alive.
  ws_.control_callback([this](websocket::frame_type, beast::string_view) { ++activity_; });
}

void ConnectionImpl::start(ActrId peer) {
  peer_ = std::move(peer);
  detail::set_open_timeouts(ws_);
  if (closed_.load(std::memory_order_acquire)) {
    start_close(websocket::close_code::going_away, "connection closed during the handshake");
    return;
  }
  read_next();
  arm_idle_timer();
}

void ConnectionImpl::arm_idle_timer() {
  if (options_.idle_timeout.count() <= 0 || closed_.load(std::memory_order_relaxed)) return;
  idle_timer_.expires_after(options_.idle_timeout / 2);
  idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) { self->on_idle_tick(ec); });
}

void ConnectionImpl::on_idle_tick(beast::error_code ec) {
  if (ec || closed_.load(std::memory_order_relaxed)) return;
  if (activity_ != activity_seen_) {
    activity_seen_ = activity_;
    quiet_ticks_ = 0;
  } else if (++quiet_ticks_ >= 2) {
    set_terminal(
        Error{ErrorCode::Unavailable, fmt::format("connection timed out: nothing received from the peer "
                                                  "for {} ms",
                                                  options_.idle_timeout.count())},
        false);
    close_socket();
    return;
  } else if (options_.keep_alive_pings && !ping_pending_) {
    ping_pending_ = true;
    ws_.async_ping({}, [self = shared_from_this()](beast::error_code) { self->ping_pending_ = false; });
  }
  arm_idle_timer();
}

// ---- receiving ------------------------------------------------------------------------------------

void ConnectionImpl::read_next() {
  if (closed_.load(std::memory_order_relaxed)) return;
  // read_some rather than read: the size limit is enforced here, chunk by chunk, so that an oversize
  // message is answered with a close frame while the rest of it is drained (Beast's own limit resets
  // the connection without draining, and the sender never learns why).
  std::size_t limit = options_.max_message_size - rbuf_.size() + 1;
  ws_.async_read_some(rbuf_, limit, [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
    self->on_read(ec, bytes);
  });
}

void ConnectionImpl::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    on_read_error(ec);
    return;
  }
  ++activity_;
  if (rbuf_.size() > options_.max_message_size) {
    rbuf_.clear();
    rbuf_.shrink_to_fit();
    fail_connection(Error{ErrorCode::DecodeFailure,
                          fmt::format("message from the peer exceeds max_message_size ({} bytes)",
                                      options_.max_message_size)},
                    websocket::close_code::too_big,
                    fmt::format("message exceeds max_message_size ({} bytes)", options_.max_message_size));
    return;
  }
  if (!ws_.is_message_done()) {
    read_next();
    return;
  }
  auto buffer = rbuf_.cdata();
  std::string_view message(static_cast<const char*>(buffer.data()), buffer.size());
  Result<detail::FrameView> view =
      ws_.got_binary()
          ? detail::decode_frame(message)
          : fail(ErrorCode::DecodeFailure, "malformed frame: expected a binary message, got text");
  if (!view) {
    rbuf_.clear();
    fail_connection(std::move(view.error()), websocket::close_code::protocol_error);
    return;
  }
  Frame frame{view->lane, std::string(view->data)};
  rbuf_.clear();
  if (rbuf_.capacity() > kKeptReadBuffer) rbuf_.shrink_to_fit();

  std::unique_ptr<detail::FrameWaiter> waiter;
  bool paused = false;
  {
    std::lock_guard lock(mu_);
    if (terminal_) return;  // closed locally meanwhile: the frame is dropped, reading stops
    if (!frame_waiters_.empty()) {
      waiter = std::move(frame_waiters_.front());
      frame_waiters_.pop_front();
    } else {
      in_bytes_ += frame.data.size() + kFrameHeaderBytes;
      in_.push_back(std::move(frame));
      if (in_bytes_ >= options_.receive_queue_limit) paused = reading_paused_ = true;
    }
  }
  if (!paused) read_next();
  if (waiter) waiter->complete(std::move(frame));
}

void ConnectionImpl::on_read_error(beast::error_code ec) {
  Error error;
  if (ec == websocket::error::closed) {
    error = Error{ErrorCode::Unavailable, describe_peer_close(ws_.reason())};
  } else if (ec == websocket::error::message_too_big) {  // a frame length beyond 2^63: not ours to read
    error = Error{
        ErrorCode::DecodeFailure,
        fmt::format("message from the peer exceeds max_message_size ({} bytes)", options_.max_message_size)};
  } else if (ec == beast::error::timeout) {
    error = Error{ErrorCode::Unavailable,
                  fmt::format("connection timed out: nothing received from the peer for {} ms",
                              options_.idle_timeout.count())};
  } else {
    error = Error{ErrorCode::Unavailable, fmt::format("connection lost: {}", ec.message())};
  }
  set_terminal(std::move(error), false);
  close_socket();
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

void ConnectionImpl::resume_reading() {
  asio::post(ws_.get_executor(), [self = shared_from_this()] { self->read_next(); });
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
        direct.complete(std::move(*ready));
      },
      token);
}

// ---- sending --------------------------------------------------------------------------------------

Result<void> ConnectionImpl::send(PayloadType lane, std::string& data) {
  const std::size_t size = data.size() + kFrameHeaderBytes;
  if (size > options_.max_message_size || data.size() > std::numeric_limits<std::uint32_t>::max()) {
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
    out_.push_back(
        Outgoing{detail::encode_header(lane, static_cast<std::uint32_t>(data.size())), std::move(data)});
    out_bytes_ += size;
    if (!writer_active_) wake = writer_active_ = true;
  }
  if (wake) asio::post(ws_.get_executor(), [self = shared_from_this()] { self->write_batch(); });
  return {};
}

void ConnectionImpl::write_batch() {
  {
    std::lock_guard lock(mu_);
    if (terminal_ || out_.empty()) {
      writer_active_ = false;
      out_.clear();
      return;
    }
    batch_.swap(out_);
  }
  batch_index_ = 0;
  batch_bytes_ = 0;

  // Several messages at once: hold the segments back until the last one is written, so the batch
  // leaves in as few packets as possible (TCP_NODELAY would otherwise send one per message).
  if (batch_.size() > 1) set_cork(true);
  write_next();
}

void ConnectionImpl::write_next() {
  Outgoing& message = batch_[batch_index_];
  wbufs_[0] = asio::buffer(message.header);
  wbufs_[1] = asio::buffer(message.data);
  ws_.async_write(wbufs_,
                  [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
}

void ConnectionImpl::on_write(beast::error_code ec) {
  if (!ec) {
    batch_bytes_ += batch_[batch_index_].data.size() + kFrameHeaderBytes;
    if (++batch_index_ < batch_.size() && !closed_.load(std::memory_order_relaxed)) {
      write_next();
      return;
    }
  }
  if (corked_) set_cork(false);
  batch_.clear();
  if (ec) {
    {
      std::lock_guard lock(mu_);
      writer_active_ = false;
    }
    set_terminal(
        Error{ErrorCode::Unavailable, fmt::format("connection lost: write failed: {}", ec.message())}, false);
    close_socket();
    return;
  }
  std::vector<std::unique_ptr<detail::ReadyWaiter>> ready;
  bool more = false;
  {
    std::lock_guard lock(mu_);
    if (!terminal_) {
      out_bytes_ -= batch_bytes_;
      for (auto it = ready_waiters_.begin(); it != ready_waiters_.end();) {
        if (writable_locked(it->first)) {
          ready.push_back(std::move(it->second));
          it = ready_waiters_.erase(it);
        } else {
          ++it;
        }
      }
      more = !out_.empty();
    }
    if (!more) writer_active_ = false;
  }
  for (auto& waiter : ready) waiter->complete();
  if (more) write_batch();
}

void ConnectionImpl::set_cork(bool on) {
  int value = on ? 1 : 0;
  auto fd = ws_.next_layer().socket().native_handle();
  if (fd >= 0) ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &value, sizeof value);
  corked_ = on;
}

bool ConnectionImpl::writable_locked(std::size_t frame_bytes) const {
  return terminal_ || out_bytes_ == 0 ||
         out_bytes_ + frame_bytes + kFrameHeaderBytes <= options_.send_queue_limit;
}

bool ConnectionImpl::writable(std::size_t frame_bytes) const {
  std::lock_guard lock(mu_);
  return writable_locked(frame_bytes);
}

template <class Token>
auto ConnectionImpl::async_wait_writable(std::size_t frame_bytes, Token&& token) {
  return asio::async_initiate<Token, void()>(
      [self = shared_from_this(), frame_bytes](auto handler) {
        using Handler = decltype(handler);
        {
          std::lock_guard lock(self->mu_);
          if (!self->writable_locked(frame_bytes)) {
            self->ready_waiters_.emplace_back(frame_bytes,
                                              std::make_unique<ReadyWaiterImpl<Handler>>(std::move(handler)));
            return;
          }
        }
        ReadyWaiterImpl<Handler> direct(std::move(handler));
        direct.complete();
      },
      token);
}

std::size_t ConnectionImpl::queued_bytes() const {
  std::lock_guard lock(mu_);
  return out_bytes_;
}

// ---- closing --------------------------------------------------------------------------------------

bool ConnectionImpl::set_terminal(Error error, bool drop_received) {
  std::deque<std::unique_ptr<detail::FrameWaiter>> frame_waiters;
  std::vector<std::pair<std::size_t, std::unique_ptr<detail::ReadyWaiter>>> ready_waiters;
  {
    std::lock_guard lock(mu_);
    if (terminal_) return false;
    terminal_ = error;
    closed_.store(true, std::memory_order_release);
    out_.clear();
    out_bytes_ = 0;
    if (drop_received) {
      in_.clear();
      in_bytes_ = 0;
    }
    frame_waiters.swap(frame_waiters_);
    ready_waiters.swap(ready_waiters_);
  }
  for (auto& waiter : frame_waiters) waiter->complete(Result<Frame>(std::unexpect, error));
  for (auto& waiter : ready_waiters) waiter.second->complete();
  return true;
}

void ConnectionImpl::fail_connection(Error error, std::uint16_t code, std::string close_reason) {
  if (close_reason.empty()) close_reason = error.message;
  if (set_terminal(std::move(error), false)) start_close(code, std::move(close_reason));
}

void ConnectionImpl::close(std::string_view reason) {
  if (!set_terminal(Error{ErrorCode::Unavailable, fmt::format("connection closed: {}", reason)}, true))
    return;
  asio::post(ws_.get_executor(), [self = shared_from_this(), text = std::string(reason)]() mutable {
    self->start_close(websocket::close_code::normal, std::move(text));
  });
}

void ConnectionImpl::start_close(std::uint16_t code, std::string reason) {
  if (close_started_) return;
  close_started_ = true;
  if (!ws_.is_open()) {
    close_socket();
    return;
  }
  idle_timer_.cancel();
  detail::set_closing_timeout(ws_, options_);
  websocket::close_reason close_reason;
  close_reason.code = code;
  auto text = detail::close_reason_text(reason);
  close_reason.reason.assign(text.data(), text.size());
  ws_.async_close(close_reason, [self = shared_from_this()](beast::error_code) { self->close_socket(); });
}

void ConnectionImpl::close_socket() {
  idle_timer_.cancel();
  ws_.next_layer().close();
}

// ---- Connection -----------------------------------------------------------------------------------

Connection::Connection(std::shared_ptr<ConnectionImpl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() { impl_->close("connection released"); }

const ActrId& Connection::peer() const { return impl_->peer(); }
Result<void> Connection::send(PayloadType lane, std::string&& data) { return impl_->send(lane, data); }
void Connection::close(std::string_view reason) { impl_->close(reason); }
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

asio::awaitable<void> Connection::wait_writable(std::size_t frame_bytes) {
  std::shared_ptr<ConnectionImpl> impl = impl_;
  if (impl->writable(frame_bytes)) co_return;
  co_await impl->async_wait_writable(frame_bytes, asio::use_awaitable);
}

}  // namespace actr::wire
