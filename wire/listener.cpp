// Listener side of the WebSocket wire: accept, verify the caller, then upgrade.

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <vector>

#include "actr/protocol/encoding.hpp"
#include "actr/protocol/ids.hpp"
#include "connection_impl.hpp"

namespace actr::wire {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

class ListenerImpl : public std::enable_shared_from_this<ListenerImpl> {
 public:
  ListenerImpl(asio::any_io_executor ex, Verifier verifier,
               std::function<void(std::shared_ptr<Connection>)> on_connection, Options options)
      : ex_(ex),
        strand_(options.executor_is_serial ? ex : asio::make_strand(ex)),
        acceptor_(strand_),
        retry_timer_(strand_),
        verifier_(std::move(verifier)),
        on_connection_(std::move(on_connection)),
        options_(std::move(options)) {}

  Result<void> open(const std::string& host, std::uint16_t port);
  void accept_next();
  void stop();
  std::uint16_t port() const { return port_; }
  const asio::any_io_executor& strand() const { return strand_; }

 private:
  struct Refusal {
    Refusal(http::status s, std::string r) : status(s), reason(std::move(r)) {}
    http::status status;
    std::string reason;
  };

  void on_accept(boost::system::error_code ec, tcp::socket socket);
  static asio::awaitable<void> upgrade(std::shared_ptr<ListenerImpl> self, tcp::socket socket);
  /// Tracks a connection so stop() can close it; false if the listener is already stopped.
  bool track(const std::shared_ptr<ConnectionImpl>& connection);
  bool stopped() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  static Result<ActrId> decode_source(std::string_view header);
  static Result<AIdCredential> decode_credential(std::string_view header);

  asio::any_io_executor ex_;
  asio::any_io_executor strand_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  Verifier verifier_;
  std::function<void(std::shared_ptr<Connection>)> on_connection_;
  Options options_;
  std::uint16_t port_ = 0;

  mutable std::mutex mu_;
  bool stopped_ = false;
  std::vector<std::weak_ptr<ConnectionImpl>> connections_;
};

Result<void> ListenerImpl::open(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec)
    return fail(ErrorCode::InvalidArgument, fmt::format("cannot listen on '{}': not an IP address", host));
  tcp::endpoint endpoint(address, port);
  auto failed = [&](std::string_view step) {
    return fail(ErrorCode::Unavailable,
                fmt::format("cannot listen on {}:{}: {} failed: {}", host, port, step, ec.message()));
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return failed("open");
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return failed("SO_REUSEADDR");
  acceptor_.bind(endpoint, ec);
  if (ec) return failed("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return failed("listen");
  port_ = acceptor_.local_endpoint(ec).port();
  if (ec) return failed("getsockname");
  return {};
}

void ListenerImpl::accept_next() {
  acceptor_.async_accept(options_.executor_is_serial ? ex_ : asio::make_strand(ex_),
                         [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
                           self->on_accept(ec, std::move(socket));
                         });
}

void ListenerImpl::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || stopped()) return;
  if (ec) {
    // Out of descriptors or similar: back off briefly instead of spinning.
    retry_timer_.expires_after(std::chrono::milliseconds(50));
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec) self->accept_next();
    });
    return;
  }
  auto executor = socket.get_executor();
  asio::co_spawn(executor, upgrade(shared_from_this(), std::move(socket)), asio::detached);
  accept_next();
}

Result<ActrId> ListenerImpl::decode_source(std::string_view header) {
  if (header.empty())
    return fail(ErrorCode::InvalidArgument, fmt::format("missing {} header", kSourceIdHeader));
  auto bytes = hex_decode(header);
  if (!bytes) return fail(ErrorCode::InvalidArgument, fmt::format("{} is not hex", kSourceIdHeader));
  ActrId id;
  if (!id.ParseFromString(*bytes)) {
    return fail(ErrorCode::InvalidArgument, fmt::format("{} is not an encoded ActrId", kSourceIdHeader));
  }
  return id;
}

Result<AIdCredential> ListenerImpl::decode_credential(std::string_view header) {
  if (header.empty())
    return fail(ErrorCode::InvalidArgument, fmt::format("missing {} header", kCredentialHeader));
  auto bytes = base64_decode(header);
  if (!bytes) return fail(ErrorCode::InvalidArgument, fmt::format("{} is not base64", kCredentialHeader));
  AIdCredential credential;
  if (!credential.ParseFromString(*bytes)) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} is not an encoded AIdCredential", kCredentialHeader));
  }
  return credential;
}

asio::awaitable<void> ListenerImpl::upgrade(std::shared_ptr<ListenerImpl> self, tcp::socket socket) {
  boost::system::error_code option_ec;
  socket.set_option(tcp::no_delay(true), option_ec);
  auto impl = std::make_shared<ConnectionImpl>(beast::tcp_stream(std::move(socket)),
                                               ConnectionImpl::Role::listener, self->options_);
  if (!self->track(impl)) {
    impl->close("listener stopped");
    co_return;
  }
  beast::tcp_stream& stream = impl->stream();
  stream.expires_after(self->options_.handshake_timeout);

  beast::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  beast::flat_buffer buffer;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(16 * 1024);
  co_await http::async_read(stream, buffer, parser, token);
  if (ec) {
    impl->close("no valid upgrade request");
    co_return;
  }
  const auto& request = parser.get();

  std::optional<Refusal> refusal;
  ActrId peer;
  auto key = request[http::field::sec_websocket_key];
  if (!websocket::is_upgrade(request)) {
    refusal = Refusal{http::status::bad_request, "expected a WebSocket upgrade request"};
  } else if (auto raw = base64_decode(std::string_view(key.data(), key.size())); !raw || raw->size() != 16) {
    refusal = Refusal{http::status::bad_request, "missing or malformed Sec-WebSocket-Key"};
  } else if (request[http::field::sec_websocket_version] != "13") {
    refusal = Refusal{http::status::upgrade_required, "unsupported Sec-WebSocket-Version (expected 13)"};
  } else {
    auto source_field = request[beast::string_view(kSourceIdHeader.data(), kSourceIdHeader.size())];
    auto credential_field = request[beast::string_view(kCredentialHeader.data(), kCredentialHeader.size())];
    Result<ActrId> source = decode_source(std::string_view(source_field.data(), source_field.size()));
    Result<AIdCredential> credential =
        decode_credential(std::string_view(credential_field.data(), credential_field.size()));
    if (!source) {
      refusal = Refusal{http::status::bad_request, source.error().message};
    } else if (!credential) {
      refusal = Refusal{http::status::bad_request, credential.error().message};
    } else {
      auto verification = self->verifier_(std::move(*source), std::move(*credential));
      Result<ActrId> verified = co_await std::move(verification);
      if (!verified) {
        auto code = verified.error().code;
        bool transient = code == ErrorCode::Unavailable || code == ErrorCode::TimedOut;
        refusal = Refusal{transient ? http::status::service_unavailable : http::status::unauthorized,
                          verified.error().message};
      } else if (self->stopped()) {
        refusal = Refusal{http::status::service_unavailable, "listener stopped"};
      } else {
        peer = std::move(*verified);
      }
    }
  }

  if (refusal) {
    http::response<http::string_body> response(refusal->status, request.version());
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    if (refusal->status == http::status::upgrade_required)
      response.set(http::field::sec_websocket_version, "13");
    response.keep_alive(false);
    response.body() = refusal->reason + "\n";
    response.prepare_payload();
    co_await http::async_write(stream, response, token);
    if (!ec) stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    impl->close(fmt::format("upgrade refused: {}", refusal->reason));
    co_return;
  }

  // The 101 by hand: from here on the connection frames messages itself (connection_impl.hpp).
  const std::string answer = fmt::format(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: {}\r\nServer: actr-cpp\r\n\r\n",
      ws::accept_key(std::string_view(key.data(), key.size())));
  auto answer_buffer = asio::buffer(answer);
  co_await asio::async_write(stream, answer_buffer, token);
  if (ec) {
    impl->close("WebSocket accept failed");
    co_return;
  }
  auto early = buffer.cdata();  // frames a caller sent right behind its request
  impl->start(std::move(peer), std::string_view(static_cast<const char*>(early.data()), early.size()));
  if (!impl->is_open()) co_return;  // stopped while accepting
  self->on_connection_(std::make_shared<Connection>(impl));
}

bool ListenerImpl::track(const std::shared_ptr<ConnectionImpl>& connection) {
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  std::erase_if(connections_, [](const auto& weak) { return weak.expired(); });
  connections_.push_back(connection);
  return true;
}

void ListenerImpl::stop() {
  std::vector<std::weak_ptr<ConnectionImpl>> connections;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    connections.swap(connections_);
  }
  asio::post(strand_, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->retry_timer_.cancel();
  });
  for (auto& weak : connections) {
    if (auto connection = weak.lock()) connection->close("listener stopped");
  }
}

// ---- Listener -------------------------------------------------------------------------------------

Result<std::shared_ptr<Listener>> Listener::start(
    asio::any_io_executor ex, std::string host, std::uint16_t port, Verifier verifier,
    std::function<void(std::shared_ptr<Connection>)> on_connection, Options options) {
  if (!verifier || !on_connection) {
    return fail(ErrorCode::InvalidArgument, "Listener::start needs a verifier and an on_connection callback");
  }
  auto impl =
      std::make_shared<ListenerImpl>(ex, std::move(verifier), std::move(on_connection), std::move(options));
  if (auto opened = impl->open(host, port); !opened) return std::unexpected(opened.error());
  asio::post(impl->strand(), [impl] { impl->accept_next(); });
  return std::make_shared<Listener>(std::move(impl));
}

Listener::Listener(std::shared_ptr<ListenerImpl> impl) : impl_(std::move(impl)) {}
Listener::~Listener() { impl_->stop(); }
std::uint16_t Listener::port() const { return impl_->port(); }
void Listener::stop() { impl_->stop(); }

}  // namespace actr::wire
