#include "actr/config/manifest.hpp"

#include <gtest/gtest.h>

#include "actr/protocol/ids.hpp"

namespace {

using actr::config::parse_manifest;

constexpr const char* kManifest = R"(
[package]
manufacturer = "acme"
name = "echo-server"
version = "1.2.0"
description = "Echoes what it hears"
tags = ["demo"]

[exports]
protos = ["proto/echo.proto"]
services = ["echo.EchoService"]

[dependencies]
store = { actr_type = "acme:kv-store:2.0.0", service = "kv.Store" }
clock = "acme:clock:1.0"
)";

std::string error_of(std::string_view text) {
  auto manifest = parse_manifest(text);
  EXPECT_FALSE(manifest) << "parsed unexpectedly:\n" << text;
  return manifest ? "" : manifest.error().message;
}

TEST(Manifest, Parses) {
  auto manifest = parse_manifest(kManifest);
  ASSERT_TRUE(manifest) << manifest.error().message;
  EXPECT_EQ(actr::to_string(manifest->actr_type()), "acme:echo-server:1.2.0");
  EXPECT_EQ(manifest->package.description, "Echoes what it hears");
  EXPECT_EQ(manifest->package.tags, std::vector<std::string>{"demo"});
  ASSERT_EQ(manifest->exports.protos.size(), 1u);
  EXPECT_EQ(manifest->exports.protos[0], "proto/echo.proto");
  EXPECT_EQ(manifest->exports.services, std::vector<std::string>{"echo.EchoService"});
  ASSERT_EQ(manifest->dependencies.size(), 2u);
  EXPECT_EQ(manifest->dependencies[0].alias, "clock");  // sorted by alias
  EXPECT_EQ(actr::to_string(manifest->dependencies[0].actr_type), "acme:clock:1.0");
  EXPECT_TRUE(manifest->dependencies[0].service.empty());
  const auto* store = manifest->find_dependency("store");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(actr::to_string(store->actr_type), "acme:kv-store:2.0.0");
  EXPECT_EQ(store->service, "kv.Store");
  EXPECT_EQ(manifest->find_dependency("nope"), nullptr);
}

TEST(Manifest, OnlyPackageIsRequired) {
  auto manifest = parse_manifest("[package]\nmanufacturer = \"a\"\nname = \"b\"\nversion = \"1\"\n");
  ASSERT_TRUE(manifest) << manifest.error().message;
  EXPECT_TRUE(manifest->exports.protos.empty());
  EXPECT_TRUE(manifest->dependencies.empty());
}

TEST(Manifest, Errors) {
  EXPECT_EQ(
      error_of("[package]\nmanufacturer = \"acme\"\nname = \"bad name\"\nversion = \"1\"\n"),
      "manifest.toml:3:8: key 'package.name': name 'bad name' contains ' ' (allowed: letters, digits, '-', "
      "'_', '.')");
  EXPECT_EQ(error_of("[package]\nmanufacturer = \"acme\"\nversion = \"1\"\n"),
            "manifest.toml:1:1: missing required key 'package.name'");
  EXPECT_EQ(error_of("[exports]\nprotos = []\n"), "manifest.toml: missing required table [package]");
  EXPECT_EQ(
      error_of("[package]\nmanufacturer = \"a\"\nname = \"b\"\nversion = \"1\"\nvesion = \"2\"\n"),
      "manifest.toml:5:1: unknown key 'package.vesion' (expected one of: description, manufacturer, name, "
      "tags, version)");
  const std::string package = "[package]\nmanufacturer = \"a\"\nname = \"b\"\nversion = \"1\"\n";
  EXPECT_EQ(error_of(package + "[dependencies]\nstore = \"acme:kv\"\n").substr(0, 44),
            "manifest.toml:6:9: key 'dependencies.store':");
  EXPECT_EQ(
      error_of(package + "[dependencies]\nstore = 3\n"),
      "manifest.toml:6:9: key 'dependencies.store': expected an actr type string (\"acme:echo:1.0.0\") or a "
      "table, got an integer");
  EXPECT_EQ(
      error_of(package + "[dependencies]\nstore = { actr_type = \"a:b:1\", sevice = \"x.Y\" }\n"),
      "manifest.toml:6:32: unknown key 'dependencies.store.sevice' (expected one of: actr_type, service)");
  EXPECT_NE(error_of(package + "[dependencies]\nstore = { service = \"x.Y\" }\n")
                .find("missing required key 'dependencies.store.actr_type'"),
            std::string::npos);
  EXPECT_NE(error_of(package + "[dependencies]\n\"9lives\" = \"a:b:1\"\n").find("dependency alias '9lives'"),
            std::string::npos);
  EXPECT_NE(
      error_of(package + "[exports]\nprotos = [\"echo.txt\"]\n").find("'echo.txt' is not a .proto file"),
      std::string::npos);
  EXPECT_NE(error_of(package + "[exports]\nprotos = [\"e.proto\"]\nservices = [\"echo..Svc\"]\n")
                .find("key 'exports.services': 'echo..Svc' is not a proto service name"),
            std::string::npos);
  EXPECT_NE(error_of(package + "[exports]\nprotos = [\"e.proto\", 3]\n")
                .find("manifest.toml:6:22: key 'exports.protos[1]': expected a string, got an integer"),
            std::string::npos);
}

TEST(Manifest, ProtoFullNames) {
  EXPECT_TRUE(actr::config::is_proto_full_name("Echo"));
  EXPECT_TRUE(actr::config::is_proto_full_name("a.b_c.Echo2"));
  EXPECT_FALSE(actr::config::is_proto_full_name(""));
  EXPECT_FALSE(actr::config::is_proto_full_name(".a.Echo"));
  EXPECT_FALSE(actr::config::is_proto_full_name("a.Echo."));
  EXPECT_FALSE(actr::config::is_proto_full_name("a.2Echo"));
  EXPECT_FALSE(actr::config::is_proto_full_name("a-b.Echo"));
}

}  // namespace
