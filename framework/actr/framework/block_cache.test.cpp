#include "actr/framework/block_cache.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace actr::detail {

TEST(BlockCache, AFreedBlockIsHandedOutAgainForTheSameSizeClass) {
  void* first = allocate_block(40);
  free_block(first, 40);
  void* again = allocate_block(48);  // 40 and 48 share the 33..48 class
  EXPECT_EQ(again, first);
  void* other = allocate_block(64);  // another class: not that block
  EXPECT_NE(other, first);
  free_block(again, 48);
  free_block(other, 64);
}

TEST(BlockCache, BlocksAreDistinctWritableAndAligned) {
  std::vector<void*> blocks;
  std::set<void*> seen;
  for (std::size_t size : {1, 15, 16, 17, 100, 512, 513, 4096}) {
    for (int i = 0; i < 200; ++i) {  // past the per-class bound
      void* block = allocate_block(size);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(block) % alignof(std::max_align_t), 0u);
      EXPECT_TRUE(seen.insert(block).second);
      std::memset(block, 0xab, size);
      blocks.push_back(block);
    }
    for (void* block : blocks) free_block(block, size);
    blocks.clear();
    seen.clear();
  }
}

TEST(BlockCache, BlocksMayBeFreedOnAnotherThread) {
  std::vector<void*> blocks;
  for (int i = 0; i < 300; ++i) blocks.push_back(allocate_block(32));
  std::thread receiver([&] {
    for (void* block : blocks) free_block(block, 32);
    // This thread keeps up to its bound and returns the rest; its cache goes when it ends.
    void* reused = allocate_block(32);
    EXPECT_NE(reused, nullptr);
    free_block(reused, 32);
  });
  receiver.join();
  void* mine = allocate_block(32);  // this thread's cache is still sound
  free_block(mine, 32);
}

}  // namespace actr::detail
