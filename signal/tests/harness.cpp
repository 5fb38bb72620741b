#include "harness.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "actr/protocol/ids.hpp"

#ifndef ACTR_SIGNAL_BINARY
#error "ACTR_SIGNAL_BINARY must name the actr-signal binary"
#endif

namespace actr::signal::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {

std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "actr-signal-test-XXXXXX").string();
  char* dir = ::mkdtemp(tmpl.data());
  if (!dir) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::string b64(std::string_view bytes) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(table[(v >> s) & 63]);
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(table[(v >> 18) & 63]);
    out.push_back(table[(v >> 12) & 63]);
    if (i + 1 < bytes.size()) out.push_back(table[(v >> 6) & 63]);
  }
  return out;  // URL-safe, unpadded: no percent-encoding needed in a query
}

std::string next_id() {
  static std::atomic<int> n = 0;  // tests open clients from several threads at once
  return "c-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

}  // namespace

ServerProcess::ServerProcess(ServerOptions options) : options_(std::move(options)) {
  data_dir = options_.data_dir.empty() ? make_temp_dir() : options_.data_dir;
  if (!options_.toml.empty()) {
    config_path_ = data_dir + ".toml";
    std::ofstream(config_path_) << options_.toml;
  }
  start();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop(SIGKILL);
  if (options_.data_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir, ec);
    if (!config_path_.empty()) std::filesystem::remove(config_path_, ec);
  }
}

void ServerProcess::start() {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args{ACTR_SIGNAL_BINARY, "--listen", "127.0.0.1:0", "--data-dir", data_dir};
  if (!config_path_.empty()) {
    args.push_back("--config");
    args.push_back(config_path_);
  }
  args.insert(args.end(), options_.args.begin(), options_.args.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out_fd_ = fds[0];
  // Read stdout until the "listening on" line (the bound port), then drain it in the background.
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (text.find("listening on") == std::string::npos ||
         text.find('\n', text.find("listening on")) == std::string::npos) {
    pollfd p{out_fd_, POLLIN, 0};
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      throw std::runtime_error("actr-signal did not start: " + text);
    }
    char buf[512];
    auto n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("actr-signal exited at start: " + text);
    text.append(buf, static_cast<std::size_t>(n));
  }
  auto line = text.substr(text.find("listening on"));
  port = static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':', line.find('\n')) + 1)));
  if (auto s = text.find("dev realm 1 secret: "); s != std::string::npos) {
    auto begin = s + std::string("dev realm 1 secret: ").size();
    dev_secret = text.substr(begin, text.find('\n', begin) - begin);
  }
  int fd = out_fd_;
  auto thread = std::make_shared<std::thread>([fd] {
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
  });
  drain_ = std::shared_ptr<void>(nullptr, [thread, fd](void*) {
    thread->join();
    ::close(fd);
  });
}

int ServerProcess::stop(int sig) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  drain_.reset();  // the pipe reached EOF with the exit
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ServerProcess::restart() {
  stop(SIGTERM);
  start();
}

std::pair<int, std::string> run_to_exit(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> all{ACTR_SIGNAL_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  int pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string err;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), err};
}

HttpResult http(std::uint16_t port, const std::string& method, const std::string& target,
                const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  beast::error_code ec;
  bhttp::read(stream, buffer, res, ec);
  if (ec) return {0, ec.message()};
  return {res.result_int(), res.body()};
}

RegisterRequest make_register(std::uint32_t realm, const std::string& manufacturer, const std::string& name,
                              const std::string& version) {
  RegisterRequest req;
  *req.mutable_actr_type() = make_actr_type(manufacturer, name, version);
  req.mutable_realm()->set_realm_id(realm);
  return req;
}

RegisterResponse register_any(std::uint16_t port, const std::string& secret, const RegisterRequest& req,
                              unsigned* status) {
  auto res =
      http(port, "POST", "/ais/register", req.SerializeAsString(), {{"x-actrix-realm-secret", secret}});
  if (status) *status = res.status;
  RegisterResponse out;
  EXPECT_TRUE(out.ParseFromString(res.body)) << "status " << res.status << ": " << res.body;
  return out;
}

RegisterResponse::RegisterOk register_ok(std::uint16_t port, const std::string& secret,
                                         const RegisterRequest& req) {
  unsigned status = 0;
  auto res = register_any(port, secret, req, &status);
  EXPECT_EQ(status, 200u);
  EXPECT_TRUE(res.has_success()) << res.error().message();
  return res.success();
}

std::string ws_query(const ActrId& id, const AIdCredential& credential) {
  return "/signaling/ws?actor_id=" + to_string(id) + "&key_id=" + std::to_string(credential.key_id()) +
         "&claims=" + b64(credential.claims()) + "&signature=" + b64(credential.signature());
}

struct WsClient::Impl {
  asio::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;
  bool broken = false;

  // Runs the io_context until `done` or the timeout; a timeout breaks the connection.
  bool run_until(const bool& done, std::chrono::milliseconds timeout) {
    io.restart();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && std::chrono::steady_clock::now() < deadline) io.run_for(10ms);
    if (!done) {
      broken = true;
      beast::get_lowest_layer(ws).close();
      io.restart();
      io.run_for(100ms);
    }
    return done;
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() = default;

std::unique_ptr<WsClient> WsClient::connect_target(std::uint16_t port, const std::string& target,
                                                   unsigned* status) {
  std::unique_ptr<WsClient> c(new WsClient());
  beast::error_code ec;
  beast::get_lowest_layer(c->impl_->ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return nullptr;
  websocket::response_type res;
  c->impl_->ws.handshake(res, "127.0.0.1", target, ec);
  if (status) *status = res.result_int();
  if (ec) {
    // Beast 1.74 does not hand back a declined upgrade's response: ask again with plain HTTP.
    if (status) {
      *status = http(port, "GET", target, "",
                     {{"Connection", "Upgrade"},
                      {"Upgrade", "websocket"},
                      {"Sec-WebSocket-Version", "13"},
                      {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}})
                    .status;
    }
    return nullptr;
  }
  c->impl_->ws.binary(true);
  return c;
}

std::unique_ptr<WsClient> WsClient::connect(std::uint16_t port, const RegisterResponse::RegisterOk& ok,
                                            unsigned* status) {
  auto c = connect_target(port, ws_query(ok.actr_id(), ok.credential()), status);
  if (c) {
    c->id = ok.actr_id();
    c->credential = ok.credential();
  }
  return c;
}

bool WsClient::send_raw(const std::string& bytes, bool binary) {
  beast::error_code ec;
  impl_->ws.binary(binary);
  impl_->ws.write(asio::buffer(bytes), ec);
  impl_->ws.binary(true);
  return !ec;
}

bool WsClient::send(const signaling::SignalingEnvelope& envelope) {
  return send_raw(envelope.SerializeAsString());
}

signaling::SignalingEnvelope WsClient::actr(const std::function<void(signaling::ActrToSignaling&)>& fill) {
  signaling::SignalingEnvelope env;
  env.set_envelope_version(2);
  env.set_envelope_id(next_id());
  auto* m = env.mutable_actr_to_server();
  *m->mutable_source() = id;
  *m->mutable_credential() = credential;
  fill(*m);
  return env;
}

signaling::SignalingEnvelope WsClient::relay(const ActrId& target,
                                             const std::function<void(signaling::ActrRelay&)>& fill) {
  signaling::SignalingEnvelope env;
  env.set_envelope_version(2);
  env.set_envelope_id(next_id());
  auto* m = env.mutable_actr_relay();
  *m->mutable_source() = id;
  *m->mutable_credential() = credential;
  *m->mutable_target() = target;
  fill(*m);
  return env;
}

std::optional<signaling::SignalingEnvelope> WsClient::read_one(std::chrono::milliseconds timeout) {
  if (impl_->broken) return std::nullopt;
  bool done = false;
  beast::error_code result;
  impl_->buffer.clear();
  impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  if (!impl_->run_until(done, timeout) || result) {
    impl_->broken = true;
    return std::nullopt;
  }
  signaling::SignalingEnvelope env;
  auto data = impl_->buffer.data();
  if (!env.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    ADD_FAILURE() << "server sent an undecodable frame";
    return std::nullopt;
  }
  return env;
}

std::optional<signaling::SignalingEnvelope> WsClient::wait_for(
    const std::function<bool(const signaling::SignalingEnvelope&)>& pred, std::chrono::milliseconds timeout) {
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (pred(*it)) {
      auto env = std::move(*it);
      kept_.erase(it);
      return env;
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto env = read_one(left);
    if (!env) return std::nullopt;
    if (pred(*env)) return env;
    kept_.push_back(std::move(*env));
  }
}

std::optional<signaling::SignalingEnvelope> WsClient::request(const signaling::SignalingEnvelope& envelope,
                                                              std::chrono::milliseconds timeout) {
  if (!send(envelope)) return std::nullopt;
  auto id_sent = envelope.envelope_id();
  return wait_for([&](const auto& env) { return env.has_reply_for() && env.reply_for() == id_sent; },
                  timeout);
}

std::optional<WsClient::Closed> WsClient::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->broken) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    bool done = false;
    beast::error_code result;
    impl_->buffer.clear();
    impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    if (!impl_->run_until(done, left)) return std::nullopt;
    if (result) {
      impl_->broken = true;
      auto reason = impl_->ws.reason();
      // A close frame may have arrived even when answering it failed (the server already hung up).
      if (result != websocket::error::closed && reason.code == 0) return Closed{0, result.message()};
      return Closed{static_cast<std::uint16_t>(reason.code), std::string(reason.reason.c_str())};
    }
  }
  return std::nullopt;
}

}  // namespace actr::signal::test
