// load_node_files / load_node_config: a node's configuration from real actr.toml, manifest.toml
// and manifest.lock.toml files in a temporary directory.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <actr/config/fingerprint.hpp>
#include <actr/config/lock_file.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "actr/runtime/node_files.hpp"
#include "echo/v1/echo.actr.hpp"
#include "remote_test.actr.hpp"

namespace actr::test {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kActrToml = R"([signaling]
url = "ws://127.0.0.1:9/signaling/ws"

[realm]
id = 7
secret_env = "NODE_FILES_TEST_SECRET"
secret = "inline-secret"

[websocket]
listen = "0.0.0.0:0"
advertised_host = "10.1.2.3"
advertised_port = 8443

[heartbeat]
interval_secs = 3

[[acl]]
permission = "allow"
from_type = "acme:caller:1.0.0"

[[acl]]
permission = "deny"
from_type = "acme:intruder:0.1"
realm = 7

[runtime]
idle_spin_us = 120
tune_allocator = false

[duplicate_filter]
requests = 500
answers_mib = 2
answer_max_kib = 16

[logging]
level = "warn"
)";

// remote_test.proto is linked into this program; on disk it is a copy beside the manifest.
constexpr std::string_view kManifest = R"([package]
manufacturer = "acme"
name = "files-node"
version = "2.1.0"
description = "built from files"
tags = ["demo", "files"]

[exports]
protos = ["proto/remote_test.proto"]
services = ["remote.v1.RemoteTest"]

[dependencies]
peer = "acme:peer:1.0.0"
)";

const std::string kFingerprint = "sha256:" + std::string(64, 'a');

std::string lock_text(std::string_view alias = "peer", std::string_view fingerprint = kFingerprint) {
  return fmt::format(
      "version = 1\n\n[[dependency]]\nalias = \"{}\"\nactr_type = \"acme:peer:1.0.0\"\nservice = "
      "\"peer.v1.Peer\"\nfingerprint = \"{}\"\n",
      alias, fingerprint);
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct NodeFilesTest : ::testing::Test {
  fs::path dir = fs::temp_directory_path() /
                 fmt::format("actr-node-files-{}-{}", ::getpid(),
                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
  NodeFileOptions options;

  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir / "proto");
    fs::copy_file(ACTR_REMOTE_TEST_PROTO, dir / "proto" / "remote_test.proto");
    write("actr.toml", kActrToml);
    write("manifest.toml", kManifest);
    write("manifest.lock.toml", lock_text());
    options.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  }
  void TearDown() override { fs::remove_all(dir); }
  void write(const std::string& name, std::string_view text) {
    fs::create_directories((dir / name).parent_path());
    std::ofstream(dir / name) << text;
  }
  /// Replaces the first `from` in file `name`.
  void edit(const std::string& name, std::string_view from, std::string_view to) {
    std::string text = read(dir / name);
    auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    write(name, text);
  }
  std::string error() {
    auto files = load_node_files(dir / "actr.toml", options);
    EXPECT_FALSE(files);
    return files ? std::string() : files.error().message;
  }
  std::string file(std::string_view name) const { return (dir / name).string(); }
};

TEST_F(NodeFilesTest, GoodFilesFillNodeAndRemoteConfig) {
  auto files = load_node_files(dir / "actr.toml", options);
  ASSERT_TRUE(files) << files.error().to_string();
  const NodeConfig& config = files->config;
  EXPECT_EQ(config.actr_type, make_actr_type("acme", "files-node", "2.1.0"));
  EXPECT_EQ(config.realm_id, 7u);
  EXPECT_EQ(config.idle_spin, std::chrono::microseconds(120));
  EXPECT_FALSE(config.tune_allocator);
  ASSERT_TRUE(config.remote);
  const RemoteConfig& remote = *config.remote;
  EXPECT_EQ(remote.signaling_url, "ws://127.0.0.1:9/signaling/ws");
  EXPECT_EQ(remote.ais_url, "http://127.0.0.1:9/ais");
  EXPECT_EQ(remote.realm_secret, "inline-secret");  // the variable is unset
  EXPECT_EQ(remote.ws_listen_host, "0.0.0.0");
  EXPECT_EQ(remote.ws_listen_port, 0);
  EXPECT_EQ(remote.ws_advertised_host, "10.1.2.3");
  EXPECT_EQ(remote.ws_advertised_port, 8443);
  EXPECT_EQ(remote.duplicate_filter.requests, 500u);
  EXPECT_EQ(remote.duplicate_filter.answer_bytes, std::size_t{2} << 20);
  EXPECT_EQ(remote.duplicate_filter.answer_at_most, std::size_t{16} << 10);
  EXPECT_EQ(remote.heartbeat_interval_secs, 3u);
  ASSERT_EQ(remote.acl.rules_size(), 2);
  EXPECT_EQ(remote.acl.rules(0).permission(), AclRule::ALLOW);
  EXPECT_TRUE(remote.acl.rules(0).any_realm());
  EXPECT_EQ(remote.acl.rules(1).permission(), AclRule::DENY);
  EXPECT_EQ(remote.acl.rules(1).realm_id(), 7u);
  // The service is the linked one, fingerprinted the way protoc-gen-actr baked it.
  const auto* linked = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      std::string(remote::v1::RemoteTestHandler::kServiceName));
  ASSERT_NE(linked, nullptr);
  EXPECT_EQ(remote.service, config::service_registration(*linked));
  ASSERT_TRUE(remote.service_spec);
  EXPECT_EQ(remote.service_spec->name(), "remote.v1.RemoteTest");
  EXPECT_EQ(remote.service_spec->fingerprint(), config::service_fingerprint(*linked));
  EXPECT_EQ(remote.service_spec->description(), "built from files");
  EXPECT_EQ(std::vector<std::string>(remote.service_spec->tags().begin(), remote.service_spec->tags().end()),
            (std::vector<std::string>{"demo", "files"}));
  EXPECT_EQ(fs::path(remote.lock_file), dir / "manifest.lock.toml");
  EXPECT_EQ(files->logging.level, "warn");
  EXPECT_FALSE(files->logging.file);
  EXPECT_EQ(files->manifest, dir / "manifest.toml");
}

TEST_F(NodeFilesTest, SecretFromTheEnvironmentAndNoListener) {
  options.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "NODE_FILES_TEST_SECRET") return "from-env";
    return std::nullopt;
  };
  edit("actr.toml",
       "[websocket]\nlisten = \"0.0.0.0:0\"\nadvertised_host = \"10.1.2.3\"\nadvertised_port = 8443\n", "");
  auto files = load_node_files(dir / "actr.toml", options);
  ASSERT_TRUE(files) << files.error().to_string();
  EXPECT_EQ(files->config.remote->realm_secret, "from-env");
  EXPECT_TRUE(files->config.remote->ws_listen_host.empty());  // no [websocket]: the node only dials
}

TEST_F(NodeFilesTest, ServicesComeFromProtosOnDiskWhenNotLinked) {
  write("proto/ondisk/v1/thing.proto", R"(syntax = "proto3";
package ondisk.v1;
import "actr/options.proto";
message Ask { string q = 1; }
message Answer { string a = 1; }
service Thing {
  rpc Poke(Ask) returns (Answer) { option (actr.payload_type) = RPC_SIGNAL; }
}
)");
  edit("manifest.toml", "protos = [\"proto/remote_test.proto\"]\nservices = [\"remote.v1.RemoteTest\"]",
       "protos = [\"proto/ondisk/v1/thing.proto\"]");  // no services: all of the protos
  options.proto_paths = {dir / "proto"};
  auto files = load_node_files(dir / "actr.toml", options);
  ASSERT_TRUE(files) << files.error().to_string();
  EXPECT_TRUE(files->config.remote->service.starts_with("ondisk.v1.Thing:sha256:"))
      << files->config.remote->service;
  EXPECT_EQ(files->config.remote->service_spec->name(), "ondisk.v1.Thing");
}

TEST_F(NodeFilesTest, NoExportsMeansNoService) {
  edit("manifest.toml",
       "[exports]\nprotos = [\"proto/remote_test.proto\"]\nservices = [\"remote.v1.RemoteTest\"]\n", "");
  auto files = load_node_files(dir / "actr.toml", options);
  ASSERT_TRUE(files) << files.error().to_string();
  EXPECT_TRUE(files->config.remote->service.empty());
  EXPECT_FALSE(files->config.remote->service_spec);
}

TEST_F(NodeFilesTest, ActrTomlErrorsNameFileLineAndKey) {
  edit("actr.toml", "url = \"ws://127.0.0.1:9/signaling/ws\"", "url = 9");
  EXPECT_EQ(error(), file("actr.toml") + ":2:7: key 'signaling.url': expected a string, got an integer");
  SetUp();
  edit("actr.toml", "id = 7\n", "");
  EXPECT_EQ(error(), file("actr.toml") + ":4:1: missing required key 'realm.id'");
  SetUp();
  edit("actr.toml", "interval_secs = 3", "interval_secs = \"often\"");
  EXPECT_TRUE(error().starts_with(file("actr.toml") + ":15:17: key 'heartbeat.interval_secs'")) << error();
}

TEST_F(NodeFilesTest, ManifestErrorsNameFileLineAndKey) {
  edit("manifest.toml", "name = \"files-node\"", "name = 3");
  EXPECT_EQ(error(), file("manifest.toml") + ":3:8: key 'package.name': expected a string, got an integer");
  SetUp();
  edit("manifest.toml", "version = \"2.1.0\"\n", "");
  EXPECT_TRUE(error().starts_with(file("manifest.toml") + ":1:1: missing required key 'package.version'"))
      << error();
  SetUp();
  edit("manifest.toml", "services = [\"remote.v1.RemoteTest\"]", "services = [\"remote.v1.Nope\"]");
  EXPECT_EQ(error(),
            file("manifest.toml") +
                ": key 'exports.services': service 'remote.v1.Nope' is not declared in exports.protos");
  SetUp();
  write("proto/remote_test.proto", "syntax = \"proto3\";\npackage broken;\nmessage {\n");
  EXPECT_TRUE(error().starts_with(file("manifest.toml") + ": key 'exports.protos': " +
                                  file("proto/remote_test.proto") + ":3:9: Expected message name."))
      << error();
  SetUp();
  fs::remove(dir / "manifest.toml");
  auto missing = load_node_files(dir / "actr.toml", options);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  EXPECT_NE(missing.error().message.find(file("manifest.toml")), std::string::npos)
      << missing.error().message;
}

TEST_F(NodeFilesTest, LockFileErrorsNameFileLineAndKey) {
  write("manifest.lock.toml", lock_text("peer", "md5:1"));
  EXPECT_TRUE(error().starts_with(file("manifest.lock.toml") + ":7:15: key 'dependency[0].fingerprint'"))
      << error();
  SetUp();
  write("manifest.lock.toml", lock_text("other"));  // does not lock the manifest's 'peer'
  auto message = error();
  EXPECT_TRUE(message.starts_with(file("manifest.lock.toml") + ": ")) << message;
  EXPECT_NE(message.find("peer"), std::string::npos) << message;
  SetUp();
  fs::remove(dir / "manifest.lock.toml");  // no lock file: discovery without fingerprints
  auto files = load_node_files(dir / "actr.toml", options);
  ASSERT_TRUE(files) << files.error().to_string();
  EXPECT_TRUE(files->config.remote->lock_file.empty());
  options.lock_file = dir / "elsewhere.lock.toml";  // but one asked for by name must exist
  EXPECT_NE(error().find("elsewhere.lock.toml"), std::string::npos);
}

TEST_F(NodeFilesTest, LoadNodeConfigAppliesLogging) {
  auto before = spdlog::get_level();
  edit("actr.toml", "level = \"warn\"", "level = \"error\"\nfile = \"logs/node.log\"");
  auto config = load_node_config(dir / "actr.toml", options);
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(spdlog::get_level(), spdlog::level::err);
  spdlog::error("to the file");
  spdlog::default_logger()->flush();
  EXPECT_NE(read(dir / "logs" / "node.log").find("to the file"), std::string::npos);
  spdlog::set_default_logger(spdlog::stderr_color_mt("restored-" + std::to_string(::getpid())));
  spdlog::set_level(before);
}

// The files examples/echo ships (scripts/demo.sh runs the echo nodes from them) load, and the
// client's lock pins the fingerprint the echo server registers.
TEST(ShippedEchoConfig, LoadsAndTheLockMatchesTheServer) {
  NodeFileOptions options;
  options.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "ACTR_REALM_SECRET") return "s3cret";
    return std::nullopt;
  };
  const fs::path dir = ACTR_ECHO_CONFIG_DIR;
  auto server = load_node_files(dir / "server" / "actr.toml", options);
  ASSERT_TRUE(server) << server.error().to_string();
  EXPECT_EQ(server->config.actr_type, make_actr_type("acme", "echo", "1.0.0"));
  EXPECT_EQ(server->config.remote->realm_secret, "s3cret");
  EXPECT_EQ(server->config.remote->ws_listen_host, "127.0.0.1");
  EXPECT_EQ(server->config.remote->service, fmt::format("{}:{}", echo::v1::EchoServiceHandler::kServiceName,
                                                        echo::v1::EchoServiceHandler::kFingerprint));
  auto client = load_node_files(dir / "client" / "actr.toml", options);
  ASSERT_TRUE(client) << client.error().to_string();
  EXPECT_EQ(client->config.actr_type, make_actr_type("acme", "echo-client", "1.0.0"));
  EXPECT_TRUE(client->config.remote->ws_listen_host.empty());
  auto lock = config::load_lock_file(client->lock_file);
  ASSERT_TRUE(lock) << lock.error().to_string();
  ASSERT_NE(lock->find("echo"), nullptr);
  EXPECT_EQ(lock->find("echo")->fingerprint, echo::v1::EchoServiceHandler::kFingerprint)
      << "examples/echo/config/client/manifest.lock.toml is stale: echo.proto changed";
}

}  // namespace
}  // namespace actr::test
