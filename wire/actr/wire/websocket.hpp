#pragma once
// WebSocket direct connections between actors (PROTOCOL.md, "Peer wires").
//
// A dialer opens the peer's ws_address with two upgrade headers (X-Actr-Source-ID: lowercase hex of the
// encoded source ActrId; X-Actr-Credential: base64 of the encoded AIdCredential). The listener verifies
// them before it accepts the upgrade. Each binary WebSocket message then carries one frame:
//   [payload_type: 1 byte][length: 4 bytes, big endian][data]
// where data is an encoded RpcEnvelope (RPC lanes) or DataChunk (stream lanes). See docs/wire.md.
//
// Threading: every function here may be called from any thread. A Connection serializes its own state
// on a private strand; completions of receive()/wait_writable() resume the caller on its own executor
// (directly, without a post, when a frame arrives on a thread that already runs that executor).

#include <actr/actr.pb.h>
#include <actr/options.pb.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actr/protocol/error.hpp"

namespace actr::wire {

inline constexpr std::string_view kSourceIdHeader = "X-Actr-Source-ID";
inline constexpr std::string_view kCredentialHeader = "X-Actr-Credential";
/// [payload_type: 1][length: 4, big endian]
inline constexpr std::size_t kFrameHeaderBytes = 5;

struct Frame {
  PayloadType lane = RPC_RELIABLE;
  std::string data;  // an encoded RpcEnvelope or DataChunk
};

struct Options {
  /// Largest WebSocket message accepted or sent, header included. A bigger incoming message closes the
  /// connection (close code 1009); a bigger outgoing frame is refused by send().
  std::size_t max_message_size = 64u << 20;
  /// send() refuses a frame (ConnectionNotReady) while this many bytes are queued and not yet written;
  /// a frame is always accepted into an empty queue, whatever its size. Small on purpose: the kernel's
  /// socket buffer already keeps the link busy, and a queue that fits in a core's L2 cache keeps the
  /// payloads warm between their producer and the kernel's copy (docs/wire.md, "Send queue").
  std::size_t send_queue_limit = 512u << 10;
  /// The reader stops reading from the socket (TCP backpressure) while this many received bytes wait
  /// for receive().
  std::size_t receive_queue_limit = 8u << 20;
  /// Bounds the opening handshake (listener side; the dialer uses its deadline) and the closing handshake.
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10);
  /// A connection with no traffic from the peer for this long is closed; with keep_alive_pings a ping
  /// goes out at half of it, so only a dead or stalled peer times out. Zero disables the idle timeout.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  bool keep_alive_pings = true;
  /// The executor handed to connect() or Listener::start() already runs its handlers one at a time
  /// (an io_context run by a single thread, or a strand). Connections then run on it directly instead
  /// of on a strand of their own, which saves a lock and a type-erased hop on every read, write and
  /// wake-up, and lets a frame reach a reader on that executor without any hand-over.
  bool executor_is_serial = false;
  /// When frames taken from one read make the reader send (replies, say), what they sent is written
  /// after every this many frames rather than once after the whole read. With the peer on another
  /// core that lets it start on the first replies while later ones are still being produced; with
  /// both on one core it only adds context switches, so leave it 0 (write once per read) there.
  std::size_t flush_every_frames = 0;
};

class ConnectionImpl;

/// Takes a connection's frames as they arrive: the push alternative to Connection::receive(), for
/// a reader that handles each frame right away (no coroutine resumption per frame).
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  /// The next frame, in arrival order, on the connection's executor. Its bytes are lent, usually
  /// straight out of the connection's read buffer: valid only during the call (copy what must
  /// outlive it). Return false to take no more for now: the connection holds what arrives
  /// meanwhile (and stops reading from the socket once receive_queue_limit bytes wait) until
  /// Connection::resume_delivery().
  virtual bool on_frame(PayloadType lane, std::string_view data) = 0;
  /// After the last frame, once: the error receive() would then return.
  virtual void on_closed(const Error& why) = 0;
};

/// One established WebSocket connection, dialer or listener side.
class Connection {
 public:
  explicit Connection(std::shared_ptr<ConnectionImpl> impl);
  /// Releasing the last reference closes the connection ("connection released").
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// The verified caller (listener side) or the dialed target (dialer side).
  const ActrId& peer() const;

  /// Queues one frame for the writer and returns at once; `data` is moved from only on success, so a
  /// refused frame can be sent again. Frames queued while a write is in flight go out together in the
  /// next batch, in order. Errors: Unavailable when the connection is closed (the message says why),
  /// ConnectionNotReady when the frame does not fit within send_queue_limit (co_await
  /// wait_writable(data.size()) and retry), InvalidArgument when it exceeds max_message_size.
  Result<void> send(PayloadType lane, std::string&& data);
  /// The same for a frame whose data is `data` followed by `tail`, sent as they are: a big tail
  /// (a stream chunk's payload, say) reaches the socket without being copied behind `data` first.
  Result<void> send(PayloadType lane, std::string&& data, std::string&& tail);
  /// Queues a copy of `data` as one frame, so the caller keeps its buffer (and its capacity) for the
  /// next one: for small frames, which are copied into the write batch anyway. Errors as send().
  Result<void> send_copy(PayloadType lane, std::string_view data);
  /// Completes when a frame of `frame_bytes` data bytes would be accepted by send(), when the
  /// connection is closed (send() then says why), or at `deadline` (send() may then still refuse):
  /// a peer that stops reading cannot hold the caller past its deadline.
  boost::asio::awaitable<void> wait_writable(
      std::size_t frame_bytes = 0,
      std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

  /// The next frame, in arrival order. After the last frame: Unavailable with the close reason, or
  /// DecodeFailure when the peer sent a malformed or oversize message (the connection is then closed).
  boost::asio::awaitable<Result<Frame>> receive();
  /// Moves the frames that have arrived, up to `max`, to the end of `out` in arrival order and returns
  /// how many; waits like receive() while none has. After the last frame: the error receive() returns.
  /// One lock for the whole batch, for readers that drain a busy connection.
  boost::asio::awaitable<Result<std::size_t>> receive_some(std::vector<Frame>& out,
                                                           std::size_t max = SIZE_MAX);

  /// From now on hands every frame to `sink` instead of to receive() (use one or the other); frames
  /// that arrived before go first. The connection keeps only a weak reference to the sink.
  void deliver_to(std::weak_ptr<FrameSink> sink);
  /// After the sink's on_frame returned false: hands over the frames held meanwhile, and reads on.
  void resume_delivery();

  /// Closes the connection: frames not yet written are discarded, pending receive() and wait_writable()
  /// calls complete, and the WebSocket close frame carries `reason`. Idempotent.
  void close(std::string_view reason);
  bool is_open() const;

  /// Bytes queued by send() and not yet written.
  std::size_t queued_bytes() const;

 private:
  std::shared_ptr<ConnectionImpl> impl_;
};

/// Dials `ws_address` ("ws://host:port[/path]") as `source`, expecting to reach `target`. Completes by
/// `deadline`: TimedOut when it passes; Unavailable when the address refuses or fails the connection (or
/// the listener answers 503); PermissionDenied when it answers 401 (the message carries the listener's
/// reason); InvalidArgument for a malformed address or a 400 answer.
boost::asio::awaitable<Result<std::shared_ptr<Connection>>> connect(
    boost::asio::any_io_executor ex, std::string ws_address, ActrId target, const ActrId& source,
    const AIdCredential& credential, std::chrono::steady_clock::time_point deadline, Options options = {});

/// Decides whether a caller may connect: the verified ActrId, or an error. PermissionDenied (and any
/// other error except Unavailable/TimedOut) answers 401 with the message; Unavailable/TimedOut answer 503
/// (e.g. the signing key could not be fetched), so the dialer may retry later.
using Verifier =
    std::function<boost::asio::awaitable<Result<ActrId>>(ActrId claimed_source, AIdCredential credential)>;

class ListenerImpl;

/// Accepts WebSocket direct connections. Malformed X-Actr-* headers answer 400, refused credentials 401,
/// both with a short text body; no frame is read from a caller before `verifier` accepts it.
class Listener {
 public:
  static Result<std::shared_ptr<Listener>> start(
      boost::asio::any_io_executor ex, std::string host, std::uint16_t port, Verifier verifier,
      std::function<void(std::shared_ptr<Connection>)> on_connection, Options options = {});
  explicit Listener(std::shared_ptr<ListenerImpl> impl);
  /// Releasing the listener stops it.
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  /// The bound port (the ephemeral one when started with port 0).
  std::uint16_t port() const;
  /// Closes the acceptor, pending handshakes and every connection it accepted. Idempotent.
  void stop();

 private:
  std::shared_ptr<ListenerImpl> impl_;
};

}  // namespace actr::wire
