// Relay of ICE candidates, session descriptions and ICE restarts; role negotiation.
#include <gtest/gtest.h>

#include "actr/protocol/ids.hpp"
#include "harness.hpp"

namespace actr::signal::test {
namespace {

using signaling::ActrRelay;
using signaling::SignalingEnvelope;

TEST(Relay, ForwardsToTargetsCurrentConnection) {
  ServerProcess server;
  auto a = register_ok(server.port, server.dev_secret, make_register(1, "acme", "caller"));
  auto b = register_ok(server.port, server.dev_secret, make_register(1, "acme", "callee"));
  auto ca = WsClient::connect(server.port, a);
  auto cb = WsClient::connect(server.port, b);
  ASSERT_TRUE(ca && cb);
  auto is_relay = [](const SignalingEnvelope& e) { return e.has_actr_relay(); };
  ASSERT_TRUE(ca->send(ca->relay(b.actr_id(), [](ActrRelay& r) {
    r.mutable_session_description()->set_type(webrtc::SessionDescription::OFFER);
    r.mutable_session_description()->set_sdp("v=0");
    r.mutable_session_description()->set_sdp_exchange_id("x1");
  })));
  for (int i = 0; i < 20; ++i) {  // an ICE trickle
    ASSERT_TRUE(ca->send(ca->relay(b.actr_id(), [&](ActrRelay& r) {
      r.mutable_ice_candidate()->set_candidate("candidate:" + std::to_string(i));
    })));
  }
  ASSERT_TRUE(ca->send(
      ca->relay(b.actr_id(), [](ActrRelay& r) { r.mutable_ice_restart_request()->set_reason("x"); })));
  auto sdp = cb->wait_for(is_relay);
  ASSERT_TRUE(sdp);
  EXPECT_EQ(sdp->actr_relay().session_description().sdp(), "v=0");
  EXPECT_TRUE(sdp->actr_relay().source() == a.actr_id());
  for (int i = 0; i < 20; ++i) {
    auto ice = cb->wait_for(is_relay);
    ASSERT_TRUE(ice);
    EXPECT_EQ(ice->actr_relay().ice_candidate().candidate(), "candidate:" + std::to_string(i));  // in order
  }
  auto restart = cb->wait_for(is_relay);
  ASSERT_TRUE(restart && restart->actr_relay().has_ice_restart_request());
  // Reply path works the other way too.
  ASSERT_TRUE(cb->send(cb->relay(a.actr_id(), [](ActrRelay& r) {
    r.mutable_session_description()->set_type(webrtc::SessionDescription::ANSWER);
    r.mutable_session_description()->set_sdp("v=0 answer");
  })));
  auto answer = ca->wait_for(is_relay);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->actr_relay().session_description().type(), webrtc::SessionDescription::ANSWER);
}

TEST(Relay, ErrorsForOfflineAndForbiddenTargets) {
  ServerProcess server;
  auto a = register_ok(server.port, server.dev_secret, make_register(1, "acme", "caller"));
  auto offline = register_ok(server.port, server.dev_secret, make_register(1, "acme", "callee"));
  auto guarded_req = make_register(1, "acme", "vault");
  auto* rule = guarded_req.mutable_acl()->add_rules();
  rule->set_permission(AclRule::ALLOW);
  *rule->mutable_from_type() = make_actr_type("acme", "admin", "1.0.0");
  auto guarded = register_ok(server.port, server.dev_secret, guarded_req);
  auto ca = WsClient::connect(server.port, a);
  auto cg = WsClient::connect(server.port, guarded);
  ASSERT_TRUE(ca && cg);
  auto ice = [](ActrRelay& r) { r.mutable_ice_candidate()->set_candidate("c"); };
  auto r = ca->request(ca->relay(offline.actr_id(), ice));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->server_to_actr().error().code(), 10001u);  // registered, no signaling connection
  auto unknown = offline.actr_id();
  unknown.set_serial_number(999999);
  r = ca->request(ca->relay(unknown, ice));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->server_to_actr().error().code(), 10003u);
  r = ca->request(ca->relay(guarded.actr_id(), ice));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->server_to_actr().error().code(), 10004u);
}

TEST(Relay, RoleNegotiationAssignsBothSidesDeterministically) {
  ServerProcess server;
  auto a = register_ok(server.port, server.dev_secret, make_register(1, "acme", "caller"));
  auto b = register_ok(server.port, server.dev_secret, make_register(1, "acme", "callee"));
  ASSERT_LT(a.actr_id().serial_number(), b.actr_id().serial_number());
  auto ca = WsClient::connect(server.port, a);
  auto cb = WsClient::connect(server.port, b);
  ASSERT_TRUE(ca && cb);
  auto is_assignment = [](const SignalingEnvelope& e) { return e.actr_relay().has_role_assignment(); };
  for (auto* asker : {cb.get(), ca.get()}) {  // whoever asks, the smaller serial offers
    auto* other = asker == ca.get() ? cb.get() : ca.get();
    auto neg = asker->relay(other->id, [&](ActrRelay& r) {
      *r.mutable_role_negotiation()->mutable_from() = asker->id;
      *r.mutable_role_negotiation()->mutable_to() = other->id;
      r.mutable_role_negotiation()->set_realm_id(1);
    });
    auto mine = asker->request(neg);
    ASSERT_TRUE(mine && is_assignment(*mine));
    auto theirs = other->wait_for(is_assignment);
    ASSERT_TRUE(theirs);
    EXPECT_EQ(mine->actr_relay().role_assignment().is_offerer(), asker == ca.get());
    EXPECT_EQ(theirs->actr_relay().role_assignment().is_offerer(), other == ca.get());
    EXPECT_TRUE(mine->actr_relay().source() == other->id);
    EXPECT_TRUE(theirs->actr_relay().source() == asker->id);
  }
}

}  // namespace
}  // namespace actr::signal::test
