#include "allocator.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace actr::detail {
namespace {

TEST(Allocator, LeavesMallocAloneWhenTheEnvironmentTunesIt) {
  EXPECT_FALSE(environment_tunes_malloc(nullptr, nullptr, nullptr));
  EXPECT_FALSE(environment_tunes_malloc("glibc.pthread.rseq=0", nullptr, nullptr));
  EXPECT_TRUE(environment_tunes_malloc("glibc.malloc.trim_threshold=1048576", nullptr, nullptr));
  EXPECT_TRUE(
      environment_tunes_malloc("glibc.pthread.rseq=0:glibc.malloc.mmap_threshold=65536", nullptr, nullptr));
  EXPECT_TRUE(environment_tunes_malloc(nullptr, "131072", nullptr));
  EXPECT_TRUE(environment_tunes_malloc(nullptr, nullptr, "0"));
}

#if defined(__GLIBC__)
// What the tuning is for: a burst of 64 KiB blocks, freed together, stays in the heap for the next
// burst instead of going back to the kernel; and a 1 MiB block comes from the heap, not an mmap.
TEST(Allocator, ABurstOfFreedChunksStaysInTheHeap) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizer's allocator stands in for glibc's malloc";
#endif
  if (!tune_allocator_once()) GTEST_SKIP() << "malloc is tuned by the environment";
  EXPECT_TRUE(tune_allocator_once());  // a second call changes nothing and says so

  // The burst first: freeing an mmapped block would itself raise glibc's thresholds.
  std::vector<std::unique_ptr<char[]>> burst;
  for (int i = 0; i < 32; ++i) {
    burst.push_back(std::make_unique_for_overwrite<char[]>(64u << 10));
    burst.back()[0] = static_cast<char>(i);
  }
  burst.clear();
  // keepcost: the free memory at the top of the heap that a trim would give back.
  EXPECT_GE(mallinfo2().keepcost, std::size_t{1} << 20) << "the heap was trimmed after the burst";

  const auto mmapped_before = mallinfo2().hblks;
  auto big = std::make_unique_for_overwrite<char[]>(1u << 20);
  big[0] = 1;
  EXPECT_EQ(mallinfo2().hblks, mmapped_before) << "a 1 MiB block was given its own mmap";
  big.reset();
}

// glibc's own adjustment stays on: a 12 MiB block, once freed, raises the thresholds again, so
// the next 12 MiB message comes from the heap instead of an mmap (and its page faults) of its own.
TEST(Allocator, ABiggerFreedBlockStillRaisesTheThresholds) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizer's allocator stands in for glibc's malloc";
#endif
  if (!tune_allocator_once()) GTEST_SKIP() << "malloc is tuned by the environment";
  constexpr std::size_t kBig = 12u << 20;
  auto first = std::make_unique_for_overwrite<char[]>(kBig);
  first[0] = 1;
  first.reset();
  const auto mmapped_before = mallinfo2().hblks;
  auto second = std::make_unique_for_overwrite<char[]>(kBig);
  second[0] = 2;
  EXPECT_EQ(mallinfo2().hblks, mmapped_before) << "the second 12 MiB block was given its own mmap";
}
#endif

}  // namespace
}  // namespace actr::detail
