#include "actr/protocol/envelope_codec.hpp"

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>

#include <random>

namespace actr {
namespace {

using google::protobuf::UnknownFieldSet;

/// Random RpcEnvelopes, valid or not, with unknown fields (groups included) mixed in.
struct Generator {
  std::mt19937_64 rng{20261124};

  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }
  std::string text() {
    static constexpr std::size_t kSizes[] = {0, 1, 7, 15, 16, 55, 127, 128, 300, 20000};
    std::string out(kSizes[below(std::size(kSizes))], '\0');
    for (auto& c : out) c = static_cast<char>(below(256));
    return out;
  }
  void add_unknown(UnknownFieldSet& set, int depth = 0) {
    int number = static_cast<int>(5 + below(200));  // 5..204 covers numbers beside the known ones
    switch (below(5)) {
      case 0: set.AddVarint(number, rng()); break;
      case 1: set.AddFixed32(number, static_cast<std::uint32_t>(rng())); break;
      case 2: set.AddFixed64(number, rng()); break;
      case 3: set.AddLengthDelimited(number, text()); break;
      default:
        if (depth < 3) {
          auto* group = set.AddGroup(number);
          for (std::size_t i = below(3); i > 0; --i) add_unknown(*group, depth + 1);
        }
    }
  }
  RpcEnvelope envelope() {
    RpcEnvelope m;
    if (!chance(3)) m.set_route_key(text());
    if (!chance(3)) m.set_request_id(text());
    if (!chance(3)) m.set_timeout_ms(static_cast<std::int64_t>(rng()) >> below(64));
    if (chance(60)) m.set_payload(text());
    if (chance(20)) {
      auto* error = m.mutable_error();
      if (!chance(5)) error->set_code(static_cast<std::uint32_t>(rng()));
      if (!chance(5)) error->set_message(text());
    }
    if (chance(90)) m.set_direction(static_cast<Direction>(below(4)));
    if (chance(60)) m.set_traceparent(text());
    if (chance(30)) m.set_tracestate(text());
    for (std::size_t i = below(4); i > 0; --i) {
      auto* entry = m.add_metadata();
      if (!chance(5)) entry->set_key(text());
      if (!chance(5)) entry->set_value(text());
    }
    for (std::size_t i = chance(30) ? below(4) : 0; i > 0; --i) add_unknown(*m.mutable_unknown_fields());
    return m;
  }
  /// Damages an encoding: a flipped byte, a cut, inserted bytes or a repeated span.
  std::string mutate(std::string bytes) {
    if (bytes.empty()) return std::string(1, static_cast<char>(below(256)));
    std::size_t at = below(bytes.size());
    switch (below(4)) {
      case 0: bytes[at] = static_cast<char>(bytes[at] ^ (1u << below(8))); break;
      case 1: bytes.resize(at); break;
      case 2: bytes.insert(at, std::string(1 + below(3), static_cast<char>(below(256)))); break;
      default: bytes.insert(at, bytes.substr(below(bytes.size()), 1 + below(20))); break;
    }
    return bytes;
  }
};

void expect_same(const RpcEnvelope& m, const EnvelopeView& v) {
  EXPECT_EQ(v.route_key, m.route_key());
  EXPECT_EQ(v.has_payload, m.has_payload());
  EXPECT_EQ(v.payload, m.payload());
  ASSERT_EQ(v.has_error, m.has_error());
  if (m.has_error()) {
    EXPECT_EQ(v.error_code, m.error().code());
    EXPECT_EQ(v.error_message, m.error().message());
  }
  EXPECT_EQ(v.direction, m.direction());
  EXPECT_EQ(v.traceparent, m.traceparent());
  EXPECT_EQ(v.tracestate, m.tracestate());
  EXPECT_EQ(v.request_id, m.request_id());
  ASSERT_EQ(v.metadata.size(), static_cast<std::size_t>(m.metadata_size()));
  for (int i = 0; i < m.metadata_size(); ++i) {
    EXPECT_EQ(v.metadata[i].first, m.metadata(i).key());
    EXPECT_EQ(v.metadata[i].second, m.metadata(i).value());
  }
  EXPECT_EQ(v.timeout_ms, m.timeout_ms());
}

/// Our decoder and protobuf's parser must accept the same bytes and read the same fields.
void expect_decodes_like_protobuf(const std::string& bytes) {
  google::protobuf::LogSilencer quiet;  // protobuf logs every refused parse
  RpcEnvelope reference;
  bool protobuf_ok = reference.ParseFromString(bytes);
  EnvelopeView view;
  view.metadata.emplace_back("stale", "entry");  // a decode starts from a clean view
  const char* why = nullptr;
  bool ours_ok = decode_envelope(bytes, view, &why);
  ASSERT_EQ(ours_ok, protobuf_ok) << (why ? why : "accepted") << "; " << bytes.size() << " bytes";
  if (ours_ok) expect_same(reference, view);
}

TEST(EnvelopeCodec, DecodesWhatProtobufEncodesAndRefusesWhatItRefuses) {
  google::protobuf::LogSilencer quiet;
  Generator gen;
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = gen.envelope().SerializePartialAsString();  // required fields may be missing
    ASSERT_NO_FATAL_FAILURE(expect_decodes_like_protobuf(bytes));
    accepted += RpcEnvelope().ParseFromString(bytes);
  }
  EXPECT_GT(accepted, 1500);  // most are valid: the comparison covers real envelopes
}

TEST(EnvelopeCodec, AgreesWithProtobufOnDamagedBytes) {
  google::protobuf::LogSilencer quiet;
  Generator gen;
  int accepted = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string bytes = gen.envelope().SerializePartialAsString();
    for (std::size_t n = 1 + gen.below(3); n > 0; --n) bytes = gen.mutate(std::move(bytes));
    ASSERT_NO_FATAL_FAILURE(expect_decodes_like_protobuf(bytes));
    accepted += RpcEnvelope().ParseFromString(bytes);
  }
  EXPECT_GT(accepted, 50);  // damage that still parses: repeated fields, changed values
}

TEST(EnvelopeCodec, FollowsProtobufOnRepeatsUnknownEnumsAndWrongWireTypes) {
  RpcEnvelope base;
  base.set_route_key("a.B.C");
  base.set_request_id("r-1");
  base.set_timeout_ms(5);
  std::string bytes = base.SerializeAsString();
  const std::string cases[] = {
      bytes + base.SerializeAsString(),                    // every field twice: the last wins
      bytes + std::string("\x20\x07", 2),                  // direction 7: unknown, kept as UNSPECIFIED
      bytes + std::string("\x20\x02\x20\x09", 4),          // REQUEST... then 9: stays RESPONSE(2)
      bytes + std::string("\x20\x81\x80\x80\x80\x10", 6),  // 2^32 + 1: truncated to 1 like protobuf
      bytes + std::string("\x08\x05", 2),                  // route_key as a varint: an unknown field
      std::string("\x08\x05", 2) + bytes.substr(0, 0),     // only that: route_key missing
      bytes + std::string("\x1a\x02\x08\x07", 4) + std::string("\x1a\x03\x12\x01x", 5),  // error merged
      bytes + std::string("\x1a\x02\x08\x07", 4),          // error without its message
      bytes + std::string("\x2b\x2c", 2),                  // empty group 5
      bytes + std::string("\x2b\x34", 2),                  // group 5 closed as 6
      bytes + std::string("\x2c", 1),                      // stray end-group
      bytes + std::string("\x00", 1),                      // tag 0
      bytes + std::string("\x07\x00", 2),                  // field 0
      bytes + std::string("\x2e\x00", 2),                  // wire type 6
      bytes + std::string("\x29\x01\x02\x03", 4),          // fixed64 cut short
      bytes + std::string("\x2a\xff\xff\xff\xff\x0f", 6),  // a 4 GiB length
      bytes + std::string("\xa2\x06\x01", 3),              // traceparent longer than what is left
      bytes + std::string("\xff\xff\xff\xff\xff\x01", 6),  // a 6-byte tag
      bytes + std::string("\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11),      // 10-byte varint
      bytes + std::string("\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),  // 11 bytes
  };
  for (const auto& input : cases) ASSERT_NO_FATAL_FAILURE(expect_decodes_like_protobuf(input));
}

TEST(EnvelopeCodec, RefusesGroupsNestedPastProtobufsLimit) {
  RpcEnvelope base;
  base.set_route_key("a.B.C");
  base.set_request_id("r-1");
  base.set_timeout_ms(5);
  for (int depth : {99, 100, 101}) {
    std::string bytes = base.SerializeAsString();
    for (int i = 0; i < depth; ++i) bytes += '\x2b';  // start group 5
    for (int i = 0; i < depth; ++i) bytes += '\x2c';  // end group 5
    ASSERT_NO_FATAL_FAILURE(expect_decodes_like_protobuf(bytes)) << depth;
  }
}

/// Sets `m` and `fields` alike from the generator (fields' views point into `m`).
EnvelopeFields fields_like(Generator& gen, RpcEnvelope& m,
                           std::vector<std::pair<std::string, std::string>>& metadata, TraceContext& trace,
                           Error& error) {
  EnvelopeFields f;
  m.set_route_key(gen.text());
  m.set_request_id(gen.text());
  m.set_timeout_ms(gen.chance(50) ? 30000 : static_cast<std::int64_t>(gen.rng()));
  m.set_direction(static_cast<Direction>(gen.below(4)));
  f.route_key = m.route_key();
  f.request_id = m.request_id();
  f.timeout_ms = m.timeout_ms();
  f.direction = m.direction();
  if (gen.chance(50)) {
    trace = TraceContext::new_trace();
    trace.write_traceparent(*m.mutable_traceparent());
    f.trace = &trace;
  }
  if (gen.chance(30)) m.set_tracestate(gen.text() + "x");
  f.tracestate = m.tracestate();
  metadata.clear();
  for (std::size_t i = gen.below(4); i > 0; --i) {
    metadata.emplace_back(gen.text(), gen.text());
    auto* entry = m.add_metadata();
    entry->set_key(metadata.back().first);
    entry->set_value(metadata.back().second);
  }
  f.metadata = metadata;
  if (gen.chance(20)) {
    error = Error{static_cast<ErrorCode>(gen.rng()), gen.text()};
    error_to_proto(error, *m.mutable_error());
    f.error = &error;
  } else if (gen.chance(80)) {
    m.set_payload(gen.text());
    f.payload_bytes = m.payload();
    f.has_payload = true;
  }
  return f;
}

TEST(EnvelopeCodec, EncodesTheBytesProtobufWould) {
  Generator gen;
  std::string out = "left over from an earlier frame";
  std::vector<std::pair<std::string, std::string>> metadata;
  TraceContext trace;
  Error error;
  for (int i = 0; i < 2000; ++i) {
    RpcEnvelope m;
    auto fields = fields_like(gen, m, metadata, trace, error);
    ASSERT_TRUE(encode_envelope(fields, out));
    ASSERT_EQ(out, m.SerializeAsString()) << i;
    EnvelopeView view;
    ASSERT_TRUE(decode_envelope(out, view));
    expect_same(m, view);
  }
}

TEST(EnvelopeCodec, SerializesATypedPayloadInPlace) {
  ActrId id;  // has required fields
  id.set_serial_number(42);
  id.mutable_realm()->set_realm_id(7);
  id.mutable_type()->set_manufacturer("acme");
  id.mutable_type()->set_name("echo");
  id.mutable_type()->set_version("1");
  EnvelopeFields fields;
  fields.route_key = "a.B.C";
  fields.request_id = "r-1";
  fields.direction = DIRECTION_RESPONSE;
  fields.payload_message = &id;
  std::string out;
  ASSERT_TRUE(encode_envelope(fields, out));
  RpcEnvelope expected;
  expected.set_route_key("a.B.C");
  expected.set_request_id("r-1");
  expected.set_direction(DIRECTION_RESPONSE);
  expected.set_timeout_ms(0);
  expected.set_payload(id.SerializeAsString());
  EXPECT_EQ(out, expected.SerializeAsString());

  ActrId incomplete;  // required fields unset: refused, as Payload::write_bytes refuses it
  fields.payload_message = &incomplete;
  auto refused = encode_envelope(fields, out);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(refused.error().message.find("actr.ActrId"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace actr
