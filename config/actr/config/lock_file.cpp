#include "actr/config/lock_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "actr/config/fingerprint.hpp"
#include "actr/config/toml_reader.hpp"
#include "actr/protocol/ids.hpp"

namespace actr::config {
namespace {

using detail::Diagnostics;
using detail::TableReader;

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// The checks an entry must pass on load; save applies them too, so it never writes what fails to load.
Result<void> validate_entry(const LockedDependency& dep) {
  if (auto ok = validate_name(dep.alias, "alias"); !ok) return ok;
  if (auto ok = validate(dep.actr_type); !ok) return ok;
  if (!is_proto_full_name(dep.service)) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("service '{}' is not a proto service name", dep.service));
  }
  if (!is_fingerprint(dep.fingerprint)) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("fingerprint '{}' is not sha256:<64 lowercase hex digits>", dep.fingerprint));
  }
  return {};
}

}  // namespace

const LockedDependency* LockFile::find(std::string_view alias) const {
  auto it = std::ranges::find(dependencies, alias, &LockedDependency::alias);
  return it == dependencies.end() ? nullptr : &*it;
}

void LockFile::upsert(LockedDependency dep) {
  auto it = std::ranges::find(dependencies, dep.alias, &LockedDependency::alias);
  if (it != dependencies.end()) {
    *it = std::move(dep);
  } else {
    dependencies.push_back(std::move(dep));
  }
}

Result<LockFile> parse_lock_file(std::string_view text, std::string_view source) {
  Diagnostics diag{std::string(source)};
  const toml::table document = detail::parse_toml(text, diag);
  if (diag.failed()) return std::unexpected(diag.first());
  TableReader root(diag, document, "");
  if (auto version = root.integer("version", 0, 1'000'000); version && *version != LockFile::kVersion) {
    root.invalid("version", fmt::format("version {} is not supported (this build reads version {})", *version,
                                        LockFile::kVersion));
  }
  LockFile out;
  std::set<std::string> aliases;
  for (TableReader& entry : root.tables("dependency")) {
    LockedDependency dep;
    if (auto alias = entry.string("alias", true)) {
      if (auto ok = validate_name(*alias, "alias"); !ok) {
        entry.invalid("alias", ok.error().message);
      } else if (!aliases.insert(*alias).second) {
        entry.invalid("alias", fmt::format("'{}' is locked twice", *alias));
      }
      dep.alias = *alias;
    }
    if (auto type = entry.string("actr_type", true)) {
      if (auto parsed = parse_actr_type(*type); !parsed) {
        entry.invalid("actr_type", parsed.error().message);
      } else {
        dep.actr_type = std::move(*parsed);
      }
    }
    if (auto service = entry.string("service", true)) {
      if (!is_proto_full_name(*service)) {
        entry.invalid("service", fmt::format("'{}' is not a proto service name (package.Service)", *service));
      }
      dep.service = *service;
    }
    if (auto fingerprint = entry.string("fingerprint", true)) {
      if (!is_fingerprint(*fingerprint)) {
        entry.invalid("fingerprint",
                      fmt::format("'{}' is not sha256:<64 lowercase hex digits>", *fingerprint));
      }
      dep.fingerprint = *fingerprint;
    }
    entry.finish();
    out.dependencies.push_back(std::move(dep));
  }
  root.finish();
  if (diag.failed()) return std::unexpected(diag.first());
  std::ranges::sort(out.dependencies, {}, &LockedDependency::alias);
  return out;
}

Result<LockFile> load_lock_file(const std::filesystem::path& path) {
  auto text = detail::read_text_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_lock_file(*text, path.string());
}

std::string format_lock_file(const LockFile& lock) {
  std::vector<const LockedDependency*> sorted;
  for (const LockedDependency& dep : lock.dependencies) sorted.push_back(&dep);
  std::ranges::sort(sorted, {}, [](const LockedDependency* d) { return d->alias; });
  std::string out = fmt::format(
      "# manifest.lock.toml: written by `actr deps install`; do not edit by hand.\n"
      "# Pins the service fingerprint of each dependency in manifest.toml.\n"
      "version = {}\n",
      LockFile::kVersion);
  for (const LockedDependency* dep : sorted) {
    out += fmt::format("\n[[dependency]]\nalias = {}\nactr_type = {}\nservice = {}\nfingerprint = {}\n",
                       quote(dep->alias), quote(to_string(dep->actr_type)), quote(dep->service),
                       quote(dep->fingerprint));
  }
  return out;
}

Result<void> save_lock_file(const LockFile& lock, const std::filesystem::path& path) {
  std::set<std::string_view> aliases;
  for (const LockedDependency& dep : lock.dependencies) {
    if (auto ok = validate_entry(dep); !ok) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("{}: dependency '{}': {}", path.string(), dep.alias, ok.error().message));
    }
    if (!aliases.insert(dep.alias).second) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("{}: dependency '{}' is locked twice", path.string(), dep.alias));
    }
  }
  return detail::write_text_file(path, format_lock_file(lock));
}

Result<void> check_lock(const Manifest& manifest, const LockFile& lock) {
  std::vector<std::string> problems;
  for (const Dependency& dep : manifest.dependencies) {
    const LockedDependency* locked = lock.find(dep.alias);
    if (!locked) {
      problems.push_back(fmt::format("'{}' is not locked", dep.alias));
    } else if (!(locked->actr_type == dep.actr_type)) {
      problems.push_back(fmt::format("'{}' is locked at {} but the manifest asks for {}", dep.alias,
                                     to_string(locked->actr_type), to_string(dep.actr_type)));
    } else if (!dep.service.empty() && locked->service != dep.service) {
      problems.push_back(fmt::format("'{}' is locked to service {} but the manifest asks for {}", dep.alias,
                                     locked->service, dep.service));
    }
  }
  for (const LockedDependency& locked : lock.dependencies) {
    if (!manifest.find_dependency(locked.alias)) {
      problems.push_back(fmt::format("'{}' is locked but not in the manifest", locked.alias));
    }
  }
  if (problems.empty()) return {};
  std::string text;
  for (const std::string& p : problems) text += (text.empty() ? "" : "; ") + p;
  return fail(ErrorCode::InvalidArgument,
              fmt::format("manifest.lock.toml is out of date ({}); run `actr deps install`", text));
}

}  // namespace actr::config
