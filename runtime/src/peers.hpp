#pragma once
// Peer links: one WebSocket direct connection per remote actor, shared by every call to it.
//   outbound — dial the actor's ws_address (learned from route candidates), frame, send, and wait
//              in the node's pending table; a link that dies fails its calls at once.
//   inbound  — frames from a verified peer: REQUEST/TELL pass the ACL and the duplicate filter and
//              enter the mailbox; RESPONSE completes a pending call; stream lanes feed the streams.

#include <unordered_map>
#include <utility>
#include <vector>

#include "actr/protocol/envelope_codec.hpp"
#include "actr/wire/websocket.hpp"
#include "envelope.hpp"
#include "reply_cache.hpp"
#include "wait_list.hpp"

namespace actr::detail {

class NodeCore;

class Peers;

/// A live connection to one peer (either side dialed). It takes its connection's frames as they
/// arrive (wire::FrameSink) and hands them to Peers.
struct PeerLink final : wire::FrameSink, std::enable_shared_from_this<PeerLink> {
  ActrId peer;
  CallerId as_caller;  // `peer` as the caller of what arrives on this link
  std::string peer_text;
  std::shared_ptr<wire::Connection> connection;
  std::weak_ptr<Peers> owner;
  /// Each RPC frame read on this link is decoded into this one view (it points into the frame;
  /// its metadata list keeps its capacity). Only the node's strand touches it, one frame at a time.
  EnvelopeView inbound;

  bool on_frame(PayloadType lane, std::string_view data) override;
  void on_closed(const Error& why) override;
};

class Peers : public std::enable_shared_from_this<Peers> {
 public:
  Peers(NodeCore& core, Strand strand);

  /// All members: call on the node's strand. A `target` must outlive the call (it is the
  /// caller's Dest, which its co_await keeps alive).
  void remember_address(const ActrId& id, std::string ws_address);
  asio::awaitable<Result<Payload>> request(const ActrId& target, EnvelopePtr envelope);
  asio::awaitable<Result<void>> tell(const ActrId& target, EnvelopePtr envelope);
  asio::awaitable<Result<void>> send_chunk(const ActrId& target, DataChunk chunk, PayloadType lane,
                                           Clock::time_point deadline);
  /// A connection the listener accepted (its peer is verified).
  void adopt(std::shared_ptr<wire::Connection> connection);
  /// Sends the answer to an inbound request back over its link (and remembers it for repeats).
  void reply(const Envelope& request, Result<Payload> result);
  void close_all(std::string_view reason);

 private:
  /// The link to `target` if one is open (no dialing).
  std::shared_ptr<PeerLink> open_link(const ActrId& target) const;
  /// Dials `target` unless a link is open (sharing a dial already under way).
  asio::awaitable<Result<std::shared_ptr<PeerLink>>> link_to(const ActrId& target,
                                                             Clock::time_point deadline);
  std::shared_ptr<PeerLink> add_link(std::shared_ptr<wire::Connection> connection);
  friend struct PeerLink;
  /// A frame from `link`'s connection, on the connection's executor (PeerLink::on_frame); its
  /// bytes are lent for the call.
  bool on_frame(PeerLink& link, PayloadType lane, std::string_view data);
  void on_rpc_frame(PeerLink& link, std::string_view data, PayloadType lane);
  /// Delivers a chunk (on the strand). false: it waits for room in its stream, and the link's
  /// connection holds its later frames until then (streams stay in order; the sender is pushed back).
  bool on_chunk_frame(const std::shared_ptr<PeerLink>& link, PayloadType lane, std::string_view data);
  asio::awaitable<void> deliver_chunk_later(std::shared_ptr<PeerLink> link, DataChunk chunk,
                                            PayloadType lane);
  void on_request(PeerLink& link, const EnvelopeView& message, PayloadType lane);
  /// Answers `request` on `link` with `error` (a refusal: the request never ran).
  void send_error(PeerLink& link, const EnvelopeView& request, const Error& error);
  /// Sends an encoded answer on `link`: copied into the wire's batch, or moved from `movable` (which
  /// then holds `encoded`) when it is big. When the wire pushes back (its send queue is full), the
  /// answer waits for room until `deadline` (its caller's, who stops waiting then) instead of being
  /// lost; only then is it copied, if it was not movable.
  void send_answer(PeerLink& link, std::string_view encoded, std::string* movable,
                   Clock::time_point deadline);
  asio::awaitable<void> answer_when_writable(std::shared_ptr<PeerLink> link, std::string encoded,
                                             Clock::time_point deadline, Error refused);
  /// The envelope as an encoded RpcEnvelope frame (its payload serialized if it was typed).
  Result<void> encode_frame(Envelope& envelope, std::string& out);
  /// After send() `refused` a frame with ConnectionNotReady: waits for room and sends again, while
  /// the deadline allows. `bytes` (and `tail`, the rest of the frame, if any) are moved from only
  /// when the wire accepts the frame.
  asio::awaitable<Result<void>> wait_and_send(PeerLink& link, PayloadType lane, std::string& bytes,
                                              Clock::time_point deadline, Error refused,
                                              std::string* tail = nullptr);
  void drop(const std::shared_ptr<PeerLink>& link, const std::string& why);
  std::optional<std::uint64_t> our_sequence(std::string_view request_id) const;
  /// The pending-table key of an answer: our own request_id form, or a caller-chosen one.
  std::optional<std::uint64_t> pending_sequence(std::string_view request_id) const;

  NodeCore& core_;
  Strand strand_;
  /// The connections run on strand_ itself (a one-thread node): their frames need no hand-over.
  const bool serial_;
  std::unordered_map<ActrId, std::shared_ptr<PeerLink>> links_;    // what our calls use
  std::unordered_map<PeerLink*, std::shared_ptr<PeerLink>> live_;  // every open link, until dropped
  std::unordered_map<ActrId, std::string> addresses_;
  std::unordered_map<ActrId, std::shared_ptr<WaitList>> dialing_;
  std::unordered_map<std::string, std::uint64_t> custom_ids_;  // caller-chosen request_id → sequence
  /// Answers to recent requests by caller and request_id: a retry is answered, not run again.
  ReplyCache replies_;
};

/// The ACL rule of PROTOCOL.md: a matching DENY beats every ALLOW; nothing matching denies. With no
/// ACL at all, callers from the node's own realm are allowed.
bool acl_allows(const Acl* acl, const ActrId& caller, std::uint32_t own_realm);

}  // namespace actr::detail
