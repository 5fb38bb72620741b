// AIS over HTTP: register, renew, secrets, realms, and the credentials it issues.
#include <gtest/gtest.h>
#include <sodium.h>

#include "actr/protocol/ids.hpp"
#include "harness.hpp"

namespace actr::signal::test {
namespace {

const std::vector<std::pair<std::string, std::string>> kAdmin{{"x-actrix-admin-token", "adm"}};

TEST(Ais, HealthAndMetrics) {
  ServerProcess server;
  EXPECT_EQ(http(server.port, "GET", "/health", "").status, 200u);
  auto metrics = http(server.port, "GET", "/metrics", "");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_NE(metrics.body.find("actr_signal_registrations_total 0"), std::string::npos);
  EXPECT_NE(metrics.body.find("actr_signal_connected_actors"), std::string::npos);
  EXPECT_FALSE(server.dev_secret.empty());
}

TEST(Ais, RegisterIssuesVerifiableCredential) {
  ServerProcess server;
  auto req = make_register(1, "acme", "echo");
  auto ok = register_ok(server.port, server.dev_secret, req);
  EXPECT_EQ(ok.actr_id().realm().realm_id(), 1u);
  EXPECT_TRUE(ok.actr_id().type() == req.actr_type());
  ASSERT_EQ(ok.signing_pubkey().size(), 32u);
  EXPECT_EQ(ok.credential().key_id(), ok.signing_key_id());
  ASSERT_EQ(ok.credential().signature().size(), 64u);
  EXPECT_EQ(
      crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(ok.credential().signature().data()),
                                  reinterpret_cast<const unsigned char*>(ok.credential().claims().data()),
                                  ok.credential().claims().size(),
                                  reinterpret_cast<const unsigned char*>(ok.signing_pubkey().data())),
      0);
  IdentityClaims claims;
  ASSERT_TRUE(claims.ParseFromString(ok.credential().claims()));
  EXPECT_EQ(claims.actor_id(), to_string(ok.actr_id()));
  EXPECT_EQ(claims.realm_id(), 1u);
  auto now = static_cast<std::uint64_t>(std::time(nullptr));
  EXPECT_GT(claims.expires_at(), now + 3500);  // default TTL 1 h
  EXPECT_LE(claims.expires_at(), now + 3601);
  EXPECT_EQ(ok.turn_credential().username(),
            std::to_string(ok.turn_credential().expires_at()) + ":" + to_string(ok.actr_id()));
  EXPECT_FALSE(ok.turn_credential().password().empty());
  EXPECT_EQ(ok.signaling_heartbeat_interval_secs(), 30u);
  EXPECT_EQ(ok.renewal_token().size(), 32u);
  auto second = register_ok(server.port, server.dev_secret, req);
  EXPECT_NE(second.actr_id().serial_number(), ok.actr_id().serial_number());
}

TEST(Ais, WrongSecretUnknownAndDisabledRealm) {
  ServerProcess server({.args = {"--admin-token", "adm", "--realm", "1=s1", "--realm", "2=s2"}});
  unsigned status = 0;
  auto res = register_any(server.port, "nope", make_register(1, "acme", "echo"), &status);
  EXPECT_EQ(status, 401u);
  ASSERT_TRUE(res.has_error());
  EXPECT_EQ(res.error().code(), 10004u);
  res = register_any(server.port, "s1", make_register(9, "acme", "echo"), &status);
  EXPECT_EQ(status, 403u);
  register_ok(server.port, "s2", make_register(2, "acme", "echo"));
  EXPECT_EQ(http(server.port, "POST", "/admin/realms/disable?id=2", "", kAdmin).status, 200u);
  res = register_any(server.port, "s2", make_register(2, "acme", "echo"), &status);
  EXPECT_EQ(status, 403u);
  EXPECT_EQ(
      http(server.port, "POST", "/admin/realms/disable?id=2", "", {{"x-actrix-admin-token", "x"}}).status,
      401u);
  // Bad type names and undecodable bodies are clear errors.
  res = register_any(server.port, "s1", make_register(1, "9bad", "echo"), &status);
  EXPECT_EQ(status, 200u);
  EXPECT_EQ(res.error().code(), 10005u);
  auto raw =
      http(server.port, "POST", "/ais/register", "\xff\xff garbage", {{"x-actrix-realm-secret", "s1"}});
  EXPECT_EQ(raw.status, 400u);
}

TEST(Ais, RealmAdminCreateAndRotateSecret) {
  ServerProcess server({.args = {"--admin-token", "adm"}});
  EXPECT_EQ(http(server.port, "POST", "/admin/realms/create?id=7&secret=old", "", kAdmin).status, 200u);
  register_ok(server.port, "old", make_register(7, "acme", "echo"));
  EXPECT_EQ(http(server.port, "POST", "/admin/realms/rotate-secret?id=7&secret=new", "", kAdmin).status,
            200u);
  register_ok(server.port, "new", make_register(7, "acme", "echo"));
  register_ok(server.port, "old", make_register(7, "acme", "echo"));  // previous secret: grace window
  unsigned status = 0;
  register_any(server.port, "other", make_register(7, "acme", "echo"), &status);
  EXPECT_EQ(status, 401u);
  auto list = http(server.port, "GET", "/admin/realms", "", kAdmin);
  EXPECT_NE(list.body.find("\"id\":7"), std::string::npos);
  EXPECT_EQ(list.body.find("new"), std::string::npos);  // secrets never listed
}

TEST(Ais, RenewRotatesTokenAndRetryGetsSameAnswer) {
  ServerProcess server;
  auto ok = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  RenewCredentialRequest renew;
  *renew.mutable_actr_id() = ok.actr_id();
  renew.set_renewal_token(ok.renewal_token());
  auto first = http(server.port, "POST", "/ais/renew", renew.SerializeAsString());
  ASSERT_EQ(first.status, 200u);
  RenewCredentialResponse r1;
  ASSERT_TRUE(r1.ParseFromString(first.body));
  ASSERT_TRUE(r1.has_success()) << r1.error().message();
  EXPECT_TRUE(r1.success().actr_id() == ok.actr_id());
  EXPECT_NE(r1.success().renewal_token(), ok.renewal_token());
  auto retry = http(server.port, "POST", "/ais/renew", renew.SerializeAsString());
  EXPECT_EQ(retry.status, 200u);
  EXPECT_EQ(retry.body, first.body);
  // The rotated token works once; a made-up one does not.
  renew.set_renewal_token(r1.success().renewal_token());
  auto second = http(server.port, "POST", "/ais/renew", renew.SerializeAsString());
  EXPECT_EQ(second.status, 200u);
  renew.set_renewal_token(std::string(32, 'x'));
  auto bad = http(server.port, "POST", "/ais/renew", renew.SerializeAsString());
  EXPECT_EQ(bad.status, 401u);
  RenewCredentialResponse rb;
  ASSERT_TRUE(rb.ParseFromString(bad.body));
  EXPECT_EQ(rb.error().code(), 10004u);
  // A renewed credential opens the signaling socket.
  RenewCredentialResponse r2;
  ASSERT_TRUE(r2.ParseFromString(second.body));
  EXPECT_NE(WsClient::connect(server.port, r2.success()), nullptr);
}

}  // namespace
}  // namespace actr::signal::test
