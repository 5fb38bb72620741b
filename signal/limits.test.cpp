#include "limits.hpp"

#include <gtest/gtest.h>

namespace actr::signal {

TEST(TokenBucket, BurstThenRate) {
  TokenBucket b(10, 5, 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.take(0));
  EXPECT_FALSE(b.take(0));
  EXPECT_FALSE(b.take(50));  // half a token
  EXPECT_TRUE(b.take(100));
  EXPECT_FALSE(b.take(100));
  EXPECT_TRUE(b.take(10'000));  // refills, capped at the burst
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(b.take(10'000));
  EXPECT_FALSE(b.take(10'000));
}

TEST(PerIpLimiter, SeparateBucketsAndSweep) {
  PerIpLimiter l(1, 2);
  EXPECT_TRUE(l.allow("a", 0));
  EXPECT_TRUE(l.allow("a", 0));
  EXPECT_FALSE(l.allow("a", 0));
  EXPECT_TRUE(l.allow("b", 0));
  l.sweep(60'000);
  EXPECT_EQ(l.size(), 0u);
}

}  // namespace actr::signal
