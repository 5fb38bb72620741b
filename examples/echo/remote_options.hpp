#pragma once
// Command-line options shared by the remote echo hosts.

#include <CLI/CLI.hpp>

#include "actr/runtime/node.hpp"
#include "actr/runtime/node_files.hpp"

namespace echo {

struct RemoteOptions {
  std::string config;  // actr.toml; manifest.toml (and manifest.lock.toml) beside it
  std::string signaling = "ws://127.0.0.1:8081/signaling/ws";
  std::uint32_t realm = 1;
  std::string secret;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;
  std::string lock_file;

  void add_to(CLI::App& app) {
    auto* from_files =
        app.add_option("--config", config, "actr.toml (manifest.toml beside it); replaces the flags below");
    app.add_option("--signaling", signaling, "signaling WebSocket URL")->excludes(from_files);
    app.add_option("--realm", realm, "realm id")->excludes(from_files);
    auto* secret_option =
        app.add_option("--secret", secret, "realm secret (actr-signal prints the dev realm's at start)");
    secret_option->excludes(from_files);
    app.callback([this, secret_option] {
      if (config.empty() && secret_option->count() == 0) throw CLI::RequiredError("--secret (or --config)");
    });
    app.add_option("--listen-host", listen_host, "direct-connect listener host ('' for none)")
        ->excludes(from_files);
    app.add_option("--listen-port", listen_port, "direct-connect listener port (0: ephemeral)")
        ->excludes(from_files);
    app.add_option("--lock-file", lock_file, "manifest.lock.toml with dependency fingerprints")
        ->excludes(from_files);
  }

  /// From --config: everything the files say (type, service, ACL, logging...); a bad file is an
  /// error naming the file, line and key.
  actr::Result<actr::NodeConfig> node_config_from_files() const { return actr::load_node_config(config); }

  actr::NodeConfig node_config(actr::ActrType type) const {
    actr::NodeConfig config;
    config.actr_type = std::move(type);
    config.realm_id = realm;
    actr::RemoteConfig remote;
    remote.signaling_url = signaling;
    remote.realm_secret = secret;
    remote.ws_listen_host = listen_host;
    remote.ws_listen_port = listen_port;
    remote.lock_file = lock_file;
    config.remote = std::move(remote);
    return config;
  }
};

}  // namespace echo
