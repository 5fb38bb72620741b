#include "actr/framework/workload.hpp"

#include <gtest/gtest.h>

namespace actr {

TEST(SchedulingPolicy, DefaultIsSerial) {
  SchedulingPolicy policy;
  EXPECT_TRUE(policy.empty());
  EXPECT_EQ(policy.find("a.B.C"), nullptr);
  EXPECT_EQ(policy.max_in_flight(), 8u);
}

TEST(SchedulingPolicy, RulesByCallerAndField) {
  SchedulingPolicy policy;
  policy.key_by_caller("a.S.M").key_by_field("a.S.N", "account").budget(0);
  ASSERT_NE(policy.find("a.S.M"), nullptr);
  EXPECT_EQ(policy.find("a.S.M")->source, SchedulingPolicy::Rule::Source::Caller);
  ASSERT_NE(policy.find(std::string_view("a.S.N")), nullptr);
  EXPECT_EQ(policy.find("a.S.N")->field, "account");
  EXPECT_EQ(policy.max_in_flight(), 1u);  // a budget of 0 would stall: clamp to 1
}

}  // namespace actr
