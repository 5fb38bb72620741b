#pragma once
// manifest.toml: what a package is (its ActrType), which proto services it exports, and which
// other actor types it depends on (by alias). docs/config.md lists every key.

#include <actr/actr.pb.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "actr/protocol/error.hpp"

namespace actr::config {

struct Package {
  std::string manufacturer;
  std::string name;
  std::string version;
  std::string description;        // optional
  std::vector<std::string> tags;  // optional; ServiceSpec.tags
};

struct Exports {
  std::vector<std::filesystem::path>
      protos;  // .proto files; load_manifest resolves them against the manifest directory
  std::vector<std::string> services;  // full names ("echo.EchoService"); empty = all in protos
};

struct Dependency {
  std::string alias;         // the key under [dependencies]
  actr::ActrType actr_type;  // what to discover
  std::string service;       // full service name; empty = whatever the type exports
};

struct Manifest {
  Package package;
  Exports exports;
  std::vector<Dependency> dependencies;  // sorted by alias

  /// The node's ActrType: manufacturer:name:version of [package].
  actr::ActrType actr_type() const;
  const Dependency* find_dependency(std::string_view alias) const;
};

/// Parses manifest.toml text. `source` names the file in error messages.
Result<Manifest> parse_manifest(std::string_view text, std::string_view source = "manifest.toml");

/// Reads and parses `path`; relative proto paths are taken relative to the manifest's directory.
Result<Manifest> load_manifest(const std::filesystem::path& path);

/// True for a proto full name: identifiers ([A-Za-z_][A-Za-z0-9_]*) joined by '.'.
bool is_proto_full_name(std::string_view name);

}  // namespace actr::config
