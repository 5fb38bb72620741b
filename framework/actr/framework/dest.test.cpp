#include "actr/framework/dest.hpp"

#include <gtest/gtest.h>

namespace actr {

TEST(Dest, KindsAndTextForms) {
  EXPECT_TRUE(Dest::shell().is_shell());
  EXPECT_TRUE(Dest::local().is_local());
  auto id = make_actr_id(1, 0x2a, make_actr_type("acme", "echo", "v1"));
  auto dest = Dest::actor(id);
  ASSERT_TRUE(dest.is_actor());
  EXPECT_EQ(dest.actor_id(), id);
  EXPECT_EQ(dest.to_string(), "2a@1/acme:echo:v1");
  EXPECT_EQ(Dest::shell().to_string(), "shell");
  Dest copy = dest;
  EXPECT_EQ(copy.actor_id(), id);
}

}  // namespace actr
