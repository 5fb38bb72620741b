#include "framing.hpp"

#include <gtest/gtest.h>

#include <string>

namespace actr::wire::detail {
namespace {

std::string message(PayloadType lane, std::string_view data) {
  auto header = encode_header(lane, static_cast<std::uint32_t>(data.size()));
  return std::string(header.data(), header.size()) + std::string(data);
}

}  // namespace

TEST(Framing, EncodesBigEndianLengthAndDecodesBack) {
  auto header = encode_header(STREAM_RELIABLE, 0x01020304);
  EXPECT_EQ(std::string(header.data(), 5), std::string("\x02\x01\x02\x03\x04", 5));
  for (int lane = 0; lane <= 4; ++lane) {
    auto text = message(static_cast<PayloadType>(lane), "hello");
    auto frame = decode_frame(text);
    ASSERT_TRUE(frame) << frame.error().to_string();
    EXPECT_EQ(frame->lane, lane);
    EXPECT_EQ(frame->data, "hello");
  }
  auto empty = decode_frame(message(RPC_SIGNAL, ""));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->data, "");
}

TEST(Framing, RejectsMalformedMessagesWithClearReasons) {
  auto check = [](std::string_view text, std::string_view fragment) {
    auto frame = decode_frame(text);
    ASSERT_FALSE(frame);
    EXPECT_EQ(frame.error().code, ErrorCode::DecodeFailure);
    EXPECT_NE(frame.error().message.find(fragment), std::string::npos) << frame.error().message;
  };
  check(std::string_view("\x00\x00\x00", 3), "shorter than the 5-byte header");
  check(std::string("\x07\x00\x00\x00\x01x", 6), "unknown lane byte 7");
  check(std::string("\x00\x00\x00\x00\x05xy", 7), "header says 5 data bytes, message carries 2");
  check(std::string("\x00\xff\xff\xff\xff", 5), "header says 4294967295 data bytes");
}

}  // namespace actr::wire::detail
