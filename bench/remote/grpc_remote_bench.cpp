// actr_remote_grpc_bench: the gRPC C++ baseline for bench/remote (Debian's libgrpc++), two processes
// on loopback, insecure credentials, one channel (one HTTP/2 connection).
//
//   actr_remote_grpc_bench server [--api cq|callback]
//       a unary echo (grpcbench.Echo/Call): by default the completion-queue async API polled by one
//       thread (gRPC's own benchmark setup), or the callback API; prints
//       "listening on 127.0.0.1:PORT" and serves until SIGINT/SIGTERM.
//   actr_remote_grpc_bench client --port P [--payload 64] [--warmup 2000] [--seq-calls 20000]
//       [--inflight 64] [--inflight-calls 200000] [--max-seconds 3] [--json FILE] [--label L]
//
// Phases:
//   seq       blocking stub calls, one at a time; each round trip timed.
//   inflight  the completion-queue async API on the same channel: N calls started, and each
//             completion (cq.Next on one thread) starts the next, so N are always in flight. Each
//             call timed from its start to its completion; calls/s = completions / wall time.
// Warm-up calls run first and are not counted.

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <csignal>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common.hpp"
#include "grpc_echo.grpc.pb.h"

using rbench::Clock;

namespace {

class EchoService final : public grpcbench::Echo::CallbackService {
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context, const grpcbench::Msg* request,
                                 grpcbench::Msg* reply) override {
    reply->set_payload(request->payload());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

/// One unary call of the completion-queue server: requested, answered, then freed.
class CqCall {
 public:
  CqCall(grpcbench::Echo::AsyncService& service, grpc::ServerCompletionQueue& queue)
      : service_(service), queue_(queue), responder_(&context_) {
    service_.RequestCall(&context_, &request_, &responder_, &queue_, &queue_, this);
  }

  void proceed(bool ok) {
    if (answered_ || !ok) {
      delete this;
      return;
    }
    new CqCall(service_, queue_);  // the next call, before answering this one
    reply_.set_payload(request_.payload());
    answered_ = true;
    responder_.Finish(reply_, grpc::Status::OK, this);
  }

 private:
  grpcbench::Echo::AsyncService& service_;
  grpc::ServerCompletionQueue& queue_;
  grpc::ServerContext context_;
  grpcbench::Msg request_;
  grpcbench::Msg reply_;
  grpc::ServerAsyncResponseWriter<grpcbench::Msg> responder_;
  bool answered_ = false;
};

int serve(const rbench::Options& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before gRPC starts its threads

  bool cq = options.str("api", "cq") == "cq";
  EchoService callback_service;
  grpcbench::Echo::AsyncService async_service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  std::size_t pollers = options.num("threads", 1);
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
  if (cq) {
    builder.RegisterService(&async_service);
    for (std::size_t i = 0; i < pollers; ++i) queues.push_back(builder.AddCompletionQueue());
  } else {
    builder.RegisterService(&callback_service);
  }
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    fmt::print(stderr, "actr_remote_grpc_bench server: cannot listen\n");
    return 1;
  }
  std::vector<std::thread> threads;
  for (auto& queue : queues) {
    threads.emplace_back([&async_service, &queue] {
      new CqCall(async_service, *queue);
      void* tag = nullptr;
      bool ok = false;
      while (queue->Next(&tag, &ok)) static_cast<CqCall*>(tag)->proceed(ok);
    });
  }
  fmt::print("listening on 127.0.0.1:{} ({} API)\n", port, cq ? "completion-queue" : "callback");
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  for (auto& queue : queues) queue->Shutdown();
  for (auto& thread : threads) thread.join();
  return 0;
}

struct AsyncCall {
  grpc::ClientContext context;
  grpcbench::Msg reply;
  grpc::Status status;
  Clock::time_point start;
  std::unique_ptr<grpc::ClientAsyncResponseReader<grpcbench::Msg>> reader;
};

/// N calls in flight through the completion-queue API: one thread takes completions (cq.Next) and
/// starts the next call for each.
std::optional<rbench::Phase> inflight_cq(grpcbench::Echo::Stub& stub, const grpcbench::Msg& request,
                                         std::uint64_t inflight, std::uint64_t total, Clock::duration cap) {
  grpc::CompletionQueue queue;
  rbench::Phase phase;
  phase.samples.reserve(total);
  std::uint64_t started = 0;
  std::uint64_t outstanding = 0;
  auto first = Clock::now();
  auto stop_at = first + cap;
  auto last_done = first;
  auto start_call = [&]() {
    auto* call = new AsyncCall;
    call->start = Clock::now();
    call->reader = stub.AsyncCall(&call->context, request, &queue);
    call->reader->Finish(&call->reply, &call->status, call);
    ++started;
    ++outstanding;
  };
  for (std::uint64_t i = 0; i < std::min(inflight, total); ++i) start_call();
  bool failed = false;
  while (outstanding > 0) {
    void* tag = nullptr;
    bool ok = false;
    if (!queue.Next(&tag, &ok)) break;
    std::unique_ptr<AsyncCall> call(static_cast<AsyncCall*>(tag));
    --outstanding;
    auto now = Clock::now();
    if (!ok || !call->status.ok()) {
      if (!failed) fmt::print(stderr, "actr_remote_grpc_bench client: {}\n", call->status.error_message());
      failed = true;
      continue;
    }
    phase.samples.push_back(rbench::micros(now - call->start));
    last_done = now;
    if (!failed && started < total && now < stop_at) start_call();
  }
  phase.seconds = rbench::seconds(last_done - first);
  queue.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
  }
  if (failed) return std::nullopt;
  return phase;
}

/// N calls in flight through the callback API: each completion (on a gRPC thread) starts the next.
class CallbackRun {
 public:
  CallbackRun(grpcbench::Echo::Stub& stub, const grpcbench::Msg& request, std::uint64_t total,
              Clock::duration cap)
      : stub_(stub), request_(request), total_(total) {
    phase_.samples.reserve(total);
    first_ = last_done_ = Clock::now();
    stop_at_ = first_ + cap;
  }

  std::optional<rbench::Phase> run(std::uint64_t inflight) {
    std::uint64_t n = std::min(inflight, total_);
    {
      std::lock_guard lock(mutex_);
      started_ = outstanding_ = n;
    }
    for (std::uint64_t i = 0; i < n; ++i) start();
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return outstanding_ == 0; });
    phase_.seconds = rbench::seconds(last_done_ - first_);
    if (failed_) return std::nullopt;
    return std::move(phase_);
  }

 private:
  struct Call {
    grpc::ClientContext context;
    grpcbench::Msg reply;
    Clock::time_point start;
  };

  void start() {
    auto* call = new Call;
    call->start = Clock::now();
    stub_.async()->Call(&call->context, &request_, &call->reply, [this, call](grpc::Status status) {
      std::unique_ptr<Call> owned(call);
      auto now = Clock::now();
      bool again = false;
      {
        std::lock_guard lock(mutex_);
        --outstanding_;
        if (!status.ok()) {
          if (!failed_) fmt::print(stderr, "actr_remote_grpc_bench client: {}\n", status.error_message());
          failed_ = true;
        } else {
          phase_.samples.push_back(rbench::micros(now - owned->start));
          last_done_ = now;
        }
        again = !failed_ && started_ < total_ && now < stop_at_;
        if (again) {
          ++started_;
          ++outstanding_;
        }
        if (outstanding_ == 0) done_.notify_all();
      }
      if (again) start();
    });
  }

  grpcbench::Echo::Stub& stub_;
  const grpcbench::Msg& request_;
  std::uint64_t total_;
  std::mutex mutex_;
  std::condition_variable done_;
  rbench::Phase phase_;
  std::uint64_t started_ = 0;
  std::uint64_t outstanding_ = 0;
  bool failed_ = false;
  Clock::time_point first_, last_done_, stop_at_;
};

std::optional<rbench::Phase> inflight_callback(grpcbench::Echo::Stub& stub, const grpcbench::Msg& request,
                                               std::uint64_t inflight, std::uint64_t total,
                                               Clock::duration cap) {
  CallbackRun run(stub, request, total, cap);
  return run.run(inflight);
}

int drive(const rbench::Options& options) {
  auto port = options.num("port", 0);
  std::size_t payload_bytes = options.num("payload", 64);
  std::uint64_t warmup = options.num("warmup", 2000);
  std::uint64_t seq_calls = options.num("seq-calls", 20000);
  std::uint64_t inflight = options.num("inflight", 64);
  std::uint64_t inflight_calls = options.num("inflight-calls", 200000);
  auto cap = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options.real("max-seconds", 3)));

  auto channel = grpc::CreateChannel(fmt::format("127.0.0.1:{}", port), grpc::InsecureChannelCredentials());
  auto stub = grpcbench::Echo::NewStub(channel);
  grpcbench::Msg request;
  request.set_payload(std::string(payload_bytes, 'p'));

  auto call_once = [&]() {
    grpc::ClientContext context;
    grpcbench::Msg reply;
    auto status = stub->Call(&context, request, &reply);
    if (!status.ok()) {
      fmt::print(stderr, "actr_remote_grpc_bench client: {}\n", status.error_message());
      std::exit(1);
    }
  };
  for (std::uint64_t i = 0; i < warmup; ++i) call_once();

  rbench::CpuMeter meter(static_cast<long>(options.num("server-pid", 0)));
  rbench::Phase seq;
  seq.samples.reserve(seq_calls);
  meter.start();
  auto seq_start = Clock::now();
  for (std::uint64_t i = 0; i < seq_calls && Clock::now() < seq_start + cap; ++i) {
    auto start = Clock::now();
    call_once();
    seq.samples.push_back(rbench::micros(Clock::now() - start));
  }
  seq.seconds = rbench::seconds(Clock::now() - seq_start);
  seq.cpu_seconds = meter.stop();

  auto client_api = options.str("client-api", "cq");
  meter.start();
  auto concurrent = client_api == "callback"
                        ? inflight_callback(*stub, request, inflight, inflight_calls, cap)
                        : inflight_cq(*stub, request, inflight, inflight_calls, cap);
  if (!concurrent) return 1;
  concurrent->cpu_seconds = meter.stop();

  rbench::Figures figures("grpc", options.str("label", ""));
  figures.add_phase("seq", seq);
  figures.add_phase(fmt::format("inflight{}", inflight), *concurrent);
  fmt::print(
      stderr,
      "grpc {}: {} B payload; seq {} calls in {:.2f} s; {} in flight ({} client API): {} calls in {:.2f} s\n",
      grpc::Version(), payload_bytes, seq.samples.size(), seq.seconds, inflight, client_api,
      concurrent->samples.size(), concurrent->seconds);
  if (!figures.report(options)) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "server" && mode != "client") {
    fmt::print(stderr, "usage: {} server [--api cq|callback] | client --port P [options]\n", argv[0]);
    return 2;
  }
  rbench::Options options(argc, argv, 2);
  return mode == "server" ? serve(options) : drive(options);
}
