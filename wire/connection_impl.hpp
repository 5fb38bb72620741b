#pragma once
// The state behind a Connection (internal to actr_wire).
//
// Beast state (the stream, the read buffer, the batch being written) is touched only on the
// connection's strand. Queues, waiters and the terminal error sit behind a small mutex so that send()
// and receive() work from any thread without a hop when there is nothing to wait for.

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actr/wire/websocket.hpp"
#include "framing.hpp"

namespace actr::wire {

namespace detail {
// deflateSupported=false: per-message deflate is not offered, accepted or even compiled in.
using WsStream = boost::beast::websocket::stream<boost::beast::tcp_stream, false>;

/// A suspended receive(): completed once, on its own executor.
struct FrameWaiter {
  virtual ~FrameWaiter() = default;
  virtual void complete(Result<Frame> result) = 0;
};
/// A suspended wait_writable().
struct ReadyWaiter {
  virtual ~ReadyWaiter() = default;
  virtual void complete() = 0;
};

/// Settings shared by both roles, applied before the opening handshake.
void configure_stream(WsStream& ws);
/// Switches from the handshake deadline to an open connection: no Beast timers (Beast's idle timeout
/// re-arms a timer on every read; ConnectionImpl keeps its own idle tick instead).
void set_open_timeouts(WsStream& ws);
/// Bounds the closing handshake by options.handshake_timeout.
void set_closing_timeout(WsStream& ws, const Options& options);
/// Cuts a close reason to the 123 bytes a close frame can carry, on a UTF-8 boundary.
std::string_view close_reason_text(std::string_view reason);
}  // namespace detail

class ConnectionImpl : public std::enable_shared_from_this<ConnectionImpl> {
 public:
  /// `stream` must be bound to a strand; it becomes the connection's strand.
  ConnectionImpl(boost::beast::tcp_stream stream, Options options);

  detail::WsStream& ws() { return ws_; }
  boost::beast::tcp_stream& tcp() { return ws_.next_layer(); }

  /// Call once, on the strand, after the opening handshake: records the peer and starts the reader.
  void start(ActrId peer);
  const ActrId& peer() const { return peer_; }

  Result<void> send(PayloadType lane, std::string& data);  // moves from `data` on success
  std::optional<Result<Frame>> try_receive();
  std::optional<Result<Frame>> try_receive_locked(bool& resume_reading);
  template <class Token>
  auto async_receive(Token&& token);
  bool writable_locked(std::size_t frame_bytes) const;
  bool writable(std::size_t frame_bytes) const;
  template <class Token>
  auto async_wait_writable(std::size_t frame_bytes, Token&& token);

  void close(std::string_view reason);
  bool is_open() const { return !closed_.load(std::memory_order_acquire); }
  std::size_t queued_bytes() const;

 private:
  struct Outgoing {
    detail::FrameHeader header;
    std::string data;
  };

  // Strand only.
  void read_next();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_read_error(boost::beast::error_code ec);
  void write_batch();
  void write_next();
  void on_write(boost::beast::error_code ec);
  void set_cork(bool on);
  void start_close(std::uint16_t code, std::string reason);
  void arm_idle_timer();
  void on_idle_tick(boost::beast::error_code ec);
  void close_socket();
  /// Fails the connection from the strand: records `error` and closes with `code` and `close_reason`
  /// (the error message when empty).
  void fail_connection(Error error, std::uint16_t code, std::string close_reason = {});

  /// Records the terminal error once (false if one was already recorded) and completes every waiter.
  bool set_terminal(Error error, bool drop_received);
  void resume_reading();

  detail::WsStream ws_;
  Options options_;
  ActrId peer_;

  // Strand only.
  boost::beast::flat_buffer rbuf_;
  std::vector<Outgoing> batch_;
  std::size_t batch_index_ = 0;
  std::size_t batch_bytes_ = 0;
  std::array<boost::asio::const_buffer, 2> wbufs_;
  bool corked_ = false;
  bool close_started_ = false;
  // Idle detection without a per-message timer: a tick every idle_timeout/2 compares activity counts.
  boost::asio::steady_timer idle_timer_;
  std::uint64_t activity_ = 0;
  std::uint64_t activity_seen_ = 0;
  int quiet_ticks_ = 0;
  bool ping_pending_ = false;

  // Guarded by mu_.
  mutable std::mutex mu_;
  std::vector<Outgoing> out_;
  std::size_t out_bytes_ = 0;  // queued plus the batch being written
  bool writer_active_ = false;
  std::deque<Frame> in_;
  std::size_t in_bytes_ = 0;
  bool reading_paused_ = false;
  std::deque<std::unique_ptr<detail::FrameWaiter>> frame_waiters_;
  std::vector<std::pair<std::size_t, std::unique_ptr<detail::ReadyWaiter>>> ready_waiters_;
  std::optional<Error> terminal_;
  std::atomic<bool> closed_{false};
};

}  // namespace actr::wire
