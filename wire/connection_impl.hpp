#pragma once
// The state behind a Connection (internal to actr_wire).
//
// Beast does the HTTP upgrade only (dial.cpp, listener.cpp); after it the connection frames RFC 6455
// messages itself on the raw socket (ws_codec.hpp), because Beast's websocket::stream costs one
// composed operation, one system call and several executor hops per message, while the peer wire
// wants to read and write many small messages per system call (docs/wire.md).
//
// Socket state (the read buffer, the batch being written, control frames, timers) is touched only on
// the connection's strand. Queues, waiters and the terminal error sit behind a small mutex so that
// send() and receive() work from any thread without a hop when there is nothing to wait for.

#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actr/wire/websocket.hpp"
#include "drained_read.hpp"
#include "framing.hpp"
#include "ws_codec.hpp"

namespace actr::wire {

class ConnectionImpl;

namespace detail {
/// A suspended receive(): completed once, on its own executor. `may_run_inline` lets the handler run
/// on the calling thread when that thread already runs the handler's executor (no post).
struct FrameWaiter {
  virtual ~FrameWaiter() = default;
  virtual void complete(Result<Frame> result, bool may_run_inline) = 0;
};
/// A suspended wait_writable().
struct ReadyWaiter {
  virtual ~ReadyWaiter() = default;
  virtual void complete() = 0;
};
/// The connection whose reader is resuming receive() waiters inline on this thread (it is then on that
/// connection's strand), so a send() from the resumed code can leave the write to it.
inline thread_local ConnectionImpl* t_delivering = nullptr;
/// Sets t_delivering for a scope (they nest: a delivery may send on another connection).
class Delivering {
 public:
  explicit Delivering(ConnectionImpl* connection) : outer_(std::exchange(t_delivering, connection)) {}
  ~Delivering() { t_delivering = outer_; }
  Delivering(const Delivering&) = delete;
  Delivering& operator=(const Delivering&) = delete;

 private:
  ConnectionImpl* outer_;
};
}  // namespace detail

class ConnectionImpl : public std::enable_shared_from_this<ConnectionImpl> {
 public:
  /// The dialer is the WebSocket client: it masks what it sends and expects unmasked frames.
  enum class Role { dialer, listener };

  /// `stream` must be bound to a strand; it becomes the connection's strand. The opening handshake
  /// runs on `stream()` before start().
  ConnectionImpl(boost::beast::tcp_stream stream, Role role, Options options);

  boost::beast::tcp_stream& stream() { return stream_; }

  /// Call once, on the strand, after the opening handshake: records the peer and starts the reader.
  /// `early` holds bytes the peer sent right behind its handshake message (already read from the
  /// socket by the HTTP parser): the first frames.
  void start(ActrId peer, std::string_view early);
  const ActrId& peer() const { return peer_; }

  Result<void> send(PayloadType lane, std::string& data, std::string& tail);  // moves from both on success
  Result<void> send_copy(PayloadType lane, std::string_view data);
  std::optional<Result<Frame>> try_receive();
  /// Moves up to `max` queued frames to `out`: how many, or the terminal error when none is queued.
  Result<std::size_t> try_receive_some(std::vector<Frame>& out, std::size_t max);
  template <class Token>
  auto async_receive(Token&& token);
  bool writable(std::size_t frame_bytes) const;
  template <class Token>
  auto async_wait_writable(std::size_t frame_bytes, std::uint64_t id, Token&& token);
  /// Completes the wait_writable() waiter `id` if it still waits (its deadline passed).
  void expire_ready_waiter(std::uint64_t id);
  std::uint64_t next_ready_waiter_id();

  void deliver_to(std::weak_ptr<FrameSink> sink);
  void resume_delivery();

  void close(std::string_view reason);
  bool is_open() const { return !closed_.load(std::memory_order_acquire); }
  std::size_t queued_bytes() const;

 private:
  /// A big payload written from its own string (already masked), after the first `at` bytes of
  /// the framed bytes queued with it.
  struct External {
    std::size_t at;
    std::string data;
  };

  std::optional<Result<Frame>> try_receive_locked(bool& resume_reading);
  bool writable_locked(std::size_t frame_bytes) const;
  /// send() and send_copy(): checks, then frames `parts` (data, tail) into pending_ under the lock.
  /// A part with an owner bigger than kCopyLimit is not copied: its string is masked in place and
  /// moved to out_.
  Result<void> enqueue(PayloadType lane, std::string_view data, std::string* data_owner,
                       std::string_view tail, std::string* tail_owner);

  // ---- strand only ----
  // Reading: one async_read_some into rbuf_, then every complete frame in it is parsed.
  void read_more();
  /// A read's completion (drained_read.hpp), on the reactor's thread: hops to the strand.
  static void read_done(std::shared_ptr<ConnectionImpl>& self, const boost::system::error_code& ec,
                        std::size_t bytes);
  void on_read(boost::system::error_code ec, std::size_t bytes);
  /// Parses what is buffered, hands the frames over and reads on (unless the receive queue is full).
  void process();
  /// Parses the complete frames in rbuf_ (unmasking in place) into parsed_.
  void parse();
  void on_data_frame(const ws::FrameHeader& header, const char* payload);
  void on_control_frame(std::uint8_t opcode, const char* payload, std::size_t size);
  /// `borrowed`: `message` lies in rbuf_ (a frame is lent from there to a sink, or copied out
  /// before the next read); otherwise it is the reassembly buffer and is copied now.
  void deliver_message(std::uint8_t opcode, std::string_view message, bool borrowed);
  /// Lends the frames just parsed to the sink, straight from rbuf_, while it takes them; what it
  /// leaves (it paused) stays in parsed_ for publish(). Before the next read; on the strand.
  /// True when every parsed frame went to the sink and nothing was held or ended meanwhile.
  bool lend_to_sink();
  /// Writes what the frames delivered so far sent, every Options::flush_every_frames frames.
  void flush_early(std::size_t delivered);
  /// Makes room in rbuf_ for `want_` bytes from rpos_ (compacting or growing), or gives memory back.
  void prepare_buffer();
  /// Protocol violation in the byte stream: DecodeFailure, close 1002, nothing more is parsed.
  void protocol_violation(std::string_view why);
  /// Hands parsed frames to waiters and the receive queue; the waiters to complete go to `wake`.
  /// Returns false when the receive queue is full (the reader pauses).
  using Wake = std::vector<std::pair<std::unique_ptr<detail::FrameWaiter>, Frame>>;
  bool publish(Wake& wake);
  /// publish() with the waiters completed by posting: for failure paths in the middle of a parse.
  void publish_now();
  void resume_reading();
  /// Hands the frames waiting in in_ to the sink (and, once they are all taken and the connection
  /// has ended, the end). On the strand; run_sink() wraps it for a posted turn of its own.
  void deliver_held_frames();
  void run_sink();

  // Writing: one batch (control frames, then queued messages) per system call where possible.
  void request_write();
  void pump();
  /// Pumps if a send() during deliveries left the write to us (pump_deferred_).
  void pump_if_deferred();
  bool build_batch();
  /// Writes what is left of wbufs_ without blocking; the bytes written, or an error.
  std::size_t write_now(boost::system::error_code& ec);
  /// One buffer written without blocking (send(2)): the bytes written, or an error.
  std::size_t send_one(boost::asio::const_buffer buffer, boost::system::error_code& ec);
  /// After a batch went out: frees it, wakes writers waiting for room. false: the writer stopped
  /// (nothing left to write).
  bool batch_written();
  void write_failed(boost::system::error_code ec);
  void queue_control(std::uint8_t opcode, std::string_view payload);
  ws::MaskKey next_mask();

  // Closing.
  void start_close(std::uint16_t code, std::string reason);
  void after_close_written();
  void arm_idle_timer();
  void on_timer(boost::system::error_code ec);
  void close_socket();
  /// Fails the connection from the strand: publishes the frames parsed so far, records `error` and
  /// closes with `code` and `close_reason` (the error message when empty). With `broken_framing` the
  /// byte stream cannot be parsed any further: after the close frame the socket is shut down.
  void fail_connection(Error error, std::uint16_t code, std::string close_reason = {},
                       bool broken_framing = false);
  /// Records the terminal error once (false if one was already recorded) and completes every waiter.
  bool set_terminal(Error error, bool drop_received);

  boost::beast::tcp_stream stream_;
  const Role role_;
  Options options_;
  ActrId peer_;

  // Strand only: reading. rbuf_ is uninitialized storage (no memset when it grows for a big frame).
  std::unique_ptr<char[]> rbuf_;
  std::size_t rcap_ = 0;
  std::size_t rpos_ = 0;    // first unparsed byte
  std::size_t rend_ = 0;    // end of the bytes read
  std::size_t want_ = 0;    // bytes from rpos_ that the next frame needs (0: none pending)
  std::uint64_t skip_ = 0;  // payload bytes still to drop unread (a frame refused or ignored)
  bool waiting_read_ = false;
#if ACTR_WIRE_DRAINED_READ
  using Socket = boost::beast::tcp_stream::socket_type;
  detail::DrainedRead<Socket, std::shared_ptr<ConnectionImpl>> reader_{&ConnectionImpl::read_done};
#endif
  bool in_reader_ = false;
  std::string message_;              // a fragmented message being reassembled
  std::uint8_t message_opcode_ = 0;  // its opcode; 0 while no fragmented message is open
  /// A frame parsed from rbuf_: its bytes stay there until the next read (or were reassembled).
  struct Parsed {
    PayloadType lane;
    std::string_view borrowed;
    std::string owned;
    bool is_owned = false;
    std::string_view data() const { return is_owned ? std::string_view(owned) : borrowed; }
    Frame take() { return Frame{lane, is_owned ? std::move(owned) : std::string(borrowed)}; }
  };
  std::vector<Parsed> parsed_;
  // Strand only: writing. A batch is the framed bytes queued so far (swapped out of pending_, so
  // both buffers keep their capacity), the big payloads queued with them, and control frames first.
  std::string staging_;
  std::vector<External> batch_;
  std::size_t batch_bytes_ = 0;
  std::string control_;          // encoded control frames waiting for the next batch
  std::string control_writing_;  // the control frames of the batch being written
  std::vector<boost::asio::const_buffer> wbufs_;
  std::size_t wbuf_index_ = 0;
  bool close_in_batch_ = false;
  bool pump_deferred_ = false;  // send() ran inside process()'s deliveries: pump right after them
  // Strand only: lifecycle.
  bool started_ = false;
  bool close_queued_ = false;  // our close frame is queued: nothing follows it
  bool close_written_ = false;
  bool peer_closed_ = false;     // the peer's close frame arrived
  bool broken_framing_ = false;  // drop everything read; shut down after the close frame
  bool socket_closed_ = false;
  boost::asio::steady_timer timer_;  // idle ticks while open, the closing deadline while closing
  std::uint64_t activity_ = 0;
  std::uint64_t activity_seen_ = 0;
  int quiet_ticks_ = 0;
  bool ping_pending_ = false;

  // Guarded by mu_. Frames are framed (and masked, by a dialer) in send(), straight into pending_.
  mutable std::mutex mu_;
  std::string pending_;            // framed bytes not yet taken by the writer
  std::vector<External> out_;      // big payloads that go between them
  std::size_t pending_bytes_ = 0;  // send()'s frame sizes in pending_ (the batch's share of out_bytes_)
  std::size_t out_bytes_ = 0;      // queued plus the batch being written
  std::uint64_t mask_state_;
  bool writer_active_ = false;
  std::deque<Frame> in_;
  std::size_t in_bytes_ = 0;
  bool reading_paused_ = false;
  std::deque<std::unique_ptr<detail::FrameWaiter>> frame_waiters_;
  struct ReadyWait {
    std::size_t frame_bytes;
    std::uint64_t id;  // for expire_ready_waiter()
    std::unique_ptr<detail::ReadyWaiter> waiter;
  };
  std::vector<ReadyWait> ready_waiters_;
  std::uint64_t ready_waiter_ids_ = 0;
  std::optional<Error> terminal_;
  std::atomic<bool> closed_{false};
  // Push delivery (deliver_to): the sink, set once; frames wait in in_ while it is paused.
  std::weak_ptr<FrameSink> sink_;
  std::atomic<bool> has_sink_{false};
  bool sink_paused_ = false;
  std::uint64_t sink_resumes_ = 0;  // resume_delivery() calls: one racing on_frame's false wins
  bool sink_closed_ = false;        // on_closed was called
};

}  // namespace actr::wire
