// In-process round trip: ActorRef -> workload -> back, against an Asio co_spawn floor measured in
// the same run. Callers run on the actor's own strand, so the figures are the runtime's cost, not
// a thread hop (waking another core costs ~45 us on the reference machine).
//
//   actr_inproc_bench [--calls N] [--repeat N] [--json FILE] [--label NAME] [--only FIGURE]
//                     [--idle-spin-us N]
// --only runs just one figure (e.g. actr_call_seq), for profilers and allocation counters.
// Each figure runs in --repeat rounds (default 5) of calls/N; see measure().

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actr/runtime/node.hpp"
#include "echo_workload.hpp"

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

struct Figures {
  double p50_us = 0, p99_us = 0, calls_per_s = 0;
};

Figures summarize(std::vector<double>& latencies_us, std::chrono::nanoseconds total, std::size_t calls) {
  std::sort(latencies_us.begin(), latencies_us.end());
  Figures f;
  if (!latencies_us.empty()) {
    f.p50_us = latencies_us[latencies_us.size() / 2];
    f.p99_us = latencies_us[latencies_us.size() * 99 / 100];
  }
  f.calls_per_s = calls / std::chrono::duration<double>(total).count();
  return f;
}

bool succeeded(int value) { return value == 1; }
template <class T>
bool succeeded(const actr::Result<T>& result) {
  return result.has_value();
}

/// `in_flight` coroutines on `ex`, each awaiting `op()` `calls / in_flight` times. `op` returns the
/// awaitable itself (no wrapper coroutine), so each figure counts only its own frames.
/// `latencies`: time every call (p50/p99); null: no clocks in the loop (calls/s).
template <class Op>
std::chrono::nanoseconds run_calls(asio::any_io_executor ex, std::size_t calls, std::size_t in_flight, Op& op,
                                   std::vector<double>* latencies) {
  std::size_t per_worker = calls / in_flight;
  auto start = Clock::now();
  std::vector<std::future<void>> workers;
  for (std::size_t w = 0; w < in_flight; ++w) {
    workers.push_back(asio::co_spawn(
        ex,
        [&, per_worker]() -> asio::awaitable<void> {
          for (std::size_t i = 0; i < per_worker; ++i) {
            if (!latencies) {
              if (!succeeded(co_await op())) std::abort();
              continue;
            }
            auto t0 = Clock::now();
            auto result = co_await op();
            latencies->push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            if (!succeeded(result)) std::abort();
          }
        },
        asio::use_future));
  }
  for (auto& w : workers) w.get();
  return Clock::now() - start;
}

/// Latency and throughput in separate passes: reading the clock twice per call (~60 ns here)
/// would otherwise count as part of every call. `repeat` rounds of both; the machine is shared,
/// so a round its other tenants slowed says nothing about the code: the best round is reported,
/// beside the median round.
template <class Op>
std::pair<Figures, Figures> measure(asio::any_io_executor ex, std::size_t calls, std::size_t in_flight,
                                    std::size_t repeat, Op op) {
  std::vector<Figures> rounds;
  std::size_t per_round = std::max<std::size_t>(calls / repeat / in_flight, 1) * in_flight;
  for (std::size_t r = 0; r < repeat; ++r) {
    std::vector<double> latencies;
    latencies.reserve(per_round);
    run_calls(ex, per_round, in_flight, op, &latencies);
    auto untimed = run_calls(ex, per_round, in_flight, op, nullptr);
    rounds.push_back(summarize(latencies, untimed, per_round));
  }
  auto by_p50 = [](const Figures& a, const Figures& b) { return a.p50_us < b.p50_us; };
  auto by_rate = [](const Figures& a, const Figures& b) { return a.calls_per_s > b.calls_per_s; };
  Figures best = *std::min_element(rounds.begin(), rounds.end(), by_p50);
  best.calls_per_s = std::min_element(rounds.begin(), rounds.end(), by_rate)->calls_per_s;
  Figures median;
  std::nth_element(rounds.begin(), rounds.begin() + repeat / 2, rounds.end(), by_p50);
  median.p50_us = rounds[repeat / 2].p50_us;
  median.p99_us = rounds[repeat / 2].p99_us;
  std::nth_element(rounds.begin(), rounds.begin() + repeat / 2, rounds.end(), by_rate);
  median.calls_per_s = rounds[repeat / 2].calls_per_s;
  return {best, median};
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t calls = 1'000'000;
  std::size_t repeat = 5;
  std::string json_path, label, only;
  std::optional<std::chrono::microseconds> idle_spin;  // unset: the node's default
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--calls") && i + 1 < argc)
      calls = std::stoul(argv[++i]);
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      json_path = argv[++i];
    else if (!std::strcmp(argv[i], "--label") && i + 1 < argc)
      label = argv[++i];
    else if (!std::strcmp(argv[i], "--idle-spin-us") && i + 1 < argc)
      idle_spin = std::chrono::microseconds(std::atol(argv[++i]));
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = std::max(1L, std::atol(argv[++i]));
    else {
      std::fprintf(stderr,
                   "usage: %s [--calls N] [--repeat N] [--json FILE] [--label NAME] [--only FIGURE] "
                   "[--idle-spin-us N]\n",
                   argv[0]);
      return 2;
    }
  }

  actr::NodeConfig config;
  config.actr_type = actr::make_actr_type("acme", "echo", "1.0.0");
  config.mailbox_capacity = 4096;
  config.idle_spin = idle_spin;
  actr::Node node(config);
  auto actor = node.start(std::make_shared<echo::EchoWorkload>());
  if (!actor) {
    std::fprintf(stderr, "start failed: %s\n", actor.error().to_string().c_str());
    return 1;
  }
  auto ex = actor->executor();
  echo::v1::EchoRequest request;
  request.set_text("ping");

  auto call = [&] { return actor->call(request); };
  auto floor = [&] {
    // The least an async request/response can cost here: spawn a coroutine, get its value back.
    return asio::co_spawn(
        ex, []() -> asio::awaitable<int> { co_return 1; }, asio::use_awaitable);
  };

  measure(ex, calls / 10, 1, 1, call);  // warm up allocators and caches
  std::map<std::string, double> out;
  auto record = [&](const std::string& name, const std::pair<Figures, Figures>& figures) {
    const auto& [best, median] = figures;
    out[name + "_p50_us"] = best.p50_us;
    out[name + "_p99_us"] = best.p99_us;
    out[name + "_calls_per_s"] = best.calls_per_s;
    out[name + "_median_p50_us"] = median.p50_us;
    out[name + "_median_calls_per_s"] = median.calls_per_s;
    std::printf(
        "%-24s p50 %7.3f us  p99 %8.3f us  %9.0f calls/s   median round: p50 %7.3f us  %9.0f calls/s\n",
        name.c_str(), best.p50_us, best.p99_us, best.calls_per_s, median.p50_us, median.calls_per_s);
  };
  std::printf("in-process round trip (%zu calls in %zu rounds: the best round, and the median one%s%s)\n",
              calls, repeat, label.empty() ? "" : ", ", label.c_str());
  auto run = [&](const std::string& name, std::size_t in_flight, auto op) {
    if (only.empty() || only == name) record(name, measure(ex, calls, in_flight, repeat, op));
  };
  run("asio_cospawn_floor_seq", 1, floor);
  run("actr_call_seq", 1, call);
  run("asio_cospawn_floor_64", 64, floor);
  run("actr_call_64", 64, call);

  if (!json_path.empty()) {
    std::ofstream json(json_path);
    json << "{";
    bool first = true;
    for (auto& [name, value] : out) {
      json << (first ? "" : ",") << "\n  \"" << (label.empty() ? name : name + "_" + label)
           << "\": " << value;
      first = false;
    }
    json << "\n}\n";
  }
  actor->shutdown();
  return actor->wait_for_shutdown(std::chrono::seconds(5)) ? 0 : 1;
}
