#pragma once
// Prometheus counters, gauges and latency histograms. The server is single-threaded, so these
// are plain integers.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace actr::signal {

class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                     0.005,   0.01,   0.025,   0.05,   0.1,   1.0};
  void observe(double seconds);
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::uint64_t, kBounds.size()> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

struct Metrics {
  std::int64_t connected_actors = 0;
  std::int64_t present_actors = 0;
  std::uint64_t registrations = 0;
  std::uint64_t renewals = 0;
  std::uint64_t unregistrations = 0;
  std::uint64_t relays = 0;
  std::uint64_t auth_failures = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t malformed = 0;
  std::uint64_t heartbeat_expiries = 0;
  std::uint64_t displaced = 0;
  std::map<std::string, std::uint64_t, std::less<>> messages;  // by payload type
  std::map<std::string, Histogram, std::less<>> latency;       // by request kind

  // Looked up by string_view: counting a message allocates nothing.
  void message(std::string_view type) {
    auto it = messages.find(type);
    if (it == messages.end()) it = messages.emplace(std::string(type), 0).first;
    ++it->second;
  }
  Histogram& latency_for(std::string_view kind) {
    auto it = latency.find(kind);
    if (it == latency.end()) it = latency.emplace(std::string(kind), Histogram{}).first;
    return it->second;
  }
  std::string render() const;
};

}  // namespace actr::signal
