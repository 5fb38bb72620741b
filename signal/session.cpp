#include "session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>

#include "server.hpp"
#include "util.hpp"

namespace actr::signal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using signaling::SignalingEnvelope;

namespace {

constexpr std::size_t kMaxQueuedBytes = 4 * 1024 * 1024;  // a reader this far behind is cut off

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

Session::Session(Server& server, beast::tcp_stream stream, ActrId id, AIdCredential credential,
                 VerifiedCredential verified)
    : server_(server),
      ws_(std::move(stream)),
      id_(std::move(id)),
      id_text_(verified.actor_id),
      credential_(std::move(credential)),
      credential_expires_at_(verified.expires_at),
      bucket_(server.config().limits.messages_per_second, server.config().limits.message_burst, mono_ms()) {}

Session::~Session() = default;

asio::awaitable<void> Session::run(beast::http::request<beast::http::string_body> request) {
  auto self = shared_from_this();
  beast::get_lowest_layer(ws_).expires_never();
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "actr-signal"); }));
  ws_.read_message_max(server_.config().limits.max_frame_bytes);
  ws_.auto_fragment(false);
  beast::error_code ec;
  co_await ws_.async_accept(request, asio::redirect_error(asio::use_awaitable, ec));
  request = {};  // the upgrade request is not needed any more
  if (ec) co_return;
  open_ = true;
  ws_.binary(true);
  server_.attach(self);
  for (;;) {
    co_await ws_.async_read(buffer_, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        ++server_.metrics().malformed;  // Beast has already sent close 1009 (too big)
      }
      break;
    }
    auto data = buffer_.data();
    on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()), ws_.got_binary());
    buffer_.consume(buffer_.size());
    buffer_.shrink_to_fit();  // idle connections hold no read buffer
  }
  open_ = false;
  server_.detach(*this);
}

void Session::send(std::string frame) {
  if (!open_ || close_code_ != 0) return;
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  if (queued_bytes_ > kMaxQueuedBytes) {
    spdlog::warn("{}: send queue over {} bytes, closing", id_text_, kMaxQueuedBytes);
    close(static_cast<std::uint16_t>(websocket::close_code::try_again_later), "send queue overflow");
    return;
  }
  start_writing();
}

void Session::close(std::uint16_t code, std::string reason) {
  if (!open_ || close_code_ != 0) return;
  close_code_ = code;
  close_reason_ = std::move(reason);
  start_writing();
}

void Session::start_writing() {
  if (writing_) return;
  writing_ = true;
  asio::co_spawn(ws_.get_executor(), write_loop(), asio::detached);
}

asio::awaitable<void> Session::write_loop() {
  auto self = shared_from_this();
  beast::error_code ec;
  while (!queue_.empty() && open_) {
    co_await ws_.async_write(asio::buffer(queue_.front()), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
  }
  if (!ec && open_ && close_code_ != 0) {
    websocket::close_reason reason(static_cast<websocket::close_code>(close_code_), close_reason_);
    co_await ws_.async_close(reason, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    queue_.clear();
    queued_bytes_ = 0;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }
  writing_ = false;
}

template <class Fill>
void Session::reply(const std::string& reply_for, Fill&& fill) {
  auto env = envelope_for(reply_for);
  auto* out = env.mutable_server_to_actr();
  *out->mutable_target() = id_;
  fill(*out);
  send(env.SerializeAsString());
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
    send(out.SerializeAsString());
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
  server_.metrics().latency[kind].observe(static_cast<double>(mono_ms() - start) / 1000.0);
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
  target->session->send(std::string(raw));  // forwarded as sent: the target can check the credential too
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
