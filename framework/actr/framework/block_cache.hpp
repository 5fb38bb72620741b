#pragma once
// Per-thread caches of small freed blocks, one list per 16-byte size class.
//
// Why: every call allocates the same few small objects (its envelope, the boxed request and
// response) and frees them moments later. The system allocator costs ~150 instructions for such a
// pair; a cache hit costs ~10, inline. Not user API: Payload::of and the runtime's Envelope use it.

#include <cstddef>
#include <cstdint>
#include <new>

namespace actr::detail {

/// Blocks of up to this many bytes are cached; bigger ones go straight to the system allocator.
inline constexpr std::size_t kMaxCachedBlock = 512;

namespace block_cache {

inline constexpr std::size_t kGranule = 16;
inline constexpr std::size_t kClasses = kMaxCachedBlock / kGranule;
/// Per class: enough for a node with many calls in flight, bounded for a thread that only frees.
inline constexpr std::uint32_t kKeptPerClass = 128;

/// A free block's first word links it to the next one on its shelf.
struct FreeBlock {
  FreeBlock* next;
};
struct Shelf {
  FreeBlock* top = nullptr;
  std::uint32_t count = 0;
};
/// Trivially destructible and constant-initialized, so the inline paths need no TLS guard. The
/// first block a thread keeps arms a thread_local whose destructor hands the shelves back
/// (free_slow); `kept` is false before that and after the thread's teardown began.
struct Shelves {
  Shelf shelves[kClasses];
  bool kept = false;
};
inline thread_local constinit Shelves shelves;

/// 1..kMaxCachedBlock bytes (0 wraps around: not cached).
inline bool cached(std::size_t size) { return size - 1 < kMaxCachedBlock; }
inline std::size_t class_of(std::size_t size) { return (size - 1) / kGranule; }

void* allocate_slow(std::size_t size);
void free_slow(void* block, std::size_t size) noexcept;

}  // namespace block_cache

/// A block of at least `size` bytes (> 0), aligned for any fundamental type.
inline void* allocate_block(std::size_t size) {
  using namespace block_cache;
  if (cached(size)) {
    Shelf& shelf = shelves.shelves[class_of(size)];
    if (FreeBlock* block = shelf.top) {
      shelf.top = block->next;
      --shelf.count;
      return block;
    }
  }
  return allocate_slow(size);
}

/// Returns a block from allocate_block(size), on any thread: a thread that frees more than it
/// allocates (a receiver) passes the surplus back to the system allocator.
inline void free_block(void* block, std::size_t size) noexcept {
  using namespace block_cache;
  if (cached(size) && shelves.kept) {
    Shelf& shelf = shelves.shelves[class_of(size)];
    if (shelf.count < kKeptPerClass) {
      shelf.top = ::new (block) FreeBlock{shelf.top};
      ++shelf.count;
      return;
    }
  }
  free_slow(block, size);
}

/// Derive to allocate a class's objects from the block cache: for small objects that every call
/// makes and drops moments later.
struct FromBlockCache {
  static void* operator new(std::size_t size) { return allocate_block(size); }
  static void operator delete(void* block, std::size_t size) noexcept { free_block(block, size); }
};

}  // namespace actr::detail
