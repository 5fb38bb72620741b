#pragma once
// actr.toml: how a node reaches its signaling server, which realm it joins, whether it listens for
// direct WebSocket connections, who may call it (ACL) and how it logs. The node's ActrType is not
// here: it comes from manifest.toml's [package]. docs/config.md lists every key.

#include <actr/actr.pb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actr/protocol/error.hpp"

namespace actr::config {

/// [websocket]: the direct-connect listener.
struct WsListener {
  std::string listen_host;            // "0.0.0.0", "127.0.0.1", "::"
  std::uint16_t listen_port = 0;      // 0 = ephemeral, chosen at bind time
  std::string advertised_host;        // what peers dial; defaults to listen_host
  std::uint16_t advertised_port = 0;  // what peers dial; 0 = the bound port (set behind a port map)

  /// RegisterRequest.ws_address once the listener is bound: "ws://<advertised_host>:<port>", the
  /// port being advertised_port when set, else `bound_port`.
  std::string ws_address(std::uint16_t bound_port) const;
};

/// One [[acl]] entry.
struct AclEntry {
  bool allow = false;
  actr::ActrType from_type;
  std::optional<std::uint32_t> realm_id;  // nullopt = any realm
};

struct Logging {
  std::string level = "info";                 // trace, debug, info, warn, error, critical, off
  std::optional<std::filesystem::path> file;  // nullopt = stderr
};

struct NodeFile {
  std::string signaling_url;  // ws(s)://host:port/signaling/ws
  std::string ais_url;        // http(s)://host:port/ais; derived from signaling_url when not set

  std::uint32_t realm_id = 0;
  std::string realm_secret;      // resolved: from realm.secret or the realm.secret_env variable
  std::string realm_secret_env;  // the variable's name when the secret came from one

  std::optional<WsListener> websocket;  // nullopt = no direct-connect listener

  std::optional<std::uint32_t> heartbeat_interval_secs;  // nullopt = what the server suggests

  std::optional<std::uint32_t> idle_spin_us;  // [runtime]; nullopt = NodeConfig::idle_spin's default
  std::optional<bool> tune_allocator;         // [runtime]; nullopt = NodeConfig::tune_allocator's default

  /// [duplicate_filter]: RemoteConfig::duplicate_filter; each nullopt = its default.
  struct DuplicateFilter {
    std::optional<std::uint32_t> requests;
    std::optional<std::uint32_t> answers_mib;
    std::optional<std::uint32_t> answer_max_kib;
  };
  DuplicateFilter duplicate_filter;

  std::vector<AclEntry> acl;  // empty = no ACL sent (the server's default applies)

  Logging logging;

  /// The ACL as sent in RegisterRequest.acl.
  actr::Acl to_acl() const;
};

/// Looks up an environment variable (injectable for tests); nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment (std::getenv).
std::optional<std::string> process_env(std::string_view name);

/// Parses actr.toml text. `source` names the file in error messages ("actr.toml:7:1: ...").
Result<NodeFile> parse_node_file(std::string_view text, std::string_view source = "actr.toml",
                                 const EnvLookup& env = process_env);

/// Reads and parses `path`; a relative logging.file is taken relative to the file's directory.
Result<NodeFile> load_node_file(const std::filesystem::path& path, const EnvLookup& env = process_env);

/// "ws://h:p/signaling/ws" → "http://h:p/ais" (wss → https). InvalidArgument for other schemes.
Result<std::string> ais_url_from_signaling(std::string_view signaling_url);

}  // namespace actr::config
