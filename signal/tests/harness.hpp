#pragma once
// Test harness: runs the real actr-signal binary on an ephemeral port and talks to it over real
// sockets (HTTP and WebSocket). No Boost in this header, so the test files compile fast.

#include <actr/signal.pb.h>
#include <actr/signaling.pb.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace actr::signal::test {

using namespace std::chrono_literals;

struct ServerOptions {
  std::vector<std::string> args;  // extra flags
  std::string toml;               // written to a file and passed with --config when non-empty
  std::string data_dir;           // empty = a fresh temporary directory
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerOptions options = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// Sends `sig` and waits for the exit; returns the exit code (or 128+signal).
  int stop(int sig = SIGTERM);
  /// Stops (SIGTERM) and starts again on the same data directory (new port).
  void restart();
  bool running() const { return pid_ > 0; }

  std::uint16_t port = 0;
  std::string dev_secret;
  std::string data_dir;

 private:
  void start();
  ServerOptions options_;
  std::string config_path_;
  int pid_ = -1;
  int out_fd_ = -1;
  std::shared_ptr<void> drain_;  // thread draining stdout so the server never blocks on it
};

/// Runs the binary to completion with `args`; returns {exit code, stderr}.
std::pair<int, std::string> run_to_exit(const std::vector<std::string>& args);

struct HttpResult {
  unsigned status = 0;
  std::string body;
};
HttpResult http(std::uint16_t port, const std::string& method, const std::string& target,
                const std::string& body,
                const std::vector<std::pair<std::string, std::string>>& headers = {});

RegisterRequest make_register(std::uint32_t realm, const std::string& manufacturer, const std::string& name,
                              const std::string& version = "1.0.0");
/// POST /ais/register; fails the test unless it succeeded.
RegisterResponse::RegisterOk register_ok(std::uint16_t port, const std::string& secret,
                                         const RegisterRequest& req);
RegisterResponse register_any(std::uint16_t port, const std::string& secret, const RegisterRequest& req,
                              unsigned* status = nullptr);

std::string ws_query(const ActrId& id, const AIdCredential& credential);

class WsClient {
 public:
  /// Connects with the credential of `ok`; nullptr (and the HTTP status) when refused.
  static std::unique_ptr<WsClient> connect(std::uint16_t port, const RegisterResponse::RegisterOk& ok,
                                           unsigned* status = nullptr);
  static std::unique_ptr<WsClient> connect_target(std::uint16_t port, const std::string& target,
                                                  unsigned* status = nullptr);
  ~WsClient();

  bool send_raw(const std::string& bytes, bool binary = true);
  bool send(const signaling::SignalingEnvelope& envelope);
  /// An ActrToSignaling with this client's source and credential; `fill` sets the payload.
  signaling::SignalingEnvelope actr(const std::function<void(signaling::ActrToSignaling&)>& fill);
  signaling::SignalingEnvelope relay(const ActrId& target,
                                     const std::function<void(signaling::ActrRelay&)>& fill);
  /// Sends and waits for the envelope whose reply_for is this one's id (others are kept).
  std::optional<signaling::SignalingEnvelope> request(const signaling::SignalingEnvelope& envelope,
                                                      std::chrono::milliseconds timeout = 5s);
  /// The next envelope satisfying `pred` (kept ones first).
  std::optional<signaling::SignalingEnvelope> wait_for(
      const std::function<bool(const signaling::SignalingEnvelope&)>& pred,
      std::chrono::milliseconds timeout = 5s);
  struct Closed {
    std::uint16_t code = 0;
    std::string reason;
  };
  /// Reads until the server closes; the close code and reason it sent.
  std::optional<Closed> wait_closed(std::chrono::milliseconds timeout = 5s);

  ActrId id;
  AIdCredential credential;

 private:
  WsClient();
  std::optional<signaling::SignalingEnvelope> read_one(std::chrono::milliseconds timeout);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<signaling::SignalingEnvelope> kept_;
};

}  // namespace actr::signal::test
