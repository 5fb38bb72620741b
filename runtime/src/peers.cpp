#include "peers.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>

#include "actr/protocol/data_chunk.hpp"
#include "node_core.hpp"

namespace actr::detail {
namespace {

constexpr int kDialAttempts = 3;
constexpr int kResendAttempts = 3;

bool is_rpc_lane(PayloadType lane) { return lane == RPC_RELIABLE || lane == RPC_SIGNAL; }

/// The payload field of an envelope to encode: a typed message is serialized into the frame.
void set_payload(EnvelopeFields& fields, const Payload& payload) {
  if (const auto* message = payload.message()) {
    fields.payload_message = message;
  } else {
    fields.payload_bytes = payload.bytes();
    fields.has_payload = true;
  }
}

/// A RESPONSE to `request_id` carrying `error`, encoded into `out`.
void encode_error_response(std::string_view route_key, std::string_view request_id, const Error& error,
                           std::string& out) {
  EnvelopeFields fields;
  fields.route_key = route_key;
  fields.direction = DIRECTION_RESPONSE;
  fields.request_id = request_id;
  fields.error = &error;
  (void)encode_envelope(fields, out);  // no typed payload: cannot fail
}

/// Where a frame is encoded just before it is sent: per thread, so its capacity is reused and a
/// small frame costs no allocation (send_frame copies it into the wire's batch). Valid only until
/// the next suspension: another call on this thread may use it meanwhile.
std::string& frame_scratch() {
  thread_local std::string scratch;
  return scratch;
}

/// Frames up to this size are copied into the wire's batch (Connection::send_copy); a bigger one
/// is handed over and written from its own string.
constexpr std::size_t kCopiedFrame = 2048;

Result<void> send_frame(wire::Connection& connection, PayloadType lane, std::string& frame) {
  return frame.size() <= kCopiedFrame ? connection.send_copy(lane, frame)
                                      : connection.send(lane, std::move(frame));
}

/// How long an answer to `request` may wait for room on the wire: as long as its caller waits.
Clock::time_point answer_deadline(const EnvelopeView& request) {
  const auto wait = request.timeout_ms > 0 ? std::chrono::milliseconds(request.timeout_ms)
                                           : std::chrono::milliseconds(kDefaultCallTimeout);
  return Clock::now() + wait;
}

}  // namespace

bool acl_allows(const Acl* acl, const ActrId& caller, std::uint32_t own_realm) {
  if (!acl || acl->rules_size() == 0) return caller.realm().realm_id() == own_realm;
  bool allowed = false;
  for (const auto& rule : acl->rules()) {
    if (!(rule.from_type() == caller.type())) continue;
    bool realm_matches = rule.has_any_realm()  ? rule.any_realm()
                         : rule.has_realm_id() ? rule.realm_id() == caller.realm().realm_id()
                                               : caller.realm().realm_id() == own_realm;
    if (!realm_matches) continue;
    if (rule.permission() == AclRule::DENY) return false;
    allowed = true;
  }
  return allowed;
}

Peers::Peers(NodeCore& core, Strand strand)
    : core_(core),
      strand_(std::move(strand)),
      serial_(core.wire_options().executor_is_serial),
      replies_(core.config().remote ? core.config().remote->duplicate_filter : DuplicateFilterLimits{}) {}

Result<void> Peers::encode_frame(Envelope& envelope, std::string& out) {
  if (!envelope.trace.valid()) envelope.trace = TraceContext::new_trace();  // not drawn yet
  EnvelopeFields fields;
  fields.route_key = envelope.route_key;
  fields.direction = envelope.direction;
  fields.request_id = envelope.request_id;
  fields.timeout_ms = envelope.timeout_ms;
  fields.trace = &envelope.trace;
  fields.tracestate = envelope.tracestate;
  fields.metadata = envelope.metadata;
  set_payload(fields, envelope.payload);
  return encode_envelope(fields, out);
}

void Peers::remember_address(const ActrId& id, std::string ws_address) {
  if (!ws_address.empty()) addresses_[id] = std::move(ws_address);
}

std::optional<std::uint64_t> Peers::our_sequence(std::string_view request_id) const {
  const std::string& prefix = core_.request_id_prefix();
  if (request_id.size() <= prefix.size() + 1 || !request_id.starts_with(prefix) ||
      request_id[prefix.size()] != '-') {
    return std::nullopt;
  }
  std::uint64_t sequence = 0;
  auto digits = request_id.substr(prefix.size() + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), sequence, kRequestIdBase);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return sequence;
}

std::optional<std::uint64_t> Peers::pending_sequence(std::string_view request_id) const {
  if (auto sequence = our_sequence(request_id)) return sequence;
  if (custom_ids_.empty()) return std::nullopt;
  if (auto it = custom_ids_.find(std::string(request_id)); it != custom_ids_.end()) return it->second;
  return std::nullopt;
}

std::shared_ptr<PeerLink> Peers::add_link(std::shared_ptr<wire::Connection> connection) {
  auto link = std::make_shared<PeerLink>();
  link->peer = connection->peer();
  link->as_caller = std::make_shared<const std::optional<ActrId>>(link->peer);
  link->peer_text = to_string(link->peer);
  link->connection = std::move(connection);
  // A newer connection to the same peer replaces the older one for our calls; the old one keeps
  // serving what is in flight on it until it closes.
  links_[link->peer] = link;
  live_[link.get()] = link;  // kept until its connection ends, even once a newer link replaces it
  link->owner = weak_from_this();
  link->connection->deliver_to(link);
  return link;
}

void Peers::adopt(std::shared_ptr<wire::Connection> connection) {
  asio::dispatch(strand_, [self = shared_from_this(), connection = std::move(connection)]() mutable {
    self->add_link(std::move(connection));
  });
}

std::shared_ptr<PeerLink> Peers::open_link(const ActrId& target) const {
  auto it = links_.find(target);
  return it != links_.end() && it->second->connection->is_open() ? it->second : nullptr;
}

asio::awaitable<Result<std::shared_ptr<PeerLink>>> Peers::link_to(const ActrId& target,
                                                                  Clock::time_point deadline) {
  auto self = shared_from_this();
  Result<std::shared_ptr<PeerLink>> result = fail(ErrorCode::Unavailable, "not connected");
  for (int attempt = 0; attempt < kDialAttempts; ++attempt) {
    if (auto link = open_link(target)) {
      result = std::move(link);
      break;
    }
    if (auto it = dialing_.find(target); it != dialing_.end()) {  // someone is dialing: share it
      auto waiters = it->second;
      co_await waiters->wait(deadline);
      --attempt;
      if (Clock::now() >= deadline) {
        result = fail(ErrorCode::TimedOut,
                      fmt::format("connecting to {} took past the deadline", to_string(target)));
        break;
      }
      continue;
    }
    auto address = addresses_.find(target);
    if (address == addresses_.end()) {
      result =
          fail(ErrorCode::Unavailable,
               fmt::format("no ws_address known for {}: find it with discover_route_candidate first (WebRTC "
                           "peers are not supported by this build yet)",
                           to_string(target)));
      break;
    }
    auto waiters = std::make_shared<WaitList>(strand_);
    dialing_[target] = waiters;
    std::string ws_address = address->second;
    auto credential = core_.credential();
    auto dialed = co_await wire::connect(strand_, ws_address, target, core_.self_id(), credential, deadline,
                                         core_.wire_options());
    dialing_.erase(target);
    waiters->notify_all();
    if (dialed) {
      result = add_link(std::move(*dialed));
      break;
    }
    result = std::unexpected(std::move(dialed.error()));
    auto code = result.error().code;
    if (code != ErrorCode::Unavailable || Clock::now() >= deadline) break;  // only refusals are worth a retry
    asio::steady_timer pause(strand_, std::chrono::milliseconds(50 << attempt));
    boost::system::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return result;
}

asio::awaitable<Result<void>> Peers::wait_and_send(PeerLink& link, PayloadType lane, std::string& bytes,
                                                   Clock::time_point deadline, Error refused,
                                                   std::string* tail) {
  Result<void> sent = std::unexpected(std::move(refused));
  while (!sent && sent.error().code == ErrorCode::ConnectionNotReady && Clock::now() < deadline) {
    // The wire pushes back: wait for room.
    co_await link.connection->wait_writable(bytes.size() + (tail ? tail->size() : 0), deadline);
    sent = tail ? link.connection->send(lane, std::move(bytes), std::move(*tail))
                : link.connection->send(lane, std::move(bytes));
  }
  if (!sent && sent.error().code == ErrorCode::ConnectionNotReady) {
    co_return fail(ErrorCode::TimedOut, fmt::format("deadline passed waiting for room on the wire to {} ({})",
                                                    link.peer_text, sent.error().message));
  }
  co_return sent;
}

// The common case costs no coroutine frame beyond the caller's own: the link is open (dialing is
// a separate coroutine) and the wire takes the frame at once (waiting for room is another).

asio::awaitable<Result<Payload>> Peers::request(const ActrId& target, EnvelopePtr envelope) {
  auto self = shared_from_this();
  // Encoded up front, so a payload that cannot be encoded fails the call before anything else;
  // encoded again only after a suspension (the scratch is per thread, see frame_scratch).
  std::string* frame = &frame_scratch();
  if (auto encoded = encode_frame(*envelope, *frame); !encoded)
    co_return std::unexpected(std::move(encoded.error()));
  bool fresh = true;  // *frame holds this envelope (false after a suspension or a drop)
  auto sequence = envelope->sequence;
  // A request_id the caller chose (CallOptions::request_id) does not spell our sequence: the
  // answer finds its pending entry through this map instead.
  bool custom_id = envelope->request_id_chosen;
  if (custom_id) custom_ids_[envelope->request_id] = sequence;
  // A frame the wire refused because the link closed was never sent: send it again, same
  // request_id, over a fresh link while the deadline allows. A frame the wire accepted rides its
  // link; if that link dies the call fails at once (see drop).
  Result<Payload> result;
  std::shared_ptr<PeerLink> link;
  for (int attempt = 0; attempt < kResendAttempts; ++attempt) {
    link = open_link(target);
    if (!link) {
      auto dialed = co_await link_to(target, envelope->deadline);
      if (!dialed) {
        result = std::unexpected(std::move(dialed.error()));
        break;
      }
      link = std::move(*dialed);
      fresh = false;
    }
    if (!fresh) {
      frame = &frame_scratch();
      (void)encode_frame(*envelope, *frame);  // it encoded before: it cannot fail now
      fresh = true;
    }
    auto sent = send_frame(*link->connection, envelope->lane, *frame);
    if (!sent && sent.error().code == ErrorCode::ConnectionNotReady) {
      std::string owned = *frame;
      fresh = false;
      sent =
          co_await wait_and_send(*link, envelope->lane, owned, envelope->deadline, std::move(sent.error()));
    }
    if (sent) {
      if (!link->connection->is_open()) {
        result = fail(ErrorCode::Unavailable,
                      fmt::format("connection to {} closed while sending", link->peer_text));
      }
      break;
    }
    result = std::unexpected(std::move(sent.error()));
    if (result.error().code != ErrorCode::Unavailable || link->connection->is_open()) break;
    drop(link, result.error().message);  // forget it now, so link_to dials a fresh one
    fresh = false;                       // (failing its calls may have run others on this thread)
    if (Clock::now() >= envelope->deadline) break;
  }
  if (result) {  // sent: wait for the answer
    auto reply = core_.wait_reply(sequence, envelope->deadline, &result, link.get());
    co_await std::move(reply);
  }
  if (custom_id) {
    if (auto it = custom_ids_.find(envelope->request_id); it != custom_ids_.end() && it->second == sequence)
      custom_ids_.erase(it);
  }
  co_return result;
}

asio::awaitable<Result<void>> Peers::tell(const ActrId& target, EnvelopePtr envelope) {
  auto self = shared_from_this();
  auto link = open_link(target);
  if (!link) {
    auto dialed = co_await link_to(target, envelope->deadline);
    if (!dialed) co_return std::unexpected(std::move(dialed.error()));
    link = std::move(*dialed);
  }
  auto& frame = frame_scratch();
  if (auto encoded = encode_frame(*envelope, frame); !encoded)
    co_return std::unexpected(std::move(encoded.error()));
  auto sent = send_frame(*link->connection, envelope->lane, frame);
  if (!sent && sent.error().code == ErrorCode::ConnectionNotReady) {
    std::string owned = frame;
    sent = co_await wait_and_send(*link, envelope->lane, owned, envelope->deadline, std::move(sent.error()));
  }
  co_return sent;
}

asio::awaitable<Result<void>> Peers::send_chunk(const ActrId& target, DataChunk chunk, PayloadType lane,
                                                Clock::time_point deadline) {
  auto self = shared_from_this();
  auto link = open_link(target);
  if (!link) {
    auto dialed = co_await link_to(target, deadline);
    if (!dialed) co_return std::unexpected(std::move(dialed.error()));
    link = std::move(*dialed);
  }
  if (!chunk.IsInitialized())
    co_return fail(ErrorCode::InvalidArgument, "DataChunk: " + chunk.InitializationErrorString());
  std::string payload;
  std::string head = split_data_chunk(chunk, payload);  // the payload is written from its own string
  auto sent = link->connection->send(lane, std::move(head), std::move(payload));
  if (!sent && sent.error().code == ErrorCode::ConnectionNotReady)
    sent = co_await wait_and_send(*link, lane, head, deadline, std::move(sent.error()), &payload);
  co_return sent;
}

bool PeerLink::on_frame(PayloadType lane, std::string_view data) {
  auto peers = owner.lock();
  return peers ? peers->on_frame(*this, lane, data) : true;
}

void PeerLink::on_closed(const Error& why) {
  auto peers = owner.lock();
  if (!peers) return;
  asio::dispatch(peers->strand_,
                 [peers, link = shared_from_this(), why = why.message] { peers->drop(link, why); });
}

bool Peers::on_frame(PeerLink& link, PayloadType lane, std::string_view data) {
  if (!serial_) {
    // Another thread: hand a copy to the strand. RPC frames never wait, and the strand keeps
    // their order; a chunk holds the link's later frames until it is delivered.
    asio::post(strand_,
               [self = shared_from_this(), link = link.shared_from_this(), lane, bytes = std::string(data)] {
                 if (is_rpc_lane(lane)) {
                   self->on_rpc_frame(*link, bytes, lane);
                 } else {
                   self->on_chunk_frame(link, lane, bytes);
                 }
               });
    return is_rpc_lane(lane);
  }
  // Already on the strand: handled right here, straight from the connection's read buffer.
  if (is_rpc_lane(lane)) {
    on_rpc_frame(link, data, lane);
    return true;
  }
  return on_chunk_frame(link.shared_from_this(), lane, data);
}

void Peers::drop(const std::shared_ptr<PeerLink>& link, const std::string& why) {
  if (auto it = links_.find(link->peer); it != links_.end() && it->second == link) links_.erase(it);
  live_.erase(link.get());
  link->connection->close(why);
  // Calls riding this link fail now, not at their deadline; the next call dials again.
  for (auto sequence : core_.pending_riding(link.get())) {
    core_.complete_pending(sequence, fail(ErrorCode::Unavailable,
                                          fmt::format("connection to {} lost: {}", link->peer_text, why)));
  }
}

bool Peers::on_chunk_frame(const std::shared_ptr<PeerLink>& link, PayloadType lane, std::string_view data) {
  DataChunk chunk;
  if (!chunk.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    spdlog::warn("dropped an undecodable DataChunk from {}", link->peer_text);
  } else if (auto delivered = core_.try_deliver_chunk(chunk, link->peer, lane); !delivered) {
    // The stream is full: wait for room, holding the link's later frames (streams stay in order,
    // and the sender feels the push back).
    asio::co_spawn(strand_, deliver_chunk_later(link, std::move(chunk), lane), asio::detached);
    return false;
  } else if (!*delivered) {
    spdlog::warn("chunk from {}: {}", link->peer_text, delivered->error().to_string());
  }
  if (!serial_) link->connection->resume_delivery();  // it waited for this hop to the strand
  return true;
}

asio::awaitable<void> Peers::deliver_chunk_later(std::shared_ptr<PeerLink> link, DataChunk chunk,
                                                 PayloadType lane) {
  auto delivered =
      co_await core_.deliver_chunk(std::move(chunk), link->peer, lane, Clock::now() + kDefaultCallTimeout);
  if (!delivered) spdlog::warn("chunk from {}: {}", link->peer_text, delivered.error().to_string());
  link->connection->resume_delivery();
}

void Peers::on_rpc_frame(PeerLink& link, std::string_view data, PayloadType lane) {
  EnvelopeView& message = link.inbound;
  const char* why = nullptr;
  if (!decode_envelope(data, message, &why)) {
    spdlog::warn("dropped an undecodable RpcEnvelope ({} bytes) from {}: {}", data.size(), link.peer_text,
                 why);
    return;
  }
  switch (message.direction) {
    case DIRECTION_REQUEST:
    case DIRECTION_TELL: on_request(link, message, lane); break;
    case DIRECTION_RESPONSE: {
      auto sequence = pending_sequence(message.request_id);
      if (!sequence) break;  // not ours, or long gone
      // The caller may resume right here: what it sends next joins this reader's batch.
      if (message.has_error) {
        core_.complete_pending(*sequence, std::unexpected(message.error()), true);
      } else {
        core_.complete_pending(*sequence, Payload(std::string(message.payload)), true);
      }
      break;
    }
    default:
      spdlog::warn("dropped a message without direction from {} (route '{}')", link.peer_text,
                   message.route_key);
      break;
  }
}

void Peers::on_request(PeerLink& link, const EnvelopeView& message, PayloadType lane) {
  bool is_request = message.direction == DIRECTION_REQUEST;
  if (!acl_allows(core_.acl(), link.peer, core_.self_id().realm().realm_id())) {
    if (is_request) {
      send_error(link, message,
                 Error{ErrorCode::PermissionDenied,
                       fmt::format("{} may not call {} (ACL)", link.peer_text, to_string(core_.self_id()))});
    }
    return;
  }
  if (is_request && message.timeout_ms <= 0) {
    send_error(link, message, Error{ErrorCode::InvalidArgument, "a REQUEST needs timeout_ms > 0"});
    return;
  }
  const auto serial = link.peer.serial_number();
  const auto realm = link.peer.realm().realm_id();
  std::uint32_t place = UINT32_MAX;
  if (auto [seen, fresh] = replies_.try_add(serial, realm, message.request_id, &place); !fresh) {
    // A retry of something we already have: answer from the cache, never run it twice. While the
    // first is still running, the retry's link gets the answer too when it comes.
    if (is_request && seen->answer_dropped) {
      send_error(link, message,
                 Error{ErrorCode::Unavailable,
                       fmt::format("request '{}' already ran, and its answer was not kept for a retry "
                                   "(too large, or pushed out by newer answers)",
                                   message.request_id)});
    } else if (is_request && seen->answered) {
      send_answer(link, seen->response, nullptr, answer_deadline(message));
    } else if (is_request) {
      seen->waiters.push_back(link.weak_from_this());
    }
    return;
  }

  auto envelope = std::make_unique<Envelope>();
  envelope->direction = message.direction;
  envelope->lane = lane;
  envelope->set_route_key(message.route_key);
  envelope->request_id = message.request_id;
  // Lent, not copied: a handler run inline decodes it straight from the read buffer, which stays
  // put until we return. NodeCore keeps (copies) it if the request waits or its handler suspends.
  envelope->payload.lend(message.payload);
  envelope->timeout_ms = message.timeout_ms;
  if (is_request) envelope->deadline = Clock::now() + std::chrono::milliseconds(message.timeout_ms);
  envelope->caller = link.as_caller;
  envelope->metadata.reserve(message.metadata.size());
  for (auto [key_view, value] : message.metadata) envelope->metadata.emplace_back(key_view, value);
  auto trace = parse_traceparent(message.traceparent);
  envelope->trace = trace ? *trace : TraceContext::new_trace();
  envelope->tracestate = message.tracestate;
  envelope->reply_via = link.shared_from_this();
  envelope->reply_place = place;
  auto refused = core_.admit_inbound(std::move(envelope));
  if (!refused) return;
  // Never run: forget it, so that a retry with the same request_id is admitted, not parked
  // waiting for an answer that will never come.
  replies_.erase(serial, realm, message.request_id);
  if (is_request) send_error(link, message, *refused);
}

void Peers::reply(const Envelope& request, Result<Payload> result) {
  EnvelopeFields fields;
  fields.route_key = request.route_key;
  fields.direction = DIRECTION_RESPONSE;
  fields.request_id = request.request_id;
  if (result) {
    set_payload(fields, *result);
  } else {
    fields.error = &result.error();
  }
  auto& link = *request.reply_via;
  // Encoded into the duplicate filter's entry when it has one (a recycled entry keeps its
  // capacity), so the copy a retry is answered from costs nothing more; else into the scratch.
  auto* seen = replies_.at(request.reply_place, link.peer.serial_number(), link.peer.realm().realm_id(),
                           request.request_id);
  std::string& encoded = seen ? seen->response : frame_scratch();
  if (auto written = encode_envelope(fields, encoded); !written) {  // a typed answer missing required fields
    encode_error_response(request.route_key, request.request_id, written.error(), encoded);
  }
  if (seen) {
    for (auto& weak : seen->waiters) {
      auto waiter = weak.lock();
      if (waiter && waiter.get() != &link && waiter->connection->is_open())
        send_answer(*waiter, encoded, nullptr, request.deadline);
    }
    seen->waiters.clear();
  }
  // The duplicate filter's entry keeps its bytes for retries: those are copied, never moved.
  if (link.connection->is_open()) send_answer(link, encoded, seen ? nullptr : &encoded, request.deadline);
  if (seen) replies_.settle(request.reply_place);  // sent: it may let the bytes go now
}

void Peers::send_error(PeerLink& link, const EnvelopeView& request, const Error& error) {
  auto& encoded = frame_scratch();
  encode_error_response(request.route_key, request.request_id, error, encoded);
  send_answer(link, encoded, &encoded, answer_deadline(request));
}

void Peers::send_answer(PeerLink& link, std::string_view encoded, std::string* movable,
                        Clock::time_point deadline) {
  auto sent = movable ? send_frame(*link.connection, RPC_RELIABLE, *movable)
                      : link.connection->send_copy(RPC_RELIABLE, encoded);
  if (sent) return;
  if (sent.error().code != ErrorCode::ConnectionNotReady) {
    spdlog::warn("answer to {} not sent: {}", link.peer_text, sent.error().to_string());
    return;
  }
  // Refused, so not moved from (send() moves only on success): the waiting copy is taken now.
  std::string owned = movable ? std::move(*movable) : std::string(encoded);
  asio::co_spawn(
      strand_,
      answer_when_writable(link.shared_from_this(), std::move(owned), deadline, std::move(sent.error())),
      asio::detached);
}

asio::awaitable<void> Peers::answer_when_writable(std::shared_ptr<PeerLink> link, std::string encoded,
                                                  Clock::time_point deadline, Error refused) {
  auto self = shared_from_this();
  auto sent = co_await wait_and_send(*link, RPC_RELIABLE, encoded, deadline, std::move(refused));
  if (!sent) spdlog::warn("answer to {} not sent: {}", link->peer_text, sent.error().to_string());
}

void Peers::close_all(std::string_view reason) {
  links_.clear();
  auto live = std::move(live_);
  live_.clear();
  for (auto& [raw, link] : live) link->connection->close(reason);
}

}  // namespace actr::detail
