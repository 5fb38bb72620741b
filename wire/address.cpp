#include "address.hpp"

#include <fmt/format.h>

#include <charconv>

namespace actr::wire::detail {

Result<WsAddress> parse_ws_address(std::string_view address) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::InvalidArgument, fmt::format("bad ws_address '{}': {}", address, why));
  };
  constexpr std::string_view kScheme = "ws://";
  if (address.starts_with("wss://")) return bad("wss:// is not supported by the WebSocket wire yet");
  if (!address.starts_with(kScheme)) return bad("expected ws://host:port");
  std::string_view rest = address.substr(kScheme.size());
  WsAddress out;
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty()) return bad("missing host");
  out.host_header = std::string(authority);
  std::string_view port_text;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 literal");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 literal");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (out.host.empty()) return bad("missing host");
  if (out.host.find_first_of(" \t@:") != std::string::npos && authority.front() != '[') {
    return bad("malformed host");
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return bad(fmt::format("port '{}' is not a number in 1..65535", port_text));
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

}  // namespace actr::wire::detail
