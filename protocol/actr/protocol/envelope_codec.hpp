#pragma once
// The RpcEnvelope wire format, read and written by hand.
//
// Why: every remote call decodes one envelope and encodes another on each side. Through the
// generated RpcEnvelope class that cost ~1,200 instructions and several string allocations per
// frame (protobuf copies each field into its own string, then the runtime copies them again).
// Here the decoder only points into the frame (EnvelopeView), and the encoder writes the fields
// and the payload straight into the frame it returns. Both follow protobuf exactly: the decoder
// accepts what RpcEnvelope::ParseFromArray accepts (unknown fields skipped, last value wins,
// required fields checked) and the encoder's bytes equal RpcEnvelope::SerializeAsString's for
// the same fields. envelope_codec.test.cpp checks both against protobuf on random input.

#include <actr/package.pb.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actr/protocol/error.hpp"
#include "actr/protocol/trace.hpp"

namespace google::protobuf {
class MessageLite;
}

namespace actr {

/// An RpcEnvelope decoded in place: every view points into the bytes it was decoded from.
struct EnvelopeView {
  std::string_view route_key;
  std::string_view payload;
  bool has_payload = false;
  bool has_error = false;
  std::uint32_t error_code = 0;  // ErrorResponse, when has_error
  std::string_view error_message;
  Direction direction = DIRECTION_UNSPECIFIED;
  std::string_view traceparent;
  std::string_view tracestate;
  std::string_view request_id;
  /// Keeps its capacity from one decode to the next.
  std::vector<std::pair<std::string_view, std::string_view>> metadata;
  std::int64_t timeout_ms = 0;

  Error error() const { return error_from_wire(error_code, std::string(error_message)); }
};

/// Decodes `bytes` into `out` (cleared first; `metadata` keeps its capacity). Accepts exactly
/// what RpcEnvelope::ParseFromArray accepts. On failure returns false and, when `why` is given,
/// points it at a static description.
bool decode_envelope(std::string_view bytes, EnvelopeView& out, const char** why = nullptr);

/// The fields of an RpcEnvelope to encode, as views: nothing is copied before the frame itself.
struct EnvelopeFields {
  std::string_view route_key;
  Direction direction = DIRECTION_UNSPECIFIED;
  std::string_view request_id;
  std::int64_t timeout_ms = 0;
  const TraceContext* trace = nullptr;  // written as traceparent when set
  std::string_view tracestate;          // written when not empty
  std::span<const std::pair<std::string, std::string>> metadata;
  /// The payload field: a typed message (serialized into the frame), else `payload_bytes` when
  /// `has_payload`. An envelope carrying `error` has no payload.
  const google::protobuf::MessageLite* payload_message = nullptr;
  std::string_view payload_bytes;
  bool has_payload = false;
  const Error* error = nullptr;
};

/// Encodes `fields` over `out` (which keeps its capacity). A typed payload whose required fields
/// are unset fails with InvalidArgument, as Payload::write_bytes does.
Result<void> encode_envelope(const EnvelopeFields& fields, std::string& out);

}  // namespace actr
