// Dialer side of the WebSocket wire: TCP connect and the HTTP upgrade (Beast), then ConnectionImpl.

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <random>
#include <vector>

#include "actr/protocol/encoding.hpp"
#include "address.hpp"
#include "connection_impl.hpp"

namespace actr::wire {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

struct DialRequest {
  std::string ws_address;
  ActrId target;
  std::string source_hex;
  std::string credential_base64;
  std::string invalid;  // why the request cannot be sent, if it cannot
  std::chrono::steady_clock::time_point deadline;
  Options options;
};

struct Resolution {
  explicit Resolution(const asio::any_io_executor& ex) : resolver(ex), timer(ex) {}
  tcp::resolver resolver;
  asio::steady_timer timer;
  bool timed_out = false;
};

beast::string_view bsv(std::string_view s) { return beast::string_view(s.data(), s.size()); }

std::string short_body(std::string_view body) {
  constexpr std::size_t kMax = 200;
  std::string out(body.substr(0, kMax));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  return out.empty() ? "(no reason given)" : out;
}

using Response = http::response<http::string_body>;

std::string make_sec_websocket_key() {
  std::random_device random;
  std::array<std::uint32_t, 4> nonce{};
  for (auto& word : nonce) word = random();
  return base64_encode(std::string_view(reinterpret_cast<const char*>(nonce.data()), sizeof nonce));
}

bool has_token(beast::string_view field, std::string_view token) {
  for (auto item : http::token_list(field)) {
    if (beast::iequals(item, bsv(token))) return true;
  }
  return false;
}

/// What is wrong with a 101 answer (RFC 6455 section 4.1), or an empty string.
std::string check_upgrade_answer(const Response& response, const std::string& key) {
  if (!beast::iequals(response[http::field::upgrade], "websocket")) return "101 without Upgrade: websocket";
  if (!has_token(response[http::field::connection], "upgrade")) return "101 without Connection: upgrade";
  auto accept = response[http::field::sec_websocket_accept];
  if (std::string_view(accept.data(), accept.size()) != ws::accept_key(key)) {
    return "wrong Sec-WebSocket-Accept";
  }
  if (!response[http::field::sec_websocket_extensions].empty()) return "unrequested WebSocket extension";
  return {};
}

Error declined(const std::string& address, const Response& response) {
  auto status = response.result();
  std::string body = short_body(response.body());
  switch (status) {
    case http::status::unauthorized:
      return Error{ErrorCode::PermissionDenied,
                   fmt::format("{} refused the credential (HTTP 401): {}", address, body)};
    case http::status::bad_request:
      return Error{ErrorCode::InvalidArgument,
                   fmt::format("{} rejected the request (HTTP 400): {}", address, body)};
    case http::status::service_unavailable:
      return Error{ErrorCode::Unavailable, fmt::format("{} is unavailable (HTTP 503): {}", address, body)};
    default:
      return Error{ErrorCode::Unavailable, fmt::format("{} declined the WebSocket upgrade (HTTP {}): {}",
                                                       address, response.result_int(), body)};
  }
}

asio::awaitable<Result<std::shared_ptr<Connection>>> dial(asio::any_io_executor strand, DialRequest request) {
  if (!request.invalid.empty()) co_return fail(ErrorCode::InvalidArgument, request.invalid);
  auto address = detail::parse_ws_address(request.ws_address);
  if (!address) co_return std::unexpected(address.error());
  const std::string& where = request.ws_address;
  auto timed_out = [&](std::string_view step) {
    return fail(ErrorCode::TimedOut, fmt::format("connecting to {} timed out ({})", where, step));
  };
  if (std::chrono::steady_clock::now() >= request.deadline) co_return timed_out("deadline already passed");

  beast::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);

  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code address_ec;
  auto ip = asio::ip::make_address(address->host, address_ec);
  if (!address_ec) {
    endpoints.emplace_back(ip, address->port);
  } else {
    auto resolution = std::make_shared<Resolution>(strand);
    resolution->timer.expires_at(request.deadline);
    resolution->timer.async_wait([resolution](boost::system::error_code wait_ec) {
      if (wait_ec) return;
      resolution->timed_out = true;
      resolution->resolver.cancel();
    });
    auto results =
        co_await resolution->resolver.async_resolve(address->host, std::to_string(address->port), token);
    resolution->timer.cancel();
    if (resolution->timed_out) co_return timed_out("resolving the host");
    if (ec) {
      co_return fail(ErrorCode::Unavailable,
                     fmt::format("cannot resolve {}: {}", address->host, ec.message()));
    }
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }

  beast::tcp_stream stream(strand);
  stream.expires_at(request.deadline);
  co_await stream.async_connect(endpoints, token);
  if (ec == beast::error::timeout) co_return timed_out("TCP connect");
  if (ec == asio::error::connection_refused) {
    co_return fail(ErrorCode::Unavailable, fmt::format("connection refused by {}", where));
  }
  if (ec)
    co_return fail(ErrorCode::Unavailable, fmt::format("cannot connect to {}: {}", where, ec.message()));
  boost::system::error_code option_ec;
  stream.socket().set_option(tcp::no_delay(true), option_ec);

  // Beast writes the upgrade request and parses the answer; the frames after it are ours.
  auto impl =
      std::make_shared<ConnectionImpl>(std::move(stream), ConnectionImpl::Role::dialer, request.options);
  beast::tcp_stream& http_stream = impl->stream();
  const std::string key = make_sec_websocket_key();
  http::request<http::empty_body> upgrade(http::verb::get, bsv(address->target), 11);
  upgrade.set(http::field::host, address->host_header);
  upgrade.set(http::field::upgrade, "websocket");
  upgrade.set(http::field::connection, "Upgrade");
  upgrade.set(http::field::sec_websocket_key, key);
  upgrade.set(http::field::sec_websocket_version, "13");
  upgrade.set(http::field::user_agent, "actr-cpp");
  upgrade.set(bsv(kSourceIdHeader), request.source_hex);
  upgrade.set(bsv(kCredentialHeader), request.credential_base64);
  co_await http::async_write(http_stream, upgrade, token);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  if (!ec) co_await http::async_read(http_stream, buffer, parser, token);
  if (ec == beast::error::timeout) co_return timed_out("WebSocket handshake");
  if (ec) {
    co_return fail(ErrorCode::Unavailable,
                   fmt::format("WebSocket handshake with {} failed: {}", where, ec.message()));
  }
  const auto& response = parser.get();
  if (response.result() != http::status::switching_protocols)
    co_return std::unexpected(declined(where, response));
  if (std::string why = check_upgrade_answer(response, key); !why.empty()) {
    impl->close("bad upgrade answer");
    co_return fail(ErrorCode::Unavailable, fmt::format("WebSocket handshake with {} failed: {}", where, why));
  }
  auto early = buffer.cdata();  // frames the listener sent right behind its 101
  impl->start(std::move(request.target),
              std::string_view(static_cast<const char*>(early.data()), early.size()));
  co_return std::make_shared<Connection>(std::move(impl));
}

}  // namespace

asio::awaitable<Result<std::shared_ptr<Connection>>> connect(asio::any_io_executor ex, std::string ws_address,
                                                             ActrId target, const ActrId& source,
                                                             const AIdCredential& credential,
                                                             std::chrono::steady_clock::time_point deadline,
                                                             Options options) {
  DialRequest request;
  request.ws_address = std::move(ws_address);
  request.target = std::move(target);
  request.deadline = deadline;
  request.options = std::move(options);
  if (!source.IsInitialized()) {
    request.invalid = "the source ActrId lacks required fields";
  } else if (!credential.IsInitialized()) {
    request.invalid = "the credential lacks required fields";
  } else {
    request.source_hex = hex_encode(source.SerializeAsString());
    request.credential_base64 = base64_encode(credential.SerializeAsString());
  }
  asio::any_io_executor strand = request.options.executor_is_serial ? ex : asio::make_strand(ex);
  return asio::co_spawn(strand, dial(strand, std::move(request)), asio::use_awaitable);
}

}  // namespace actr::wire
