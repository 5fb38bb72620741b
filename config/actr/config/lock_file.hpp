#pragma once
// manifest.lock.toml: the fingerprint each dependency had when `actr deps install` resolved it, so a
// node asks signaling for exactly the contract its generated code was built against
// (RouteCandidatesRequest.client_fingerprint). Written by tools, read by nodes.

#include <actr/actr.pb.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "actr/config/manifest.hpp"
#include "actr/protocol/error.hpp"

namespace actr::config {

struct LockedDependency {
  std::string alias;
  actr::ActrType actr_type;
  std::string service;      // full service name
  std::string fingerprint;  // "sha256:<hex>" (service_fingerprint)
};

struct LockFile {
  static constexpr int kVersion = 1;

  std::vector<LockedDependency> dependencies;  // sorted by alias after parse and in format_lock_file

  const LockedDependency* find(std::string_view alias) const;
  /// Adds or replaces the entry of `dep.alias`.
  void upsert(LockedDependency dep);
};

/// Parses manifest.lock.toml text. `source` names the file in error messages.
Result<LockFile> parse_lock_file(std::string_view text, std::string_view source = "manifest.lock.toml");

/// Reads and parses `path`.
Result<LockFile> load_lock_file(const std::filesystem::path& path);

/// The file's text: a header comment, `version`, then one [[dependency]] per entry, by alias.
std::string format_lock_file(const LockFile& lock);

/// Writes format_lock_file(lock) to `path` atomically (temporary file + rename). InvalidArgument when
/// an entry would not load back (bad alias, type or fingerprint, duplicate alias).
Result<void> save_lock_file(const LockFile& lock, const std::filesystem::path& path);

/// Checks that `lock` pins every dependency of `manifest` with the same actr type (and service, when
/// the manifest names one) and nothing else; the error lists what is missing, stale or extra.
Result<void> check_lock(const Manifest& manifest, const LockFile& lock);

}  // namespace actr::config
