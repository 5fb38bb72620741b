#include "actr/protocol/envelope_codec.hpp"

#include <fmt/format.h>
#include <google/protobuf/message_lite.h>

#include <climits>
#include <cstring>

namespace actr {
namespace {

// protobuf's default recursion limit: nested messages and groups deeper than this fail to parse.
constexpr int kRecursionLimit = 100;

enum WireType : std::uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLength = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};

constexpr std::uint32_t tag_of(int field, WireType type) {
  return static_cast<std::uint32_t>(field) << 3 | type;
}

/// Reads the protobuf wire format the way protobuf 3.21's parser does (limits included).
class Reader {
 public:
  explicit Reader(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  bool done() const { return p_ == end_; }

  /// A varint of at most `max_bytes`; bits past 64 are dropped, as protobuf drops them.
  bool varint(std::uint64_t& out, int max_bytes = 10) {
    if (p_ != end_ && static_cast<std::uint8_t>(*p_) < 0x80) [[likely]] {  // most fit in one byte
      out = static_cast<std::uint8_t>(*p_++);
      return true;
    }
    std::uint64_t value = 0;
    for (int i = 0; i < max_bytes; ++i) {
      if (p_ == end_) return false;
      auto byte = static_cast<std::uint8_t>(*p_++);
      value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
      if (byte < 0x80) {
        out = value;
        return true;
      }
    }
    return false;
  }
  /// A tag: at most 5 bytes, truncated to 32 bits.
  bool tag(std::uint32_t& out) {
    std::uint64_t value = 0;
    if (!varint(value, 5)) return false;
    out = static_cast<std::uint32_t>(value);
    return true;
  }
  /// A length-delimited field's bytes. Sizes take at most 5 bytes and stay under 2 GiB.
  bool length_delimited(std::string_view& out) {
    std::uint64_t size = 0;
    const char* start = p_;
    if (!varint(size, 5)) return false;
    if (p_ - start == 5 && static_cast<std::uint8_t>(p_[-1]) >= 8) return false;
    if (size > static_cast<std::uint64_t>(end_ - p_)) return false;
    out = std::string_view(p_, size);
    p_ += size;
    return true;
  }
  /// Skips an unknown field whose tag was just read. End-group tags and tag 0 never reach here.
  bool skip(std::uint32_t tag, int depth) {
    if ((tag >> 3) == 0) return false;
    std::uint64_t ignored = 0;
    std::string_view bytes;
    switch (tag & 7) {
      case kVarint: return varint(ignored);
      case kFixed64: return advance(8);
      case kLength: return length_delimited(bytes);
      case kFixed32: return advance(4);
      case kStartGroup: {
        if (--depth < 0) return false;
        for (;;) {
          std::uint32_t inner = 0;
          if (!this->tag(inner) || inner == 0) return false;
          if ((inner & 7) == kEndGroup) return inner == tag + 1;  // must close this very group
          if (!skip(inner, depth)) return false;
        }
      }
      default: return false;  // wire types 4 (unmatched end-group), 6, 7
    }
  }

 private:
  bool advance(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

  const char* p_;
  const char* end_;
};

bool fail_with(const char** why, const char* reason) {
  if (why) *why = reason;
  return false;
}

/// Reads the next tag of a message body; false (with `why` set) on a malformed tag, tag 0 or an
/// end-group tag, which end a protobuf parse early and so fail it.
bool next_tag(Reader& in, std::uint32_t& tag, const char** why) {
  if (!in.tag(tag)) return fail_with(why, "truncated or overlong tag");
  if (tag == 0 || (tag & 7) == kEndGroup) return fail_with(why, "stray end-group or zero tag");
  return true;
}

/// Merges one occurrence of an ErrorResponse into `out` (protobuf merges repeated occurrences of
/// a singular message field field by field). `present`: bit 0 code, bit 1 message.
bool merge_error(std::string_view bytes, int depth, EnvelopeView& out, unsigned& present, const char** why) {
  if (--depth < 0) return fail_with(why, "nested too deeply");
  Reader in(bytes);
  while (!in.done()) {
    std::uint32_t tag = 0;
    if (!next_tag(in, tag, why)) return false;
    std::uint64_t value = 0;
    if (tag == tag_of(1, kVarint)) {
      if (!in.varint(value)) return fail_with(why, "truncated error code");
      out.error_code = static_cast<std::uint32_t>(value);
      present |= 1;
    } else if (tag == tag_of(2, kLength)) {
      if (!in.length_delimited(out.error_message)) return fail_with(why, "truncated error message");
      present |= 2;
    } else if (!in.skip(tag, depth)) {
      return fail_with(why, "malformed unknown field in error");
    }
  }
  return true;
}

bool decode_metadata_entry(std::string_view bytes, int depth, EnvelopeView& out, const char** why) {
  if (--depth < 0) return fail_with(why, "nested too deeply");
  Reader in(bytes);
  std::string_view key, value;
  unsigned present = 0;
  while (!in.done()) {
    std::uint32_t tag = 0;
    if (!next_tag(in, tag, why)) return false;
    if (tag == tag_of(1, kLength)) {
      if (!in.length_delimited(key)) return fail_with(why, "truncated metadata key");
      present |= 1;
    } else if (tag == tag_of(2, kLength)) {
      if (!in.length_delimited(value)) return fail_with(why, "truncated metadata value");
      present |= 2;
    } else if (!in.skip(tag, depth)) {
      return fail_with(why, "malformed unknown field in metadata");
    }
  }
  if (present != 3) return fail_with(why, "metadata entry without key or value");
  out.metadata.emplace_back(key, value);
  return true;
}

// ---- encoding ----

constexpr std::size_t varint_size(std::uint64_t value) {
  std::size_t size = 1;
  for (; value >= 0x80; value >>= 7) ++size;
  return size;
}
constexpr std::size_t tag_size(int field) { return varint_size(tag_of(field, kVarint)); }
constexpr std::size_t length_field_size(int field, std::size_t length) {
  return tag_size(field) + varint_size(length) + length;
}
// An enum is an int32: negative values take ten bytes, as protobuf sign-extends them.
constexpr std::uint64_t enum_wire_value(int value) {
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(value));
}

char* put_varint(char* out, std::uint64_t value) {
  for (; value >= 0x80; value >>= 7) *out++ = static_cast<char>(value | 0x80);
  *out++ = static_cast<char>(value);
  return out;
}
char* put_tag(char* out, int field, WireType type) { return put_varint(out, tag_of(field, type)); }
char* put_length_field(char* out, int field, std::string_view bytes) {
  out = put_varint(put_tag(out, field, kLength), bytes.size());
  if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
  return out + bytes.size();
}

std::size_t error_body_size(const Error& error) {
  return tag_size(1) + varint_size(static_cast<std::uint32_t>(error.code)) +
         length_field_size(2, error.message.size());
}
std::size_t metadata_body_size(const std::pair<std::string, std::string>& entry) {
  return length_field_size(1, entry.first.size()) + length_field_size(2, entry.second.size());
}

constexpr std::size_t kTraceparentSize = 55;

}  // namespace

bool decode_envelope(std::string_view bytes, EnvelopeView& out, const char** why) {
  out.route_key = out.payload = out.error_message = out.traceparent = out.tracestate = out.request_id = {};
  out.has_payload = out.has_error = false;
  out.error_code = 0;
  out.direction = DIRECTION_UNSPECIFIED;
  out.metadata.clear();
  out.timeout_ms = 0;
  enum : unsigned { kRouteKey = 1, kRequestId = 2, kTimeout = 4 };
  unsigned required = 0;
  unsigned error_present = 0;
  Reader in(bytes);
  while (!in.done()) {
    std::uint32_t tag = 0;
    if (!next_tag(in, tag, why)) return false;
    std::uint64_t value = 0;
    std::string_view field;
    switch (tag) {
      case tag_of(1, kLength):
        if (!in.length_delimited(out.route_key)) return fail_with(why, "truncated route_key");
        required |= kRouteKey;
        break;
      case tag_of(2, kLength):
        if (!in.length_delimited(out.payload)) return fail_with(why, "truncated payload");
        out.has_payload = true;
        break;
      case tag_of(3, kLength):
        if (!in.length_delimited(field)) return fail_with(why, "truncated error");
        if (!merge_error(field, kRecursionLimit, out, error_present, why)) return false;
        out.has_error = true;
        break;
      case tag_of(4, kVarint): {
        if (!in.varint(value)) return fail_with(why, "truncated direction");
        // A closed proto2 enum: an unknown value goes to the unknown fields, the field keeps its value.
        auto direction = static_cast<std::int32_t>(value);
        if (Direction_IsValid(direction)) out.direction = static_cast<Direction>(direction);
        break;
      }
      case tag_of(100, kLength):
        if (!in.length_delimited(out.traceparent)) return fail_with(why, "truncated traceparent");
        break;
      case tag_of(101, kLength):
        if (!in.length_delimited(out.tracestate)) return fail_with(why, "truncated tracestate");
        break;
      case tag_of(102, kLength):
        if (!in.length_delimited(out.request_id)) return fail_with(why, "truncated request_id");
        required |= kRequestId;
        break;
      case tag_of(103, kLength):
        if (!in.length_delimited(field)) return fail_with(why, "truncated metadata");
        if (!decode_metadata_entry(field, kRecursionLimit, out, why)) return false;
        break;
      case tag_of(104, kVarint):
        if (!in.varint(value)) return fail_with(why, "truncated timeout_ms");
        out.timeout_ms = static_cast<std::int64_t>(value);
        required |= kTimeout;
        break;
      default:
        if (!in.skip(tag, kRecursionLimit)) return fail_with(why, "malformed unknown field");
        break;
    }
  }
  if (!(required & kRouteKey)) return fail_with(why, "missing required route_key");
  if (!(required & kRequestId)) return fail_with(why, "missing required request_id");
  if (!(required & kTimeout)) return fail_with(why, "missing required timeout_ms");
  if (out.has_error && error_present != 3) return fail_with(why, "error without code or message");
  return true;
}

Result<void> encode_envelope(const EnvelopeFields& fields, std::string& out) {
  std::size_t payload_size = fields.payload_bytes.size();
  if (fields.payload_message) {
    const auto& message = *fields.payload_message;
    // protobuf's own serializer aborts on missing required fields: check first.
    if (!message.IsInitialized()) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("cannot encode {}: missing required fields: {}", message.GetTypeName(),
                              message.InitializationErrorString()));
    }
    payload_size = message.ByteSizeLong();  // caches the sizes SerializeWithCachedSizes uses
    if (payload_size > INT_MAX) {
      return fail(ErrorCode::InvalidArgument, fmt::format("cannot encode {}: {} bytes is over 2 GiB",
                                                          message.GetTypeName(), payload_size));
    }
  }
  const bool has_payload = fields.payload_message || fields.has_payload;
  std::size_t size = length_field_size(1, fields.route_key.size()) + tag_size(4) +
                     varint_size(enum_wire_value(fields.direction)) +
                     length_field_size(102, fields.request_id.size()) + tag_size(104) +
                     varint_size(static_cast<std::uint64_t>(fields.timeout_ms));
  if (has_payload) size += length_field_size(2, payload_size);
  if (fields.error) size += length_field_size(3, error_body_size(*fields.error));
  if (fields.trace) size += length_field_size(100, kTraceparentSize);
  if (!fields.tracestate.empty()) size += length_field_size(101, fields.tracestate.size());
  for (const auto& entry : fields.metadata) size += length_field_size(103, metadata_body_size(entry));

  out.resize_and_overwrite(size, [&](char* begin, std::size_t) {
    char* p = put_length_field(begin, 1, fields.route_key);
    if (has_payload) {
      p = put_varint(put_tag(p, 2, kLength), payload_size);
      if (fields.payload_message) {
        p = reinterpret_cast<char*>(
            fields.payload_message->SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(p)));
      } else {
        if (payload_size) std::memcpy(p, fields.payload_bytes.data(), payload_size);
        p += payload_size;
      }
    }
    if (fields.error) {
      p = put_varint(put_tag(p, 3, kLength), error_body_size(*fields.error));
      p = put_varint(put_tag(p, 1, kVarint), static_cast<std::uint32_t>(fields.error->code));
      p = put_length_field(p, 2, fields.error->message);
    }
    p = put_varint(put_tag(p, 4, kVarint), enum_wire_value(fields.direction));
    if (fields.trace) {
      p = put_varint(put_tag(p, 100, kLength), kTraceparentSize);
      p = fields.trace->write_traceparent(p);
    }
    if (!fields.tracestate.empty()) p = put_length_field(p, 101, fields.tracestate);
    p = put_length_field(p, 102, fields.request_id);
    for (const auto& entry : fields.metadata) {
      p = put_varint(put_tag(p, 103, kLength), metadata_body_size(entry));
      p = put_length_field(p, 1, entry.first);
      p = put_length_field(p, 2, entry.second);
    }
    p = put_varint(put_tag(p, 104, kVarint), static_cast<std::uint64_t>(fields.timeout_ms));
    return static_cast<std::size_t>(p - begin);
  });
  return {};
}

}  // namespace actr
