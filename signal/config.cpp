#include "config.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <toml++/toml.h>
#include <charconv>
#include <fstream>
#include <sstream>

namespace actr::signal {
namespace {

template <class T>
Result<void> read_uint(const toml::table& table, std::string_view key, T& out, std::string_view where) {
  auto node = table[key];
  if (!node) return {};
  auto value = node.value<std::int64_t>();
  if (!value || *value < 0 || static_cast<std::uint64_t>(*value) > std::numeric_limits<T>::max()) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("config: {}.{} must be a non-negative integer", where, key));
  }
  out = static_cast<T>(*value);
  return {};
}

Result<void> read_double(const toml::table& table, std::string_view key, double& out,
                         std::string_view where) {
  auto node = table[key];
  if (!node) return {};
  auto value = node.value<double>();
  if (!value || *value < 0) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("config: {}.{} must be a non-negative number", where, key));
  }
  out = *value;
  return {};
}

Result<void> read_string(const toml::table& table, std::string_view key, std::string& out) {
  auto node = table[key];
  if (!node) return {};
  auto value = node.value<std::string>();
  if (!value) return fail(ErrorCode::InvalidArgument, fmt::format("config: {} must be a string", key));
  out = *value;
  return {};
}

Result<void> check_unknown(const toml::table& table, std::initializer_list<std::string_view> known,
                           std::string_view where) {
  for (auto& [key, node] : table) {
    (void)node;
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      return fail(ErrorCode::InvalidArgument, fmt::format("config: unknown key '{}{}'", where, key.str()));
    }
  }
  return {};
}

Result<void> validate(const Config& c) {
  if (c.credential_ttl_secs == 0) return fail(ErrorCode::InvalidArgument, "credential_ttl_secs must be > 0");
  if (c.heartbeat_interval_secs == 0)
    return fail(ErrorCode::InvalidArgument, "heartbeat interval must be > 0");
  if (c.heartbeat_miss_limit == 0)
    return fail(ErrorCode::InvalidArgument, "heartbeat miss_limit must be > 0");
  if (c.limits.max_frame_bytes < 256)
    return fail(ErrorCode::InvalidArgument, "max_frame_bytes must be >= 256");
  if (c.limits.messages_per_second <= 0 || c.limits.message_burst < 1) {
    return fail(ErrorCode::InvalidArgument, "messages_per_second must be > 0 and message_burst >= 1");
  }
  if (c.data_dir.empty()) return fail(ErrorCode::InvalidArgument, "data_dir must not be empty");
  return {};
}

}  // namespace

Result<RealmSeed> parse_realm_seed(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size()) {
    return fail(ErrorCode::InvalidArgument, fmt::format("--realm expects ID=SECRET, got '{}'", text));
  }
  RealmSeed seed;
  auto id = text.substr(0, eq);
  auto [ptr, ec] = std::from_chars(id.data(), id.data() + id.size(), seed.id);
  if (ec != std::errc{} || ptr != id.data() + id.size() || seed.id == 0) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("--realm: '{}' is not a realm id (1..4294967295)", id));
  }
  seed.secret = std::string(text.substr(eq + 1));
  return seed;
}

Result<void> parse_listen(Config& config, std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return fail(ErrorCode::InvalidArgument, fmt::format("--listen expects HOST:PORT, got '{}'", text));
  }
  auto port = text.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || ptr != port.data() + port.size() || value > 65535) {
    return fail(ErrorCode::InvalidArgument, fmt::format("--listen: '{}' is not a port", port));
  }
  config.host = std::string(text.substr(0, colon));
  if (config.host.size() > 2 && config.host.front() == '[' && config.host.back() == ']') {
    config.host = config.host.substr(1, config.host.size() - 2);
  }
  config.port = static_cast<std::uint16_t>(value);
  return {};
}

Result<void> apply_toml(Config& c, std::string_view toml_text) {
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("config: {} (line {})", e.description(), e.source().begin.line));
  }
  if (auto r = check_unknown(
          root,
          {"listen", "data_dir", "admin_token", "turn_secret", "realm", "identity", "heartbeat", "limits"},
          "");
      !r) {
    return r;
  }
  if (auto listen = root["listen"].value<std::string>()) {
    if (auto r = parse_listen(c, *listen); !r) return r;
  }
  for (auto key : {"data_dir", "admin_token", "turn_secret"}) {
    std::string* dst = key == std::string_view("data_dir")      ? &c.data_dir
                       : key == std::string_view("admin_token") ? &c.admin_token
                                                                : &c.turn_secret;
    if (auto r = read_string(root, key, *dst); !r) return r;
  }
  if (auto realms = root["realm"].as_array()) {
    for (auto& node : *realms) {
      auto* t = node.as_table();
      auto id = t ? (*t)["id"].value<std::int64_t>() : std::nullopt;
      auto secret = t ? (*t)["secret"].value<std::string>() : std::nullopt;
      if (!id || *id <= 0 || *id > 0xffffffffLL || !secret || secret->empty()) {
        return fail(ErrorCode::InvalidArgument,
                    "config: each [[realm]] needs id (> 0) and a non-empty secret");
      }
      c.realms.push_back({static_cast<std::uint32_t>(*id), *secret});
    }
  } else if (root["realm"]) {
    return fail(ErrorCode::InvalidArgument, "config: realm must be an array of tables ([[realm]])");
  }
  if (auto* t = root["identity"].as_table()) {
    if (auto r = check_unknown(*t,
                               {"credential_ttl_secs", "renewal_token_ttl_secs", "renew_retry_window_secs",
                                "key_rotation_secs", "key_tolerance_secs", "secret_rotation_grace_secs"},
                               "identity.");
        !r) {
      return r;
    }
    for (auto [key, dst] : {std::pair{"credential_ttl_secs", &c.credential_ttl_secs},
                            {"renewal_token_ttl_secs", &c.renewal_token_ttl_secs},
                            {"renew_retry_window_secs", &c.renew_retry_window_secs},
                            {"key_rotation_secs", &c.key_rotation_secs},
                            {"key_tolerance_secs", &c.key_tolerance_secs},
                            {"secret_rotation_grace_secs", &c.secret_rotation_grace_secs}}) {
      if (auto r = read_uint(*t, key, *dst, "identity"); !r) return r;
    }
  }
  if (auto* t = root["heartbeat"].as_table()) {
    if (auto r = check_unknown(*t, {"interval_secs", "miss_limit"}, "heartbeat."); !r) return r;
    if (auto r = read_uint(*t, "interval_secs", c.heartbeat_interval_secs, "heartbeat"); !r) return r;
    if (auto r = read_uint(*t, "miss_limit", c.heartbeat_miss_limit, "heartbeat"); !r) return r;
  }
  if (auto* t = root["limits"].as_table()) {
    if (auto r = check_unknown(*t,
                               {"connections_per_ip_per_minute", "messages_per_second", "message_burst",
                                "max_frame_bytes", "max_http_body_bytes", "registrations_per_ip_per_second"},
                               "limits.");
        !r) {
      return r;
    }
    auto& l = c.limits;
    if (auto r = read_uint(*t, "connections_per_ip_per_minute", l.connections_per_ip_per_minute, "limits");
        !r) {
      return r;
    }
    if (auto r = read_double(*t, "messages_per_second", l.messages_per_second, "limits"); !r) return r;
    if (auto r = read_double(*t, "message_burst", l.message_burst, "limits"); !r) return r;
    if (auto r = read_uint(*t, "max_frame_bytes", l.max_frame_bytes, "limits"); !r) return r;
    if (auto r = read_uint(*t, "max_http_body_bytes", l.max_http_body_bytes, "limits"); !r) return r;
    if (auto r =
            read_double(*t, "registrations_per_ip_per_second", l.registrations_per_ip_per_second, "limits");
        !r) {
      return r;
    }
  }
  return {};
}

Result<ParseOutcome> parse_command_line(int argc, char** argv) {
  CLI::App app{"actr-signal: the Actor-RTC signaling server (AIS, presence, discovery, relay)"};
  std::string listen, data_dir, config_file, admin_token;
  std::vector<std::string> realms;
  app.add_option("--listen", listen, "HOST:PORT to serve HTTP and WebSocket on (default 127.0.0.1:8081)");
  app.add_option("--data-dir", data_dir, "directory of the SQLite state (default ./actr-signal-data)");
  app.add_option("--realm", realms, "ID=SECRET: create or update a realm (repeatable)");
  app.add_option("--config", config_file, "TOML file with the same settings and the limits");
  app.add_option("--admin-token", admin_token, "enables /admin/* endpoints guarded by this token");
  ParseOutcome out;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.help = true;
    out.message = app.help();
    return out;
  } catch (const CLI::ParseError& e) {
    return fail(ErrorCode::InvalidArgument, fmt::format("{}\nRun with --help for the options.", e.what()));
  }
  Config& c = out.config;
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in)
      return fail(ErrorCode::InvalidArgument, fmt::format("cannot read config file '{}'", config_file));
    std::stringstream text;
    text << in.rdbuf();
    if (auto r = apply_toml(c, text.str()); !r) {
      return fail(ErrorCode::InvalidArgument, fmt::format("{}: {}", config_file, r.error().message));
    }
  }
  if (!listen.empty()) {
    if (auto r = parse_listen(c, listen); !r) return std::unexpected(r.error());
  }
  if (!data_dir.empty()) c.data_dir = data_dir;
  if (!admin_token.empty()) c.admin_token = admin_token;
  for (auto& text : realms) {
    auto seed = parse_realm_seed(text);
    if (!seed) return std::unexpected(seed.error());
    c.realms.push_back(*seed);
  }
  if (auto r = validate(c); !r) return std::unexpected(r.error());
  return out;
}

}  // namespace actr::signal
