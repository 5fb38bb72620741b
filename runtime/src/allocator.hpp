#pragma once
// Starting glibc's malloc where a process that moves big messages needs it (internal to
// actr_runtime).
//
// glibc starts by giving freed memory at the top of its heap back to the kernel once more than
// 128 KiB of it is free, and by serving every block of 128 KiB or more with an mmap of its own. It
// raises both only after the program frees such an mmapped block: the mmap threshold to that
// block's size, the trim threshold to twice it (mallopt(3), "dynamic mmap threshold"). A receiver
// of 64 KiB stream chunks frees a read's worth of them at a time, so until then the heap shrank and
// grew back after every read: ~50,000 page faults (each page zero-filled by the kernel) and half
// the throughput (docs/runtime.md, "Allocator"). The node frees one 4 MiB block at start, which
// moves the thresholds to 4 and 8 MiB the way glibc itself would, and leaves the adjustment on:
// a process that later frees bigger blocks (8 MiB messages, say) raises them further, as before.

#include <cstddef>

namespace actr::detail {

/// The mmap threshold the node starts glibc at; the trim threshold follows at twice it.
inline constexpr std::size_t kMallocStartingMmapThreshold = 4u << 20;

/// Whether the environment already tunes these thresholds (MALLOC_MMAP_THRESHOLD_,
/// MALLOC_TRIM_THRESHOLD_, or a glibc.malloc tunable in GLIBC_TUNABLES): then the node leaves
/// malloc alone (and glibc's adjustment is off anyway). Null means the variable is not set.
bool environment_tunes_malloc(const char* glibc_tunables, const char* mmap_threshold,
                              const char* trim_threshold);

/// Does the above once per process, unless the environment tunes malloc or the C library is not
/// glibc. Returns whether it was done (also true when an earlier call did it).
bool tune_allocator_once();

}  // namespace actr::detail
