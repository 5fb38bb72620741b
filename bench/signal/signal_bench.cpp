// Load generator for actr-signal: registrations/s, route-candidate queries/s at two presence
// sizes, relays/s, and server memory per connected actor. Talks to a separately started server
// process over real sockets and prints one flat JSON object on stdout (a readable account of how
// each figure was measured goes to stderr).
//   signal_bench PORT SECRET SERVER_PID [small=1000] [large=100000] [connections=1000]
//
// The generator shares the machine with the server, so it is built to cost the server's core as
// little as possible: requests are pre-encoded before the clock starts, several connections are
// used, each keeps many requests in flight (HTTP/1.1 pipelining, WebSocket windows), client frames
// are written in batches (one write per batch, mask key 0) and replies are parsed from large reads.
// Besides the wall-clock rate, each phase reports the server's own CPU time per operation (from
// /proc/PID/stat), which is the capacity figure that does not depend on how fast the generator is.

#include <actr/signal.pb.h>
#include <actr/signaling.pb.h>
#include <unistd.h>

#include <sodium.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "actr/protocol/ids.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using RegisterOk = actr::RegisterResponse::RegisterOk;

namespace {

std::uint16_t g_port = 0;
std::string g_secret;
int g_pid = 0;
constexpr int kPerType = 100;  // actors per ActrType: route cost depends on this, not on the total

// How each phase drives the server (printed beside the figures).
constexpr int kRegConnections = 8;
constexpr int kRegDepth = 32;  // pipelined HTTP requests in flight per connection
constexpr int kRouteConnections = 4;
constexpr int kRouteWindow = 128;  // envelopes in flight per connection
constexpr int kRouteQueries = 400000;
constexpr int kRelayPairs = 4;
constexpr int kRelayWindow = 128;
constexpr int kRelays = 400000;
constexpr int kBatch = 32;  // client frames per write

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

long rss_kib() {
  std::ifstream in("/proc/" + std::to_string(g_pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Server CPU time (user + system) in seconds.
double server_cpu() {
  std::ifstream in("/proc/" + std::to_string(g_pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = all.rfind(')');
  std::istringstream rest(all.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Phase {
  Clock::time_point wall = Clock::now();
  double cpu = server_cpu();
  // ops per wall second, and server CPU microseconds per op.
  std::pair<double, double> end(double ops) const {
    double wall_s = seconds_since(wall);
    return {ops / wall_s, (server_cpu() - cpu) * 1e6 / ops};
  }
};

std::string b64url(const std::string& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);
  return out;
}

tcp::endpoint server() { return {asio::ip::make_address("127.0.0.1"), g_port}; }

// ---------------------------------------------------------------------------------------------
// Registrations: pipelined HTTP/1.1 keep-alive.

std::string register_http(const std::string& type_name) {
  actr::RegisterRequest req;
  *req.mutable_actr_type() = actr::make_actr_type("bench", type_name, "1.0.0");
  req.mutable_realm()->set_realm_id(1);
  auto body = req.SerializeAsString();
  return "POST /ais/register HTTP/1.1\r\nHost: 127.0.0.1\r\nx-actrix-realm-secret: " + g_secret +
         "\r\nContent-Type: application/x-protobuf\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// One connection sending `requests` with up to kRegDepth in flight; keeps the RegisterOk answers
// when `keep` is set.
asio::awaitable<void> registrar(const std::vector<std::string>* requests, std::vector<RegisterOk>* keep) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  co_await socket.async_connect(server(), asio::use_awaitable);
  socket.set_option(tcp::no_delay(true));
  beast::flat_buffer buffer;
  std::size_t sent = 0, received = 0;
  const std::size_t total = requests->size();
  std::string batch;
  while (received < total) {
    batch.clear();
    while (sent < total && sent - received < static_cast<std::size_t>(kRegDepth))
      batch += (*requests)[sent++];
    if (!batch.empty()) co_await asio::async_write(socket, asio::buffer(batch), asio::use_awaitable);
    // Read what is due before refilling the pipe to half depth.
    do {
      bhttp::response<bhttp::string_body> res;
      co_await bhttp::async_read(socket, buffer, res, asio::use_awaitable);
      if (res.result() != bhttp::status::ok)
        throw std::runtime_error("register: HTTP " + std::to_string(res.result_int()));
      if (keep) {
        actr::RegisterResponse r;
        if (!r.ParseFromString(res.body()) || !r.has_success()) throw std::runtime_error("register failed");
        keep->push_back(r.success());
      }
      ++received;
    } while (received < total && sent - received > static_cast<std::size_t>(kRegDepth / 2));
  }
}

// Registers one actor per type name; returns {per wall second, server CPU µs per registration}.
std::pair<double, double> register_many(const std::vector<std::string>& types, std::vector<RegisterOk>* keep,
                                        int connections = kRegConnections) {
  std::vector<std::vector<std::string>> per(static_cast<std::size_t>(connections));
  for (std::size_t i = 0; i < types.size(); ++i) per[i % per.size()].push_back(register_http(types[i]));
  std::vector<std::vector<RegisterOk>> answers(per.size());
  asio::io_context io(1);
  Phase phase;
  for (std::size_t c = 0; c < per.size(); ++c) {
    if (per[c].empty()) continue;
    asio::co_spawn(io, registrar(&per[c], keep ? &answers[c] : nullptr), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
  io.run();
  auto result = phase.end(static_cast<double>(types.size()));
  if (keep) {
    // Back in request order (request i went to connection i % n, answers come in order).
    for (std::size_t i = 0; i < types.size(); ++i) keep->push_back(answers[i % per.size()][i / per.size()]);
  }
  return result;
}

std::vector<std::string> svc_types(int first, int count) {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i) out.push_back("svc" + std::to_string(i / kPerType));
  return out;
}

// ---------------------------------------------------------------------------------------------
// WebSocket, done by hand: the handshake as text, client frames masked with key 0 (legal, and the
// payload stays as encoded), server frames parsed from large reads.

std::string ws_frame(const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x82));  // FIN + binary
  const std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    throw std::runtime_error("frame too big");
  }
  f.append(4, '\0');  // mask key 0
  return f + payload;
}

struct Conn {
  explicit Conn(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  RegisterOk ok;
  std::string in;  // unparsed bytes from the server
  std::size_t in_pos = 0;
};

asio::awaitable<void> ws_connect(Conn& c) {
  co_await c.socket.async_connect(server(), asio::use_awaitable);
  c.socket.set_option(tcp::no_delay(true));
  auto target = "/signaling/ws?actor_id=" + actr::to_string(c.ok.actr_id()) +
                "&key_id=" + std::to_string(c.ok.credential().key_id()) +
                "&claims=" + b64url(c.ok.credential().claims()) +
                "&signature=" + b64url(c.ok.credential().signature());
  std::string req = "GET " + target +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  co_await asio::async_write(c.socket, asio::buffer(req), asio::use_awaitable);
  std::string head;
  auto n =
      co_await asio::async_read_until(c.socket, asio::dynamic_buffer(head), "\r\n\r\n", asio::use_awaitable);
  if (head.rfind("HTTP/1.1 101", 0) != 0) throw std::runtime_error("upgrade refused: " + head.substr(0, 40));
  c.in = head.substr(n);
}

// Reads the next server frame's payload (binary or text); control frames are skipped.
asio::awaitable<std::string_view> next_frame(Conn& c) {
  for (;;) {
    const std::size_t avail = c.in.size() - c.in_pos;
    const auto* p = reinterpret_cast<const unsigned char*>(c.in.data() + c.in_pos);
    if (avail >= 2) {
      std::size_t len = p[1] & 0x7f, head = 2;
      if (len == 126 && avail >= 4) {
        len = (std::size_t{p[2]} << 8) | p[3];
        head = 4;
      } else if (len == 127 && avail >= 10) {
        len = 0;
        for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
        head = 10;
      }
      if ((p[1] & 0x7f) < 126 || head > 2) {
        if (avail >= head + len) {
          std::string_view payload(c.in.data() + c.in_pos + head, len);
          const unsigned opcode = p[0] & 0x0f;
          c.in_pos += head + len;
          if (opcode == 1 || opcode == 2) co_return payload;
          if (opcode == 8) throw std::runtime_error("server closed the connection");
          continue;
        }
      }
    }
    c.in.erase(0, c.in_pos);
    c.in_pos = 0;
    const std::size_t old = c.in.size();
    c.in.resize(old + 65536);
    auto got = co_await c.socket.async_read_some(asio::buffer(c.in.data() + old, 65536), asio::use_awaitable);
    c.in.resize(old + got);
  }
}

signaling::SignalingEnvelope actr_envelope(const Conn& c, const std::string& id) {
  signaling::SignalingEnvelope env;
  env.set_envelope_version(2);
  env.set_envelope_id(id);
  auto* m = env.mutable_actr_to_server();
  *m->mutable_source() = c.ok.actr_id();
  *m->mutable_credential() = c.ok.credential();
  return env;
}

std::string ping_frame(const Conn& c) {
  auto env = actr_envelope(c, "p");
  auto* ping = env.mutable_actr_to_server()->mutable_ping();
  ping->set_availability(actr::FULL);
  ping->set_power_reserve(1.0F);
  ping->set_mailbox_backlog(0.0F);
  return ws_frame(env.SerializeAsString());
}

std::string route_frame(const Conn& c, int i, int types) {
  auto env = actr_envelope(c, "q" + std::to_string(i));
  auto* q = env.mutable_actr_to_server()->mutable_route_candidates_request();
  *q->mutable_target_type() = actr::make_actr_type("bench", "svc" + std::to_string(i % types), "1.0.0");
  q->set_client_fingerprint("");
  q->mutable_criteria()->set_candidate_count(3);
  q->mutable_criteria()->add_ranking_factors(
      actr::RouteCandidatesRequest::NodeSelectionCriteria::MAXIMUM_POWER_RESERVE);
  q->mutable_criteria()->add_ranking_factors(
      actr::RouteCandidatesRequest::NodeSelectionCriteria::MINIMUM_MAILBOX_BACKLOG);
  return ws_frame(env.SerializeAsString());
}

std::string relay_frame(const Conn& from, const Conn& to, int i) {
  signaling::SignalingEnvelope env;
  env.set_envelope_version(2);
  env.set_envelope_id("r" + std::to_string(i));
  auto* r = env.mutable_actr_relay();
  *r->mutable_source() = from.ok.actr_id();
  *r->mutable_credential() = from.ok.credential();
  *r->mutable_target() = to.ok.actr_id();
  r->mutable_ice_candidate()->set_candidate("candidate:1 1 udp 2122260223 192.168.1.7 50000 typ host");
  return ws_frame(env.SerializeAsString());
}

// Wakes a coroutine waiting for the window to open.
struct Flow {
  Flow(asio::io_context& io, std::size_t w) : timer(io, Clock::time_point::max()), window(w) {}
  asio::steady_timer timer;
  std::size_t window;
  std::size_t sent = 0, received = 0;
};

// Writes `frames` (cycled up to `total`) in batches, keeping at most `window` unanswered.
asio::awaitable<void> writer(Conn& c, const std::vector<std::string>* frames, std::size_t total, Flow& flow) {
  std::string batch;
  while (flow.sent < total) {
    if (flow.sent - flow.received + kBatch > flow.window) {
      beast::error_code ec;
      co_await flow.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    batch.clear();
    for (int k = 0; k < kBatch && flow.sent < total; ++k) batch += (*frames)[flow.sent++ % frames->size()];
    co_await asio::async_write(c.socket, asio::buffer(batch), asio::use_awaitable);
  }
}

// Reads `total` frames; `check` sees the first one.
asio::awaitable<void> reader(Conn& c, std::size_t total, Flow& flow, void (*check)(std::string_view)) {
  while (flow.received < total) {
    auto payload = co_await next_frame(c);
    if (flow.received == 0 && check) check(payload);
    ++flow.received;
    if (flow.sent - flow.received + kBatch <= flow.window) flow.timer.cancel();
  }
}

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

// Runs `pairs` (writer conn, reader conn, frames) to completion; returns ops per wall second and
// server CPU µs per op.
struct Stream {
  Conn* from;
  Conn* to;
  std::vector<std::string> frames;
};

std::pair<double, double> drive(asio::io_context& io, std::vector<Stream>& streams, std::size_t per_stream,
                                std::size_t window, void (*check)(std::string_view)) {
  std::vector<std::unique_ptr<Flow>> flows;
  Phase phase;
  for (auto& s : streams) {
    flows.push_back(std::make_unique<Flow>(io, window));
    asio::co_spawn(io, writer(*s.from, &s.frames, per_stream, *flows.back()), rethrow);
    asio::co_spawn(io, reader(*s.to, per_stream, *flows.back(), check), rethrow);
  }
  io.restart();
  io.run();
  return phase.end(static_cast<double>(per_stream * streams.size()));
}

void check_route(std::string_view payload) {
  signaling::SignalingEnvelope env;
  if (!env.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
      !env.server_to_actr().route_candidates_response().has_success() ||
      env.server_to_actr().route_candidates_response().success().candidates_size() != 3) {
    throw std::runtime_error("route query did not answer 3 candidates");
  }
}

void check_relay(std::string_view payload) {
  signaling::SignalingEnvelope env;
  if (!env.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
      !env.actr_relay().has_ice_candidate()) {
    throw std::runtime_error("relay did not arrive");
  }
}

std::vector<std::unique_ptr<Conn>> open_all(asio::io_context& io, const std::vector<RegisterOk>& oks,
                                            std::size_t first, std::size_t count) {
  std::vector<std::unique_ptr<Conn>> conns;
  for (std::size_t i = first; i < first + count; ++i) {
    conns.push_back(std::make_unique<Conn>(io));
    conns.back()->ok = oks[i];
  }
  // 64 handshakes at a time; then one Ping/Pong on each, so the server has attached them all.
  auto opener = [](std::vector<std::unique_ptr<Conn>>* all, std::size_t start) -> asio::awaitable<void> {
    for (std::size_t i = start; i < all->size(); i += 64) {
      Conn& c = *(*all)[i];
      co_await ws_connect(c);
      auto ping = ping_frame(c);
      co_await asio::async_write(c.socket, asio::buffer(ping), asio::use_awaitable);
      auto pong = co_await next_frame(c);
      signaling::SignalingEnvelope env;
      if (!env.ParseFromArray(pong.data(), static_cast<int>(pong.size())) ||
          !env.server_to_actr().has_pong()) {
        throw std::runtime_error("no pong");
      }
    }
  };
  for (std::size_t s = 0; s < 64; ++s) asio::co_spawn(io, opener(&conns, s), rethrow);
  io.restart();
  io.run();
  return conns;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: signal_bench PORT SECRET SERVER_PID [small] [large] [connections]\n");
    return 2;
  }
  g_port = static_cast<std::uint16_t>(std::stoi(argv[1]));
  g_secret = argv[2];
  g_pid = std::stoi(argv[3]);
  const int small = argc > 4 ? std::stoi(argv[4]) : 1000;
  const int large = argc > 5 ? std::stoi(argv[5]) : 100000;
  const int conns = argc > 6 ? std::stoi(argv[6]) : 1000;
  asio::io_context io(1);

  // 1. Registrations: the first `small` populate the small presence (100 per type).
  auto [reg_rate, reg_cpu] = register_many(svc_types(0, small), nullptr);
  std::fprintf(stderr,
               "registrations: %.0f/s (%d actors, %d keep-alive connections x %d pipelined), server CPU %.1f "
               "us/registration\n",
               reg_rate, small, kRegConnections, kRegDepth, reg_cpu);

  // 2. Route queries with `small` present, from clients of their own type (never candidates).
  std::vector<RegisterOk> querier_oks;
  register_many(std::vector<std::string>(kRouteConnections, "client"), &querier_oks);
  auto queriers = open_all(io, querier_oks, 0, querier_oks.size());
  auto route_phase = [&](int present) {
    const int types = std::max(1, present / kPerType);
    std::vector<Stream> streams;
    for (auto& q : queriers) {
      Stream s{q.get(), q.get(), {}};
      for (int i = 0; i < std::max(types, 1000); ++i) s.frames.push_back(route_frame(*q, i, types));
      streams.push_back(std::move(s));
    }
    return drive(io, streams, kRouteQueries / kRouteConnections, kRouteWindow, check_route);
  };
  auto [route_small, route_small_cpu] = route_phase(small);
  std::fprintf(
      stderr,
      "route queries, %d present: %.0f/s (%d queries, %d connections x %d in flight, 3 candidates of "
      "%d per type, 2 ranking factors), server CPU %.2f us/query\n",
      small, route_small, kRouteQueries, kRouteConnections, kRouteWindow, kPerType, route_small_cpu);

  // 3. Grow presence to `large` (registrations measured again at that scale) and query again.
  auto [reg_rate_large, reg_cpu_large] = register_many(svc_types(small, large - small), nullptr);
  std::fprintf(stderr, "registrations while growing to %d: %.0f/s, server CPU %.1f us/registration\n", large,
               reg_rate_large, reg_cpu_large);
  auto [route_large, route_large_cpu] = route_phase(large);
  std::fprintf(stderr, "route queries, %d present: %.0f/s (same method), server CPU %.2f us/query\n", large,
               route_large, route_large_cpu);

  // 4. Relays A -> B over kRelayPairs pairs; a relay counts when B has read it.
  std::vector<RegisterOk> pair_oks;
  register_many(std::vector<std::string>(2 * kRelayPairs, "peer"), &pair_oks);
  auto peers = open_all(io, pair_oks, 0, pair_oks.size());
  std::vector<Stream> relay_streams;
  for (int p = 0; p < kRelayPairs; ++p) {
    Conn& a = *peers[static_cast<std::size_t>(2 * p)];
    Conn& b = *peers[static_cast<std::size_t>(2 * p + 1)];
    Stream s{&a, &b, {}};
    for (int i = 0; i < 1000; ++i) s.frames.push_back(relay_frame(a, b, i));
    relay_streams.push_back(std::move(s));
  }
  auto [relay_rate, relay_cpu] = drive(io, relay_streams, kRelays / kRelayPairs, kRelayWindow, check_relay);
  std::fprintf(stderr,
               "relays: %.0f/s (%d ICE candidates, %d sender->receiver pairs x %d in flight), server CPU "
               "%.2f us/relay\n",
               relay_rate, kRelays, kRelayPairs, kRelayWindow, relay_cpu);

  // 5. Memory per connected actor: server RSS before, with `conns` and with 2 x `conns` sockets
  //    open (each has done one Ping/Pong); the slope between the two is the per-connection cost.
  std::vector<RegisterOk> many;
  register_many(svc_types(large, 2 * conns), &many);
  const long rss0 = rss_kib();
  auto first = open_all(io, many, 0, static_cast<std::size_t>(conns));
  const long rss1 = rss_kib();
  auto second = open_all(io, many, static_cast<std::size_t>(conns), static_cast<std::size_t>(conns));
  const long rss2 = rss_kib();
  const double first_block = static_cast<double>(rss1 - rss0) * 1024.0 / conns;
  const double slope = static_cast<double>(rss2 - rss1) * 1024.0 / conns;
  std::fprintf(stderr,
               "memory: server RSS %ld KiB idle, %ld KiB with %d sockets, %ld KiB with %d: %.0f bytes per "
               "connection for the first %d, %.0f bytes per connection from %d to %d\n",
               rss0, rss1, conns, rss2, 2 * conns, first_block, conns, slope, conns, 2 * conns);

  std::printf(
      "{\"registrations_per_sec\": %.0f, \"registrations_per_sec_at_scale\": %.0f, "
      "\"registration_server_cpu_us\": %.1f, \"registration_connections\": %d, "
      "\"registration_pipeline_depth\": %d, "
      "\"route_queries_per_sec_%d_actors\": %.0f, \"route_queries_per_sec_%d_actors\": %.0f, "
      "\"route_query_server_cpu_us_%d_actors\": %.2f, \"route_query_server_cpu_us_%d_actors\": %.2f, "
      "\"route_connections\": %d, \"route_pipeline_depth\": %d, \"actors_per_type\": %d, "
      "\"relays_per_sec\": %.0f, \"relay_server_cpu_us\": %.2f, \"relay_pairs\": %d, "
      "\"relay_pipeline_depth\": %d, "
      "\"connected_actors\": %zu, \"bytes_per_connected_actor\": %.0f, "
      "\"bytes_per_connected_actor_first_%d\": %.0f, "
      "\"server_rss_kib_idle\": %ld, \"server_rss_kib_%d_connected\": %ld, \"server_rss_kib_%d_connected\": "
      "%ld}\n",
      reg_rate, reg_rate_large, reg_cpu, kRegConnections, kRegDepth, small, route_small, large, route_large,
      small, route_small_cpu, large, route_large_cpu, kRouteConnections, kRouteWindow, kPerType, relay_rate,
      relay_cpu, kRelayPairs, kRelayWindow, first.size() + second.size(), slope, conns, first_block, rss0,
      conns, rss1, 2 * conns, rss2);
  return 0;
}
