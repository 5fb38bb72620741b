#include "actr/config/node_file.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>

#include "actr/protocol/ids.hpp"

namespace {

using actr::config::NodeFile;
using actr::config::parse_node_file;

// An environment with exactly these variables.
actr::config::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const actr::config::EnvLookup kNoEnv = env_of({});

constexpr const char* kMinimal = R"(
[signaling]
url = "ws://127.0.0.1:8081/signaling/ws"

[realm]
id = 1
secret = "s3cret"
)";

std::string error_of(std::string_view text, const actr::config::EnvLookup& env = kNoEnv) {
  auto file = parse_node_file(text, "actr.toml", env);
  EXPECT_FALSE(file) << "parsed unexpectedly:\n" << text;
  if (file) return "";
  EXPECT_EQ(file.error().code, actr::ErrorCode::InvalidArgument);
  return file.error().message;
}

TEST(NodeFile, MinimalWithDefaults) {
  auto file = parse_node_file(kMinimal, "actr.toml", kNoEnv);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->signaling_url, "ws://127.0.0.1:8081/signaling/ws");
  EXPECT_EQ(file->ais_url, "http://127.0.0.1:8081/ais");
  EXPECT_EQ(file->realm_id, 1u);
  EXPECT_EQ(file->realm_secret, "s3cret");
  EXPECT_TRUE(file->realm_secret_env.empty());
  EXPECT_FALSE(file->websocket);
  EXPECT_FALSE(file->heartbeat_interval_secs);
  EXPECT_FALSE(file->idle_spin_us);
  EXPECT_FALSE(file->tune_allocator);
  EXPECT_FALSE(file->duplicate_filter.requests);
  EXPECT_FALSE(file->duplicate_filter.answers_mib);
  EXPECT_FALSE(file->duplicate_filter.answer_max_kib);
  EXPECT_TRUE(file->acl.empty());
  EXPECT_EQ(file->logging.level, "info");
  EXPECT_FALSE(file->logging.file);
}

TEST(NodeFile, Full) {
  constexpr const char* kFull = R"(
[signaling]
url = "wss://signal.example.com:8443/signaling/ws"
ais_url = "https://ais.example.com/ais"

[realm]
id = 42
secret_env = "ACTR_REALM_SECRET"

[websocket]
listen = "0.0.0.0:0"
advertised_host = "10.0.0.5"
advertised_port = 443

[heartbeat]
interval_secs = 15

[runtime]
idle_spin_us = 0
tune_allocator = false

[duplicate_filter]
requests = 1000
answers_mib = 0
answer_max_kib = 64

[[acl]]
permission = "allow"
from_type = "acme:client:1.0.0"
realm = 42

[[acl]]
permission = "deny"
from_type = "acme:intruder:0.1"
realm = "any"

[logging]
level = "debug"
file = "logs/node.log"
)";
  auto file = parse_node_file(kFull, "actr.toml", env_of({{"ACTR_REALM_SECRET", "from-env"}}));
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->ais_url, "https://ais.example.com/ais");
  EXPECT_EQ(file->realm_id, 42u);
  EXPECT_EQ(file->realm_secret, "from-env");
  EXPECT_EQ(file->realm_secret_env, "ACTR_REALM_SECRET");
  ASSERT_TRUE(file->websocket);
  EXPECT_EQ(file->websocket->listen_host, "0.0.0.0");
  EXPECT_EQ(file->websocket->listen_port, 0);
  EXPECT_EQ(file->websocket->advertised_port, 443);
  EXPECT_EQ(file->websocket->ws_address(9100), "ws://10.0.0.5:443");  // the mapped port, not the bound one
  EXPECT_EQ(file->heartbeat_interval_secs, 15u);
  EXPECT_EQ(file->idle_spin_us, 0u);  // set, to zero: never spin
  EXPECT_EQ(file->tune_allocator, false);
  EXPECT_EQ(file->duplicate_filter.requests, 1000u);
  EXPECT_EQ(file->duplicate_filter.answers_mib, 0u);  // set, to zero: keep no answers
  EXPECT_EQ(file->duplicate_filter.answer_max_kib, 64u);
  EXPECT_EQ(file->logging.level, "debug");
  EXPECT_EQ(file->logging.file, std::filesystem::path("logs/node.log"));

  const actr::Acl acl = file->to_acl();
  ASSERT_TRUE(acl.IsInitialized());
  ASSERT_EQ(acl.rules_size(), 2);
  EXPECT_EQ(acl.rules(0).permission(), actr::AclRule::ALLOW);
  EXPECT_EQ(actr::to_string(acl.rules(0).from_type()), "acme:client:1.0.0");
  EXPECT_EQ(acl.rules(0).realm_id(), 42u);
  EXPECT_EQ(acl.rules(1).permission(), actr::AclRule::DENY);
  EXPECT_TRUE(acl.rules(1).any_realm());
}

TEST(NodeFile, DerivedUrlsAndListenerDefaults) {
  auto file = parse_node_file(R"(
signaling.url = "wss://signal.example.com:8443"
realm = { id = 7, secret = "x" }
websocket.listen = "[::1]:9100"
[[acl]]
permission = "allow"
from_type = "a:b:1"
)",
                              "actr.toml", kNoEnv);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->signaling_url, "wss://signal.example.com:8443/signaling/ws");
  EXPECT_EQ(file->ais_url, "https://signal.example.com:8443/ais");
  EXPECT_EQ(file->websocket->listen_host, "::1");
  EXPECT_EQ(file->websocket->listen_port, 9100);
  EXPECT_EQ(file->websocket->advertised_host, "::1");
  EXPECT_EQ(file->websocket->advertised_port, 0);  // the bound port
  EXPECT_EQ(file->websocket->ws_address(9100), "ws://[::1]:9100");
  EXPECT_FALSE(file->acl[0].realm_id);  // no realm key = any realm
  EXPECT_EQ(*actr::config::ais_url_from_signaling("ws://h:1/signaling/ws"), "http://h:1/ais");
}

TEST(NodeFile, SecretFromEnvFallsBackToInline) {
  const std::string text = std::string(kMinimal) + "secret_env = \"ACTR_REALM_SECRET\"\n";
  auto inline_secret = parse_node_file(text, "actr.toml", kNoEnv);
  ASSERT_TRUE(inline_secret) << inline_secret.error().message;
  EXPECT_EQ(inline_secret->realm_secret, "s3cret");
  auto env_secret = parse_node_file(text, "actr.toml", env_of({{"ACTR_REALM_SECRET", "env"}}));
  ASSERT_TRUE(env_secret);
  EXPECT_EQ(env_secret->realm_secret, "env");
}

TEST(NodeFile, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(error_of("[signaling]\nurl = 5\n[realm]\nid = 1\nsecret = \"s\"\n"),
            "actr.toml:2:7: key 'signaling.url': expected a string, got an integer");
  EXPECT_EQ(
      error_of("[signaling]\nulr = \"ws://h:1/x\"\nurl = \"ws://h:1/x\"\n[realm]\nid = 1\nsecret = \"s\"\n"),
      "actr.toml:2:1: unknown key 'signaling.ulr' (expected one of: ais_url, url)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "\n[heartbeat]\ninterval = 5\n"),
            "actr.toml:10:1: unknown key 'heartbeat.interval' (expected one of: interval_secs)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "\n[loging]\nlevel = \"info\"\n").substr(0, 42),
            "actr.toml:9:2: unknown key 'loging' (expec");
  EXPECT_EQ(error_of("[realm]\nid = 1\nsecret = \"s\"\n"), "actr.toml: missing required table [signaling]");
  EXPECT_EQ(error_of("[signaling]\n[realm]\nid = 1\nsecret = \"s\"\n"),
            "actr.toml:1:1: missing required key 'signaling.url'");
  EXPECT_EQ(error_of("[signaling]\nurl = \"ws://h:1/x\"\n[realm]\nid = 1\n"),
            "actr.toml:3:1: missing required key 'realm.secret' (or 'realm.secret_env')");
  EXPECT_EQ(error_of("[signaling]\nurl = \"ws://h:1/x\"\n[realm]\nid = 1\nsecret_env = \"NOPE\"\n"),
            "actr.toml:5:14: key 'realm.secret_env': environment variable 'NOPE' is not set");
  EXPECT_EQ(error_of("[signaling]\nurl = \"ws://h:1/x\"\n[realm]\nid = 0\nsecret = \"s\"\n"),
            "actr.toml:4:6: key 'realm.id': 0 is out of range (1..4294967295)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[runtime]\nidle_spin_us = 200000\n"),
            "actr.toml:9:16: key 'runtime.idle_spin_us': 200000 is out of range (0..100000)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[runtime]\ntune_allocator = 1\n"),
            "actr.toml:9:18: key 'runtime.tune_allocator': expected a boolean, got an integer");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[duplicate_filter]\nrequests = 0\n"),
            "actr.toml:9:12: key 'duplicate_filter.requests': 0 is out of range (1..2147483647)");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[duplicate_filter]\nanswer_bytes = 5\n"),
            "actr.toml:9:1: unknown key 'duplicate_filter.answer_bytes' (expected one of: answer_max_kib, "
            "answers_mib, requests)");
  const std::string listener = std::string(kMinimal) + "[websocket]\nlisten = \"127.0.0.1:0\"\n";
  EXPECT_EQ(error_of(listener + "advertised_port = 0\n"),
            "actr.toml:10:19: key 'websocket.advertised_port': 0 is out of range (1..65535)");
  EXPECT_EQ(error_of(listener + "advertised_port = 65536\n"),
            "actr.toml:10:19: key 'websocket.advertised_port': 65536 is out of range (1..65535)");
  EXPECT_EQ(error_of(listener + "advertised_port = \"443\"\n"),
            "actr.toml:10:19: key 'websocket.advertised_port': expected an integer, got a string");
  // A TOML syntax error carries toml++'s description.
  EXPECT_TRUE(error_of("[signaling\n").starts_with("actr.toml:1:")) << error_of("[signaling\n");
}

TEST(NodeFile, BadValues) {
  const std::string base = kMinimal;
  EXPECT_NE(error_of("[signaling]\nurl = \"http://h:1/x\"\n[realm]\nid = 1\nsecret = \"s\"\n")
                .find("key 'signaling.url': 'http://h:1/x' must start with ws:// or wss://"),
            std::string::npos);
  EXPECT_NE(error_of("[signaling]\nurl = \"ws://h:99999/x\"\n[realm]\nid = 1\nsecret = \"s\"\n")
                .find("invalid port"),
            std::string::npos);
  EXPECT_NE(error_of(base + "[websocket]\nlisten = \"0.0.0.0:9100\"\n").find("set websocket.advertised_host"),
            std::string::npos);
  EXPECT_NE(error_of(base + "[websocket]\nlisten = \"9100\"\n").find("is not host:port"), std::string::npos);
  EXPECT_NE(error_of(base + "[websocket]\nlisten = \"::1:9100\"\n").find("in brackets"), std::string::npos);
  EXPECT_NE(error_of(base + "[[acl]]\npermission = \"maybe\"\nfrom_type = \"a:b:1\"\n")
                .find("actr.toml:9:14: key 'acl[0].permission': 'maybe' is neither"),
            std::string::npos);
  EXPECT_NE(error_of(base + "[[acl]]\npermission = \"allow\"\nfrom_type = \"a:b\"\n")
                .find("key 'acl[0].from_type'"),
            std::string::npos);
  EXPECT_NE(error_of(base + "[[acl]]\npermission = \"allow\"\nfrom_type = \"a:b:1\"\nrealm = \"all\"\n")
                .find("key 'acl[0].realm': expected a realm id"),
            std::string::npos);
  EXPECT_NE(
      error_of(base + "[logging]\nlevel = \"loud\"\n").find("key 'logging.level': 'loud' is not one of"),
      std::string::npos);
  EXPECT_NE(error_of("acl = 1\n" + base).find("expected an array of tables ([[acl]])"), std::string::npos);
}

TEST(NodeFile, LoadResolvesPathsAndReportsMissingFiles) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("actr_node_file_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "actr.toml") << kMinimal << "[logging]\nfile = \"node.log\"\n"; }
  auto file = actr::config::load_node_file(dir / "actr.toml", kNoEnv);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->logging.file, dir / "node.log");

  auto missing = actr::config::load_node_file(dir / "nope.toml", kNoEnv);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, actr::ErrorCode::NotFound);
  EXPECT_NE(missing.error().message.find("nope.toml"), std::string::npos);

  { std::ofstream(dir / "bad.toml") << "[signaling]\nurl = 1\n"; }
  auto bad = actr::config::load_node_file(dir / "bad.toml", kNoEnv);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with((dir / "bad.toml").string() + ":2:7: key 'signaling.url'"))
      << bad.error().message;
  std::filesystem::remove_all(dir);
}

}  // namespace
