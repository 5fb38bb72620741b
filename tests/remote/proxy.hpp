#pragma once
// A loopback TCP forwarder for fault injection: peers dial the proxy's port, it forwards to
// `target_port`, and cut() breaks every connection it carries at once (new ones still work), the
// way a lost network path looks to both ends. stall() stops forwarding without closing anything,
// the way a hung peer or a black-holed path looks: the TCP buffers fill and the senders block.

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace actr::test {

class TcpProxy {
 public:
  explicit TcpProxy(unsigned short target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  unsigned short port() const { return port_; }
  /// Resets every connection forwarded so far.
  void cut();
  /// Stops forwarding in both directions (what is being forwarded right now still goes through);
  /// resume() carries on where it stopped.
  void stall();
  void resume();
  /// Connections accepted so far.
  int accepted() const { return accepted_.load(); }

 private:
  struct Pair;
  void accept_loop();

  unsigned short target_port_;
  unsigned short port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<std::atomic<bool>> stalled_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<std::shared_ptr<Pair>> pairs_;
  std::thread acceptor_;
};

}  // namespace actr::test
