#include "session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "server.hpp"
#include "util.hpp"
#include "ws_codec.hpp"

namespace actr::signal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using signaling::SignalingEnvelope;

namespace {

constexpr std::size_t kMaxQueuedBytes = 4 * 1024 * 1024;  // a reader this far behind is cut off
constexpr auto kCloseTimeout = std::chrono::seconds(30);  // for the close handshake to finish
// RFC 6455 framing comes from the wire library's codec: one frame codec in the project.
namespace ws = actr::wire::ws;
constexpr unsigned kOpText = ws::kText, kOpBinary = ws::kBinary, kOpClose = ws::kClose, kOpPing = ws::kPing,
                   kOpPong = ws::kPong;
constexpr std::uint16_t kCloseNormal = ws::close_code::kNormal,
                        kCloseProtocolError = ws::close_code::kProtocolError,
                        kCloseBadPayload = ws::close_code::kBadPayload,
                        kCloseTooBig = ws::close_code::kTooBig;

// One read buffer for all sessions (one thread): a session owns no buffer while idle.
std::array<char, 64 * 1024> g_scratch;

const char* payload_name(const signaling::ActrToSignaling& m) {
  using P = signaling::ActrToSignaling;
  switch (m.payload_case()) {
    case P::kUnregisterRequest: return "unregister";
    case P::kPing: return "ping";
    case P::kDiscoveryRequest: return "discovery";
    case P::kRouteCandidatesRequest: return "route_candidates";
    case P::kGetServiceSpecRequest: return "get_service_spec";
    case P::kGetSigningKeyRequest: return "get_signing_key";
    case P::kSubscribeActrUpRequest: return "subscribe_actr_up";
    case P::kUnsubscribeActrUpRequest: return "unsubscribe_actr_up";
    case P::kError: return "error";
    default: return "empty";
  }
}

const char* payload_name(const signaling::ActrRelay& m) {
  using P = signaling::ActrRelay;
  switch (m.payload_case()) {
    case P::kIceCandidate: return "relay_ice_candidate";
    case P::kSessionDescription: return "relay_session_description";
    case P::kRoleNegotiation: return "relay_role_negotiation";
    case P::kRoleAssignment: return "relay_role_assignment";
    case P::kIceRestartRequest: return "relay_ice_restart";
    default: return "relay_empty";
  }
}

SignalingEnvelope envelope_for(const std::string& reply_for) {
  SignalingEnvelope env;
  env.set_envelope_version(2);
  env.set_envelope_id(next_envelope_id());
  if (!reply_for.empty()) env.set_reply_for(reply_for);
  return env;
}

bool same_credential(const AIdCredential& a, const AIdCredential& b) {
  return a.key_id() == b.key_id() && a.signature() == b.signature() && a.claims() == b.claims();
}

}  // namespace

Session::Session(Server& server, tcp::socket socket, ActrId id, AIdCredential credential,
                 VerifiedCredential verified)
    : server_(server),
      socket_(std::move(socket)),
      id_(std::move(id)),
      id_text_(verified.actor_id),
      credential_(std::move(credential)),
      credential_expires_at_(verified.expires_at),
      bucket_(server.config().limits.messages_per_second, server.config().limits.message_burst, mono_ms()) {}

Session::~Session() = default;

void Session::start(std::string upgrade_response) {
  beast::error_code ec;
  socket_.non_blocking(true, ec);
  open_ = true;
  out_ = std::move(upgrade_response);  // goes out first, before any frame
  server_.attach(shared_from_this());
  flush();
}

asio::awaitable<void> Session::run(std::string input) {
  auto self = shared_from_this();
  beast::error_code ec;
  if (!input.empty()) {
    on_input(input.data(), input.size());
    input = {};
    flush();
  }
  while (socket_.is_open()) {
    co_await socket_.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    // Drain what has arrived through the shared scratch buffer: every frame in it is handled
    // before anything is written, so the replies leave together.
    bool eof = false;
    for (;;) {
      const std::size_t n = socket_.read_some(asio::buffer(g_scratch), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) {
        eof = true;
        break;
      }
      if (!torn_down_) on_input(g_scratch.data(), n);
      if (n < g_scratch.size()) break;
    }
    if (eof) break;
    flush();
  }
  open_ = false;
  if (close_timer_) close_timer_->cancel();
  socket_.close(ec);
  server_.detach(*this);
}

void Session::on_input(char* data, std::size_t size) {
  if (stop_parsing_) return;  // after a protocol error: read and drop until the peer goes
  if (partial_.empty()) {
    const std::size_t used = parse(data, size);
    if (used < size && !stop_parsing_) partial_.assign(data + used, size - used);
    return;
  }
  partial_.append(data, size);
  const std::size_t used = parse(partial_.data(), partial_.size());
  if (stop_parsing_ || used == partial_.size()) {
    std::string().swap(partial_);  // idle connections hold no buffer
  } else {
    partial_.erase(0, used);
  }
}

std::size_t Session::parse(char* data, std::size_t size) {
  const std::size_t max_message = server_.config().limits.max_frame_bytes;
  std::size_t pos = 0;
  while (!stop_parsing_) {
    ws::FrameHeader header;
    const std::size_t avail = size - pos;
    const std::size_t head = ws::parse_header(data + pos, avail, header);
    if (head == 0) break;
    if (auto why = ws::header_violation(header, /*expect_masked=*/true); !why.empty()) {
      protocol_error(kCloseProtocolError, why);
      break;
    }
    const bool fin = header.fin;
    const unsigned opcode = header.opcode;
    const std::uint64_t len = header.length;
    if (opcode < kOpClose) {
      if ((opcode == 0) != (message_opcode_ != 0)) {
        protocol_error(kCloseProtocolError, "bad data frame");
        break;
      }
      if (message_.size() + len > max_message) {
        ++server_.metrics().malformed;
        protocol_error(kCloseTooBig, "message too big");
        break;
      }
    }
    if (avail - head < len) break;
    char* payload = data + pos + head;
    ws::apply_mask(payload, static_cast<std::size_t>(len), header.mask);
    pos += head + static_cast<std::size_t>(len);
    const std::string_view body(payload, static_cast<std::size_t>(len));
    switch (opcode) {
      case kOpPing:
        if (!close_queued_) queue_frame(kOpPong, body);
        break;
      case kOpPong: break;
      case kOpClose: {
        std::uint16_t code = kCloseNormal;
        if (body.size() == 1) {
          protocol_error(kCloseProtocolError, "bad close frame");
          break;
        }
        if (body.size() >= 2)
          code = static_cast<std::uint16_t>((std::uint8_t(body[0]) << 8) | std::uint8_t(body[1]));
        peer_closed_ = true;
        stop_parsing_ = true;
        if (!close_queued_) {
          queue_close(code, "");  // echo, then shut down once it is written
        } else if (close_sent_) {
          teardown();
        }
        break;
      }
      default:
        if (close_queued_) break;  // closing: later messages are dropped
        if (fin && opcode != 0) {
          deliver(body, opcode == kOpBinary);
        } else {
          if (opcode != 0) message_opcode_ = static_cast<std::uint8_t>(opcode);
          message_.append(body);
          if (fin) {
            std::string whole;
            whole.swap(message_);
            const bool binary = message_opcode_ == kOpBinary;
            message_opcode_ = 0;
            deliver(whole, binary);
          }
        }
    }
  }
  return stop_parsing_ ? size : pos;
}

void Session::deliver(std::string_view data, bool binary) {
  if (!binary && !ws::valid_utf8(data)) {
    protocol_error(kCloseBadPayload, "text frame is not UTF-8");
    return;
  }
  on_frame(data, binary);
}

void Session::queue_frame(unsigned opcode, std::string_view payload) {
  queue_header(opcode, payload.size());
  out_.append(payload);
}

void Session::queue_header(unsigned opcode, std::size_t n) {
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  char header[ws::kMaxHeaderBytes];
  out_.append(header, ws::write_header(header, static_cast<std::uint8_t>(opcode), n));
}

void Session::send(std::string_view payload) {
  if (!open_ || close_queued_) return;
  queue_frame(kOpBinary, payload);
  queued();
}

void Session::send(const google::protobuf::MessageLite& message) {
  if (!open_ || close_queued_) return;
  const std::size_t size = message.ByteSizeLong();
  queue_header(kOpBinary, size);
  const std::size_t at = out_.size();
  out_.resize(at + size);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(out_.data() + at));
  queued();
}

void Session::queued() {
  if (out_.size() - out_pos_ > kMaxQueuedBytes) {
    spdlog::warn("{}: send queue over {} bytes, closing", id_text_, kMaxQueuedBytes);
    close(static_cast<std::uint16_t>(websocket::close_code::try_again_later), "send queue overflow");
    return;
  }
  schedule_flush();
}

void Session::queue_close(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xff));
  payload.append(reason.substr(0, 123));
  queue_frame(kOpClose, payload);
  close_queued_ = true;
  close_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor(), kCloseTimeout);
  close_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->socket_.close(ec);  // the peer never finished the close handshake
  });
}

void Session::close(std::uint16_t code, std::string_view reason) {
  if (!open_ || close_queued_) return;
  queue_close(code, reason);
  schedule_flush();
}

void Session::protocol_error(std::uint16_t code, std::string_view reason) {
  stop_parsing_ = true;
  if (close_queued_) return;
  teardown_after_close_ = true;  // no close handshake after a protocol error
  queue_close(code, reason);
}

void Session::schedule_flush() {
  if (flush_posted_ || writing_) return;
  flush_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void Session::flush() {
  if (writing_ || out_pos_ == out_.size() || !socket_.is_open()) return;
  beast::error_code ec;
  const std::size_t n = socket_.write_some(asio::buffer(out_.data() + out_pos_, out_.size() - out_pos_), ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    socket_.close(ec);  // the read side sees it and ends the session
    return;
  }
  out_pos_ += ec ? 0 : n;
  if (out_pos_ == out_.size()) {
    written();
    return;
  }
  writing_ = true;
  asio::co_spawn(socket_.get_executor(), write_loop(), asio::detached);
}

asio::awaitable<void> Session::write_loop() {
  auto self = shared_from_this();
  beast::error_code ec;
  while (out_pos_ < out_.size() && socket_.is_open()) {
    co_await socket_.async_wait(tcp::socket::wait_write, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    const std::size_t n =
        socket_.write_some(asio::buffer(out_.data() + out_pos_, out_.size() - out_pos_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      continue;
    }
    if (ec) break;
    out_pos_ += n;
  }
  writing_ = false;
  if (ec || !socket_.is_open()) {
    socket_.close(ec);
  } else {
    written();
  }
}

void Session::written() {
  std::string().swap(out_);  // idle connections hold no buffer
  out_pos_ = 0;
  if (close_queued_ && !close_sent_) {
    close_sent_ = true;
    if (peer_closed_ || teardown_after_close_) teardown();
  }
}

void Session::teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  beast::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);  // then read until the peer closes too
}

template <class Fill>
void Session::reply(const std::string& reply_for, Fill&& fill) {
  auto env = envelope_for(reply_for);
  auto* out = env.mutable_server_to_actr();
  *out->mutable_target() = id_;
  fill(*out);
  send(env);
}

void Session::reply_error(const std::string& reply_for, const Error& error) {
  reply(reply_for, [&](signaling::SignalingToActr& out) { error_to_proto(error, *out.mutable_error()); });
}

Result<void> Session::authenticate(const ActrId& source, const AIdCredential& credential) {
  if (!attached_) {
    return fail(ErrorCode::PermissionDenied, "this connection was displaced or unregistered; reconnect");
  }
  if (!(source == id_)) {
    ++server_.metrics().auth_failures;
    return fail(ErrorCode::PermissionDenied,
                fmt::format("source '{}' is not this connection's actor '{}'", to_string(source), id_text_));
  }
  if (same_credential(credential, credential_)) {
    if (credential_expires_at_ > unix_now()) return {};
    ++server_.metrics().auth_failures;
    return fail(ErrorCode::PermissionDenied, "credential expired; renew it");
  }
  auto verified = server_.ais().verify(credential, id_text_);
  if (!verified) {
    ++server_.metrics().auth_failures;
    return std::unexpected(verified.error());
  }
  credential_ = credential;  // verified once, then cached for this connection
  credential_expires_at_ = verified->expires_at;
  return {};
}

void Session::on_frame(std::string_view data, bool binary) {
  auto& metrics = server_.metrics();
  SignalingEnvelope env;
  if (!binary || !env.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    ++metrics.malformed;
    metrics.message("malformed");
    auto out = envelope_for("");
    error_to_proto(Error{ErrorCode::DecodeFailure, binary ? "frame is not a valid SignalingEnvelope"
                                                          : "text frames are not accepted; send binary"},
                   *out.mutable_envelope_error());
    send(out);
    return;
  }
  if (!bucket_.take(mono_ms())) {
    ++metrics.rate_limited;
    reply_error(env.envelope_id(),
                Error{ErrorCode::Unavailable, fmt::format("rate limited: over {} messages/s (burst {})",
                                                          server_.config().limits.messages_per_second,
                                                          server_.config().limits.message_burst)});
    return;
  }
  if (env.envelope_version() != 2) {
    reply_error(env.envelope_id(),
                Error{ErrorCode::InvalidArgument,
                      fmt::format("envelope_version {} unsupported; use 2", env.envelope_version())});
    return;
  }
  switch (env.flow_case()) {
    case SignalingEnvelope::kActrToServer: handle_actr(env); break;
    case SignalingEnvelope::kActrRelay: handle_relay(env, data); break;
    case SignalingEnvelope::kPeerToServer:
      metrics.message("register_ws");
      reply_error(env.envelope_id(), Error{ErrorCode::NotImplemented,
                                           "register with POST /ais/register (it needs the realm secret)"});
      break;
    default:
      metrics.message("unexpected_flow");
      reply_error(env.envelope_id(), Error{ErrorCode::InvalidArgument, "envelope carries no client flow"});
  }
}

void Session::handle_actr(const SignalingEnvelope& env) {
  const auto start = mono_ms();
  const auto& msg = env.actr_to_server();
  const auto& rid = env.envelope_id();
  const char* kind = payload_name(msg);
  server_.metrics().message(kind);
  if (auto auth = authenticate(msg.source(), msg.credential()); !auth) {
    reply_error(rid, auth.error());
    return;
  }
  auto& registry = server_.registry();
  Actor* self = registry.find(id_);
  if (!self) {
    reply_error(rid, Error{ErrorCode::PermissionDenied, "not registered; register again"});
    return;
  }
  registry.set_present(*self, mono_ms());  // any authenticated message is a sign of life
  using P = signaling::ActrToSignaling;
  switch (msg.payload_case()) {
    case P::kPing: {
      const auto& ping = msg.ping();
      self->availability = ping.availability();
      self->power_reserve = ping.power_reserve();
      self->mailbox_backlog = ping.mailbox_backlog();
      self->sticky_client_ids.assign(ping.sticky_client_ids().begin(), ping.sticky_client_ids().end());
      registry.refresh(*self);
      bool tolerated =
          server_.keys().state(credential_.key_id(), unix_now()) == KeyStore::KeyState::Tolerated;
      reply(rid, [&](signaling::SignalingToActr& out) {
        auto* pong = out.mutable_pong();
        pong->set_seq(++pong_seq_);
        pong->set_suggest_interval_secs(server_.config().heartbeat_interval_secs);
        if (tolerated) {
          auto* w = pong->mutable_credential_warning();
          w->set_type(CredentialWarning::KEY_IN_TOLERANCE_PERIOD);
          w->set_message(fmt::format("credential signed by retired key {}; renew to get key {}",
                                     credential_.key_id(), server_.keys().current_id()));
        }
      });
      break;
    }
    case P::kUnregisterRequest: {
      if (!(msg.unregister_request().actr_id() == id_)) {
        reply_error(rid, Error{ErrorCode::PermissionDenied, "an actor can only unregister itself"});
        break;
      }
      reply(rid,
            [](signaling::SignalingToActr& out) { out.mutable_unregister_response()->mutable_success(); });
      server_.unregister(id_);
      break;
    }
    case P::kDiscoveryRequest: {
      auto entries = registry.discover(id_, msg.discovery_request());
      reply(rid, [&](signaling::SignalingToActr& out) {
        auto* ok = out.mutable_discovery_response()->mutable_success();
        for (auto& e : entries) *ok->add_entries() = std::move(e);
      });
      break;
    }
    case P::kRouteCandidatesRequest: {
      const auto& req = msg.route_candidates_request();
      if (req.has_criteria() && req.criteria().candidate_count() == 0) {
        reply_error(rid, Error{ErrorCode::InvalidArgument, "criteria.candidate_count must be > 0"});
        break;
      }
      auto found = registry.route_candidates(id_, req);
      reply(rid, [&](signaling::SignalingToActr& out) {
        auto* ok = out.mutable_route_candidates_response()->mutable_success();
        for (const Actor* a : found) {
          *ok->add_candidates() = a->id;
          if (a->request->has_ws_address()) {
            auto* entry = ok->add_ws_address_map();
            *entry->mutable_candidate_id() = a->id;
            entry->set_ws_address(a->request->ws_address());
          }
        }
      });
      break;
    }
    case P::kGetServiceSpecRequest: {
      const ServiceSpec* spec = registry.find_spec(id_, msg.get_service_spec_request().name());
      if (!spec) {
        reply_error(rid, Error{ErrorCode::NotFound, fmt::format("no service '{}' visible to you",
                                                                msg.get_service_spec_request().name())});
        break;
      }
      reply(rid, [&](signaling::SignalingToActr& out) {
        *out.mutable_get_service_spec_response()->mutable_success() = *spec;
      });
      break;
    }
    case P::kGetSigningKeyRequest: {
      auto key_id = msg.get_signing_key_request().key_id();
      const std::string* pk = server_.keys().public_key(key_id, unix_now());
      if (!pk) {
        reply_error(rid, Error{ErrorCode::NotFound, fmt::format("no valid signing key {}", key_id)});
        break;
      }
      reply(rid, [&](signaling::SignalingToActr& out) {
        auto* r = out.mutable_get_signing_key_response();
        r->set_key_id(key_id);
        r->set_pubkey(*pk);
      });
      break;
    }
    case P::kSubscribeActrUpRequest:
      registry.subscribe(*self, msg.subscribe_actr_up_request().target_type());
      reply(rid, [](signaling::SignalingToActr& out) {
        out.mutable_subscribe_actr_up_response()->mutable_success();
      });
      break;
    case P::kUnsubscribeActrUpRequest:
      registry.unsubscribe(*self, msg.unsubscribe_actr_up_request().target_type());
      reply(rid, [](signaling::SignalingToActr& out) {
        out.mutable_unsubscribe_actr_up_response()->mutable_success();
      });
      break;
    case P::kError:
      spdlog::info("{} reported error {}: {}", id_text_, msg.error().code(), msg.error().message());
      break;
    default: reply_error(rid, Error{ErrorCode::InvalidArgument, "ActrToSignaling without a payload"});
  }
  server_.metrics().latency_for(kind).observe(static_cast<double>(mono_ms() - start) / 1000.0);
}

void Session::handle_relay(const SignalingEnvelope& env, std::string_view raw) {
  const auto& relay = env.actr_relay();
  const auto& rid = env.envelope_id();
  server_.metrics().message(payload_name(relay));
  if (auto auth = authenticate(relay.source(), relay.credential()); !auth) {
    reply_error(rid, auth.error());
    return;
  }
  Actor* target = server_.registry().find(relay.target());
  if (!target || !target->present) {
    reply_error(
        rid, Error{ErrorCode::NotFound, fmt::format("target {} is not online", to_string(relay.target()))});
    return;
  }
  if (!target->session) {
    reply_error(rid, Error{ErrorCode::Unavailable,
                           fmt::format("target {} has no signaling connection", target->id_text)});
    return;
  }
  if (!acl_allows(*target, id_)) {
    reply_error(rid, Error{ErrorCode::PermissionDenied,
                           fmt::format("{}'s ACL does not allow {}", target->id_text, id_text_)});
    return;
  }
  if (relay.payload_case() == signaling::ActrRelay::kRoleNegotiation) {
    handle_role(env, *target);
    return;
  }
  if (relay.payload_case() == signaling::ActrRelay::PAYLOAD_NOT_SET) {
    reply_error(rid, Error{ErrorCode::InvalidArgument, "ActrRelay without a payload"});
    return;
  }
  ++server_.metrics().relays;
  target->session->send(raw);  // forwarded as sent: the target can check the credential too
}

void Session::handle_role(const SignalingEnvelope& env, Actor& target) {
  const auto& relay = env.actr_relay();
  const auto& neg = relay.role_negotiation();
  if (!(neg.from() == id_) || !(neg.to() == target.id) || neg.realm_id() != id_.realm().realm_id()) {
    reply_error(env.envelope_id(), Error{ErrorCode::InvalidArgument,
                                         "role_negotiation from/to/realm_id must match source/target"});
    return;
  }
  // Deterministic: the smaller (realm, serial) offers, whichever side asks.
  auto key = [](const ActrId& id) { return std::pair{id.realm().realm_id(), id.serial_number()}; };
  const bool source_offers = key(id_) < key(target.id);
  auto assignment = [&](const ActrId& from, const AIdCredential& cred, const ActrId& to, bool offerer,
                        const std::string& reply_for) {
    auto out = envelope_for(reply_for);
    auto* r = out.mutable_actr_relay();
    *r->mutable_source() = from;
    *r->mutable_credential() = cred;
    *r->mutable_target() = to;
    r->mutable_role_assignment()->set_is_offerer(offerer);
    r->mutable_role_assignment()->set_remote_fixed(false);
    return out.SerializeAsString();
  };
  ++server_.metrics().relays;
  send(assignment(target.id, target.session->credential(), id_, source_offers, env.envelope_id()));
  target.session->send(assignment(id_, credential_, target.id, !source_offers, ""));
}

}  // namespace actr::signal
