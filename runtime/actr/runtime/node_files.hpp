#pragma once
// A node built from its files: actr.toml (signaling, realm, listener, heartbeat, ACL, logging),
// manifest.toml (the package = the node's ActrType, the exported service) and manifest.lock.toml
// (dependency fingerprints for discovery). docs/config.md lists every key; docs/remote.md shows
// how the keys map onto NodeConfig and RemoteConfig.
//
//   auto config = actr::load_node_config("config/actr.toml");   // manifest*.toml found beside it
//   if (!config) { std::cerr << config.error().to_string(); return 2; }   // names file:line:key
//   actr::Node node(*config);

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actr/runtime/node.hpp"

namespace actr {

struct NodeFileOptions {
  /// manifest.toml; default: beside actr.toml. Required.
  std::filesystem::path manifest;
  /// manifest.lock.toml; default: beside actr.toml. Optional: without it discovery sends no
  /// fingerprints. When present it must lock every dependency of the manifest (check_lock).
  std::filesystem::path lock_file;
  /// Import roots for exports.protos that are not linked into the program (the manifest's
  /// directory is always searched first; imports linked into the program resolve from it).
  std::vector<std::filesystem::path> proto_paths;
  /// Environment lookup for realm.secret_env; default: the process environment.
  std::function<std::optional<std::string>(std::string_view)> env;
};

/// [logging] of actr.toml.
struct NodeLogging {
  std::string level = "info";                 // spdlog level name
  std::optional<std::filesystem::path> file;  // nullopt: stderr
};

/// Everything the files say, with the paths that were read.
struct NodeFiles {
  NodeConfig config;  // config.remote is always set
  NodeLogging logging;
  std::filesystem::path actr_toml;
  std::filesystem::path manifest;
  std::filesystem::path lock_file;  // empty when there is none
};

/// Reads the three files and builds the node's configuration; no side effects. Errors name the
/// file (and line and key when the file parsed that far), e.g.
/// "config/actr.toml:7:7: key 'signaling.url': expected a string, got an integer".
Result<NodeFiles> load_node_files(const std::filesystem::path& actr_toml,
                                  const NodeFileOptions& options = {});

/// load_node_files, then apply_logging of its [logging]; returns the NodeConfig.
Result<NodeConfig> load_node_config(const std::filesystem::path& actr_toml,
                                    const NodeFileOptions& options = {});

/// Sets spdlog's default logger level, and sends it to `logging.file` (appending) when set.
Result<void> apply_logging(const NodeLogging& logging);

}  // namespace actr
