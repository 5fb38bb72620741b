#pragma once
// Shared by the remote benchmark programs: options, percentiles, the flat JSON they write.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace rbench {

using Clock = std::chrono::steady_clock;

inline double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
inline double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// `--name value` pairs after the mode word; every option has a default in the program.
class Options {
 public:
  Options(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string key = argv[i];
      if (!key.starts_with("--") || i + 1 >= argc) {
        fmt::print(stderr, "bad option '{}': expected --name value\n", key);
        std::exit(2);
      }
      values_[key.substr(2)] = argv[++i];
    }
  }
  std::string str(const std::string& key, std::string fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  std::uint64_t num(const std::string& key, std::uint64_t fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : std::stoull(it->second);
  }
  double real(const std::string& key, double fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : std::stod(it->second);
  }

 private:
  std::map<std::string, std::string> values_;
};

/// CPU seconds (user + system, every thread) of this process.
inline double self_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// CPU seconds (utime + stime from /proc/PID/stat, clock-tick resolution) of another process; 0
/// when unknown.
inline double process_cpu_seconds(long pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // field 3 is the state; 14 utime, 15 stime
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// CPU used by this process and the server process between start() and stop(): a cost figure that
/// holds up better than wall time on a shared, loaded machine.
class CpuMeter {
 public:
  explicit CpuMeter(long server_pid = 0) : server_pid_(server_pid) {}
  void start() {
    self_ = self_cpu_seconds();
    server_ = process_cpu_seconds(server_pid_);
  }
  /// Seconds of CPU (client + server) since start(); negative when the server's pid is unknown.
  double stop() const {
    if (server_pid_ <= 0) return -1;
    return self_cpu_seconds() - self_ + process_cpu_seconds(server_pid_) - server_;
  }

 private:
  long server_pid_;
  double self_ = 0;
  double server_ = 0;
};

/// Round-trip samples of one phase, in microseconds.
struct Phase {
  std::vector<double> samples;
  double seconds = 0;       // wall time of the measured calls
  double cpu_seconds = -1;  // client + server CPU over the phase; < 0: not measured

  double percentile(double p) const {
    if (samples.empty()) return 0;
    std::vector<double> sorted = samples;
    auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(index), sorted.end());
    return sorted[index];
  }
  double calls_per_s() const { return seconds > 0 ? static_cast<double>(samples.size()) / seconds : 0; }
};

/// One flat JSON object: "prefix_name_label": value.
class Figures {
 public:
  Figures(std::string prefix, std::string label) : prefix_(std::move(prefix)), label_(std::move(label)) {}

  void add(const std::string& name, double value) { items_.emplace_back(name, value); }
  void add_phase(const std::string& name, const Phase& phase) {
    add(name + "_p50_us", phase.percentile(0.50));
    add(name + "_p99_us", phase.percentile(0.99));
    add(name + "_calls_per_s", phase.calls_per_s());
    if (phase.cpu_seconds >= 0 && !phase.samples.empty())
      add(name + "_cpu_us_per_call", phase.cpu_seconds * 1e6 / static_cast<double>(phase.samples.size()));
  }

  std::string key(const std::string& name) const {
    return prefix_ + "_" + name + (label_.empty() ? "" : "_" + label_);
  }

  void print(std::FILE* out) const {
    for (const auto& [name, value] : items_) fmt::print(out, "  {:<40} {:>14.2f}\n", key(name), value);
  }

  bool write(const std::string& path) const {
    std::ofstream out(path);
    out << "{";
    bool first = true;
    for (const auto& [name, value] : items_) {
      out << (first ? "" : ",") << fmt::format("\n  \"{}\": {:.3f}", key(name), value);
      first = false;
    }
    out << "\n}\n";
    return static_cast<bool>(out);
  }

  /// Every client's last step: the figures to stderr, and to the --json file when one is given.
  /// false (after saying why) when that file cannot be written.
  bool report(const Options& options) const {
    print(stderr);
    auto json = options.str("json", "");
    if (json.empty() || write(json)) return true;
    fmt::print(stderr, "cannot write {}\n", json);
    return false;
  }

 private:
  std::string prefix_;
  std::string label_;
  std::vector<std::pair<std::string, double>> items_;
};

}  // namespace rbench
