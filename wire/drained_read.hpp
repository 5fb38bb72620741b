#pragma once
// A socket read that tells Asio's reactor when it drained the socket (internal to actr_wire).
//
// Asio 1.74 tries every async_read_some at once, with a non-blocking recv, before it waits in
// epoll, and it stops doing so only after a read that returned EOF. When the peer has not answered
// yet (a sequential call: always), that first recv returns EAGAIN: one wasted system call per
// message, ~400 ns here (docs/wire.md). A recv that returns fewer bytes than it asked for has
// emptied the socket's receive queue; this read reports that to the reactor as "exhausted", so the
// next read waits for epoll's edge instead of trying first. Nothing is missed: epoll is
// edge-triggered, so data that arrives after the drain raises an edge; and if that edge comes
// while no read is queued, the reactor marks the socket for an immediate attempt again.
//
// It uses the reactor's own operation interface (asio::detail, Boost 1.74 as Debian 12 ships it);
// with any other Asio version ACTR_WIRE_DRAINED_READ is 0 and the wire uses async_read_some.

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/version.hpp>

#include <cerrno>
#include <cstddef>
#include <utility>

#include <sys/socket.h>

#if BOOST_ASIO_VERSION == 101800 && defined(__linux__)
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#define ACTR_WIRE_DRAINED_READ 1
#else
#define ACTR_WIRE_DRAINED_READ 0
#endif

namespace actr::wire::detail {

#if ACTR_WIRE_DRAINED_READ

/// One read at a time on one socket: its owner keeps one and starts it again for each read. The
/// `Keep` handed to start() (the owner's shared_ptr) is held until the read completes; `on_read`
/// then gets it with the outcome, on whichever thread ran the completion (it must hop to the
/// owner's strand itself), and nothing at all when the io_context is destroyed first.
template <class Socket, class Keep>
class DrainedRead : public boost::asio::detail::reactor_op {
 public:
  using OnRead = void (*)(Keep& keep, const boost::system::error_code& ec, std::size_t bytes);

  explicit DrainedRead(OnRead on_read)
      : reactor_op(boost::system::error_code(), &perform_read, &complete_read),
        on_read_(std::move(on_read)) {}
  DrainedRead(const DrainedRead&) = delete;
  DrainedRead& operator=(const DrainedRead&) = delete;

  /// Reads into [data, data + size) once the socket has bytes; `keep` holds the owner meanwhile.
  void start(Socket& socket, void* data, std::size_t size, Keep keep) {
    ec_ = {};
    bytes_transferred_ = 0;
    data_ = data;
    size_ = size;
    keep_ = std::move(keep);
    auto& implementation = Internals::implementation(socket);
    fd_ = implementation.socket_;
    if (!reactor_) {  // looked up once: use_service takes the service registry's lock
      reactor_ = &boost::asio::use_service<boost::asio::detail::reactor>(
          boost::asio::query(socket.get_executor(), boost::asio::execution::context));
    }
    reactor_->start_op(boost::asio::detail::reactor::read_op, fd_, implementation.reactor_data_, this,
                       /*is_continuation=*/true, /*allow_speculative=*/true);
  }

 private:
  // Asio keeps the socket's reactor registration protected; a pointer to the protected member,
  // taken inside a derived class, reads it from the socket itself (no cast of the object).
  struct Internals : Socket {
    static auto& implementation(Socket& socket) { return (socket.*(&Internals::impl_)).get_implementation(); }
  };

  static status perform_read(reactor_op* base) {
    auto* self = static_cast<DrainedRead*>(base);
    for (;;) {
      const ssize_t n = ::recv(self->fd_, self->data_, self->size_, 0);
      if (n > 0) {
        self->bytes_transferred_ = static_cast<std::size_t>(n);
        return self->bytes_transferred_ < self->size_ ? done_and_exhausted : done;
      }
      if (n == 0) {
        self->ec_ = boost::asio::error::eof;
        return done_and_exhausted;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      self->ec_ = boost::system::error_code(errno, boost::asio::error::get_system_category());
      return done;
    }
  }

  // owner == nullptr: the io_context is being destroyed with the read still queued.
  static void complete_read(void* owner, boost::asio::detail::operation* base,
                            const boost::system::error_code&, std::size_t) {
    auto* self = static_cast<DrainedRead*>(base);
    // Nothing of *self is touched after `keep` leaves it: releasing it may destroy the owner,
    // and this operation with it.
    Keep keep = std::move(self->keep_);
    const boost::system::error_code ec = self->ec_;
    const std::size_t bytes = self->bytes_transferred_;
    if (owner) self->on_read_(keep, ec, bytes);
  }

  OnRead on_read_;
  boost::asio::detail::reactor* reactor_ = nullptr;
  Keep keep_;
  int fd_ = -1;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

#endif

}  // namespace actr::wire::detail
