#include "envelope.hpp"

#include <new>

namespace actr::detail {
namespace {

/// Freed envelope blocks kept by one thread for its next allocations. Bounded: a thread that
/// only frees (a receiver) passes the surplus back to the system allocator.
struct EnvelopeCache {
  static constexpr std::size_t kKept = 256;
  void* blocks[kKept];
  std::size_t count = 0;
  ~EnvelopeCache();
};

// Trivially destructible, so still readable while the thread's other thread_locals are torn down
// (an envelope freed then goes straight to the system allocator).
thread_local bool cache_gone = false;
thread_local EnvelopeCache cache;

EnvelopeCache::~EnvelopeCache() {
  cache_gone = true;
  while (count > 0) ::operator delete(blocks[--count], sizeof(Envelope));
}

}  // namespace

const CallerId& shell_caller() {
  static const std::optional<ActrId> kShell;
  static const CallerId kShellCaller(std::shared_ptr<void>(), &kShell);  // aliasing: owns nothing
  return kShellCaller;
}

void* Envelope::operator new(std::size_t size) {
  if (size != sizeof(Envelope) || cache_gone || cache.count == 0) return ::operator new(size);
  return cache.blocks[--cache.count];
}

void Envelope::operator delete(void* memory, std::size_t size) noexcept {
  if (size != sizeof(Envelope) || cache_gone || cache.count == EnvelopeCache::kKept) {
    ::operator delete(memory, size);
    return;
  }
  cache.blocks[cache.count++] = memory;
}

}  // namespace actr::detail
