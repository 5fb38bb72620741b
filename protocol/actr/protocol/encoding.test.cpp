#include "actr/protocol/encoding.hpp"

#include <gtest/gtest.h>

#include <random>

namespace actr {

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Base64, DecodesBothAlphabetsWithAndWithoutPadding) {
  for (auto text : {"+/8=", "+/8", "-_8=", "-_8"}) {
    auto decoded = base64_decode(text);
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, "\xfb\xff") << text;
  }
  EXPECT_EQ(base64_decode(""), std::string());
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYg"), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE"), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(Base64, RejectsMalformedText) {
  for (auto text : {"Z", "Zm9vY", "Zm9v====", "Zm=v", "=", "==", "Zg=", "Zm9vYg=", "Zm9 v", "Zm9v\n", "Zm*v",
                    "Zh==", "Zm9=", "A==="}) {
    EXPECT_FALSE(base64_decode(text)) << text;
  }
}

TEST(Base64, RoundTripsRandomBytes) {
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 200; ++n) {
    std::string bytes(n, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
    EXPECT_EQ(base64_decode(base64url_encode(bytes)), bytes);
  }
}

TEST(Hex, EncodesLowercaseAndDecodesEitherCase) {
  EXPECT_EQ(hex_encode(std::string_view("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(hex_decode("0001abff"), std::string("\x00\x01\xab\xff", 4));
  EXPECT_EQ(hex_decode("0001ABFF"), std::string("\x00\x01\xab\xff", 4));
  EXPECT_EQ(hex_decode(""), std::string());
  for (auto text : {"0", "abc", "zz", "0g", " 00", "0x00"}) EXPECT_FALSE(hex_decode(text)) << text;
}

}  // namespace actr
