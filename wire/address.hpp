#pragma once
// ws:// addresses of direct-connect listeners (internal to actr_wire).

#include <cstdint>
#include <string>
#include <string_view>

#include "actr/protocol/error.hpp"

namespace actr::wire::detail {

struct WsAddress {
  std::string host;         // without brackets for IPv6 literals
  std::uint16_t port = 80;  // default for ws://
  std::string target;       // request target, "/" when the address has no path
  std::string host_header;  // the Host header: host[:port] as written
};

/// Parses "ws://host[:port][/path]" (host may be a bracketed IPv6 literal). InvalidArgument otherwise,
/// including wss:// (not supported by this wire yet).
Result<WsAddress> parse_ws_address(std::string_view address);

}  // namespace actr::wire::detail
