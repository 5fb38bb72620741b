// actr_wire_bench: ping-pong over loopback through the WebSocket wire, next to a raw TCP baseline
// (Asio, the same 5-byte header framing) measured in the same run.
//
//   actr_wire_bench [--json FILE] [--payload BYTES] [--rounds N] [--calls N] [--inflight N]
//
// Latency: one call in flight, `rounds` round trips, p50/p99 in microseconds and calls per second.
// Throughput: `inflight` calls kept in flight until `calls` have completed; calls per second.
// The echo side and the calling side each run their own io_context on their own thread.

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actr/protocol/credential.hpp"
#include "actr/protocol/ids.hpp"
#include "actr/wire/websocket.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Settings {
  std::size_t payload = 64;
  int rounds = 20000;
  int calls = 400000;
  int inflight = 64;
  std::string json;
};

struct Figures {
  double p50_us = 0;
  double p99_us = 0;
  double calls_per_s = 0;      // `inflight` calls in flight
  double seq_calls_per_s = 0;  // one call in flight
};

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  auto index = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  return samples[index];
}

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

/// Runs an io_context on its own thread until stopped.
class Loop {
 public:
  Loop() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Loop() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// ---- raw TCP baseline ---------------------------------------------------------------------------------

std::string raw_frame(std::size_t payload) {
  std::string frame(5 + payload, 'p');
  frame[0] = 0;
  auto len = static_cast<std::uint32_t>(payload);
  frame[1] = static_cast<char>(len >> 24);
  frame[2] = static_cast<char>(len >> 16);
  frame[3] = static_cast<char>(len >> 8);
  frame[4] = static_cast<char>(len);
  return frame;
}

/// Reads whatever arrived and returns how many complete frames it held (the rest stays buffered).
struct FrameReader {
  std::vector<char> buffer = std::vector<char>(256 * 1024);
  std::size_t have = 0;
  std::string echo;  // the complete frames, for an echo server

  std::size_t take_frames(bool keep) {
    std::size_t pos = 0, count = 0;
    echo.clear();
    while (have - pos >= 5) {
      auto b = [&](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(buffer[pos + i]));
      };
      std::uint32_t len = b(1) << 24 | b(2) << 16 | b(3) << 8 | b(4);
      if (have - pos - 5 < len) break;
      if (keep) echo.append(buffer.data() + pos, 5 + len);
      pos += 5 + len;
      ++count;
    }
    std::memmove(buffer.data(), buffer.data() + pos, have - pos);
    have -= pos;
    return count;
  }
};

asio::awaitable<void> raw_echo(tcp::socket socket) {
  socket.set_option(tcp::no_delay(true));
  FrameReader reader;
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  for (;;) {
    auto space = asio::buffer(reader.buffer.data() + reader.have, reader.buffer.size() - reader.have);
    std::size_t n = co_await socket.async_read_some(space, token);
    if (ec) break;
    reader.have += n;
    if (reader.take_frames(true) == 0) continue;
    auto out = asio::buffer(reader.echo);
    co_await asio::async_write(socket, out, token);
    if (ec) break;
  }
}

asio::awaitable<void> raw_accept(tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(token);
    if (ec) break;
    auto session = raw_echo(std::move(socket));
    asio::co_spawn(acceptor.get_executor(), std::move(session), asio::detached);
  }
}

asio::awaitable<Figures> raw_client(std::uint16_t port, Settings settings) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  co_await socket.async_connect(endpoint, asio::use_awaitable);
  socket.set_option(tcp::no_delay(true));
  FrameReader reader;
  const std::string frame = raw_frame(settings.payload);
  Figures figures;

  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(settings.rounds));
  auto measured_from = Clock::now();
  for (int i = 0; i < settings.rounds + settings.rounds / 10; ++i) {
    auto start = Clock::now();
    auto out = asio::buffer(frame);
    co_await asio::async_write(socket, out, asio::use_awaitable);
    std::size_t got = 0;
    while (got == 0) {
      auto space = asio::buffer(reader.buffer.data() + reader.have, reader.buffer.size() - reader.have);
      reader.have += co_await socket.async_read_some(space, asio::use_awaitable);
      got = reader.take_frames(false);
    }
    if (i >= settings.rounds / 10) samples.push_back(micros(Clock::now() - start));  // after warm-up
    if (i + 1 == settings.rounds / 10) measured_from = Clock::now();
  }
  figures.seq_calls_per_s = static_cast<double>(samples.size()) /
                            std::chrono::duration<double>(Clock::now() - measured_from).count();
  figures.p50_us = percentile(samples, 0.50);
  figures.p99_us = percentile(samples, 0.99);

  std::string burst;
  for (int i = 0; i < settings.inflight; ++i) burst += frame;
  int sent = settings.inflight, done = 0;
  auto start = Clock::now();
  auto first = asio::buffer(burst);
  co_await asio::async_write(socket, first, asio::use_awaitable);
  std::string more;
  while (done < settings.calls) {
    auto space = asio::buffer(reader.buffer.data() + reader.have, reader.buffer.size() - reader.have);
    reader.have += co_await socket.async_read_some(space, asio::use_awaitable);
    auto n = static_cast<int>(reader.take_frames(false));
    done += n;
    int next = std::min(n, settings.calls - sent);
    if (next > 0) {
      more.clear();
      for (int i = 0; i < next; ++i) more += frame;
      sent += next;
      auto out = asio::buffer(more);
      co_await asio::async_write(socket, out, asio::use_awaitable);
    }
  }
  figures.calls_per_s = settings.calls / std::chrono::duration<double>(Clock::now() - start).count();
  co_return figures;
}

Figures run_raw(const Settings& settings) {
  Loop server;
  tcp::acceptor acceptor(server.io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto accept = raw_accept(acceptor);
  asio::co_spawn(server.io(), std::move(accept), asio::detached);
  asio::io_context client;
  std::optional<Figures> figures;
  auto task = raw_client(acceptor.local_endpoint().port(), settings);
  asio::co_spawn(client, std::move(task), [&](std::exception_ptr e, Figures f) {
    if (e) std::rethrow_exception(e);
    figures = f;
  });
  client.run();
  asio::post(server.io(), [&acceptor] { acceptor.close(); });
  return figures.value_or(Figures{});
}

// ---- WebSocket wire -----------------------------------------------------------------------------------

asio::awaitable<void> ws_echo(std::shared_ptr<actr::wire::Connection> connection) {
  for (;;) {
    auto frame = co_await connection->receive();
    if (!frame) break;
    if (!connection->send(frame->lane, std::move(frame->data))) break;
  }
}

asio::awaitable<Figures> ws_client(std::uint16_t port, actr::ActrId target, actr::ActrId source,
                                   actr::AIdCredential credential, Settings settings) {
  auto ex = co_await asio::this_coro::executor;
  auto dialed = co_await actr::wire::connect(ex, fmt::format("ws://127.0.0.1:{}", port), target, source,
                                             credential, Clock::now() + std::chrono::seconds(5));
  Figures figures;
  if (!dialed) {
    fmt::print(stderr, "connect failed: {}\n", dialed.error().to_string());
    co_return figures;
  }
  auto connection = *dialed;
  const std::string payload(settings.payload, 'p');

  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(settings.rounds));
  auto measured_from = Clock::now();
  for (int i = 0; i < settings.rounds + settings.rounds / 10; ++i) {
    auto start = Clock::now();
    (void)connection->send(actr::RPC_RELIABLE, std::string(payload));
    auto back = co_await connection->receive();
    if (!back) break;
    if (i >= settings.rounds / 10) samples.push_back(micros(Clock::now() - start));
    if (i + 1 == settings.rounds / 10) measured_from = Clock::now();
  }
  figures.seq_calls_per_s = static_cast<double>(samples.size()) /
                            std::chrono::duration<double>(Clock::now() - measured_from).count();
  figures.p50_us = percentile(samples, 0.50);
  figures.p99_us = percentile(samples, 0.99);

  int sent = 0, done = 0;
  auto start = Clock::now();
  for (; sent < settings.inflight; ++sent) (void)connection->send(actr::RPC_RELIABLE, std::string(payload));
  while (done < settings.calls) {
    auto back = co_await connection->receive();
    if (!back) break;
    ++done;
    if (sent < settings.calls) {
      (void)connection->send(actr::RPC_RELIABLE, std::string(payload));
      ++sent;
    }
  }
  figures.calls_per_s = done / std::chrono::duration<double>(Clock::now() - start).count();
  connection->close("bench done");
  co_return figures;
}

Figures run_ws(const Settings& settings) {
  auto keys = actr::generate_signing_keypair();
  auto type = actr::make_actr_type("acme", "bench", "v1");
  auto caller = actr::make_actr_id(1, 1, type);
  auto callee = actr::make_actr_id(1, 2, type);
  actr::IdentityClaims claims;
  claims.set_realm_id(1);
  claims.set_actor_id(actr::to_string(caller));
  claims.set_expires_at(actr::unix_now_seconds() + 3600);
  auto credential = *actr::sign_credential(claims, 1, keys.secret_key);

  Loop server;
  auto server_ex = server.io().get_executor();
  actr::wire::Verifier verifier =
      [pubkey = keys.public_key](
          actr::ActrId claimed,
          actr::AIdCredential presented) -> asio::awaitable<actr::Result<actr::ActrId>> {
    auto verified = actr::verify_credential(presented, pubkey, claimed, actr::unix_now_seconds());
    if (!verified) co_return std::unexpected(verified.error());
    co_return claimed;
  };
  auto listener = actr::wire::Listener::start(
      server_ex, "127.0.0.1", 0, verifier, [server_ex](std::shared_ptr<actr::wire::Connection> connection) {
        auto echo = ws_echo(std::move(connection));
        asio::co_spawn(server_ex, std::move(echo), asio::detached);
      });
  if (!listener) {
    fmt::print(stderr, "listen failed: {}\n", listener.error().to_string());
    return {};
  }
  asio::io_context client;
  std::optional<Figures> figures;
  auto task = ws_client((*listener)->port(), callee, caller, credential, settings);
  asio::co_spawn(client, std::move(task), [&](std::exception_ptr e, Figures f) {
    if (e) std::rethrow_exception(e);
    figures = f;
  });
  client.run();
  (*listener)->stop();
  return figures.value_or(Figures{});
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "{} needs a value\n", arg);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--json") {
      settings.json = value();
    } else if (arg == "--payload") {
      settings.payload = std::stoul(value());
    } else if (arg == "--rounds") {
      settings.rounds = std::stoi(value());
    } else if (arg == "--calls") {
      settings.calls = std::stoi(value());
    } else if (arg == "--inflight") {
      settings.inflight = std::stoi(value());
    } else {
      fmt::print(stderr,
                 "usage: {} [--json FILE] [--payload BYTES] [--rounds N] [--calls N] [--inflight N]\n",
                 argv[0]);
      return 2;
    }
  }

  Figures raw = run_raw(settings);
  Figures ws = run_ws(settings);

  fmt::print("wire_bench: {}-byte payload, {} round trips (1 in flight), {} calls ({} in flight)\n",
             settings.payload, settings.rounds, settings.calls, settings.inflight);
  fmt::print("{:<12} {:>10} {:>10} {:>14} {:>14}\n", "", "p50 us", "p99 us", "calls/s (1)",
             fmt::format("calls/s ({})", settings.inflight));
  fmt::print("{:<12} {:>10.1f} {:>10.1f} {:>14.0f} {:>14.0f}\n", "raw tcp", raw.p50_us, raw.p99_us,
             raw.seq_calls_per_s, raw.calls_per_s);
  fmt::print("{:<12} {:>10.1f} {:>10.1f} {:>14.0f} {:>14.0f}\n", "websocket", ws.p50_us, ws.p99_us,
             ws.seq_calls_per_s, ws.calls_per_s);
  double p50_ratio = raw.p50_us > 0 ? ws.p50_us / raw.p50_us : 0;
  double rate_ratio = raw.calls_per_s > 0 ? ws.calls_per_s / raw.calls_per_s : 0;
  double seq_ratio = raw.seq_calls_per_s > 0 ? ws.seq_calls_per_s / raw.seq_calls_per_s : 0;
  fmt::print("{:<12} {:>10.2f} {:>10} {:>14.2f} {:>14.2f}\n", "ws / raw", p50_ratio, "", seq_ratio,
             rate_ratio);

  if (!settings.json.empty()) {
    std::ofstream out(settings.json);
    out << fmt::format(
        "{{\"payload_bytes\": {}, \"inflight\": {}, \"tcp_p50_us\": {:.2f}, \"tcp_p99_us\": {:.2f}, "
        "\"tcp_calls_per_s\": {:.0f}, \"tcp_seq_calls_per_s\": {:.0f}, \"ws_p50_us\": {:.2f}, "
        "\"ws_p99_us\": {:.2f}, \"ws_calls_per_s\": {:.0f}, \"ws_seq_calls_per_s\": {:.0f}, "
        "\"ws_over_tcp_p50\": {:.3f}, \"ws_over_tcp_calls_per_s\": {:.3f}}}\n",
        settings.payload, settings.inflight, raw.p50_us, raw.p99_us, raw.calls_per_s, raw.seq_calls_per_s,
        ws.p50_us, ws.p99_us, ws.calls_per_s, ws.seq_calls_per_s, p50_ratio, rate_ratio);
    if (!out) {
      fmt::print(stderr, "cannot write {}\n", settings.json);
      return 1;
    }
  }
  return ws.calls_per_s > 0 && raw.calls_per_s > 0 ? 0 : 1;
}
