#pragma once
// Tuning glibc's malloc for a process that moves big messages (internal to actr_runtime).
//
// glibc gives freed memory at the top of its heap back to the kernel once more than 128 KiB of it
// is free, and serves every block of 128 KiB or more with its own mmap, until the process frees
// such a block (then both thresholds follow its size). A receiver of 64 KiB stream chunks frees a
// read's worth of them at a time, so the heap shrank and grew back after every read: ~50,000 page
// faults (each page zero-filled by the kernel) and half the throughput (docs/runtime.md,
// "Allocator"). The node sets the two thresholds where glibc's own adjustment would put them for
// messages of a few MiB, once per process, unless the environment already sets them.

#include <cstddef>

namespace actr::detail {

/// Blocks below this come from the heap rather than from an mmap of their own.
inline constexpr std::size_t kMallocMmapThreshold = 4u << 20;
/// Free memory at the top of the heap beyond this goes back to the kernel.
inline constexpr std::size_t kMallocTrimThreshold = 8u << 20;

/// Whether the environment already tunes these thresholds (MALLOC_MMAP_THRESHOLD_,
/// MALLOC_TRIM_THRESHOLD_, or a glibc.malloc tunable in GLIBC_TUNABLES): then the node leaves
/// malloc alone. Null means the variable is not set.
bool environment_tunes_malloc(const char* glibc_tunables, const char* mmap_threshold,
                              const char* trim_threshold);

/// Sets both thresholds with mallopt, once per process, unless the environment tunes them or the
/// C library is not glibc. Returns whether this process's malloc now runs with them (also true when
/// an earlier call set them).
bool tune_allocator_once();

}  // namespace actr::detail
