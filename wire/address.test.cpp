#include "address.hpp"

#include <gtest/gtest.h>

namespace actr::wire::detail {

TEST(WsAddress, ParsesHostPortAndPath) {
  auto a = parse_ws_address("ws://127.0.0.1:9100");
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9100);
  EXPECT_EQ(a->target, "/");
  EXPECT_EQ(a->host_header, "127.0.0.1:9100");
  auto b = parse_ws_address("ws://node.example:80/actr?x=1");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "node.example");
  EXPECT_EQ(b->target, "/actr?x=1");
  auto c = parse_ws_address("ws://[::1]:9100/p");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 9100);
  EXPECT_EQ(c->host_header, "[::1]:9100");
  auto d = parse_ws_address("ws://localhost");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->port, 80);
}

TEST(WsAddress, RejectsMalformedAddresses) {
  for (auto text : {"", "127.0.0.1:9100", "http://127.0.0.1:1", "ws://", "ws://:9100", "ws://h:", "ws://h:0",
                    "ws://h:65536", "ws://h:12x", "ws://[::1", "ws://[::1]x", "ws://a b:1"}) {
    auto parsed = parse_ws_address(text);
    EXPECT_FALSE(parsed) << text;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::InvalidArgument);
    }
  }
  auto tls = parse_ws_address("wss://h:1");
  ASSERT_FALSE(tls);
  EXPECT_NE(tls.error().message.find("wss:// is not supported"), std::string::npos);
}

}  // namespace actr::wire::detail
