// Process lifecycle: flags, restart persistence, key rotation, SIGTERM.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "actr/protocol/ids.hpp"
#include "harness.hpp"

namespace actr::signal::test {
namespace {

using signaling::ActrToSignaling;
using signaling::SignalingEnvelope;

TEST(Lifecycle, BadFlagsAndConfigExitWith2) {
  auto [code, err] = run_to_exit({"--bogus"});
  EXPECT_EQ(code, 2);
  EXPECT_FALSE(err.empty());
  std::tie(code, err) = run_to_exit({"--realm", "notanumber=x"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("realm"), std::string::npos);
  std::tie(code, err) = run_to_exit({"--listen", "nope"});
  EXPECT_EQ(code, 2);
  auto cfg = std::filesystem::temp_directory_path() / "actr-signal-bad.toml";
  std::ofstream(cfg) << "[limits]\nmax_frame_bytes = \"big\"\n";
  std::tie(code, err) = run_to_exit({"--config", cfg.string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("max_frame_bytes"), std::string::npos);
  std::ofstream(cfg) << "nonsense_key = 1\n";
  std::tie(code, err) = run_to_exit({"--config", cfg.string()});
  EXPECT_EQ(code, 2);
  std::filesystem::remove(cfg);
}

TEST(Lifecycle, RestartKeepsKeysRealmsSerialsAndRegistrations) {
  ServerProcess server({.args = {"--realm", "3=secret3"}});
  auto before = register_ok(server.port, "secret3", make_register(3, "acme", "echo"));
  server.restart();
  auto after = register_ok(server.port, "secret3", make_register(3, "acme", "echo"));
  EXPECT_EQ(after.signing_key_id(), before.signing_key_id());
  EXPECT_EQ(after.signing_pubkey(), before.signing_pubkey());
  EXPECT_GT(after.actr_id().serial_number(), before.actr_id().serial_number());
  // The earlier registration survives: its credential opens a socket, its token renews.
  auto c = WsClient::connect(server.port, before);
  ASSERT_NE(c, nullptr);
  RenewCredentialRequest renew;
  *renew.mutable_actr_id() = before.actr_id();
  renew.set_renewal_token(before.renewal_token());
  EXPECT_EQ(http(server.port, "POST", "/ais/renew", renew.SerializeAsString()).status, 200u);
}

TEST(Lifecycle, KeyRotationToleranceAndWarning) {
  ServerProcess server({.args = {"--admin-token", "adm"}});
  auto ok = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto rotated = http(server.port, "POST", "/admin/keys/rotate", "", {{"x-actrix-admin-token", "adm"}});
  ASSERT_EQ(rotated.status, 200u);
  auto fresh = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  EXPECT_EQ(fresh.signing_key_id(), ok.signing_key_id() + 1);
  EXPECT_NE(fresh.signing_pubkey(), ok.signing_pubkey());
  auto c = WsClient::connect(server.port, ok);  // old key: still in its tolerance period
  ASSERT_NE(c, nullptr);
  auto pong = c->request(c->actr([](ActrToSignaling& m) {
    m.mutable_ping()->set_availability(FULL);
    m.mutable_ping()->set_power_reserve(1);
    m.mutable_ping()->set_mailbox_backlog(0);
  }));
  ASSERT_TRUE(pong);
  ASSERT_TRUE(pong->server_to_actr().pong().has_credential_warning());
  EXPECT_EQ(pong->server_to_actr().pong().credential_warning().type(),
            CredentialWarning::KEY_IN_TOLERANCE_PERIOD);
  auto old_key = c->request(c->actr(
      [&](ActrToSignaling& m) { m.mutable_get_signing_key_request()->set_key_id(ok.signing_key_id()); }));
  EXPECT_EQ(old_key->server_to_actr().get_signing_key_response().pubkey(), ok.signing_pubkey());
  // Restart: both keys are still known.
  server.restart();
  EXPECT_NE(WsClient::connect(server.port, ok), nullptr);
  EXPECT_EQ(register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo")).signing_key_id(),
            fresh.signing_key_id());
}

TEST(Lifecycle, SigtermClosesSocketsAndExitsZero) {
  ServerProcess server;
  auto ok = register_ok(server.port, server.dev_secret, make_register(1, "acme", "echo"));
  auto c = WsClient::connect(server.port, ok);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->request(c->actr([](ActrToSignaling& m) {
    m.mutable_ping()->set_availability(FULL);
    m.mutable_ping()->set_power_reserve(1);
    m.mutable_ping()->set_mailbox_backlog(0);
  })));
  std::optional<WsClient::Closed> closed;
  std::thread waiter([&] { closed = c->wait_closed(10s); });
  int code = server.stop(SIGTERM);
  waiter.join();
  EXPECT_EQ(code, 0);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1001);  // going away
}

}  // namespace
}  // namespace actr::signal::test
