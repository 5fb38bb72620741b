#include "actr/protocol/trace.hpp"

#include <fmt/format.h>
#include <bit>
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

/// Four bytes as eight lowercase hex digits, in one 64-bit word (every remote call writes a
/// traceparent: 27 bytes of it).
char* write_hex4(char* out, const std::uint8_t* in) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  std::uint64_t x = std::uint64_t{in[0]} | std::uint64_t{in[1]} << 16 | std::uint64_t{in[2]} << 32 |
                    std::uint64_t{in[3]} << 48;
  // Each 16-bit lane: the byte's high digit in its low byte (written first), its low digit above.
  const std::uint64_t nibbles = ((x >> 4) & 0x000f000f000f000fULL) | ((x & 0x000f000f000f000fULL) << 8);
  const std::uint64_t letters = ((nibbles + 6 * kOnes) >> 4) & kOnes;  // 1 where the digit is >= 10
  std::uint64_t text = nibbles + '0' * kOnes + letters * ('a' - '0' - 10);
  if constexpr (std::endian::native == std::endian::big) text = __builtin_bswap64(text);
  std::memcpy(out, &text, 8);
  return out + 8;
}

template <std::size_t N>
char* write_hex(char* out, const std::array<std::uint8_t, N>& bytes) {
  if constexpr (N % 4 == 0) {
    for (std::size_t i = 0; i < N; i += 4) out = write_hex4(out, bytes.data() + i);
  } else {
    for (auto b : bytes) {
      *out++ = kHexDigits[b >> 4];
      *out++ = kHexDigits[b & 0xf];
    }
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

/// Eight lowercase hex digits (text[0] first) as four bytes, eight at a time in one 64-bit word:
/// every traceparent a node receives is parsed, and a digit at a time cost ~400 instructions.
/// false when any of them is not 0-9 or a-f.
inline bool parse_hex8(const char* text, std::uint8_t* out) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  std::uint64_t x;
  std::memcpy(&x, text, 8);
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  // Per byte, with no carry into the next (every byte is < 0x80 once the first test passes):
  // bit 7 of (x + 0x80 - lo) & ~(x + 0x80 - hi) is set exactly when lo <= byte < hi.
  const auto in_range = [&](std::uint64_t lo, std::uint64_t hi) {
    return (x + (0x80 - lo) * kOnes) & ~(x + (0x80 - hi) * kOnes) & kHigh;
  };
  if ((x & kHigh) != 0 || (in_range('0', '9' + 1) | in_range('a', 'f' + 1)) != kHigh) return false;
  // '0'-'9' → 0-9 and 'a'-'f' (bit 6 set) → 1-6 + 9.
  const std::uint64_t nibbles = (x & 0x0f * kOnes) + ((x >> 6) & kOnes) * 9;
  // Each 16-bit lane holds two digits, the first in its low byte: join them into that byte...
  std::uint64_t bytes = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff00ff00ff00ffULL;
  // ...then gather the four bytes at the bottom.
  bytes = (bytes | (bytes >> 8)) & 0x0000ffff0000ffffULL;
  bytes = (bytes | (bytes >> 16)) & 0xffffffffULL;
  auto word = static_cast<std::uint32_t>(bytes);  // out[0] is the low byte
  if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap32(word);
  std::memcpy(out, &word, 4);
  return true;
}

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  if constexpr (N % 4 == 0) {
    for (std::size_t i = 0; i < N; i += 4)
      if (!parse_hex8(text.data() + 2 * i, out.data() + i)) return false;
  } else {
    for (std::size_t i = 0; i < N; ++i) {
      int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
      if (hi < 0 || lo < 0) return false;
      out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
  }
  return true;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) {
  static_assert(N % 8 == 0);
  std::uint64_t any = 0;
  for (std::size_t i = 0; i < N; i += 8) {  // a word at a time: every received traceparent is checked
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    any |= word;
  }
  return any == 0;
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
