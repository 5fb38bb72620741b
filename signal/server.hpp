#pragma once
// The listener: HTTP (AIS, health, metrics, admin) and the signaling WebSocket on one port, plus
// the periodic work (heartbeat expiry, write-behind flush, key rotation). One thread owns all of
// it, so the presence indexes need no locks.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <string>
#include <unordered_set>

#include "ais.hpp"
#include "config.hpp"
#include "keys.hpp"
#include "limits.hpp"
#include "metrics.hpp"
#include "presence.hpp"
#include "store.hpp"

namespace actr::signal {

class Session;

class Server {
 public:
  Server(boost::asio::io_context& io, Config config);
  ~Server();

  /// Opens the data dir, loads keys and realms, binds. Prints the bound address on stdout.
  Result<void> start();
  /// Graceful stop: no new connections, close frames to every session, flush, then return from run.
  void stop();

  // Shared with sessions (same thread).
  const Config& config() const { return config_; }
  Metrics& metrics() { return metrics_; }
  Registry& registry() { return registry_; }
  Ais& ais() { return *ais_; }
  KeyStore& keys() { return *keys_; }
  boost::asio::io_context& io() { return io_; }

  /// Makes `session` the actor's connection (displacing an older one) and announces ActrUp.
  void attach(const std::shared_ptr<Session>& session);
  /// The session ended: the actor leaves presence unless a newer connection took over.
  void detach(Session& session);
  /// UnregisterRequest: forget the actor now, in memory and in SQLite.
  void unregister(const ActrId& id);

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::beast::tcp_stream stream, std::string ip);
  boost::asio::awaitable<void> housekeeping();
  boost::asio::awaitable<void> flusher();
  HttpAnswer route(const std::string& method, const std::string& target, const std::string& body,
                   const std::string& secret, const std::string& admin_token, const std::string& ip);
  HttpAnswer admin(const std::string& method, const std::string& path, const std::string& query,
                   const std::string& token);
  void expire_heartbeats();

  boost::asio::io_context& io_;
  Config config_;
  Metrics metrics_;
  Registry registry_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<Ais> ais_;
  boost::asio::ip::tcp::acceptor acceptor_;
  PerIpLimiter connection_limiter_;
  PerIpLimiter registration_limiter_;
  std::unordered_set<Session*> sessions_;
  std::unordered_set<boost::beast::tcp_stream*> http_streams_;
  boost::asio::steady_timer stop_timer_;
  bool stopping_ = false;
};

}  // namespace actr::signal
