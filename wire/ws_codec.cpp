#include "ws_codec.hpp"

#include <boost/beast/core/detail/sha1.hpp>

#include <cstring>

#include "actr/protocol/encoding.hpp"

namespace actr::wire::ws {

std::size_t parse_header(const void* data, std::size_t size, FrameHeader& out) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  if (size < 2) return 0;
  std::size_t need = 2;
  const std::uint8_t len7 = p[1] & 0x7f;
  if (len7 == 126) {
    need += 2;
  } else if (len7 == 127) {
    need += 8;
  }
  const bool masked = (p[1] & 0x80) != 0;
  if (masked) need += 4;
  if (size < need) return 0;

  out.fin = (p[0] & 0x80) != 0;
  out.rsv = static_cast<std::uint8_t>((p[0] >> 4) & 0x7);
  out.opcode = static_cast<std::uint8_t>(p[0] & 0x0f);
  out.masked = masked;
  std::size_t pos = 2;
  if (len7 == 126) {
    out.length = std::uint64_t{p[2]} << 8 | p[3];
    pos = 4;
  } else if (len7 == 127) {
    std::uint64_t length = 0;
    for (std::size_t i = 2; i < 10; ++i) length = length << 8 | p[i];
    out.length = length;
    pos = 10;
  } else {
    out.length = len7;
  }
  if (masked) std::memcpy(out.mask.data(), p + pos, 4);
  return need;
}

std::string_view header_violation(const FrameHeader& header, bool expect_masked) {
  if (header.rsv != 0) return "reserved bits set (no extension was negotiated)";
  switch (header.opcode) {
    case kContinuation:
    case kText:
    case kBinary: break;
    case kClose:
    case kPing:
    case kPong:
      if (!header.fin) return "fragmented control frame";
      if (header.length > kMaxControlPayload) return "control frame longer than 125 bytes";
      break;
    default: return "unknown opcode";
  }
  if (header.masked != expect_masked) {
    return expect_masked ? "frame from the client is not masked" : "frame from the server is masked";
  }
  if (header.length >> 63) return "frame length has the most significant bit set";
  return {};
}

std::size_t write_header(void* out, std::uint8_t opcode, std::uint64_t length, bool fin,
                         const MaskKey* mask) {
  auto* p = static_cast<std::uint8_t*>(out);
  p[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | (opcode & 0x0f));
  const std::uint8_t mask_bit = mask ? 0x80 : 0;
  std::size_t pos = 2;
  if (length < 126) {
    p[1] = static_cast<std::uint8_t>(mask_bit | length);
  } else if (length < 65536) {
    p[1] = static_cast<std::uint8_t>(mask_bit | 126);
    p[2] = static_cast<std::uint8_t>(length >> 8);
    p[3] = static_cast<std::uint8_t>(length);
    pos = 4;
  } else {
    p[1] = static_cast<std::uint8_t>(mask_bit | 127);
    for (int i = 0; i < 8; ++i) p[2 + i] = static_cast<std::uint8_t>(length >> (56 - 8 * i));
    pos = 10;
  }
  if (mask) {
    std::memcpy(p + pos, mask->data(), 4);
    pos += 4;
  }
  return pos;
}

namespace {

// 32 bytes a step in two 64-bit-lane halves: g++ compiles this to SSE2 (x86-64's baseline).
std::size_t mask_blocks_portable(std::uint8_t* p, std::size_t size, std::uint64_t word) {
  std::size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    std::uint64_t v[4];
    std::memcpy(v, p + i, 32);  // memcpy: plain unaligned loads and stores
    v[0] ^= word;
    v[1] ^= word;
    v[2] ^= word;
    v[3] ^= word;
    std::memcpy(p + i, v, 32);
  }
  return i;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ACTR_WS_MASK_AVX2 1
// 64 bytes a step in two 32-byte registers: ~1.4x the SSE2 loop on data in L1/L2 (the usual case:
// a frame just read, or a payload just written).
__attribute__((target("avx2"))) std::size_t mask_blocks_avx2(std::uint8_t* p, std::size_t size,
                                                             std::uint64_t word) {
  using Block = std::uint64_t __attribute__((vector_size(32)));
  const Block wide = {word, word, word, word};
  std::size_t i = 0;
  for (; i + 64 <= size; i += 64) {
    Block a;
    Block b;
    std::memcpy(&a, p + i, 32);
    std::memcpy(&b, p + i + 32, 32);
    a ^= wide;
    b ^= wide;
    std::memcpy(p + i, &a, 32);
    std::memcpy(p + i + 32, &b, 32);
  }
  return i;
}
#else
#define ACTR_WS_MASK_AVX2 0
#endif

void apply_mask_with(void* data, std::size_t size, const MaskKey& key, std::size_t offset, bool wide) {
  auto* p = static_cast<std::uint8_t*>(data);
  // The key as it lines up with p[0], repeated to fill a 64-bit word.
  std::uint8_t rotated[8];
  for (std::size_t i = 0; i < 8; ++i) rotated[i] = key[(offset + i) & 3];
  std::uint64_t word;
  std::memcpy(&word, rotated, 8);
  std::size_t i = 0;
#if ACTR_WS_MASK_AVX2
  if (wide) i = mask_blocks_avx2(p, size, word);
#endif
  // Every step covers a multiple of 8 bytes, so `word` still lines up with p[i].
  i += mask_blocks_portable(p + i, size - i, word);
  for (; i + 8 <= size; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, p + i, 8);
    v ^= word;
    std::memcpy(p + i, &v, 8);
  }
  for (; i < size; ++i) p[i] ^= rotated[i & 7];
}

bool mask_uses_avx2() {
#if ACTR_WS_MASK_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
#else
  return false;
#endif
}

}  // namespace

void apply_mask(void* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  apply_mask_with(data, size, key, offset, mask_uses_avx2());
}

void apply_mask_portable(void* data, std::size_t size, const MaskKey& key, std::size_t offset) {
  apply_mask_with(data, size, key, offset, false);
}

std::string accept_key(std::string_view sec_websocket_key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  boost::beast::detail::sha1_context ctx;
  boost::beast::detail::init(ctx);
  boost::beast::detail::update(ctx, sec_websocket_key.data(), sec_websocket_key.size());
  boost::beast::detail::update(ctx, kGuid.data(), kGuid.size());
  char digest[boost::beast::detail::sha1_context::digest_size];
  boost::beast::detail::finish(ctx, digest);
  return base64_encode(std::string_view(digest, sizeof digest));
}

bool valid_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;  // registered and private codes
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014: return true;
    default: return false;
  }
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string_view close_reason_text(std::string_view reason) {
  constexpr std::size_t kMax = kMaxControlPayload - 2;
  if (reason.size() <= kMax) return reason;
  std::size_t cut = kMax;
  // Back up over continuation bytes so the cut does not split a code point.
  while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xc0) == 0x80) --cut;
  return reason.substr(0, cut);
}

}  // namespace actr::wire::ws
