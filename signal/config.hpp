#pragma once
// Server settings: built-in defaults, then the TOML file (--config), then command-line flags.

#include <cstdint>
#include <string>
#include <vector>

#include "actr/protocol/error.hpp"

namespace actr::signal {

struct RealmSeed {
  std::uint32_t id = 0;
  std::string secret;
};

struct Limits {
  std::uint32_t connections_per_ip_per_minute = 600;
  double messages_per_second = 200;  // sustained, per connection
  double message_burst = 500;        // ICE trickles come in bursts
  std::uint32_t max_frame_bytes = 64 * 1024;
  std::uint32_t max_http_body_bytes = 64 * 1024;
  double registrations_per_ip_per_second = 0;  // 0 = unlimited
};

struct Config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8081;
  std::string data_dir = "actr-signal-data";
  std::vector<RealmSeed> realms;  // upserted at start; empty and none stored = dev realm 1
  std::string admin_token;        // empty = admin endpoints off
  std::string turn_secret;        // empty = generated once and stored

  std::uint32_t credential_ttl_secs = 3600;
  std::uint32_t renewal_token_ttl_secs = 7 * 24 * 3600;
  std::uint32_t renew_retry_window_secs = 30;
  std::uint32_t key_rotation_secs = 30 * 24 * 3600;  // 0 = only on admin request
  std::uint32_t key_tolerance_secs = 24 * 3600;
  std::uint32_t secret_rotation_grace_secs = 3600;

  std::uint32_t heartbeat_interval_secs = 30;
  std::uint32_t heartbeat_miss_limit = 3;

  Limits limits;
};

/// Parses argv (the server run, not the subcommands). On error the message is ready to print;
/// `help` is set when --help was asked (print the message, exit 0).
struct ParseOutcome {
  Config config;
  bool help = false;
  std::string message;
};
Result<ParseOutcome> parse_command_line(int argc, char** argv);

/// Applies a TOML document (file contents) over `config`.
Result<void> apply_toml(Config& config, std::string_view toml_text);

Result<RealmSeed> parse_realm_seed(std::string_view text);
Result<void> parse_listen(Config& config, std::string_view text);

}  // namespace actr::signal
