// Limits and bad input: over a limit or malformed, one client gets a clear error and the server
// keeps serving everyone else.
#include <gtest/gtest.h>

#include "actr/protocol/ids.hpp"
#include "harness.hpp"

namespace actr::signal::test {
namespace {

using signaling::ActrToSignaling;
using signaling::SignalingEnvelope;

SignalingEnvelope ping_env(WsClient& c) {
  return c.actr([](ActrToSignaling& m) {
    m.mutable_ping()->set_availability(FULL);
    m.mutable_ping()->set_power_reserve(1);
    m.mutable_ping()->set_mailbox_backlog(0);
  });
}

TEST(Limits, MessageRateLimitedPerConnection) {
  ServerProcess server({.toml = "[limits]\nmessages_per_second = 1\nmessage_burst = 30\n"});
  auto a = register_ok(server.port, server.dev_secret, make_register(1, "acme", "flood"));
  auto b = register_ok(server.port, server.dev_secret, make_register(1, "acme", "calm"));
  auto ca = WsClient::connect(server.port, a);
  auto cb = WsClient::connect(server.port, b);
  ASSERT_TRUE(ca && cb);
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    auto env = ping_env(*ca);
    ids.push_back(env.envelope_id());
    ASSERT_TRUE(ca->send(env));
  }
  int pongs = 0, limited = 0;
  for (auto& id : ids) {
    auto r = ca->wait_for([&](const SignalingEnvelope& e) { return e.reply_for() == id; });
    ASSERT_TRUE(r);
    if (r->server_to_actr().has_pong()) ++pongs;
    if (r->server_to_actr().has_error()) {
      EXPECT_EQ(r->server_to_actr().error().code(), 10001u);
      EXPECT_NE(r->server_to_actr().error().message().find("rate limited"), std::string::npos);
      ++limited;
    }
  }
  EXPECT_GE(pongs, 30);  // the burst is served
  EXPECT_GE(limited, 1);
  EXPECT_EQ(pongs + limited, 40);
  auto other = cb->request(ping_env(*cb));
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->server_to_actr().has_pong());
}

TEST(Limits, ConnectionsPerIpPerMinute) {
  ServerProcess server({.toml = "[limits]\nconnections_per_ip_per_minute = 5\n"});
  unsigned last = 0;
  int ok = 0;
  for (int i = 0; i < 8; ++i) {
    last = http(server.port, "GET", "/health", "").status;
    if (last == 200) ++ok;
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(last, 429u);
}

TEST(Limits, MalformedAndOversizedFrames) {
  ServerProcess server({.toml = "[limits]\nmax_frame_bytes = 4096\n"});
  auto a = register_ok(server.port, server.dev_secret, make_register(1, "acme", "bad"));
  auto b = register_ok(server.port, server.dev_secret, make_register(1, "acme", "good"));
  auto ca = WsClient::connect(server.port, a);
  auto cb = WsClient::connect(server.port, b);
  ASSERT_TRUE(ca && cb);
  ASSERT_TRUE(ca->send_raw("\x0a\xff\xff not a protobuf"));
  auto err = ca->wait_for([](const SignalingEnvelope& e) { return e.has_envelope_error(); });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->envelope_error().code(), 10008u);
  ASSERT_TRUE(ca->send_raw("hello", false));  // text frame
  err = ca->wait_for([](const SignalingEnvelope& e) { return e.has_envelope_error(); });
  ASSERT_TRUE(err);
  // Missing required fields: decodes as nothing useful, still a clear error.
  SignalingEnvelope partial;
  partial.set_envelope_version(2);
  ASSERT_TRUE(ca->send_raw(partial.SerializePartialAsString()));
  ASSERT_TRUE(ca->wait_for([](const SignalingEnvelope& e) { return e.has_envelope_error(); }));
  // Wrong version.
  auto v1 = ping_env(*ca);
  v1.set_envelope_version(1);
  auto r = ca->request(v1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->server_to_actr().error().code(), 10005u);
  EXPECT_TRUE(ca->request(ping_env(*ca))->server_to_actr().has_pong());  // the connection survived
  // Oversized: closed with 1009 (message too big).
  ASSERT_TRUE(ca->send_raw(std::string(8192, 'x')));
  auto closed = ca->wait_closed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1009) << closed->reason;
  auto other = cb->request(ping_env(*cb));
  ASSERT_TRUE(other && other->server_to_actr().has_pong());
  // Oversized HTTP bodies are refused too.
  EXPECT_EQ(http(server.port, "POST", "/ais/register", std::string(100 * 1024, 'x'),
                 {{"x-actrix-realm-secret", server.dev_secret}})
                .status,
            413u);
  EXPECT_EQ(http(server.port, "GET", "/health", "").status, 200u);
}

}  // namespace
}  // namespace actr::signal::test
