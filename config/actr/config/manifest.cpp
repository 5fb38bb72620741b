#include "actr/config/manifest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "actr/config/toml_reader.hpp"
#include "actr/protocol/ids.hpp"

namespace actr::config {
namespace {

using detail::Diagnostics;
using detail::TableReader;

// Reads a name key of [package] and checks it with the protocol's name rules.
std::string read_name(TableReader& table, std::string_view key) {
  auto value = table.string(key, true);
  if (!value) return {};
  auto ok = key == "version" ? validate_version(*value) : validate_name(*value, key);
  if (!ok) table.invalid(key, ok.error().message);
  return *value;
}

void read_package(TableReader& root, Manifest& out) {
  auto table = root.table("package", true);
  if (!table) return;
  out.package.manufacturer = read_name(*table, "manufacturer");
  out.package.name = read_name(*table, "name");
  out.package.version = read_name(*table, "version");
  out.package.description = table->string("description").value_or("");
  out.package.tags = table->strings("tags").value_or(std::vector<std::string>{});
  table->finish();
}

void read_exports(TableReader& root, Manifest& out) {
  auto table = root.table("exports");
  if (!table) return;
  std::set<std::string> seen;
  for (const std::string& proto : table->strings("protos").value_or(std::vector<std::string>{})) {
    if (!proto.ends_with(".proto")) {
      table->invalid("protos", fmt::format("'{}' is not a .proto file", proto));
    } else if (!seen.insert(proto).second) {
      table->invalid("protos", fmt::format("'{}' is listed twice", proto));
    }
    out.exports.protos.emplace_back(proto);
  }
  seen.clear();
  for (const std::string& service : table->strings("services").value_or(std::vector<std::string>{})) {
    if (!is_proto_full_name(service)) {
      table->invalid("services", fmt::format("'{}' is not a proto service name (package.Service)", service));
    } else if (!seen.insert(service).second) {
      table->invalid("services", fmt::format("'{}' is listed twice", service));
    }
    out.exports.services.push_back(service);
  }
  if (!out.exports.services.empty() && out.exports.protos.empty()) {
    table->invalid("services", "names services but exports.protos lists no .proto file to find them in");
  }
  table->finish();
}

actr::ActrType read_actr_type(TableReader& table, std::string_view key, std::string_view text) {
  auto type = parse_actr_type(text);
  if (!type) {
    table.invalid(key, type.error().message);
    return {};
  }
  return std::move(*type);
}

void read_dependencies(TableReader& root, Manifest& out) {
  auto table = root.table("dependencies");
  if (!table) return;
  for (const auto& [key, value] : table->raw()) {
    const std::string alias(key.str());
    table->node(alias);  // every alias is a known key
    Dependency dep{alias, {}, {}};
    if (auto ok = validate_name(alias, "dependency alias"); !ok) {
      table->diagnostics().error(&key.source(),
                                 fmt::format("key '{}': {}", table->key_path(alias), ok.error().message));
    }
    if (const auto* text = value.as_string()) {
      // Short form: alias = "acme:echo:1.0.0".
      dep.actr_type = read_actr_type(*table, alias, text->get());
    } else if (const auto* inline_table = value.as_table()) {
      // Long form: alias = { actr_type = "acme:echo:1.0.0", service = "echo.EchoService" }.
      TableReader entry(table->diagnostics(), *inline_table, table->key_path(alias));
      if (auto type = entry.string("actr_type", true))
        dep.actr_type = read_actr_type(entry, "actr_type", *type);
      if (auto service = entry.string("service")) {
        if (!is_proto_full_name(*service)) {
          entry.invalid("service",
                        fmt::format("'{}' is not a proto service name (package.Service)", *service));
        }
        dep.service = *service;
      }
      entry.finish();
    } else {
      table->wrong_type(alias, value, "an actr type string (\"acme:echo:1.0.0\") or a table");
    }
    out.dependencies.push_back(std::move(dep));
  }
  table->finish();
}

}  // namespace

bool is_proto_full_name(std::string_view name) {
  if (name.empty()) return false;
  bool start = true;
  for (char c : name) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      if (start) return false;
      start = true;
    } else if (letter || (digit && !start)) {
      start = false;
    } else {
      return false;
    }
  }
  return !start;
}

actr::ActrType Manifest::actr_type() const {
  return make_actr_type(package.manufacturer, package.name, package.version);
}

const Dependency* Manifest::find_dependency(std::string_view alias) const {
  auto it = std::ranges::find(dependencies, alias, &Dependency::alias);
  return it == dependencies.end() ? nullptr : &*it;
}

Result<Manifest> parse_manifest(std::string_view text, std::string_view source) {
  Diagnostics diag{std::string(source)};
  const toml::table document = detail::parse_toml(text, diag);
  if (diag.failed()) return std::unexpected(diag.first());
  TableReader root(diag, document, "");
  Manifest out;
  read_package(root, out);
  read_exports(root, out);
  read_dependencies(root, out);
  root.finish();
  if (diag.failed()) return std::unexpected(diag.first());
  std::ranges::sort(out.dependencies, {}, &Dependency::alias);
  return out;
}

Result<Manifest> load_manifest(const std::filesystem::path& path) {
  auto text = detail::read_text_file(path);
  if (!text) return std::unexpected(text.error());
  auto manifest = parse_manifest(*text, path.string());
  if (manifest) {
    for (std::filesystem::path& proto : manifest->exports.protos) {
      if (proto.is_relative()) proto = (path.parent_path() / proto).lexically_normal();
    }
  }
  return manifest;
}

}  // namespace actr::config
