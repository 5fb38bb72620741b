#include "actr/protocol/trace.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <random>

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

namespace actr {
namespace {

/// The traceparent rules a digit at a time, to check the word-at-a-time parser against.
std::optional<TraceContext> reference_parse(std::string_view h) {
  auto digit = [](char c) {
    return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
  };
  auto bytes = [&](std::size_t at, std::uint8_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      int hi = digit(h[at + 2 * i]), lo = digit(h[at + 2 * i + 1]);
      if (hi < 0 || lo < 0) return false;
      out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return true;
  };
  if (h.size() != 55 || h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  std::uint8_t version = 0;
  TraceContext trace;
  if (!bytes(0, &version, 1) || version == 0xff) return std::nullopt;  // later versions: same layout
  if (!bytes(3, trace.trace_id.data(), 16) || !bytes(36, trace.span_id.data(), 8)) return std::nullopt;
  if (!bytes(53, &trace.flags, 1) || !trace.valid()) return std::nullopt;
  return trace;
}

TEST(Trace, ParsesLikeADigitAtATimeParserOnDamagedHeaders) {
  std::mt19937_64 rng(7);
  const std::string odd = "09afAFgG/:`@\x7f\x80\xff -";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string header = TraceContext::new_trace().to_traceparent();
    for (int n = static_cast<int>(rng() % 3); n > 0; --n)
      header[rng() % header.size()] = odd[rng() % odd.size()];
    auto ours = parse_traceparent(header);
    auto reference = reference_parse(header);
    ASSERT_EQ(ours.has_value(), reference.has_value()) << header;
    if (ours) {
      EXPECT_EQ(*ours, *reference) << header;
      ++accepted;
    }
  }
  EXPECT_GT(accepted, 2000);
}

}  // namespace
}  // namespace actr

namespace actr {
namespace {

TEST(Trace, WritesEveryByteValueAsTwoLowercaseDigits) {
  TraceContext trace;
  for (int base = 0; base < 256; base += 24) {
    for (int i = 0; i < 16; ++i) trace.trace_id[i] = static_cast<std::uint8_t>(base + i);
    for (int i = 0; i < 8; ++i) trace.span_id[i] = static_cast<std::uint8_t>(255 - base - i);
    std::string expected = "00-";
    auto hex = [&](std::uint8_t b) { expected += fmt::format("{:02x}", b); };
    for (auto b : trace.trace_id) hex(b);
    expected += '-';
    for (auto b : trace.span_id) hex(b);
    expected += "-01";
    EXPECT_EQ(trace.to_traceparent(), expected);
  }
}

}  // namespace
}  // namespace actr
