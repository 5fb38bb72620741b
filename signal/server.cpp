#include "server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <cstdio>
#include <map>

#include "session.hpp"
#include "util.hpp"
#include "ws_codec.hpp"

namespace actr::signal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {

constexpr std::uint16_t kCloseDisplaced = 4000;
constexpr std::uint16_t kCloseHeartbeat = 4001;
constexpr std::uint16_t kCloseUnregistered = 4002;

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    auto eq = part.find('=');
    if (eq != std::string_view::npos) {
      out[percent_decode(part.substr(0, eq))] = percent_decode(part.substr(eq + 1));
    } else if (!part.empty()) {
      out[percent_decode(part)] = "";
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::optional<std::uint32_t> to_u32(const std::string& text) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  return v;
}

// Owns the session until its run ends (a coroutine's parameters live in its frame).
asio::awaitable<void> run_session(std::shared_ptr<Session> session, std::string input) {
  co_await session->run(std::move(input));
}

// RFC 6455 opening-handshake checks beyond websocket::is_upgrade (the ones Beast's accept makes);
// an empty answer means the upgrade may proceed.
std::optional<HttpAnswer> check_ws_handshake(const http::request<http::string_body>& request) {
  auto bad = [](unsigned status, std::string body) {
    return HttpAnswer{status, std::move(body), "text/plain"};
  };
  if (request.find(http::field::host) == request.end()) return bad(400, "Missing Host");
  auto key = request[http::field::sec_websocket_key];
  if (key.empty()) return bad(400, "Missing Sec-WebSocket-Key");
  auto raw = key.size() <= 24 ? base64_decode(std::string_view(key.data(), key.size())) : std::nullopt;
  if (!raw || raw->size() != 16) return bad(400, "Invalid Sec-WebSocket-Key");
  auto version = request[http::field::sec_websocket_version];
  if (version.empty()) return bad(400, "Missing Sec-WebSocket-Version");
  if (version != "13") return bad(426, "Unsupported Sec-WebSocket-Version");
  return std::nullopt;
}

HttpAnswer text(unsigned status, std::string body) { return {status, std::move(body) + "\n", "text/plain"}; }
HttpAnswer json(unsigned status, std::string body) {
  return {status, std::move(body) + "\n", "application/json"};
}

}  // namespace

Server::Server(asio::io_context& io, Config config)
    : io_(io),
      config_(std::move(config)),
      acceptor_(io),
      connection_limiter_(config_.limits.connections_per_ip_per_minute / 60.0,
                          config_.limits.connections_per_ip_per_minute),
      registration_limiter_(config_.limits.registrations_per_ip_per_second,
                            std::max(1.0, config_.limits.registrations_per_ip_per_second)),
      stop_timer_(io) {}

Server::~Server() = default;

Result<void> Server::start() {
  auto store = Store::open(config_.data_dir);
  if (!store) return std::unexpected(store.error());
  store_ = std::move(*store);
  keys_ = std::make_unique<KeyStore>(*store_, config_.key_tolerance_secs);
  if (auto r = keys_->load(); !r) return r;
  ais_ = std::make_unique<Ais>(config_, *store_, *keys_, registry_, metrics_);
  auto dev_secret = ais_->load();
  if (!dev_secret) return std::unexpected(dev_secret.error());

  beast::error_code ec;
  auto address = asio::ip::make_address(config_.host, ec);
  if (ec) return fail(ErrorCode::InvalidArgument, fmt::format("--listen: bad host '{}'", config_.host));
  tcp::endpoint endpoint(address, config_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(ErrorCode::Unavailable,
                fmt::format("cannot listen on {}:{}: {}", config_.host, config_.port, ec.message()));
  }
  auto bound = acceptor_.local_endpoint();
  if (!dev_secret->empty()) std::printf("actr-signal dev realm 1 secret: %s\n", dev_secret->c_str());
  std::printf("actr-signal signing key %u\n", keys_->current_id());
  std::printf("actr-signal listening on %s:%u\n", bound.address().to_string().c_str(), bound.port());
  std::fflush(stdout);
  asio::co_spawn(io_, accept_loop(), asio::detached);
  asio::co_spawn(io_, housekeeping(), asio::detached);
  asio::co_spawn(io_, flusher(), asio::detached);
  return {};
}

void Server::stop() {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("stopping: closing {} sessions", sessions_.size());
  beast::error_code ec;
  acceptor_.close(ec);
  for (auto* stream : http_streams_) stream->socket().close(ec);
  for (auto* session : sessions_)
    session->close(static_cast<std::uint16_t>(websocket::close_code::going_away), "server shutting down");
  if (auto r = store_->flush(); !r) spdlog::error("flush at stop: {}", r.error().to_string());
  // Give the close handshakes a moment, then end the run whatever is left.
  stop_timer_.expires_after(std::chrono::seconds(2));
  stop_timer_.async_wait([this](beast::error_code) { io_.stop(); });
  if (sessions_.empty()) io_.stop();
}

asio::awaitable<void> Server::accept_loop() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept: {}", ec.message());  // e.g. out of file descriptors: keep serving
      asio::steady_timer pause(io_, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto ip = socket.remote_endpoint(ec).address().to_string();
    asio::co_spawn(io_, serve(beast::tcp_stream(std::move(socket)), std::move(ip)), asio::detached);
  }
}

asio::awaitable<void> Server::serve(beast::tcp_stream stream, std::string ip) {
  http_streams_.insert(&stream);
  struct Untrack {
    Server* s;
    beast::tcp_stream* p;
    ~Untrack() { s->http_streams_.erase(p); }
  } untrack{this, &stream};
  const bool over_limit = !connection_limiter_.allow(ip, mono_ms());
  beast::flat_buffer buffer;
  std::string pending;  // encoded responses not yet written
  beast::error_code ec;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(config_.limits.max_http_body_bytes);
    parser.header_limit(16 * 1024);
    stream.expires_after(std::chrono::seconds(30));
    // Pipelined requests already buffered are parsed without touching the socket; their answers
    // are written together once the buffer runs dry (one send for many responses).
    ec = {};
    while (!parser.is_done() && buffer.size() > 0) {
      buffer.consume(parser.put(buffer.data(), ec));
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) break;
    }
    if (!ec && !parser.is_done()) {
      if (!pending.empty()) {
        co_await asio::async_write(stream, asio::buffer(pending),
                                   asio::redirect_error(asio::use_awaitable, ec));
        pending.clear();
        if (ec) break;
      }
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!pending.empty() && ec) {
      beast::error_code wec;
      co_await asio::async_write(stream, asio::buffer(pending),
                                 asio::redirect_error(asio::use_awaitable, wec));
      pending.clear();
    }
    if (ec == http::error::body_limit) {
      ++metrics_.malformed;
      http::response<http::string_body> res{http::status::payload_too_large, 11};
      res.body() = fmt::format("body over {} bytes\n", config_.limits.max_http_body_bytes);
      res.prepare_payload();
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      // Read what the client is still sending, so closing does not reset the connection
      // before it has read the answer.
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream.expires_after(std::chrono::seconds(2));
      char sink[4096];
      for (std::size_t total = 0; !ec && total < 4 * 1024 * 1024;) {
        total += co_await stream.async_read_some(asio::buffer(sink),
                                                 asio::redirect_error(asio::use_awaitable, ec));
      }
      co_return;
    }
    if (ec) break;
    auto request = parser.release();
    const auto start = mono_ms();
    std::string target(request.target());
    HttpAnswer answer;
    if (over_limit) {
      ++metrics_.rate_limited;
      answer = text(429, fmt::format("rate limited: over {} connections per minute from {}",
                                     config_.limits.connections_per_ip_per_minute, ip));
    } else if (websocket::is_upgrade(request) && target.starts_with("/signaling/ws")) {
      auto q = target.find('?');
      auto query = parse_query(q == std::string::npos ? "" : std::string_view(target).substr(q + 1));
      AIdCredential credential;
      auto key_id = to_u32(query["key_id"]);
      auto claims = base64_decode(query["claims"]);
      auto signature = base64_decode(query["signature"]);
      auto id = parse_actr_id(query["actor_id"]);
      Result<VerifiedCredential> verified = fail(ErrorCode::PermissionDenied, "");
      if (!id || !key_id || !claims || !signature) {
        verified =
            fail(ErrorCode::PermissionDenied, "query needs actor_id, key_id, claims and signature (base64)");
      } else {
        credential.set_key_id(*key_id);
        credential.set_claims(*claims);
        credential.set_signature(*signature);
        verified = ais_->verify(credential, query["actor_id"]);
        if (verified && !ais_->registration(*id)) {
          verified = fail(ErrorCode::PermissionDenied, "actor is not registered (unregistered or unknown)");
        }
      }
      auto handshake = verified && !stopping_ ? check_ws_handshake(request) : std::nullopt;
      if (!verified || stopping_) {
        ++metrics_.auth_failures;
        answer = text(stopping_ ? 503 : 401, stopping_ ? "shutting down" : verified.error().message);
      } else if (handshake) {
        answer = *handshake;
        if (answer.status == 426) answer.body += "\n";
      } else {
        if (!pending.empty()) {
          co_await asio::async_write(stream, asio::buffer(pending),
                                     asio::redirect_error(asio::use_awaitable, ec));
          pending.clear();
          if (ec) break;
        }
        stream.expires_never();
        // Bytes the client sent after its upgrade request belong to the WebSocket.
        auto rest = buffer.data();
        std::string input(static_cast<const char*>(rest.data()), rest.size());
        http_streams_.erase(&stream);
        auto session =
            std::make_shared<Session>(*this, stream.release_socket(), *id, std::move(credential), *verified);
        const auto key = request[http::field::sec_websocket_key];
        // Attached before the 101 goes out: once the client sees it, others can reach it.
        session->start(
            fmt::format("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: upgrade\r\nSec-WebSocket-Accept: {}\r\nServer: actr-signal\r\n\r\n",
                        wire::ws::accept_key(std::string_view(key.data(), key.size()))));
        // The session runs on its own: this frame (HTTP buffer, parser) is freed now, which
        // keeps the memory of a connected actor small.
        auto run = run_session(std::move(session), std::move(input));
        asio::co_spawn(io_, std::move(run), asio::detached);
        co_return;
      }
    } else {
      answer = route(std::string(request.method_string()), target, request.body(),
                     std::string(request[beast::string_view("x-actrix-realm-secret")]),
                     std::string(request[beast::string_view("x-actrix-admin-token")]), ip);
    }
    http::response<http::string_body> res{static_cast<http::status>(answer.status), request.version()};
    res.set(http::field::server, "actr-signal");
    if (answer.status == 426 && target.starts_with("/signaling/ws") && websocket::is_upgrade(request)) {
      res.set(http::field::sec_websocket_version, "13");
    }
    res.set(http::field::content_type, answer.content_type);
    res.keep_alive(request.keep_alive() && !over_limit && !stopping_);
    res.body() = std::move(answer.body);
    res.prepare_payload();
    pending += fmt::format("HTTP/1.{} {} ", res.version() % 10, res.result_int());
    pending.append(res.reason().data(), res.reason().size());
    pending += "\r\n";
    for (const auto& field : res.base()) {
      pending.append(field.name_string().data(), field.name_string().size());
      pending += ": ";
      pending.append(field.value().data(), field.value().size());
      pending += "\r\n";
    }
    pending += "\r\n";
    pending += res.body();
    if (!res.keep_alive() || buffer.size() == 0) {
      co_await asio::async_write(stream, asio::buffer(pending),
                                 asio::redirect_error(asio::use_awaitable, ec));
      pending.clear();
    }
    if (target.starts_with("/ais/")) {
      metrics_.latency_for(target.starts_with("/ais/register") ? "http_register" : "http_renew")
          .observe(static_cast<double>(mono_ms() - start) / 1000.0);
    }
    if (ec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

HttpAnswer Server::route(const std::string& method, const std::string& target, const std::string& body,
                         const std::string& secret, const std::string& admin_token, const std::string& ip) {
  auto q = target.find('?');
  std::string path = target.substr(0, q);
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  if (path == "/health") {
    return stopping_ ? text(503, "stopping") : text(200, "ok");
  }
  if (path == "/metrics") {
    metrics_.present_actors = static_cast<std::int64_t>(registry_.present_count());
    return {200, metrics_.render(), "text/plain; version=0.0.4"};
  }
  if (path == "/ais/register" || path == "/ais/renew") {
    if (method != "POST") return text(405, "use POST");
    if (path == "/ais/renew") return ais_->renew(body);
    if (!registration_limiter_.allow(ip, mono_ms())) {
      ++metrics_.rate_limited;
      RegisterResponse response;
      error_to_proto(Error{ErrorCode::Unavailable, "rate limited: too many registrations"},
                     *response.mutable_error());
      return {429, response.SerializeAsString()};
    }
    return ais_->register_actor(body, secret);
  }
  if (path.starts_with("/admin/")) return admin(method, path, query, admin_token);
  if (path.starts_with("/signaling/ws")) return text(426, "upgrade to WebSocket");
  return text(404, fmt::format("no endpoint {}", path));
}

HttpAnswer Server::admin(const std::string& method, const std::string& path, const std::string& query,
                         const std::string& token) {
  if (config_.admin_token.empty()) return text(404, "admin endpoints are off (set admin_token)");
  auto a = sha256(token);
  auto b = sha256(config_.admin_token);
  if (token.empty() || a != b) {
    ++metrics_.auth_failures;
    return text(401, "wrong or missing x-actrix-admin-token");
  }
  auto params = parse_query(query);
  auto done = [](Result<void> r, std::string what) {
    if (r) return json(200, fmt::format(R"({{"ok":true,"done":"{}"}})", what));
    unsigned status = r.error().code == ErrorCode::NotFound ? 404 : 400;
    return json(status, fmt::format(R"({{"ok":false,"error":"{}"}})", r.error().message));
  };
  if (path == "/admin/realms" && method == "GET") {
    std::string out = "[";
    for (auto& [id, row] : ais_->realms()) {
      out += fmt::format(R"({}{{"id":{},"enabled":{},"rotating":{}}})", out.size() > 1 ? "," : "", id,
                         row.enabled, row.previous_until > unix_now());
    }
    return json(200, out + "]");
  }
  if (method != "POST") return text(405, "use POST");
  if (path == "/admin/keys/rotate") {
    auto id = keys_->rotate();
    if (!id) return json(500, fmt::format(R"({{"ok":false,"error":"{}"}})", id.error().message));
    return json(200, fmt::format(R"({{"ok":true,"key_id":{}}})", *id));
  }
  auto id = to_u32(params["id"]);
  if (!id) return json(400, R"({"ok":false,"error":"id=<realm id> is required"})");
  if (path == "/admin/realms/create") return done(ais_->create_realm(*id, params["secret"]), "create");
  if (path == "/admin/realms/disable") return done(ais_->set_realm_enabled(*id, false), "disable");
  if (path == "/admin/realms/enable") return done(ais_->set_realm_enabled(*id, true), "enable");
  if (path == "/admin/realms/rotate-secret") {
    return done(ais_->rotate_realm_secret(*id, params["secret"]), "rotate-secret");
  }
  return text(404, fmt::format("no admin endpoint {}", path));
}

void Server::attach(const std::shared_ptr<Session>& session) {
  Actor* actor = ais_->registration(session->id());
  if (!actor || stopping_) {
    session->close(static_cast<std::uint16_t>(websocket::close_code::policy_error), "not registered");
    return;
  }
  sessions_.insert(session.get());
  ++metrics_.connected_actors;
  if (actor->session && actor->session != session) {
    ++metrics_.displaced;
    actor->session->detach();
    actor->session->close(kCloseDisplaced, "displaced by a newer connection of the same actor");
  }
  actor->session = session;
  registry_.set_present(*actor, mono_ms());
  auto event_for = [&](Actor& subscriber) {
    signaling::SignalingEnvelope env;
    env.set_envelope_version(2);
    env.set_envelope_id(next_envelope_id());
    auto* out = env.mutable_server_to_actr();
    *out->mutable_target() = subscriber.id;
    *out->mutable_actr_up_event()->mutable_actor_id() = actor->id;
    return env.SerializeAsString();
  };
  for (Actor* s : registry_.subscribers_for(*actor)) s->session->send(event_for(*s));
}

void Server::detach(Session& session) {
  if (!sessions_.erase(&session)) return;
  --metrics_.connected_actors;
  Actor* actor = registry_.find(session.id());
  if (actor && actor->session.get() == &session) {
    registry_.set_absent(*actor);
    actor->session.reset();  // may destroy the session: nothing after this touches it
  }
  if (stopping_ && sessions_.empty()) io_.stop();
}

void Server::unregister(const ActrId& id) {
  Actor* actor = registry_.find(id);
  if (!actor) return;
  ++metrics_.unregistrations;
  store_->queue_unregistration(actor->id_text);
  if (auto session = actor->session) {
    session->detach();
    session->close(kCloseUnregistered, "unregistered");
  }
  registry_.erase(id);
}

void Server::expire_heartbeats() {
  const auto timeout_ms =
      static_cast<std::int64_t>(config_.heartbeat_interval_secs) * 1000 * config_.heartbeat_miss_limit;
  for (Actor* actor : registry_.expired(mono_ms(), timeout_ms)) {
    ++metrics_.heartbeat_expiries;
    spdlog::info("{} missed {} heartbeats: removed", actor->id_text, config_.heartbeat_miss_limit);
    if (auto session = actor->session) {
      session->detach();
      session->close(kCloseHeartbeat, "heartbeat missed");
    }
    registry_.set_absent(*actor);
  }
}

asio::awaitable<void> Server::housekeeping() {
  asio::steady_timer timer(io_);
  const auto tick = std::chrono::milliseconds(
      std::min<std::int64_t>(1000, std::max<std::int64_t>(100, config_.heartbeat_interval_secs * 1000 / 4)));
  std::int64_t last_slow = mono_ms();
  while (!stopping_) {
    timer.expires_after(tick);
    beast::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) co_return;
    expire_heartbeats();
    if (mono_ms() - last_slow < 60'000) continue;
    last_slow = mono_ms();
    const auto now = unix_now();
    registry_.forget_stale(now);
    connection_limiter_.sweep(last_slow);
    registration_limiter_.sweep(last_slow);
    if (config_.key_rotation_secs > 0 && now >= keys_->current_created_at() + config_.key_rotation_secs) {
      if (auto id = keys_->rotate(); id) spdlog::info("signing key rotated: now key {}", *id);
    }
    if (auto r = store_->prune_registrations(now); !r) spdlog::warn("prune: {}", r.error().to_string());
  }
}

asio::awaitable<void> Server::flusher() {
  asio::steady_timer timer(io_);
  while (!stopping_) {
    timer.expires_after(std::chrono::milliseconds(20));
    beast::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (auto r = store_->flush(); !r) spdlog::error("store flush: {}", r.error().to_string());
  }
}

}  // namespace actr::signal
