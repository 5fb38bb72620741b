#include "allocator.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <mutex>
#include <string_view>

namespace actr::detail {

bool environment_tunes_malloc(const char* glibc_tunables, const char* mmap_threshold,
                              const char* trim_threshold) {
  if (mmap_threshold || trim_threshold) return true;
  if (!glibc_tunables) return false;
  const std::string_view tunables(glibc_tunables);
  return tunables.find("glibc.malloc.mmap_threshold") != std::string_view::npos ||
         tunables.find("glibc.malloc.trim_threshold") != std::string_view::npos;
}

bool tune_allocator_once() {
  static std::once_flag once;
  static bool tuned = false;
  std::call_once(once, [] {
#if defined(__GLIBC__)
    if (environment_tunes_malloc(std::getenv("GLIBC_TUNABLES"), std::getenv("MALLOC_MMAP_THRESHOLD_"),
                                 std::getenv("MALLOC_TRIM_THRESHOLD_"))) {
      spdlog::debug("malloc: thresholds set by the environment; leaving them alone");
      return;
    }
    // Not mallopt(): setting a threshold turns glibc's adjustment off for good, and a process that
    // sends 8 MiB messages would then mmap (and fault in) every one of them. The volatile pointer
    // keeps the compiler from eliding the pair.
    void* volatile block = std::malloc(kMallocStartingMmapThreshold);
    std::free(block);
    tuned = true;
#endif
  });
  return tuned;
}

}  // namespace actr::detail
