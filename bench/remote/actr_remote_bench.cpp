// actr_remote_bench: remote calls and a data stream between two node processes, over the WebSocket
// direct connection, through the public API only (Node, Context, generated code).
//
//   Both take [--idle-spin-us N] (NodeConfig::idle_spin; unset: the node's default).
//   actr_remote_bench server --signaling URL --secret S [--realm 1] [--name rbench-echo]
//       hosts the Echo workload (type acme:NAME:1.0.0), registers with actr-signal, prints
//       "rbench server <id> ready" and serves until SIGINT/SIGTERM.
//   actr_remote_bench client --signaling URL --secret S [--realm 1] [--name rbench-echo]
//       [--payload 64] [--warmup 2000] [--seq-calls 20000] [--inflight 64] [--inflight-calls 200000]
//       [--raw-seq-calls SEQ] [--max-seconds 3] [--chunk 65536] [--stream-mib 256] [--json FILE]
//       [--label L]
//       a node without a listener; its workload discovers the server and runs each phase (the host
//       application starts the run with one shell call and prints the report).
//
// Phases, all from inside the client's workload handler, on its strand:
//   seq       one call at a time; each round trip timed from before `co_await client.echo(...)` to
//             its resumption. p50/p99 and calls/s = calls / wall time.
//   rawseq    the same through ctx.call_raw on a route outside the service, which the server
//             answers with the request's bytes: the runtime and wire without protobuf messages.
//   inflight  N coroutines on the strand, each issuing calls back to back, so N calls are always in
//             flight on the one connection; each call timed the same way; calls/s = completed calls
//             / wall time from the first start to the last completion.
//   stream    DataChunks of --chunk bytes sent with send_data_chunk(STREAM_RELIABLE) back to back
//             (each waits only for room on the wire), then a StreamDone call that the server
//             answers once its stream handler has seen every byte. MB/s = payload bytes (1e6) /
//             time from the first chunk to that answer.
// Every phase is capped at --max-seconds; warm-up calls (and a warm-up stream of 1/8 of the bytes)
// run first and are not counted.

#include <actr/config/fingerprint.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <memory>
#include <optional>

#include "actr/runtime/node.hpp"
#include "common.hpp"
#include "rbench/v1/rbench.actr.hpp"

namespace asio = boost::asio;
using rbench::Clock;

namespace {

constexpr std::string_view kStreamId = "rbench";
// The raw seq phase's route: not in any service, so neither side builds or parses a message.
constexpr std::string_view kRawEchoRoute = "rbench.v1.Raw/Echo";

actr::ActrType server_type(const std::string& name) { return actr::make_actr_type("acme", name, "1.0.0"); }

// ---- server -------------------------------------------------------------------------------------------

class EchoServer : public rbench::v1::EchoServiceHandler {
 public:
  asio::awaitable<actr::Result<void>> on_start(actr::Context& ctx) override {
    actr::StreamHandler handler = [this](actr::DataChunk chunk,
                                         const actr::ActrId&) -> asio::awaitable<void> {
      on_chunk(chunk);
      co_return;
    };
    auto registered = ctx.register_stream(std::string(kStreamId), std::move(handler));
    co_return registered;
  }

  // The raw route echoes the request's bytes; the rest go to the generated serve(). Not a coroutine
  // itself, so typed calls keep the frames they would have without this override.
  asio::awaitable<void> serve(actr::IncomingRequestPtr request) override {
    if (request->route_key() != kRawEchoRoute) return EchoServiceHandler::serve(std::move(request));
    return raw_echo(std::move(request));
  }

  static asio::awaitable<void> raw_echo(actr::IncomingRequestPtr request) {
    request->answer(std::move(request->payload()));
    co_return;
  }

  asio::awaitable<actr::Result<rbench::v1::EchoReply>> echo(const rbench::v1::EchoRequest& request,
                                                            actr::Context&) override {
    rbench::v1::EchoReply reply;
    reply.set_payload(request.payload());
    co_return reply;
  }

  asio::awaitable<actr::Result<rbench::v1::StreamDoneReply>> stream_done(
      const rbench::v1::StreamDoneRequest& request, actr::Context&) override {
    if (received_bytes_ < request.bytes_sent()) {
      // Stream chunks run on the same strand as this handler: the chunk handler wakes us.
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(30));
      waiting_ = &timer;
      target_ = request.bytes_sent();
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      waiting_ = nullptr;
    }
    rbench::v1::StreamDoneReply reply;
    reply.set_bytes_received(received_bytes_);
    reply.set_chunks_received(received_chunks_);
    co_return reply;
  }

 private:
  void on_chunk(const actr::DataChunk& chunk) {
    received_bytes_ += chunk.payload().size();
    ++received_chunks_;
    if (waiting_ && received_bytes_ >= target_) waiting_->cancel();
  }

  // Touched only on the node's strand (handlers and the stream worker share it).
  std::uint64_t received_bytes_ = 0;
  std::uint64_t received_chunks_ = 0;
  std::uint64_t target_ = 0;
  asio::steady_timer* waiting_ = nullptr;
};

// ---- client -------------------------------------------------------------------------------------------

struct InflightRun {
  rbench::v1::EchoServiceClient* client = nullptr;
  const std::string* payload = nullptr;
  std::uint64_t target = 0;
  std::uint64_t started = 0;
  Clock::time_point stop_at;
  Clock::time_point last_done;
  rbench::Phase phase;
  std::optional<actr::Error> failure;
  std::size_t workers_left = 0;
  asio::steady_timer* all_done = nullptr;
};

asio::awaitable<void> inflight_worker(InflightRun& run) {
  while (run.started < run.target && !run.failure && Clock::now() < run.stop_at) {
    ++run.started;
    rbench::v1::EchoRequest request;
    request.set_payload(*run.payload);
    auto start = Clock::now();
    auto reply = co_await run.client->echo(std::move(request));
    auto end = Clock::now();
    if (!reply) {
      run.failure = reply.error();
      break;
    }
    run.phase.samples.push_back(rbench::micros(end - start));
    run.last_done = end;
  }
  if (--run.workers_left == 0) run.all_done->cancel();
}

void fill(rbench::v1::Phase& out, const rbench::Phase& phase) {
  out.set_calls(phase.samples.size());
  out.set_seconds(phase.seconds);
  out.set_p50_us(phase.percentile(0.50));
  out.set_p99_us(phase.percentile(0.99));
  out.set_calls_per_s(phase.calls_per_s());
  out.set_cpu_seconds(phase.cpu_seconds);
}

class Driver : public rbench::v1::BenchDriverHandler {
 public:
  asio::awaitable<actr::Result<rbench::v1::RunReport>> run(const rbench::v1::RunRequest& request,
                                                           actr::Context& ctx) override {
    rbench::v1::RunReport report;
    auto type = actr::parse_actr_type(request.server_type());
    if (!type) co_return std::unexpected(type.error());
    auto server = co_await ctx.discover_route_candidate(*type);
    if (!server) co_return std::unexpected(server.error());
    report.set_server(actr::to_string(*server));
    rbench::v1::EchoServiceClient client(ctx, actr::Dest::actor(*server));
    const std::string payload(request.payload_bytes(), 'p');
    const auto cap =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(request.max_seconds()));

    // Warm-up: connection, allocator, caches.
    std::optional<actr::Error> failure;
    for (std::uint32_t i = 0; i < request.warmup_calls(); ++i) {
      rbench::v1::EchoRequest call;
      call.set_payload(payload);
      auto reply = co_await client.echo(std::move(call));
      if (!reply) {
        failure = reply.error();
        break;
      }
    }
    if (failure) co_return std::unexpected(*failure);

    // Sequential: one call in flight.
    rbench::CpuMeter meter(static_cast<long>(request.server_pid()));
    rbench::Phase seq;
    seq.samples.reserve(request.seq_calls());
    meter.start();
    auto seq_start = Clock::now();
    auto seq_stop = seq_start + cap;
    for (std::uint32_t i = 0; i < request.seq_calls() && Clock::now() < seq_stop; ++i) {
      rbench::v1::EchoRequest call;
      call.set_payload(payload);
      auto start = Clock::now();
      auto reply = co_await client.echo(std::move(call));
      auto end = Clock::now();
      if (!reply) {
        failure = reply.error();
        break;
      }
      if (reply->payload().size() != payload.size()) {
        failure = actr::Error{actr::ErrorCode::Internal, "echo returned a different payload"};
        break;
      }
      seq.samples.push_back(rbench::micros(end - start));
    }
    seq.seconds = rbench::seconds(Clock::now() - seq_start);
    seq.cpu_seconds = meter.stop();
    if (failure) co_return std::unexpected(*failure);
    fill(*report.mutable_seq(), seq);

    // Sequential again, untyped: call_raw with the payload's bytes, answered with them.
    const actr::Dest dest = actr::Dest::actor(*server);
    for (std::uint32_t i = 0; i < request.warmup_calls() / 4 && !failure; ++i) {
      auto reply = co_await ctx.call_raw(dest, kRawEchoRoute, actr::RPC_RELIABLE, payload);
      if (!reply) failure = reply.error();
    }
    rbench::Phase raw;
    const std::uint32_t raw_calls =
        request.has_raw_seq_calls() ? request.raw_seq_calls() : request.seq_calls();
    raw.samples.reserve(raw_calls);
    meter.start();
    auto raw_start = Clock::now();
    auto raw_stop = raw_start + cap;
    for (std::uint32_t i = 0; i < raw_calls && !failure && Clock::now() < raw_stop; ++i) {
      auto start = Clock::now();
      auto reply = co_await ctx.call_raw(dest, kRawEchoRoute, actr::RPC_RELIABLE, payload);
      auto end = Clock::now();
      if (!reply) {
        failure = reply.error();
      } else if (reply->size() != payload.size()) {
        failure = actr::Error{actr::ErrorCode::Internal, "raw echo returned a different payload"};
      } else {
        raw.samples.push_back(rbench::micros(end - start));
      }
    }
    raw.seconds = rbench::seconds(Clock::now() - raw_start);
    raw.cpu_seconds = meter.stop();
    if (failure) co_return std::unexpected(*failure);
    fill(*report.mutable_raw_seq(), raw);

    // N in flight on the one connection.
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer all_done(executor, Clock::time_point::max());
    InflightRun run;
    run.client = &client;
    run.payload = &payload;
    run.target = request.inflight_calls();
    run.phase.samples.reserve(request.inflight_calls());
    run.all_done = &all_done;
    run.workers_left = request.inflight();
    meter.start();
    auto inflight_start = Clock::now();
    run.stop_at = inflight_start + cap;
    run.last_done = inflight_start;
    for (std::uint32_t i = 0; i < request.inflight(); ++i) {
      auto worker = inflight_worker(run);
      asio::co_spawn(executor, std::move(worker), asio::detached);
    }
    if (run.workers_left > 0) {
      boost::system::error_code ec;
      co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    run.phase.cpu_seconds = meter.stop();
    if (run.failure) co_return std::unexpected(*run.failure);
    run.phase.seconds = rbench::seconds(run.last_done - inflight_start);
    fill(*report.mutable_inflight(), run.phase);

    // Stream: warm-up (1/8 of the bytes), then the measured transfer.
    const std::string chunk_payload(request.chunk_bytes(), 's');
    std::uint64_t total_sent = 0;
    std::uint64_t sequence = 0;
    double stream_seconds = 0;
    double stream_cpu = -1;
    std::uint64_t measured_bytes = 0;
    std::uint64_t measured_chunks = 0;
    for (int round = 0; round < 2 && !failure; ++round) {
      std::uint64_t goal = round == 0 ? request.stream_bytes() / 8 : request.stream_bytes();
      std::uint64_t sent = 0;
      std::uint64_t chunks = 0;
      meter.start();
      auto start = Clock::now();
      auto stop = start + cap;
      while (sent < goal && Clock::now() < stop) {
        actr::DataChunk chunk;
        chunk.set_stream_id(std::string(kStreamId));
        chunk.set_sequence(sequence++);
        chunk.set_payload(chunk_payload);
        auto ok = co_await ctx.send_data_chunk(dest, std::move(chunk), actr::STREAM_RELIABLE);
        if (!ok) {
          failure = ok.error();
          break;
        }
        sent += chunk_payload.size();
        ++chunks;
      }
      if (failure) break;
      total_sent += sent;
      rbench::v1::StreamDoneRequest done;
      done.set_stream_id(std::string(kStreamId));
      done.set_bytes_sent(total_sent);
      done.set_chunks_sent(sequence);
      actr::CallOptions options(std::chrono::milliseconds(60'000));
      auto acked = co_await client.stream_done(std::move(done), std::move(options));
      auto end = Clock::now();
      if (!acked) {
        failure = acked.error();
        break;
      }
      if (acked->bytes_received() != total_sent) {
        failure = actr::Error{actr::ErrorCode::Internal, fmt::format("the server saw {} of {} stream bytes",
                                                                     acked->bytes_received(), total_sent)};
        break;
      }
      stream_seconds = rbench::seconds(end - start);
      stream_cpu = meter.stop();
      measured_bytes = sent;
      measured_chunks = chunks;
    }
    if (failure) co_return std::unexpected(*failure);
    report.set_stream_bytes(measured_bytes);
    report.set_stream_chunks(measured_chunks);
    report.set_stream_seconds(stream_seconds);
    report.set_stream_cpu_seconds(stream_cpu);
    report.set_stream_mb_per_s(stream_seconds > 0 ? static_cast<double>(measured_bytes) / 1e6 / stream_seconds
                                                  : 0);
    co_return report;
  }
};

actr::NodeConfig node_config(const rbench::Options& options, actr::ActrType type, bool listen) {
  actr::NodeConfig config;
  config.actr_type = std::move(type);
  config.realm_id = static_cast<std::uint32_t>(options.num("realm", 1));
  config.threads = 1;
  if (options.str("idle-spin-us", "") != "")
    config.idle_spin = std::chrono::microseconds(options.num("idle-spin-us", 0));
  actr::RemoteConfig remote;
  remote.signaling_url = options.str("signaling", "ws://127.0.0.1:8081/signaling/ws");
  remote.realm_secret = options.str("secret", "");
  remote.ws_listen_host = listen ? "127.0.0.1" : "";
  config.remote = std::move(remote);
  return config;
}

int serve(const rbench::Options& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: they inherit it

  auto config = node_config(options, server_type(options.str("name", "rbench-echo")), true);
  const auto& service = *google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      std::string(rbench::v1::EchoServiceHandler::kServiceName));
  config.remote->service = actr::config::service_registration(service);
  config.remote->service_spec = actr::config::make_service_spec(service);
  actr::Node node(config);
  auto actor = node.start(std::make_shared<EchoServer>());
  if (!actor) {
    fmt::print(stderr, "actr_remote_bench server: {}\n", actor.error().to_string());
    return 1;
  }
  fmt::print("rbench server {} ready\n", actr::to_string(actor->id()));
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  actor->shutdown();
  return actor->wait_for_shutdown(std::chrono::seconds(10)) ? 0 : 1;
}

int drive(const rbench::Options& options) {
  actr::Node node(node_config(options, actr::make_actr_type("acme", "rbench-client", "1.0.0"), false));
  auto actor = node.start(std::make_shared<Driver>());
  if (!actor) {
    fmt::print(stderr, "actr_remote_bench client: {}\n", actor.error().to_string());
    return 1;
  }
  rbench::v1::RunRequest request;
  request.set_server_type(actr::to_string(server_type(options.str("name", "rbench-echo"))));
  request.set_payload_bytes(static_cast<std::uint32_t>(options.num("payload", 64)));
  request.set_warmup_calls(static_cast<std::uint32_t>(options.num("warmup", 2000)));
  request.set_seq_calls(static_cast<std::uint32_t>(options.num("seq-calls", 20000)));
  if (options.str("raw-seq-calls", "") != "")
    request.set_raw_seq_calls(static_cast<std::uint32_t>(options.num("raw-seq-calls", 0)));
  request.set_inflight(static_cast<std::uint32_t>(options.num("inflight", 64)));
  request.set_inflight_calls(static_cast<std::uint32_t>(options.num("inflight-calls", 200000)));
  request.set_max_seconds(options.real("max-seconds", 3));
  request.set_chunk_bytes(static_cast<std::uint32_t>(options.num("chunk", 65536)));
  request.set_stream_bytes(options.num("stream-mib", 256) << 20);
  request.set_server_pid(static_cast<std::int64_t>(options.num("server-pid", 0)));
  auto report = actor->call_sync(request, std::chrono::milliseconds(600'000));
  actor->shutdown();
  actor->wait_for_shutdown(std::chrono::seconds(10));
  if (!report) {
    fmt::print(stderr, "actr_remote_bench client: {}\n", report.error().to_string());
    return 1;
  }

  std::string inflight = fmt::format("inflight{}", request.inflight());
  auto phase_figures = [](rbench::Figures& figures, const std::string& name, const rbench::v1::Phase& phase) {
    figures.add(name + "_p50_us", phase.p50_us());
    figures.add(name + "_p99_us", phase.p99_us());
    figures.add(name + "_calls_per_s", phase.calls_per_s());
    if (phase.cpu_seconds() >= 0 && phase.calls() > 0)
      figures.add(name + "_cpu_us_per_call", phase.cpu_seconds() * 1e6 / static_cast<double>(phase.calls()));
  };
  rbench::Figures figures("actr", options.str("label", ""));
  phase_figures(figures, "seq", report->seq());
  phase_figures(figures, "rawseq", report->raw_seq());
  phase_figures(figures, inflight, report->inflight());
  figures.add("stream_mb_per_s", report->stream_mb_per_s());
  if (report->stream_cpu_seconds() >= 0 && report->stream_bytes() > 0) {
    figures.add("stream_cpu_us_per_mb",
                report->stream_cpu_seconds() * 1e6 / (static_cast<double>(report->stream_bytes()) / 1e6));
  }
  fmt::print(stderr,
             "actr: server {}; {} B payload; seq {} calls in {:.2f} s; {} in flight: {} calls in {:.2f} s; "
             "stream {} x {} B chunks in {:.3f} s\n",
             report->server(), request.payload_bytes(), report->seq().calls(), report->seq().seconds(),
             request.inflight(), report->inflight().calls(), report->inflight().seconds(),
             report->stream_chunks(), request.chunk_bytes(), report->stream_seconds());
  if (!figures.report(options)) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "server" && mode != "client") {
    fmt::print(stderr, "usage: {} server|client --signaling URL --secret S [options]\n", argv[0]);
    return 2;
  }
  rbench::Options options(argc, argv, 2);
  return mode == "server" ? serve(options) : drive(options);
}
