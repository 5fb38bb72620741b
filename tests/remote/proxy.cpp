#include "proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace actr::test {

struct TcpProxy::Pair {
  int client = -1;
  int upstream = -1;
  std::thread forward, backward;
  ~Pair() {
    ::shutdown(client, SHUT_RDWR);
    ::shutdown(upstream, SHUT_RDWR);
    if (forward.joinable()) forward.join();
    if (backward.joinable()) backward.join();
    ::close(client);
    ::close(upstream);
  }
};

namespace {

void pump(int from, int to, std::shared_ptr<std::atomic<bool>> stalled) {
  char buffer[64 * 1024];
  for (;;) {
    // A stalled pump reads nothing (polling, so that shutdown still ends it).
    while (stalled->load()) {
      pollfd hangup{from, 0, 0};
      if (::poll(&hangup, 1, 5) > 0) break;  // POLLHUP/POLLERR: the pair is being torn down
    }
    auto n = ::read(from, buffer, sizeof buffer);
    if (n <= 0) break;
    for (ssize_t done = 0; done < n;) {
      auto w = ::send(to, buffer + done, static_cast<std::size_t>(n - done), MSG_NOSIGNAL);
      if (w <= 0) {
        n = -1;
        break;
      }
      done += w;
    }
    if (n < 0) break;
  }
  ::shutdown(from, SHUT_RDWR);
  ::shutdown(to, SHUT_RDWR);
}

sockaddr_in loopback(unsigned short port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

}  // namespace

TcpProxy::TcpProxy(unsigned short target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  auto address = loopback(0);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error(std::string("proxy: ") + std::strerror(errno));
  }
  socklen_t size = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &size);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::lock_guard lock(mutex_);
  pairs_.clear();
}

void TcpProxy::accept_loop() {
  while (!stopping_) {
    int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) break;
    int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
    auto address = loopback(target_port_);
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(client);
      ::close(upstream);
      continue;
    }
    auto pair = std::make_shared<Pair>();
    pair->client = client;
    pair->upstream = upstream;
    pair->forward = std::thread(pump, client, upstream, stalled_);
    pair->backward = std::thread(pump, upstream, client, stalled_);
    ++accepted_;
    std::lock_guard lock(mutex_);
    pairs_.push_back(std::move(pair));
  }
}

void TcpProxy::stall() { stalled_->store(true); }

void TcpProxy::resume() { stalled_->store(false); }

void TcpProxy::cut() {
  std::vector<std::shared_ptr<Pair>> pairs;
  {
    std::lock_guard lock(mutex_);
    pairs.swap(pairs_);
  }
  for (auto& pair : pairs) {
    // RST rather than FIN: both ends see the connection die, as when a path is lost.
    linger hard{1, 0};
    ::setsockopt(pair->client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::setsockopt(pair->upstream, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  pairs.clear();  // shuts down, joins and closes each
}

}  // namespace actr::test
