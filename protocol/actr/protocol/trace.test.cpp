#include "actr/protocol/trace.hpp"

#include <gtest/gtest.h>

namespace actr {

TEST(Trace, NewTraceRoundTripsThroughTraceparent) {
  auto trace = TraceContext::new_trace();
  ASSERT_TRUE(trace.valid());
  auto header = trace.to_traceparent();
  EXPECT_EQ(header.size(), 55u);
  auto parsed = parse_traceparent(header);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(*parsed, trace);
}

TEST(Trace, WriteTraceparentOverwritesWhatTheStringHeld) {
  auto parsed = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(parsed);
  std::string longer(80, 'x'), shorter = "00";
  parsed->write_traceparent(longer);
  parsed->write_traceparent(shorter);
  EXPECT_EQ(longer, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(shorter, longer);
}

TEST(Trace, ChildKeepsTraceIdAndChangesSpan) {
  auto parent = TraceContext::new_trace();
  auto child = parent.child();
  EXPECT_EQ(child.trace_id, parent.trace_id);
  EXPECT_NE(child.span_id, parent.span_id);
  EXPECT_NE(TraceContext::new_trace().trace_id, parent.trace_id);
}

TEST(Trace, ParsesTheSpecExample) {
  auto parsed = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->trace_id[0], 0x4b);
  EXPECT_EQ(parsed->span_id[7], 0xb7);
  EXPECT_EQ(parsed->flags, 0x01);
}

TEST(Trace, RejectsMalformedHeaders) {
  const char* bad[] = {
      "",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  };
  for (auto header : bad) {
    auto parsed = parse_traceparent(header);
    EXPECT_FALSE(parsed) << header;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::InvalidArgument);
    }
  }
}

TEST(Trace, AcceptsFutureVersionsWithSuffix) {
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"));
}

}  // namespace actr
