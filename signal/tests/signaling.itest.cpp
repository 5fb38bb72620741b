// The signaling WebSocket: credential checks, heartbeats, displacement, unregister.
#include <gtest/gtest.h>

#include <thread>

#include "actr/protocol/ids.hpp"
#include "harness.hpp"

namespace actr::signal::test {
namespace {

using signaling::ActrToSignaling;
using signaling::SignalingEnvelope;

std::optional<SignalingEnvelope> ping(WsClient& c) {
  return c.request(c.actr([](ActrToSignaling& m) {
    m.mutable_ping()->set_availability(FULL);
    m.mutable_ping()->set_power_reserve(0.5F);
    m.mutable_ping()->set_mailbox_backlog(0.0F);
  }));
}

TEST(Signaling, PingPongWithReplyFor) {
  ServerProcess server;
  auto ok = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto c = WsClient::connect(server.port, ok);
  ASSERT_NE(c, nullptr);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    auto env = ping(*c);
    ASSERT_TRUE(env);
    EXPECT_EQ(env->envelope_version(), 2u);
    EXPECT_FALSE(env->envelope_id().empty());
    ASSERT_TRUE(env->server_to_actr().has_pong());
    EXPECT_EQ(env->server_to_actr().pong().seq(), seq);
    EXPECT_FALSE(env->server_to_actr().pong().has_credential_warning());
    EXPECT_TRUE(env->server_to_actr().target() == ok.actr_id());
  }
  // GetSigningKey answers over the socket.
  auto key = c->request(c->actr(
      [&](ActrToSignaling& m) { m.mutable_get_signing_key_request()->set_key_id(ok.signing_key_id()); }));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->server_to_actr().get_signing_key_response().pubkey(), ok.signing_pubkey());
  auto missing =
      c->request(c->actr([](ActrToSignaling& m) { m.mutable_get_signing_key_request()->set_key_id(99); }));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->server_to_actr().error().code(), 10003u);
}

TEST(Signaling, UpgradeRefusesBadCredentials) {
  ServerProcess server;
  auto a = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto b = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  unsigned status = 0;
  // Forged signature.
  auto forged = a;
  auto sig = forged.credential().signature();
  sig[0] = static_cast<char>(sig[0] ^ 1);
  forged.mutable_credential()->set_signature(sig);
  EXPECT_EQ(WsClient::connect(server.port, forged, &status), nullptr);
  EXPECT_EQ(status, 401u);
  // Claims of A presented as B.
  auto swapped = a;
  *swapped.mutable_actr_id() = b.actr_id();
  EXPECT_EQ(WsClient::connect(server.port, swapped, &status), nullptr);
  EXPECT_EQ(status, 401u);
  // No credential at all.
  EXPECT_EQ(WsClient::connect_target(server.port, "/signaling/ws", &status), nullptr);
  EXPECT_EQ(status, 401u);
  EXPECT_NE(WsClient::connect(server.port, a), nullptr);
  EXPECT_EQ(http(server.port, "GET", "/metrics", "").body.find("actr_signal_auth_failures_total 0"),
            std::string::npos);
}

TEST(Signaling, ExpiredCredentialRefused) {
  ServerProcess server({.toml = "[identity]\ncredential_ttl_secs = 1\n"});
  auto ok = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto c = WsClient::connect(server.port, ok);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(ping(*c));
  std::this_thread::sleep_for(2100ms);  // the credential's own clock: unix seconds
  auto env = ping(*c);
  ASSERT_TRUE(env);
  EXPECT_EQ(env->server_to_actr().error().code(), 10004u);
  EXPECT_NE(env->server_to_actr().error().message().find("expired"), std::string::npos);
  unsigned status = 0;
  EXPECT_EQ(WsClient::connect(server.port, ok, &status), nullptr);
  EXPECT_EQ(status, 401u);
}

TEST(Signaling, EnvelopeCredentialAndSourceChecked) {
  ServerProcess server;
  auto a = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto b = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto c = WsClient::connect(server.port, a);
  ASSERT_NE(c, nullptr);
  // Source B on A's connection, with B's valid credential.
  auto env = c->actr([](ActrToSignaling& m) { m.mutable_ping()->set_availability(FULL); });
  env.mutable_actr_to_server()->mutable_ping()->set_power_reserve(1);
  env.mutable_actr_to_server()->mutable_ping()->set_mailbox_backlog(0);
  *env.mutable_actr_to_server()->mutable_source() = b.actr_id();
  *env.mutable_actr_to_server()->mutable_credential() = b.credential();
  auto r = c->request(env);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->server_to_actr().error().code(), 10004u);
  EXPECT_EQ(r->reply_for(), env.envelope_id());
  // A's source with B's credential: claims do not match.
  *env.mutable_actr_to_server()->mutable_source() = a.actr_id();
  env.set_envelope_id("mismatch");
  r = c->request(env);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->server_to_actr().error().code(), 10004u);
  // A forged signature in the envelope.
  auto cred = a.credential();
  auto sig = cred.signature();
  sig[5] = static_cast<char>(sig[5] ^ 0x40);
  cred.set_signature(sig);
  *env.mutable_actr_to_server()->mutable_credential() = cred;
  env.set_envelope_id("forged");
  r = c->request(env);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->server_to_actr().error().code(), 10004u);
  EXPECT_TRUE(ping(*c)->server_to_actr().has_pong());  // still serving
}

TEST(Signaling, NewerConnectionDisplacesOlder) {
  ServerProcess server;
  auto a = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto b = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto old_conn = WsClient::connect(server.port, a);
  auto peer = WsClient::connect(server.port, b);
  ASSERT_TRUE(old_conn && peer);
  ASSERT_TRUE(ping(*old_conn));
  auto new_conn = WsClient::connect(server.port, a);
  ASSERT_NE(new_conn, nullptr);
  auto closed = old_conn->wait_closed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 4000);
  // The old connection cannot relay any more; the new one can.
  auto sent = new_conn->relay(b.actr_id(), [](signaling::ActrRelay& r) {
    r.mutable_ice_candidate()->set_candidate("candidate:1 1 udp 1 127.0.0.1 9 typ host");
  });
  ASSERT_TRUE(new_conn->send(sent));
  auto got = peer->wait_for([](const SignalingEnvelope& e) { return e.has_actr_relay(); });
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->actr_relay().source() == a.actr_id());
  EXPECT_TRUE(ping(*new_conn)->server_to_actr().has_pong());
}

TEST(Signaling, HeartbeatExpiryRemovesActor) {
  ServerProcess server({.toml = "[heartbeat]\ninterval_secs = 1\nmiss_limit = 2\n"});
  auto a = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto b = register_ok(server.port, server.dev_secret, make_register(1, "acme", "client"));
  EXPECT_EQ(a.signaling_heartbeat_interval_secs(), 1u);
  auto ca = WsClient::connect(server.port, a);
  auto cb = WsClient::connect(server.port, b);
  ASSERT_TRUE(ca && cb);
  auto route = [&] {
    auto r = cb->request(cb->actr([&](ActrToSignaling& m) {
      *m.mutable_route_candidates_request()->mutable_target_type() = a.actr_id().type();
      m.mutable_route_candidates_request()->set_client_fingerprint("");
      m.mutable_route_candidates_request()->mutable_criteria()->set_candidate_count(5);
    }));
    return r ? r->server_to_actr().route_candidates_response().success().candidates_size() : -1;
  };
  EXPECT_EQ(route(), 1);
  // A stays silent: after 2 missed intervals the server closes it and forgets its presence.
  auto closed = ca->wait_closed(10s);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 4001);
  // B may itself have been silent long enough; reconnect it to ask.
  cb = WsClient::connect(server.port, b);
  ASSERT_NE(cb, nullptr);
  EXPECT_EQ(route(), 0);
  EXPECT_NE(http(server.port, "GET", "/metrics", "").body.find("actr_signal_heartbeat_expiries_total"),
            std::string::npos);
}

TEST(Signaling, UnregisterRemovesAtOnce) {
  ServerProcess server;
  auto a = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto b = register_ok(server.port, server.dev_secret, make_register(1, "acme", "client"));
  auto ca = WsClient::connect(server.port, a);
  auto cb = WsClient::connect(server.port, b);
  ASSERT_TRUE(ca && cb);
  auto r = ca->request(ca->actr([&](ActrToSignaling& m) {
    *m.mutable_unregister_request()->mutable_actr_id() = a.actr_id();
    m.mutable_unregister_request()->set_reason("done");
  }));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->server_to_actr().unregister_response().has_success());
  auto closed = ca->wait_closed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 4002);
  auto route = cb->request(cb->actr([&](ActrToSignaling& m) {
    *m.mutable_route_candidates_request()->mutable_target_type() = a.actr_id().type();
    m.mutable_route_candidates_request()->set_client_fingerprint("");
  }));
  ASSERT_TRUE(route);
  EXPECT_EQ(route->server_to_actr().route_candidates_response().success().candidates_size(), 0);
  unsigned status = 0;
  EXPECT_EQ(WsClient::connect(server.port, a, &status), nullptr);  // its credential no longer opens a socket
  EXPECT_EQ(status, 401u);
}

}  // namespace
}  // namespace actr::signal::test
