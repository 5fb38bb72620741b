#include "actr/framework/block_cache.hpp"

#include <new>

namespace actr::detail::block_cache {
namespace {

std::size_t class_bytes(std::size_t cls) { return (cls + 1) * kGranule; }

// Set once the reaper ran: the thread is ending, keep nothing more.
thread_local constinit bool torn_down = false;

/// Armed by a thread's first kept block; at thread exit it frees the shelves and stops keeping.
struct Reaper {
  bool armed = false;
  ~Reaper() {
    torn_down = true;
    shelves.kept = false;
    for (std::size_t cls = 0; cls < kClasses; ++cls) {
      Shelf& shelf = shelves.shelves[cls];
      while (FreeBlock* block = shelf.top) {
        shelf.top = block->next;
        ::operator delete(block, class_bytes(cls));
      }
      shelf.count = 0;
    }
  }
};
thread_local Reaper reaper;

}  // namespace

void* allocate_slow(std::size_t size) {
  if (!cached(size)) return ::operator new(size == 0 ? 1 : size);
  return ::operator new(class_bytes(class_of(size)));
}

void free_slow(void* block, std::size_t size) noexcept {
  if (!cached(size)) {
    ::operator delete(block);
    return;
  }
  const std::size_t cls = class_of(size);
  if (!shelves.kept && !torn_down) {  // this thread's first kept block: arm its reaper
    reaper.armed = true;
    shelves.kept = true;
  }
  Shelf& shelf = shelves.shelves[cls];
  if (!shelves.kept || shelf.count == kKeptPerClass) {
    ::operator delete(block, class_bytes(cls));
    return;
  }
  shelf.top = ::new (block) FreeBlock{shelf.top};
  ++shelf.count;
}

}  // namespace actr::detail::block_cache
