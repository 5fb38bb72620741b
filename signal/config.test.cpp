#include "config.hpp"

#include <gtest/gtest.h>

namespace actr::signal {

TEST(Config, TomlOverridesDefaults) {
  Config c;
  auto r = apply_toml(c, R"(
listen = "0.0.0.0:9000"
[[realm]]
id = 4
secret = "s"
[heartbeat]
interval_secs = 5
[limits]
message_burst = 1000
)");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 9000);
  ASSERT_EQ(c.realms.size(), 1u);
  EXPECT_EQ(c.realms[0].id, 4u);
  EXPECT_EQ(c.heartbeat_interval_secs, 5u);
  EXPECT_EQ(c.limits.message_burst, 1000);
  EXPECT_EQ(c.limits.max_frame_bytes, 64u * 1024);
}

TEST(Config, ClearErrors) {
  Config c;
  EXPECT_FALSE(apply_toml(c, "unknown = 1"));
  EXPECT_FALSE(apply_toml(c, "[heartbeat]\ninterval_secs = -1"));
  EXPECT_FALSE(apply_toml(c, "listen = "));
  EXPECT_FALSE(parse_realm_seed("x=y"));
  EXPECT_FALSE(parse_realm_seed("1="));
  EXPECT_TRUE(parse_realm_seed("1=abc"));
  EXPECT_FALSE(parse_listen(c, "127.0.0.1:99999"));
}

}  // namespace actr::signal
