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

/// io.run(), except that once no handler is ready it polls for up to `spin` before blocking.
/// Returns when `io` is stopped or runs out of work, as run() does.
void run_spinning(boost::asio::io_context& io, std::chrono::microseconds spin);

}  // namespace actr::detail
