#pragma once
// Peer links: one WebSocket direct connection per remote actor, shared by every call to it.
//   outbound — dial the actor's ws_address (learned from route candidates), frame, send, and wait
//              in the node's pending table; a link that dies fails its calls at once.
//   inbound  — frames from a verified peer: REQUEST/TELL pass the ACL and the duplicate filter and
//              enter the mailbox; RESPONSE completes a pending call; stream lanes feed the streams.

#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "actr/wire/websocket.hpp"
#include "envelope.hpp"
#include "wait_list.hpp"

namespace actr::detail {

class NodeCore;

/// A live connection to one peer (either side dialed).
struct PeerLink {
  ActrId peer;
  std::string peer_text;
  std::shared_ptr<wire::Connection> connection;
  std::unordered_set<std::uint64_t> in_flight;  // our pending sequences riding on this link
  /// Each RPC frame read on this link is parsed into this one message: protobuf keeps its strings'
  /// capacity across Clear(), so a steady stream of frames stops allocating for route keys,
  /// trace headers and the like. Only this link's reader touches it, one frame at a time.
  RpcEnvelope inbound;
};

class Peers : public std::enable_shared_from_this<Peers> {
 public:
  Peers(NodeCore& core, Strand strand);

  /// All members: call on the node's strand.
  void remember_address(const ActrId& id, std::string ws_address);
  asio::awaitable<Result<Payload>> request(ActrId target, EnvelopePtr envelope);
  asio::awaitable<Result<void>> tell(ActrId target, EnvelopePtr envelope);
  asio::awaitable<Result<void>> send_chunk(ActrId target, DataChunk chunk, PayloadType lane,
                                           Clock::time_point deadline);
  /// A connection the listener accepted (its peer is verified).
  void adopt(std::shared_ptr<wire::Connection> connection);
  /// Sends the answer to an inbound request back over its link (and remembers it for repeats).
  void reply(const Envelope& request, Result<Payload> result);
  void close_all(std::string_view reason);

 private:
  asio::awaitable<Result<std::shared_ptr<PeerLink>>> link_to(const ActrId& target,
                                                             Clock::time_point deadline);
  std::shared_ptr<PeerLink> add_link(std::shared_ptr<wire::Connection> connection);
  asio::awaitable<void> read_loop(std::shared_ptr<PeerLink> link);
  void on_rpc_frame(const std::shared_ptr<PeerLink>& link, const std::string& data, PayloadType lane);
  asio::awaitable<void> on_chunk_frame(std::shared_ptr<PeerLink> link, wire::Frame frame);
  void on_request(const std::shared_ptr<PeerLink>& link, RpcEnvelope& message, PayloadType lane);
  void send_response(PeerLink& link, RpcEnvelope response);
  /// `bytes` is moved from only when the wire accepts the frame, so a refused one can be re-sent.
  asio::awaitable<Result<void>> send_frame(PeerLink& link, PayloadType lane, std::string& bytes,
                                           Clock::time_point deadline);
  void drop(const std::shared_ptr<PeerLink>& link, const std::string& why);
  std::optional<std::uint64_t> our_sequence(std::string_view request_id) const;
  /// The pending-table key of an answer: our own request_id form, or a caller-chosen one.
  std::optional<std::uint64_t> pending_sequence(const std::string& request_id) const;

  /// Answers to recent requests, so a retried request_id is answered, not run again.
  struct Seen {
    std::optional<std::string> response;           // encoded RESPONSE; nullopt while the handler runs
    std::vector<std::weak_ptr<PeerLink>> waiters;  // links a repeat came on while it ran
  };
  static constexpr std::size_t kSeenLimit = 65'536;

  NodeCore& core_;
  Strand strand_;
  std::unordered_map<ActrId, std::shared_ptr<PeerLink>> links_;
  std::unordered_map<ActrId, std::string> addresses_;
  std::unordered_map<ActrId, std::shared_ptr<WaitList>> dialing_;
  std::unordered_map<std::string, std::uint64_t> custom_ids_;  // caller-chosen request_id → sequence
  std::unordered_map<std::string, Seen> seen_;
  std::deque<std::string> seen_order_;
};

RpcEnvelope to_wire(Envelope& envelope);
/// The envelope as an encoded RpcEnvelope frame (its payload serialized if it was typed).
Result<std::string> encode_frame(Envelope& envelope);
/// The ACL rule of PROTOCOL.md: a matching DENY beats every ALLOW; nothing matching denies. With no
/// ACL at all, callers from the node's own realm are allowed.
bool acl_allows(const Acl* acl, const ActrId& caller, std::uint32_t own_realm);

}  // namespace actr::detail
