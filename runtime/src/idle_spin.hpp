#pragma once
// Spin-then-park for a node's io_context thread.
//
// Why: a thread parked in epoll takes tens of microseconds to wake on another core (about 45 µs
// on a small VM, more when the machine is idle and its cores sleep deeper): several times a
// loopback round trip. A thread that keeps polling for about that long after its last work answers
// a peer on another core without paying the wake-up. Spinning longer than a wake-up costs more
// than it can save (the classic spin-then-block rule), and on a single CPU it would only hold off
// the peer that has to run first, so there it is off.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <optional>

namespace actr::detail {

/// What NodeConfig::idle_spin means when it is not set and two or more CPUs are usable.
inline constexpr std::chrono::microseconds kDefaultIdleSpin{50};

/// CPUs this process may run on: its affinity mask (`taskset -c 0` gives 1), at least 1.
std::size_t usable_cpus();

/// NodeConfig::idle_spin resolved: the configured value, or kDefaultIdleSpin when `cpus` >= 2,
/// else zero.
std::chrono::microseconds resolve_idle_spin(std::optional<std::chrono::microseconds> configured,
                                            std::size_t cpus);

/// Decides whether the next idle period spins. Spins that keep ending empty-handed mean that no
/// peer answers within the budget, or that the peer waits for this very core (the kernel placed
/// both on one CPU: each spin then only delays it). After kGiveUpAfter of them in a row the thread
/// parks at once for the next kRestFor idle periods, then tries spinning again.
class SpinGovernor {
 public:
  static constexpr int kGiveUpAfter = 4;
  static constexpr int kRestFor = 64;

  bool should_spin() {
    if (resting_ == 0) return true;
    --resting_;
    return false;
  }
  void spun(bool found_work) {
    if (found_work) {
      empty_ = 0;
    } else if (++empty_ >= kGiveUpAfter) {
      empty_ = 0;
      resting_ = kRestFor;
    }
  }

 private:
  int empty_ = 0;    // spins in a row that found nothing
  int resting_ = 0;  // idle periods left that park without spinning
};

/// io.run(), except that once no handler is ready it polls for up to `spin` before blocking.
/// Returns when `io` is stopped or runs out of work, as run() does.
void run_spinning(boost::asio::io_context& io, std::chrono::microseconds spin);

}  // namespace actr::detail
