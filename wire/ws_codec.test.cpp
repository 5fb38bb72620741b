// The RFC 6455 frame codec on its own: header bytes, masking, validation, the accept key.

#include "ws_codec.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace actr::wire::ws {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(WsCodec, WritesTheHeaderBytesOfRfc6455) {
  char out[kMaxHeaderBytes];
  // RFC 6455 section 5.7: a single-frame unmasked text message "Hello".
  ASSERT_EQ(write_header(out, kText, 5), 2u);
  EXPECT_EQ(std::string(out, 2), bytes({0x81, 0x05}));
  // A masked one with the RFC's key.
  MaskKey key{0x37, 0xfa, 0x21, 0x3d};
  ASSERT_EQ(write_header(out, kText, 5, true, &key), 6u);
  EXPECT_EQ(std::string(out, 6), bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
  std::string hello = "Hello";
  apply_mask(hello.data(), hello.size(), key);
  EXPECT_EQ(hello, bytes({0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  // 256 bytes: 16-bit length; 64 KiB: 64-bit length; a non-final binary fragment.
  ASSERT_EQ(write_header(out, kBinary, 256), 4u);
  EXPECT_EQ(std::string(out, 4), bytes({0x82, 0x7e, 0x01, 0x00}));
  ASSERT_EQ(write_header(out, kBinary, 65536, false), 10u);
  EXPECT_EQ(std::string(out, 10), bytes({0x02, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}));
}

TEST(WsCodec, ParsesWhatItWritesAndWaitsForWholeHeaders) {
  const std::uint64_t lengths[] = {0, 1, 125, 126, 127, 65535, 65536, (1ull << 32) + 7};
  MaskKey key{1, 2, 3, 4};
  for (std::uint64_t length : lengths) {
    for (bool masked : {false, true}) {
      for (bool fin : {false, true}) {
        char out[kMaxHeaderBytes];
        const std::size_t size = write_header(out, kBinary, length, fin, masked ? &key : nullptr);
        for (std::size_t prefix = 0; prefix < size; ++prefix) {
          FrameHeader partial;
          EXPECT_EQ(parse_header(out, prefix, partial), 0u) << "length " << length << " prefix " << prefix;
        }
        FrameHeader header;
        ASSERT_EQ(parse_header(out, size, header), size);
        EXPECT_EQ(header.length, length);
        EXPECT_EQ(header.fin, fin);
        EXPECT_EQ(header.masked, masked);
        EXPECT_EQ(header.opcode, kBinary);
        EXPECT_EQ(header.rsv, 0);
        if (masked) {
          EXPECT_EQ(header.mask, key);
        }
        EXPECT_TRUE(header_violation(header, masked).empty()) << header_violation(header, masked);
      }
    }
  }
}

using MaskFunction = void (*)(void*, std::size_t, const MaskKey&, std::size_t);

class Masking : public ::testing::TestWithParam<MaskFunction> {};

// apply_mask (AVX2 where the CPU has it) and the portable loop, so that both are checked here.
INSTANTIATE_TEST_SUITE_P(WsCodec, Masking, ::testing::Values(&apply_mask, &apply_mask_portable),
                         [](const auto& info) { return info.index == 0 ? "Dispatched" : "Portable"; });

TEST_P(Masking, MatchesTheBytewiseDefinitionAtAnyOffsetAndAlignment) {
  const MaskFunction apply_mask = GetParam();
  MaskKey key{0xa1, 0x5b, 0x07, 0xfe};
  std::vector<char> base(300);
  for (std::size_t i = 0; i < base.size(); ++i) base[i] = static_cast<char>(i * 7 + 3);
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t size : {0, 1, 3, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 200, 291}) {
      for (std::size_t offset = 0; offset < 6; ++offset) {
        std::vector<char> data = base;
        apply_mask(data.data() + start, size, key, offset);
        for (std::size_t i = 0; i < base.size(); ++i) {
          char expected = base[i];
          if (i >= start && i < start + size)
            expected = static_cast<char>(expected ^ key[(i - start + offset) % 4]);
          ASSERT_EQ(data[i], expected) << "start " << start << " size " << size << " offset " << offset;
        }
        apply_mask(data.data() + start, size, key, offset);
        ASSERT_EQ(data, base);  // masking is its own inverse
      }
    }
  }
}

TEST(WsCodec, NamesEachViolation) {
  auto header = [](std::string raw) {
    FrameHeader h;
    EXPECT_GT(parse_header(raw.data(), raw.size(), h), 0u);
    return h;
  };
  EXPECT_EQ(header_violation(header(bytes({0xc2, 0x00})), false),
            "reserved bits set (no extension was negotiated)");
  EXPECT_EQ(header_violation(header(bytes({0x83, 0x00})), false), "unknown opcode");
  EXPECT_EQ(header_violation(header(bytes({0x8b, 0x00})), false), "unknown opcode");
  EXPECT_EQ(header_violation(header(bytes({0x09, 0x00})), false), "fragmented control frame");
  EXPECT_EQ(header_violation(header(bytes({0x89, 0x7e, 0x00, 0x7e})), false),
            "control frame longer than 125 bytes");
  EXPECT_EQ(header_violation(header(bytes({0x82, 0x01})), true), "frame from the client is not masked");
  EXPECT_EQ(header_violation(header(bytes({0x82, 0x81, 1, 2, 3, 4})), false),
            "frame from the server is masked");
  EXPECT_EQ(header_violation(header(bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0})), false),
            "frame length has the most significant bit set");
  EXPECT_TRUE(header_violation(header(bytes({0x88, 0x02})), false).empty());
  EXPECT_TRUE(header_violation(header(bytes({0x00, 0x00})), false).empty());  // a continuation
}

TEST(WsCodec, ComputesTheAcceptKeyOfRfc6455) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsCodec, ChecksCloseCodesUtf8AndReasonLength) {
  for (std::uint16_t ok : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
    EXPECT_TRUE(valid_close_code(ok)) << ok;
  }
  for (std::uint16_t bad : {0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000}) {
    EXPECT_FALSE(valid_close_code(bad)) << bad;
  }
  EXPECT_TRUE(valid_utf8("plain and \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xc3"));              // cut short
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF

  EXPECT_EQ(close_reason_text("short"), "short");
  std::string long_reason(122, 'x');
  long_reason += "\xc3\xa9\xc3\xa9";  // 2-byte characters straddle byte 123
  auto cut = close_reason_text(long_reason);
  EXPECT_EQ(cut.size(), 122u);
  EXPECT_TRUE(valid_utf8(cut));
}

}  // namespace
}  // namespace actr::wire::ws
