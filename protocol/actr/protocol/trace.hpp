#pragma once
// W3C trace context (https://www.w3.org/TR/trace-context/): the `traceparent` header that rides
// on every RpcEnvelope (fields 100/101) and SignalingEnvelope (5/6), so a call can be followed
// across actors.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "actr/protocol/error.hpp"

namespace actr {

struct TraceContext {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};
  std::uint8_t flags = 0x01;  // sampled

  /// A new trace with a fresh trace id and root span.
  static TraceContext new_trace();
  /// The same trace, a new span whose parent is this one.
  TraceContext child() const;
  /// "00-<32 hex>-<16 hex>-<2 hex>"
  std::string to_traceparent() const;
  /// The same, written over `out` (which keeps its capacity: no allocation once it has some).
  void write_traceparent(std::string& out) const;
  /// The same, written at `out` (55 bytes); returns the end.
  char* write_traceparent(char* out) const;
  bool valid() const;

  friend bool operator==(const TraceContext&, const TraceContext&) = default;
};

/// Parses a traceparent header. Rejects (never crashes on) wrong lengths, non-hex or upper-case
/// digits, version ff, and all-zero trace or span ids, as the W3C spec requires.
Result<TraceContext> parse_traceparent(std::string_view header);

}  // namespace actr
