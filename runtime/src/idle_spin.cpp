#include "idle_spin.hpp"

#include <sched.h>

namespace actr::detail {

std::size_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  const int count = CPU_COUNT(&set);
  return count > 0 ? static_cast<std::size_t>(count) : 1;
}

std::chrono::microseconds resolve_idle_spin(std::optional<std::chrono::microseconds> configured,
                                            std::size_t cpus) {
  if (configured) return std::max(*configured, std::chrono::microseconds::zero());
  return cpus >= 2 ? kDefaultIdleSpin : std::chrono::microseconds::zero();
}

void run_spinning(boost::asio::io_context& io, std::chrono::microseconds spin) {
  if (spin <= std::chrono::microseconds::zero()) {
    io.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  SpinGovernor governor;
  while (!io.stopped()) {
    if (io.poll() > 0) continue;
    if (!governor.should_spin()) {
      if (io.run_one() == 0) return;
      continue;
    }
    // Nothing ready: keep polling (each poll also asks epoll, without blocking) until something
    // is, the budget is spent, or the io_context stops.
    const auto give_up = Clock::now() + spin;
    bool ready = false;
    while (!ready && !io.stopped() && Clock::now() < give_up) ready = io.poll() > 0;
    governor.spun(ready);
    if (!ready && io.run_one() == 0) return;
  }
}

}  // namespace actr::detail
