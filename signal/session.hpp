#pragma once
// One signaling WebSocket: the authenticated connection of one actor. Reads envelopes, checks
// the credential of each, answers with reply_for set, relays to other sessions. Everything runs
// on the server's single thread; a session keeps no buffer while idle.

#include <actr/signaling.pb.h>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <memory>
#include <string>

#include "ais.hpp"
#include "limits.hpp"

namespace actr::signal {

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, boost::beast::tcp_stream stream, ActrId id, AIdCredential credential,
          VerifiedCredential verified);
  ~Session();

  /// Completes the upgrade and serves frames until the socket closes.
  boost::asio::awaitable<void> run(boost::beast::http::request<boost::beast::http::string_body> request);
  /// Queues one binary frame (an encoded SignalingEnvelope).
  void send(std::string frame);
  /// Sends a close frame after what is queued, then the connection ends.
  void close(std::uint16_t code, std::string reason);
  /// Displaced or unregistered: refuse every further message.
  void detach() { attached_ = false; }

  const ActrId& id() const { return id_; }
  const AIdCredential& credential() const { return credential_; }

 private:
  boost::asio::awaitable<void> write_loop();
  void start_writing();
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
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  ActrId id_;
  std::string id_text_;
  AIdCredential credential_;  // the last verified credential: a repeat is not verified again
  std::uint64_t credential_expires_at_ = 0;
  TokenBucket bucket_;
  std::uint64_t pong_seq_ = 0;
  std::uint16_t close_code_ = 0;
  std::string close_reason_;
  bool writing_ = false;
  bool attached_ = true;
  bool open_ = false;
};

}  // namespace actr::signal
