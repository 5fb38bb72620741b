// Load generator for actr-signal: registrations/s, route-candidate queries/s at two presence
// sizes, relays/s, and server memory per connected actor. Talks to a running server over real
// sockets; prints one flat JSON object.
//   signal_bench PORT SECRET SERVER_PID [small=1000] [large=100000] [connections=1000]

#include <actr/signal.pb.h>
#include <actr/signaling.pb.h>

#include <sodium.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "actr/protocol/ids.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::uint16_t g_port = 0;
std::string g_secret;
constexpr int kPerType = 100;  // actors per ActrType: route cost depends on this, not on the total

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::string b64url(const std::string& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);
  return out;
}

actr::RegisterRequest reg_request(int type_index) {
  actr::RegisterRequest req;
  *req.mutable_actr_type() = actr::make_actr_type("bench", "svc" + std::to_string(type_index), "1.0.0");
  req.mutable_realm()->set_realm_id(1);
  return req;
}

// One keep-alive HTTP connection registering `count` actors, spreading them over types.
asio::awaitable<void> registrar(int first, int count, std::vector<actr::RegisterResponse::RegisterOk>* keep) {
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), g_port),
                                asio::use_awaitable);
  beast::flat_buffer buffer;
  for (int i = first; i < first + count; ++i) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/ais/register", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set("x-actrix-realm-secret", g_secret);
    req.body() = reg_request(i / kPerType).SerializeAsString();
    req.prepare_payload();
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    bhttp::response<bhttp::string_body> res;
    co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
    if (keep) {
      actr::RegisterResponse r;
      if (r.ParseFromString(res.body()) && r.has_success()) keep->push_back(r.success());
    }
  }
}

double register_many(int total, int parallel, std::vector<actr::RegisterResponse::RegisterOk>* keep) {
  asio::io_context io;
  auto start = Clock::now();
  for (int p = 0; p < parallel; ++p) {
    int per = total / parallel + (p < total % parallel ? 1 : 0);
    int first = (total / parallel) * p + std::min(p, total % parallel);
    asio::co_spawn(io, registrar(first, per, keep), asio::detached);
  }
  io.run();
  return total / seconds_since(start);
}

struct Ws {
  explicit Ws(asio::io_context& io) : ws(io) {}
  websocket::stream<beast::tcp_stream> ws;
  actr::RegisterResponse::RegisterOk ok;
};

std::unique_ptr<Ws> connect(asio::io_context& io, const actr::RegisterResponse::RegisterOk& ok) {
  auto c = std::make_unique<Ws>(io);
  c->ok = ok;
  beast::get_lowest_layer(c->ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), g_port));
  auto target = "/signaling/ws?actor_id=" + actr::to_string(ok.actr_id()) +
                "&key_id=" + std::to_string(ok.credential().key_id()) +
                "&claims=" + b64url(ok.credential().claims()) +
                "&signature=" + b64url(ok.credential().signature());
  c->ws.handshake("127.0.0.1", target);
  c->ws.binary(true);
  return c;
}

// Pipelined request/response over one socket: keeps `window` envelopes in flight.
double pipelined(Ws& c, int total, int window, const std::function<std::string(int)>& make,
                 Ws* receiver = nullptr) {
  Ws& rx = receiver ? *receiver : c;
  beast::flat_buffer buffer;
  auto start = Clock::now();
  int sent = 0, received = 0;
  while (received < total) {
    while (sent < total && sent - received < window) c.ws.write(asio::buffer(make(sent++)));
    rx.ws.read(buffer);
    buffer.consume(buffer.size());
    ++received;
  }
  return total / seconds_since(start);
}

std::string route_request(const Ws& c, int i, int types) {
  signaling::SignalingEnvelope env;
  env.set_envelope_version(2);
  env.set_envelope_id("b" + std::to_string(i));
  auto* m = env.mutable_actr_to_server();
  *m->mutable_source() = c.ok.actr_id();
  *m->mutable_credential() = c.ok.credential();
  auto* q = m->mutable_route_candidates_request();
  *q->mutable_target_type() = actr::make_actr_type("bench", "svc" + std::to_string(i % types), "1.0.0");
  q->set_client_fingerprint("");
  q->mutable_criteria()->set_candidate_count(3);
  q->mutable_criteria()->add_ranking_factors(
      actr::RouteCandidatesRequest::NodeSelectionCriteria::MAXIMUM_POWER_RESERVE);
  q->mutable_criteria()->add_ranking_factors(
      actr::RouteCandidatesRequest::NodeSelectionCriteria::MINIMUM_MAILBOX_BACKLOG);
  return env.SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: signal_bench PORT SECRET SERVER_PID [small] [large] [connections]\n");
    return 2;
  }
  g_port = static_cast<std::uint16_t>(std::stoi(argv[1]));
  g_secret = argv[2];
  int pid = std::stoi(argv[3]);
  int small = argc > 4 ? std::stoi(argv[4]) : 1000;
  int large = argc > 5 ? std::stoi(argv[5]) : 100000;
  int conns = argc > 6 ? std::stoi(argv[6]) : 1000;
  const int queries = 200000;

  // 1. Registrations (the first `small` of them also populate the small presence).
  std::vector<actr::RegisterResponse::RegisterOk> clients;
  double reg_rate = register_many(small, 16, nullptr);
  register_many(1, 1, &clients);  // the querying client (type svc0)
  asio::io_context io;
  auto client = connect(io, clients[0]);

  // 2. Route queries with `small` actors present.
  int small_types = std::max(1, small / kPerType);
  double route_small =
      pipelined(*client, queries, 256, [&](int i) { return route_request(*client, i, small_types); });

  // 3. Grow presence to `large` and query again (registrations measured again at scale).
  double reg_rate_large = register_many(large - small, 16, nullptr);
  int large_types = std::max(1, large / kPerType);
  double route_large =
      pipelined(*client, queries, 256, [&](int i) { return route_request(*client, i, large_types); });

  // 4. Relays A -> B.
  std::vector<actr::RegisterResponse::RegisterOk> pair;
  register_many(2, 1, &pair);
  auto a = connect(io, pair[0]);
  auto b = connect(io, pair[1]);
  double relay_rate = pipelined(
      *a, queries, 256,
      [&](int i) {
        signaling::SignalingEnvelope env;
        env.set_envelope_version(2);
        env.set_envelope_id("r" + std::to_string(i));
        auto* r = env.mutable_actr_relay();
        *r->mutable_source() = a->ok.actr_id();
        *r->mutable_credential() = a->ok.credential();
        *r->mutable_target() = b->ok.actr_id();
        r->mutable_ice_candidate()->set_candidate("candidate:1 1 udp 2122260223 192.168.1.7 50000 typ host");
        return env.SerializeAsString();
      },
      b.get());

  // 5. Memory per connected actor: RSS growth over `conns` open signaling sockets.
  std::vector<actr::RegisterResponse::RegisterOk> many;
  register_many(conns, 16, &many);
  long rss_before = rss_kib(pid);
  std::vector<std::unique_ptr<Ws>> open;
  for (auto& ok : many) open.push_back(connect(io, ok));
  // A ping round trip on the last socket: the server has attached them all by now.
  double bytes_per_actor =
      static_cast<double>(rss_kib(pid) - rss_before) * 1024.0 / static_cast<double>(conns);

  std::printf(
      "{\"registrations_per_sec\": %.0f, \"registrations_per_sec_at_scale\": %.0f, "
      "\"route_queries_per_sec_%d_actors\": %.0f, \"route_queries_per_sec_%d_actors\": %.0f, "
      "\"relays_per_sec\": %.0f, \"connected_actors\": %zu, \"bytes_per_connected_actor\": %.0f, "
      "\"actors_per_type\": %d}\n",
      reg_rate, reg_rate_large, small, route_small, large, route_large, relay_rate, open.size(),
      bytes_per_actor, kPerType);
  return 0;
}
