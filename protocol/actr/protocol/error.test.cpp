#include "actr/protocol/error.hpp"

#include <actr/actr.pb.h>
#include <gtest/gtest.h>

namespace actr {

TEST(Error, RoundTripsEveryCodeThroughTheWire) {
  for (std::uint32_t code = 10001; code <= 10011; ++code) {
    Error error{static_cast<ErrorCode>(code), "why"};
    ErrorResponse wire;
    error_to_proto(error, wire);
    EXPECT_EQ(wire.code(), code);
    EXPECT_EQ(error_from_proto(wire), error);
    EXPECT_NE(error_code_name(error.code), "Unknown");
  }
}

TEST(Error, UnknownWireCodeBecomesInternalAndKeepsTheNumber) {
  Error error = error_from_wire(42, "strange");
  EXPECT_EQ(error.code, ErrorCode::Internal);
  EXPECT_NE(error.message.find("42"), std::string::npos);
  EXPECT_NE(error.message.find("strange"), std::string::npos);
}

TEST(Error, ToStringNamesCodeAndMessage) {
  EXPECT_EQ((Error{ErrorCode::TimedOut, "late"}).to_string(), "TimedOut (10002): late");
}

TEST(Error, TestFailuresPrintCodesByName) {
  EXPECT_EQ(testing::PrintToString(ErrorCode::TimedOut), "TimedOut (10002)");
  EXPECT_EQ(testing::PrintToString(static_cast<ErrorCode>(7)), "Unknown (7)");
  EXPECT_EQ(testing::PrintToString(Error{ErrorCode::NotFound, "nope"}), "NotFound (10003): nope");
}

TEST(Error, FailBuildsAnUnexpectedResult) {
  Result<int> result = fail(ErrorCode::NotFound, "nope");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::NotFound);
}

}  // namespace actr
