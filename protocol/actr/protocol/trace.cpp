#include "actr/protocol/trace.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cstring>
#include <random>

namespace actr {
namespace {

[[gnu::noinline]] std::uint64_t seed_from_os() {
  std::random_device device;
  return ((static_cast<std::uint64_t>(device()) << 32) ^ device()) | 1;
}

// splitmix64 seeded once per thread from the OS: trace ids need uniqueness, not secrecy. Small
// enough to inline (the seeding is out of line): every call starts a trace or a span.
inline std::uint64_t next_random() {
  // Constant-initialized (no TLS guard on every call); seeded on first use.
  thread_local std::uint64_t state = 0;
  if (state == 0) [[unlikely]]
    state = seed_from_os();
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

template <std::size_t N>
void fill_random_nonzero(std::array<std::uint8_t, N>& bytes) {
  static_assert(N % 8 == 0);
  std::uint64_t any = 0;
  do {  // all zero is the W3C "invalid" id: draw again (practically never)
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t r = next_random();
      any |= r;
      std::memcpy(bytes.data() + i, &r, sizeof r);  // byte order is irrelevant for random bits
    }
  } while (any == 0);
}

constexpr char kHexDigits[] = "0123456789abcdef";

template <std::size_t N>
char* write_hex(char* out, const std::array<std::uint8_t, N>& bytes) {
  for (auto b : bytes) {
    *out++ = kHexDigits[b >> 4];
    *out++ = kHexDigits[b & 0xf];
  }
  return out;
}

/// Lowercase hex digit values, -1 for every other byte (upper case is invalid in traceparent).
constexpr std::array<std::int8_t, 256> kHexValues = [] {
  std::array<std::int8_t, 256> values{};
  values.fill(-1);
  for (int i = 0; i < 16; ++i)
    values[static_cast<unsigned char>(kHexDigits[i])] = static_cast<std::int8_t>(i);
  return values;
}();

int hex_value(char c) { return kHexValues[static_cast<unsigned char>(c)]; }

/// Branch-free over the digits (every traceparent a node receives is parsed): an invalid digit
/// is -1, so OR-ing all values leaves the sign bit set.
template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  int bad = 0;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    bad |= hi | lo;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return bad >= 0;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

TraceContext TraceContext::new_trace() {
  TraceContext trace;
  fill_random_nonzero(trace.trace_id);
  fill_random_nonzero(trace.span_id);
  return trace;
}

TraceContext TraceContext::child() const {
  TraceContext next = *this;
  fill_random_nonzero(next.span_id);
  return next;
}

bool TraceContext::valid() const { return !all_zero(trace_id) && !all_zero(span_id); }

std::string TraceContext::to_traceparent() const {
  std::string out;
  write_traceparent(out);
  return out;
}

void TraceContext::write_traceparent(std::string& out) const {
  out.resize(55);
  write_traceparent(out.data());
}

char* TraceContext::write_traceparent(char* p) const {
  *p++ = '0';
  *p++ = '0';
  *p++ = '-';
  p = write_hex(p, trace_id);
  *p++ = '-';
  p = write_hex(p, span_id);
  *p++ = '-';
  return write_hex(p, std::array<std::uint8_t, 1>{flags});
}

Result<TraceContext> parse_traceparent(std::string_view header) {
  auto invalid = [&](std::string_view why) {
    return fail(ErrorCode::InvalidArgument, fmt::format("traceparent '{}': {}", header, why));
  };
  // version "-" trace-id "-" parent-id "-" flags; future versions may append "-..." fields.
  if (header.size() < 55) return invalid("too short (55 characters expected)");
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return invalid("misplaced '-'");
  std::array<std::uint8_t, 1> version{}, flags{};
  if (!parse_hex(header.substr(0, 2), version)) return invalid("version is not lowercase hex");
  if (version[0] == 0xff) return invalid("version ff is forbidden");
  if (version[0] == 0x00 && header.size() != 55) return invalid("version 00 must be 55 characters");
  if (version[0] != 0x00 && header.size() > 55 && header[55] != '-') return invalid("bad suffix");
  TraceContext trace;
  if (!parse_hex(header.substr(3, 32), trace.trace_id)) return invalid("trace-id is not lowercase hex");
  if (!parse_hex(header.substr(36, 16), trace.span_id)) return invalid("parent-id is not lowercase hex");
  if (!parse_hex(header.substr(53, 2), flags)) return invalid("flags are not lowercase hex");
  if (all_zero(trace.trace_id)) return invalid("trace-id is all zero");
  if (all_zero(trace.span_id)) return invalid("parent-id is all zero");
  trace.flags = flags[0];
  return trace;
}

}  // namespace actr
