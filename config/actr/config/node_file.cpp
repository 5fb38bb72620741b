#include "actr/config/node_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "actr/config/toml_reader.hpp"
#include "actr/protocol/ids.hpp"

namespace actr::config {
namespace {

using detail::Diagnostics;
using detail::TableReader;

constexpr std::string_view kDefaultSignalingPath = "/signaling/ws";

struct Url {
  std::string scheme;
  std::string authority;  // host[:port]
  std::string path;
};

// Enough URL parsing for config values: scheme://authority[/path]. The port, when given, must be
// a number; everything else is the wire library's business.
Result<Url> split_url(std::string_view text, std::initializer_list<std::string_view> schemes) {
  const auto sep = text.find("://");
  std::string expected;
  for (std::string_view s : schemes) expected += (expected.empty() ? "" : " or ") + std::string(s) + "://";
  if (sep == std::string_view::npos || std::ranges::find(schemes, text.substr(0, sep)) == schemes.end()) {
    return fail(ErrorCode::InvalidArgument, fmt::format("'{}' must start with {}", text, expected));
  }
  Url url{std::string(text.substr(0, sep)), {}, {}};
  const std::string_view rest = text.substr(sep + 3);
  const auto slash = rest.find('/');
  url.authority = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) url.path = std::string(rest.substr(slash));
  if (url.authority.empty() || url.authority.front() == ':') {
    return fail(ErrorCode::InvalidArgument, fmt::format("'{}' has no host", text));
  }
  // A port follows the last ':' unless that ':' is inside an IPv6 literal "[...]".
  const auto colon = url.authority.rfind(':');
  if (colon != std::string::npos && url.authority.find(']', colon) == std::string::npos) {
    const std::string_view port = std::string_view(url.authority).substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return fail(ErrorCode::InvalidArgument, fmt::format("'{}' has an invalid port '{}'", text, port));
    }
  }
  return url;
}

// "host:port" or "[v6]:port" → (host without brackets, port).
Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return fail(ErrorCode::InvalidArgument, fmt::format("'{}' is not host:port", text));
  }
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) {
      return fail(ErrorCode::InvalidArgument, fmt::format("'{}' is not [ipv6]:port", text));
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("'{}': write an IPv6 host in brackets, [::1]:9100", text));
  }
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("'{}' has an invalid port '{}' (0..65535, 0 = ephemeral)", text, port));
  }
  return std::pair{std::string(host), static_cast<std::uint16_t>(value)};
}

bool is_wildcard(std::string_view host) { return host == "0.0.0.0" || host == "::" || host.empty(); }

void read_signaling(TableReader& root, NodeFile& out) {
  auto table = root.table("signaling", true);
  if (!table) return;
  if (auto url = table->string("url", true)) {
    if (auto parsed = split_url(*url, {"ws", "wss"}); !parsed) {
      table->invalid("url", parsed.error().message);
    } else {
      // "ws://host:port" alone means the server's standard endpoint.
      out.signaling_url = parsed->path.empty() ? *url + std::string(kDefaultSignalingPath) : *url;
    }
  }
  if (auto ais = table->string("ais_url")) {
    if (auto parsed = split_url(*ais, {"http", "https"}); !parsed) {
      table->invalid("ais_url", parsed.error().message);
    } else {
      out.ais_url = *ais;
    }
  } else if (!out.signaling_url.empty()) {
    if (auto derived = ais_url_from_signaling(out.signaling_url)) out.ais_url = *derived;
  }
  table->finish();
}

void read_realm(TableReader& root, NodeFile& out, const EnvLookup& env) {
  auto table = root.table("realm", true);
  if (!table) return;
  if (auto id = table->integer("id", 1, 0xffffffffLL, true)) out.realm_id = static_cast<std::uint32_t>(*id);
  const auto secret = table->string("secret");
  const auto secret_env = table->string("secret_env");
  // The variable wins when it is set, so one file serves development (inline) and deployment (env).
  if (secret_env) {
    if (secret_env->empty()) {
      table->invalid("secret_env", "is empty; name an environment variable");
    } else if (auto value = env(*secret_env); value && !value->empty()) {
      out.realm_secret = *value;
      out.realm_secret_env = *secret_env;
    } else if (!secret) {
      table->invalid("secret_env", fmt::format("environment variable '{}' is not set", *secret_env));
    }
  }
  if (out.realm_secret.empty() && secret) {
    if (secret->empty()) {
      table->invalid("secret", "is empty");
    } else {
      out.realm_secret = *secret;
    }
  }
  if (!secret && !secret_env && !table->diagnostics().failed()) {
    table->diagnostics().error(&table->raw().source(),
                               "missing required key 'realm.secret' (or 'realm.secret_env')");
  }
  table->finish();
}

void read_websocket(TableReader& root, NodeFile& out) {
  auto table = root.table("websocket");
  if (!table) return;
  WsListener listener;
  if (auto listen = table->string("listen", true)) {
    if (auto hp = split_host_port(*listen); !hp) {
      table->invalid("listen", hp.error().message);
    } else {
      std::tie(listener.listen_host, listener.listen_port) = *hp;
    }
  }
  if (auto host = table->string("advertised_host")) {
    if (host->empty() || host->find_first_of("/[] ") != std::string::npos) {
      table->invalid("advertised_host", fmt::format("'{}' is not a host name or address", *host));
    }
    listener.advertised_host = *host;
  } else if (is_wildcard(listener.listen_host) && !table->diagnostics().failed()) {
    // Peers cannot dial 0.0.0.0: advertising it would make every direct connection fail later.
    table->invalid("listen",
                   fmt::format("listens on all interfaces ('{}'); set websocket.advertised_host to the "
                               "address peers should dial",
                               listener.listen_host));
  } else {
    listener.advertised_host = listener.listen_host;
  }
  if (auto port = table->integer("advertised_port", 1, 65535))
    listener.advertised_port = static_cast<std::uint16_t>(*port);
  table->finish();
  out.websocket = std::move(listener);
}

void read_heartbeat(TableReader& root, NodeFile& out) {
  auto table = root.table("heartbeat");
  if (!table) return;
  if (auto secs = table->integer("interval_secs", 1, 3600))
    out.heartbeat_interval_secs = static_cast<std::uint32_t>(*secs);
  table->finish();
}

void read_acl(TableReader& root, NodeFile& out) {
  for (TableReader& rule : root.tables("acl")) {
    AclEntry entry;
    if (auto permission = rule.string("permission", true)) {
      if (*permission == "allow" || *permission == "deny") {
        entry.allow = *permission == "allow";
      } else {
        rule.invalid("permission", fmt::format("'{}' is neither \"allow\" nor \"deny\"", *permission));
      }
    }
    if (auto from = rule.string("from_type", true)) {
      if (auto type = parse_actr_type(*from); !type) {
        rule.invalid("from_type", type.error().message);
      } else {
        entry.from_type = std::move(*type);
      }
    }
    if (const toml::node* realm = rule.node("realm")) {
      if (const auto* id = realm->as_integer(); id && id->get() >= 1 && id->get() <= 0xffffffffLL) {
        entry.realm_id = static_cast<std::uint32_t>(id->get());
      } else if (const auto* text = realm->as_string(); !text || text->get() != "any") {
        rule.invalid("realm", "expected a realm id (1..4294967295) or \"any\"");
      }
    }
    rule.finish();
    out.acl.push_back(std::move(entry));
  }
}

void read_runtime(TableReader& root, NodeFile& out) {
  auto table = root.table("runtime");
  if (!table) return;
  if (auto spin = table->integer("idle_spin_us", 0, 100'000))
    out.idle_spin_us = static_cast<std::uint32_t>(*spin);
  out.tune_allocator = table->boolean("tune_allocator");
  table->finish();
}

void read_duplicate_filter(TableReader& root, NodeFile& out) {
  auto table = root.table("duplicate_filter");
  if (!table) return;
  auto& filter = out.duplicate_filter;
  if (auto requests = table->integer("requests", 1, 0x7fffffff))
    filter.requests = static_cast<std::uint32_t>(*requests);
  if (auto mib = table->integer("answers_mib", 0, 1u << 20))
    filter.answers_mib = static_cast<std::uint32_t>(*mib);
  if (auto kib = table->integer("answer_max_kib", 0, 1u << 20))
    filter.answer_max_kib = static_cast<std::uint32_t>(*kib);
  table->finish();
}

void read_logging(TableReader& root, NodeFile& out) {
  auto table = root.table("logging");
  if (!table) return;
  if (auto level = table->string("level")) {
    static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                   "error", "critical", "off"};
    if (std::ranges::find(kLevels, *level) == std::end(kLevels)) {
      table->invalid(
          "level", fmt::format("'{}' is not one of trace, debug, info, warn, error, critical, off", *level));
    }
    out.logging.level = *level;
  }
  if (auto file = table->string("file")) {
    if (file->empty()) table->invalid("file", "is empty; leave it out to log to stderr");
    out.logging.file = std::filesystem::path(*file);
  }
  table->finish();
}

}  // namespace

std::string WsListener::ws_address(std::uint16_t bound_port) const {
  const std::uint16_t port = advertised_port ? advertised_port : bound_port;
  // An IPv6 literal needs brackets in a URL.
  if (advertised_host.find(':') != std::string::npos)
    return fmt::format("ws://[{}]:{}", advertised_host, port);
  return fmt::format("ws://{}:{}", advertised_host, port);
}

actr::Acl NodeFile::to_acl() const {
  actr::Acl out;
  for (const AclEntry& entry : acl) {
    actr::AclRule* rule = out.add_rules();
    rule->set_permission(entry.allow ? actr::AclRule::ALLOW : actr::AclRule::DENY);
    *rule->mutable_from_type() = entry.from_type;
    if (entry.realm_id) {
      rule->set_realm_id(*entry.realm_id);
    } else {
      rule->set_any_realm(true);
    }
  }
  return out;
}

std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (!value) return std::nullopt;
  return std::string(value);
}

Result<std::string> ais_url_from_signaling(std::string_view signaling_url) {
  auto url = split_url(signaling_url, {"ws", "wss"});
  if (!url) return std::unexpected(url.error());
  return fmt::format("{}://{}/ais", url->scheme == "wss" ? "https" : "http", url->authority);
}

Result<NodeFile> parse_node_file(std::string_view text, std::string_view source, const EnvLookup& env) {
  Diagnostics diag{std::string(source)};
  const toml::table document = detail::parse_toml(text, diag);
  if (diag.failed()) return std::unexpected(diag.first());
  TableReader root(diag, document, "");
  NodeFile out;
  read_signaling(root, out);
  read_realm(root, out, env);
  read_websocket(root, out);
  read_heartbeat(root, out);
  read_acl(root, out);
  read_runtime(root, out);
  read_duplicate_filter(root, out);
  read_logging(root, out);
  root.finish();
  if (diag.failed()) return std::unexpected(diag.first());
  return out;
}

Result<NodeFile> load_node_file(const std::filesystem::path& path, const EnvLookup& env) {
  auto text = detail::read_text_file(path);
  if (!text) return std::unexpected(text.error());
  auto file = parse_node_file(*text, path.string(), env);
  if (file && file->logging.file && file->logging.file->is_relative()) {
    file->logging.file = (path.parent_path() / *file->logging.file).lexically_normal();
  }
  return file;
}

}  // namespace actr::config
