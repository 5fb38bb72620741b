#include "signaling_client.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <random>

#include "actr/protocol/credential.hpp"
#include "actr/protocol/encoding.hpp"
#include "address.hpp"

namespace actr::detail {
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kMaxBackoff = std::chrono::milliseconds(5'000);
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::chrono::milliseconds jittered(std::chrono::milliseconds base) {
  thread_local std::mt19937 random{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.5, 1.0);  // "equal jitter": never thundering, never zero
  return std::chrono::milliseconds(static_cast<std::int64_t>(base.count() * factor(random)));
}

Error http_error(unsigned status, std::string_view body, std::string_view what) {
  ErrorCode code = status == 401 || status == 403 ? ErrorCode::PermissionDenied : ErrorCode::Unavailable;
  return Error{code, fmt::format("{}: HTTP {}: {}", what, status, body.substr(0, 200))};
}

/// One HTTP POST with a protobuf body, bounded by `deadline`.
asio::awaitable<Result<std::string>> post(const std::string& base_url, std::string path, std::string body,
                                          std::string_view secret, Clock::time_point deadline) {
  std::string as_ws = base_url;
  if (as_ws.starts_with("http://")) as_ws.replace(0, 4, "ws");
  auto address = wire::detail::parse_ws_address(as_ws);
  if (!address)
    co_return fail(ErrorCode::InvalidArgument, "AIS url '" + base_url + "': " + address.error().message);
  std::string target = (address->target == "/" ? std::string() : address->target) + path;
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  stream.expires_at(deadline);
  boost::system::error_code ec;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(address->host, std::to_string(address->port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec)
    co_return fail(ErrorCode::Unavailable, fmt::format("AIS {}: cannot connect: {}", base_url, ec.message()));
  http::request<http::string_body> request{http::verb::post, target, 11};
  request.set(http::field::host, address->host_header);
  request.set(http::field::content_type, "application/x-protobuf");
  if (!secret.empty()) request.set("x-actrix-realm-secret", beast::string_view(secret.data(), secret.size()));
  request.body() = std::move(body);
  request.prepare_payload();
  co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  if (!ec) co_await http::async_read(stream, buffer, response, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return fail(ec == beast::error::timeout ? ErrorCode::TimedOut : ErrorCode::Unavailable,
                   fmt::format("AIS {}{}: {}", base_url, path, ec.message()));
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  if (response.result_int() != 200)
    co_return std::unexpected(http_error(response.result_int(), response.body(), path));
  co_return std::move(response.body());
}

}  // namespace

SignalingClient::SignalingClient(Strand strand, SignalingSettings settings,
                                 std::function<float()> mailbox_backlog)
    : strand_(strand),
      settings_(std::move(settings)),
      mailbox_backlog_(std::move(mailbox_backlog)),
      outbox_ready_(strand),
      disconnected_(strand),
      reregistered_(strand) {
  envelope_prefix_ = fmt::format("{:08x}", std::random_device{}());
}

std::string SignalingClient::next_envelope_id() {
  return fmt::format("{}-{}", envelope_prefix_, ++envelope_counter_);
}

asio::awaitable<Result<SignalingClient::Ok>> SignalingClient::post_register(const RegisterRequest& request) {
  if (!request.IsInitialized()) {
    co_return fail(ErrorCode::InvalidArgument,
                   "RegisterRequest is missing: " + request.InitializationErrorString());
  }
  auto deadline = Clock::now() + settings_.request_timeout;
  auto body = co_await post(settings_.ais_url, "/register", request.SerializeAsString(),
                            settings_.realm_secret, deadline);
  if (!body) co_return std::unexpected(std::move(body.error()));
  RegisterResponse response;
  if (!response.ParseFromString(*body))
    co_return fail(ErrorCode::DecodeFailure, "AIS answered an undecodable RegisterResponse");
  if (response.has_error()) co_return std::unexpected(error_from_proto(response.error()));
  co_return std::move(*response.mutable_success());
}

asio::awaitable<Result<SignalingClient::Ok>> SignalingClient::start(RegisterRequest request) {
  auto self = shared_from_this();
  auto registered = co_await post_register(request);
  if (!registered) co_return registered;
  register_request_ = std::move(request);
  registration_ = *registered;
  signing_keys_[registration_.signing_key_id()] = registration_.signing_pubkey();
  if (auto opened = co_await open_socket(); !opened) co_return std::unexpected(std::move(opened.error()));
  asio::co_spawn(strand_, write_loop(), asio::detached);
  asio::co_spawn(strand_, keep_connected(), asio::detached);
  asio::co_spawn(strand_, heartbeat_loop(), asio::detached);
  asio::co_spawn(strand_, renew_loop(), asio::detached);
  co_return registration_;
}

asio::awaitable<Result<void>> SignalingClient::open_socket() {
  auto address = wire::detail::parse_ws_address(settings_.signaling_url);
  if (!address) co_return fail(ErrorCode::InvalidArgument, "signaling url: " + address.error().message);
  const auto& credential = registration_.credential();
  std::string target =
      fmt::format("{}{}actor_id={}&key_id={}&claims={}&signature={}", address->target,
                  address->target.find('?') == std::string::npos ? "?" : "&",
                  percent_encode(to_string(registration_.actr_id())), credential.key_id(),
                  base64url_encode(credential.claims()), base64url_encode(credential.signature()));
  auto ws = std::make_shared<Ws>(strand_);
  boost::system::error_code ec;
  tcp::resolver resolver(strand_);
  auto endpoints = co_await resolver.async_resolve(address->host, std::to_string(address->port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  beast::get_lowest_layer(*ws).expires_after(settings_.request_timeout);
  if (!ec)
    co_await beast::get_lowest_layer(*ws).async_connect(endpoints,
                                                        asio::redirect_error(asio::use_awaitable, ec));
  beast::websocket::response_type response;
  if (!ec)
    co_await ws->async_handshake(response, address->host_header, target,
                                 asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (response.result_int() == 401 || response.result_int() == 403) {
      co_return fail(ErrorCode::PermissionDenied, "signaling refused the credential: " + response.body());
    }
    co_return fail(ErrorCode::Unavailable,
                   fmt::format("signaling {}: {}", settings_.signaling_url, ec.message()));
  }
  beast::get_lowest_layer(*ws).expires_never();
  ws->binary(true);
  ws->read_message_max(16u << 20);
  ws_ = ws;
  asio::co_spawn(strand_, read_loop(ws), asio::detached);
  outbox_ready_.notify_all();
  co_return Result<void>{};
}

void SignalingClient::send(signaling::SignalingEnvelope envelope) {
  envelope.set_envelope_version(2);
  if (!envelope.IsInitialized()) {
    spdlog::error("signaling: not sending an incomplete envelope: {}", envelope.InitializationErrorString());
    return;
  }
  outbox_.push_back(envelope.SerializeAsString());
  outbox_ready_.notify_one();
}

asio::awaitable<void> SignalingClient::write_loop() {
  auto self = shared_from_this();
  while (!stopping_ || (!outbox_.empty() && ws_)) {
    if (outbox_.empty() || !ws_) {
      co_await outbox_ready_.wait();
      continue;
    }
    auto ws = ws_;
    std::string message = std::move(outbox_.front());
    outbox_.pop_front();
    boost::system::error_code ec;
    co_await ws->async_write(asio::buffer(message), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) lost(ws, "write: " + ec.message());
  }
}

asio::awaitable<void> SignalingClient::read_loop(std::shared_ptr<Ws> ws) {
  auto self = shared_from_this();
  beast::flat_buffer buffer;
  for (;;) {
    boost::system::error_code ec;
    co_await ws->async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      lost(ws, ec == beast::websocket::error::closed
                   ? "closed by the server: " +
                         std::string(ws->reason().reason.data(), ws->reason().reason.size())
                   : ec.message());
      co_return;
    }
    signaling::SignalingEnvelope envelope;
    bool parsed = envelope.ParseFromArray(buffer.data().data(), static_cast<int>(buffer.size()));
    buffer.consume(buffer.size());
    if (!parsed) {
      spdlog::warn("signaling: dropped an undecodable envelope");
      continue;
    }
    if (envelope.has_reply_for()) {
      auto it = replies_.find(envelope.reply_for());
      if (it != replies_.end()) {
        auto reply = std::move(it->second);
        replies_.erase(it);
        if (envelope.has_envelope_error()) {
          reply(std::unexpected(error_from_proto(envelope.envelope_error())));
        } else if (envelope.has_server_to_actr()) {
          reply(std::move(*envelope.mutable_server_to_actr()));
        } else {
          reply(fail(ErrorCode::Internal, "signaling answered without a server_to_actr payload"));
        }
      } else if (envelope.has_envelope_error() && !stopping_ &&
                 envelope.envelope_error().code() ==
                     static_cast<std::uint32_t>(ErrorCode::PermissionDenied)) {
        // An answer nobody waits for (a Ping's) refusing our credential: the registration is gone.
        spawn_reregister(error_from_proto(envelope.envelope_error()).message);
      }
      continue;
    }
    if (envelope.has_server_to_actr() && envelope.server_to_actr().has_actr_up_event()) {
      if (on_actr_up_) on_actr_up_(envelope.server_to_actr().actr_up_event().actor_id());
    } else if (envelope.has_envelope_error()) {
      spdlog::warn("signaling: {}", error_from_proto(envelope.envelope_error()).to_string());
    }
  }
}

void SignalingClient::lost(std::shared_ptr<Ws> ws, const std::string& why) {
  if (ws_ != ws) return;
  ws_.reset();
  if (!stopping_) spdlog::warn("signaling connection lost ({}); reconnecting", why);
  auto replies = std::move(replies_);
  replies_.clear();
  for (auto& [id, reply] : replies) reply(fail(ErrorCode::Unavailable, "signaling connection lost: " + why));
  boost::system::error_code ec;
  beast::get_lowest_layer(*ws).socket().close(ec);
  disconnected_.notify_all();
}

asio::awaitable<void> SignalingClient::keep_connected() {
  auto self = shared_from_this();
  auto backoff = kFirstBackoff;
  while (!stopping_) {
    if (ws_) {
      co_await disconnected_.wait();
      continue;
    }
    co_await disconnected_.wait(Clock::now() + jittered(backoff));  // stop() wakes it early
    if (stopping_) break;
    auto opened = co_await open_socket();
    if (!opened && opened.error().code == ErrorCode::PermissionDenied && !stopping_) {
      // The server does not know our credential any more (e.g. it lost its data): register anew.
      auto again = co_await reregister(opened.error().message);
      if (again && !stopping_ && !ws_) opened = co_await open_socket();
    }
    if (opened) {
      spdlog::info("signaling reconnected as {}", to_string(id()));
      backoff = kFirstBackoff;
      asio::co_spawn(strand_, resubscribe(), asio::detached);
    } else {
      spdlog::warn("signaling reconnect failed: {}", opened.error().to_string());
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  }
}

void SignalingClient::spawn_reregister(std::string why) {
  auto again = [self = shared_from_this(), why = std::move(why)]() -> asio::awaitable<void> {
    (void)co_await self->reregister(why);
  };
  asio::co_spawn(strand_, std::move(again), asio::detached);
}

asio::awaitable<Result<void>> SignalingClient::reregister(std::string why) {
  auto self = shared_from_this();
  if (reregistering_) {  // someone is at it: share the outcome
    co_await reregistered_.wait(Clock::now() + settings_.request_timeout * 2);
    co_return Result<void>{};
  }
  reregistering_ = true;
  spdlog::warn("registration of {} lost ({}); registering again", to_string(id()), why);
  auto registered = co_await post_register(register_request_);
  reregistering_ = false;
  reregistered_.notify_all();
  if (!registered) {
    spdlog::warn("registering again failed: {}", registered.error().to_string());
    co_return std::unexpected(std::move(registered.error()));
  }
  registration_ = std::move(*registered);
  signing_keys_.clear();  // a server that lost our registration may have new keys under old ids
  signing_keys_[registration_.signing_key_id()] = registration_.signing_pubkey();
  spdlog::info("registered again as {}", to_string(id()));
  if (on_reregistered_) on_reregistered_(id());
  if (auto ws = ws_) lost(ws, "registered again");  // reopen with the new credential
  disconnected_.notify_all();                       // and let renew_loop start from the new expiry
  co_return Result<void>{};
}

asio::awaitable<void> SignalingClient::resubscribe() {
  auto self = shared_from_this();
  auto types = subscriptions_;
  for (const auto& type : types) {
    signaling::ActrToSignaling payload;
    *payload.mutable_subscribe_actr_up_request()->mutable_target_type() = type;
    auto answer = co_await request(std::move(payload));
    if (!answer)
      spdlog::warn("renewing the actr_up subscription to {}: {}", to_string(type),
                   answer.error().to_string());
  }
}

asio::awaitable<void> SignalingClient::heartbeat_loop() {
  auto self = shared_from_this();
  while (!stopping_) {
    auto interval = std::chrono::seconds(std::max<std::uint32_t>(
        1, settings_.heartbeat_interval_secs.value_or(registration_.signaling_heartbeat_interval_secs())));
    auto due = Clock::now() + interval;
    while (!stopping_ && Clock::now() < due) co_await disconnected_.wait(due);
    if (stopping_ || !ws_) continue;
    signaling::SignalingEnvelope envelope;
    envelope.set_envelope_id(next_envelope_id());
    auto* out = envelope.mutable_actr_to_server();
    *out->mutable_source() = id();
    *out->mutable_credential() = credential();
    auto* ping = out->mutable_ping();
    ping->set_availability(FULL);
    ping->set_power_reserve(1.0f);
    ping->set_mailbox_backlog(mailbox_backlog_ ? mailbox_backlog_() : 0.0f);
    send(std::move(envelope));  // the Pong answers reply_for an id nobody waits on: dropped
  }
}

asio::awaitable<void> SignalingClient::renew_loop() {
  auto self = shared_from_this();
  auto backoff = std::chrono::milliseconds(1'000);
  while (!stopping_) {
    IdentityClaims claims;
    claims.ParseFromString(credential().claims());
    auto now = unix_now_seconds();
    auto life = claims.expires_at() > now ? claims.expires_at() - now : 0;
    auto due = Clock::now() + std::chrono::seconds(life * 4 / 5);  // renew ahead, not after a failure
    while (!stopping_ && Clock::now() < due) co_await disconnected_.wait(due);
    if (stopping_) break;
    RenewCredentialRequest request;
    *request.mutable_actr_id() = id();
    request.set_renewal_token(registration_.renewal_token());
    auto body = co_await post(settings_.ais_url, "/renew", request.SerializeAsString(),
                              settings_.realm_secret, Clock::now() + settings_.request_timeout);
    RenewCredentialResponse response;
    if (body && response.ParseFromString(*body) && response.has_success()) {
      registration_ = std::move(*response.mutable_success());
      signing_keys_[registration_.signing_key_id()] = registration_.signing_pubkey();
      backoff = std::chrono::milliseconds(1'000);
      spdlog::info("credential of {} renewed", to_string(id()));
      continue;
    }
    spdlog::warn("credential renewal failed: {}", !body ? body.error().to_string()
                                                  : response.has_error()
                                                      ? error_from_proto(response.error()).to_string()
                                                      : "bad answer");
    bool refused = !body
                       ? body.error().code == ErrorCode::PermissionDenied
                       : response.has_error() && response.error().code() ==
                                                     static_cast<std::uint32_t>(ErrorCode::PermissionDenied);
    if (refused && !stopping_) {  // the server does not know us any more: register anew
      if (co_await reregister("credential renewal refused")) continue;
    }
    co_await disconnected_.wait(Clock::now() + jittered(backoff));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
  }
}

asio::awaitable<Result<signaling::SignalingToActr>> SignalingClient::await_reply(std::string envelope_id) {
  struct State {
    Reply reply;
    std::optional<asio::steady_timer> timer;
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<signaling::SignalingToActr>)>(
      [this, envelope_id = std::move(envelope_id)](auto handler) {
        auto done = deferred_completion<Result<signaling::SignalingToActr>>(std::move(handler));
        auto timer = std::make_shared<asio::steady_timer>(strand_, settings_.request_timeout);
        replies_[envelope_id] = [timer,
                                 done = std::move(done)](Result<signaling::SignalingToActr> r) mutable {
          timer->cancel();
          done(std::move(r));
        };
        timer->async_wait([self = shared_from_this(), envelope_id](boost::system::error_code ec) {
          if (ec) return;
          auto it = self->replies_.find(envelope_id);
          if (it == self->replies_.end()) return;
          auto reply = std::move(it->second);
          self->replies_.erase(it);
          reply(fail(ErrorCode::TimedOut, "signaling did not answer in time"));
        });
      },
      asio::use_awaitable);
}

asio::awaitable<Result<signaling::SignalingToActr>> SignalingClient::request(
    signaling::ActrToSignaling payload) {
  if (!ws_) co_return fail(ErrorCode::Unavailable, "not connected to signaling (reconnecting)");
  signaling::SignalingEnvelope envelope;
  std::string envelope_id = next_envelope_id();
  envelope.set_envelope_id(envelope_id);
  auto* out = envelope.mutable_actr_to_server();
  *out = std::move(payload);
  *out->mutable_source() = id();
  *out->mutable_credential() = credential();
  // The reply slot is added when the co_await below starts, before this strand runs anything else,
  // so the answer (read on the same strand) cannot arrive first.
  auto reply = await_reply(envelope_id);
  send(std::move(envelope));
  co_return co_await std::move(reply);
}

asio::awaitable<Result<RouteCandidatesResponse::RouteCandidatesOk>> SignalingClient::route_candidates(
    RouteCandidatesRequest request) {
  signaling::ActrToSignaling payload;
  *payload.mutable_route_candidates_request() = std::move(request);
  auto answer = co_await this->request(std::move(payload));
  if (!answer) co_return std::unexpected(std::move(answer.error()));
  if (answer->has_error()) co_return std::unexpected(error_from_proto(answer->error()));
  if (!answer->has_route_candidates_response())
    co_return fail(ErrorCode::Internal, "signaling answered another message");
  auto& response = *answer->mutable_route_candidates_response();
  if (response.has_error()) co_return std::unexpected(error_from_proto(response.error()));
  co_return std::move(*response.mutable_success());
}

asio::awaitable<Result<std::string>> SignalingClient::signing_key(std::uint32_t key_id) {
  if (auto it = signing_keys_.find(key_id); it != signing_keys_.end()) co_return it->second;
  signaling::ActrToSignaling payload;
  payload.mutable_get_signing_key_request()->set_key_id(key_id);
  auto answer = co_await request(std::move(payload));
  if (!answer) co_return std::unexpected(std::move(answer.error()));
  if (answer->has_error()) co_return std::unexpected(error_from_proto(answer->error()));
  if (!answer->has_get_signing_key_response())
    co_return fail(ErrorCode::NotFound, fmt::format("no signing key {}", key_id));
  std::string key = answer->get_signing_key_response().pubkey();
  signing_keys_[key_id] = key;
  co_return key;
}

asio::awaitable<Result<void>> SignalingClient::subscribe_actr_up(const ActrType& type) {
  signaling::ActrToSignaling payload;
  *payload.mutable_subscribe_actr_up_request()->mutable_target_type() = type;
  auto answer = co_await request(std::move(payload));
  if (!answer) co_return std::unexpected(std::move(answer.error()));
  if (answer->has_error()) co_return std::unexpected(error_from_proto(answer->error()));
  if (answer->has_subscribe_actr_up_response() && answer->subscribe_actr_up_response().has_error()) {
    co_return std::unexpected(error_from_proto(answer->subscribe_actr_up_response().error()));
  }
  if (std::find(subscriptions_.begin(), subscriptions_.end(), type) == subscriptions_.end())
    subscriptions_.push_back(type);
  co_return Result<void>{};
}

asio::awaitable<void> SignalingClient::stop() {
  auto self = shared_from_this();
  if (ws_ && !stopping_) {
    signaling::ActrToSignaling payload;
    *payload.mutable_unregister_request()->mutable_actr_id() = id();
    payload.mutable_unregister_request()->set_reason("node shutting down");
    auto answer = co_await request(std::move(payload));
    if (!answer) spdlog::warn("unregister: {}", answer.error().to_string());
  }
  stopping_ = true;
  if (auto ws = ws_) {
    ws_.reset();
    boost::system::error_code ec;
    beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(1));
    co_await ws->async_close(beast::websocket::close_code::going_away,
                             asio::redirect_error(asio::use_awaitable, ec));
  }
  outbox_ready_.notify_all();
  disconnected_.notify_all();
}

}  // namespace actr::detail
