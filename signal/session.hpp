#pragma once
// One signaling WebSocket: the authenticated connection of one actor. Reads envelopes, checks
// the credential of each, answers with reply_for set, relays to other sessions. Everything runs
// on the server's single thread.
//
// The WebSocket framing (RFC 6455, server side, no extensions; headers and masking by the shared
// codec actr::wire::ws) is done here rather than by Beast's websocket stream, for two measured
// reasons: memory (an idle session is its socket, this
// object and one pending readiness wait: no read buffer, no timer, no per-stream state machine)
// and throughput (all frames that arrive in one read are handled before anything is written, and
// all replies they produce leave in one send).

#include <actr/signaling.pb.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "ais.hpp"
#include "limits.hpp"

namespace actr::signal {

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, boost::asio::ip::tcp::socket socket, ActrId id, AIdCredential credential,
          VerifiedCredential verified);
  ~Session();

  /// Attaches the actor and writes `upgrade_response` (the 101) ahead of any frame.
  void start(std::string upgrade_response);
  /// Serves frames until the socket closes; `input` holds bytes the client sent after its upgrade
  /// request.
  boost::asio::awaitable<void> run(std::string input);
  /// Queues one binary frame (an encoded SignalingEnvelope); written at the end of this turn of
  /// the event loop, together with whatever else is queued for this connection by then.
  void send(std::string_view payload);
  void send(const google::protobuf::MessageLite& message);
  /// Sends a close frame after what is queued, then the connection ends.
  void close(std::uint16_t code, std::string_view reason);
  /// Displaced or unregistered: refuse every further message.
  void detach() { attached_ = false; }

  const ActrId& id() const { return id_; }
  const AIdCredential& credential() const { return credential_; }

 private:
  /// Handles every complete frame in [data, data + size) (unmasking in place); returns how many
  /// bytes were used.
  std::size_t parse(char* data, std::size_t size);
  void on_input(char* data, std::size_t size);
  void deliver(std::string_view data, bool binary);
  void queue_header(unsigned opcode, std::size_t size);
  void queue_frame(unsigned opcode, std::string_view payload);
  void queue_close(std::uint16_t code, std::string_view reason);
  void queued();
  /// Protocol error: close frame with `code`, then shut down without waiting for the peer's.
  void protocol_error(std::uint16_t code, std::string_view reason);
  /// Writes what is queued: at once when the socket takes it, else in write_loop.
  void flush();
  void schedule_flush();
  boost::asio::awaitable<void> write_loop();
  void written();
  void teardown();

  void on_frame(std::string_view data, bool binary);
  Result<void> authenticate(const ActrId& source, const AIdCredential& credential);
  void handle_actr(const signaling::SignalingEnvelope& envelope);
  void handle_relay(const signaling::SignalingEnvelope& envelope, std::string_view raw);
  void handle_role(const signaling::SignalingEnvelope& envelope, Actor& target);
  /// Sends SignalingToActr to this actor, answering `reply_for`; `fill` sets the payload.
  template <class Fill>
  void reply(const std::string& reply_for, Fill&& fill);
  void reply_error(const std::string& reply_for, const Error& error);

  Server& server_;
  boost::asio::ip::tcp::socket socket_;
  std::string partial_;  // an incomplete frame left over from the last read (usually empty)
  std::string message_;  // a fragmented message being assembled (usually empty)
  std::string out_;      // encoded frames not yet written
  std::size_t out_pos_ = 0;
  std::unique_ptr<boost::asio::steady_timer> close_timer_;  // only while closing
  ActrId id_;
  std::string id_text_;
  AIdCredential credential_;  // the last verified credential: a repeat is not verified again
  std::uint64_t credential_expires_at_ = 0;
  TokenBucket bucket_;
  std::uint64_t pong_seq_ = 0;
  std::uint8_t message_opcode_ = 0;  // opcode of the message in message_ (0: none)
  bool writing_ = false;
  bool flush_posted_ = false;
  bool attached_ = true;
  bool open_ = false;
  bool close_queued_ = false;  // our close frame is queued: nothing more is sent
  bool close_sent_ = false;
  bool teardown_after_close_ = false;
  bool stop_parsing_ = false;
  bool peer_closed_ = false;  // the client's close frame arrived
  bool torn_down_ = false;    // our side is shut down; reading until EOF
};

}  // namespace actr::signal
