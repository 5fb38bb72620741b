#include "envelope.hpp"

#include "actr/framework/block_cache.hpp"

namespace actr::detail {

const CallerId& shell_caller() {
  static const std::optional<ActrId> kShell;
  static const CallerId kShellCaller(std::shared_ptr<void>(), &kShell);  // aliasing: owns nothing
  return kShellCaller;
}

static_assert(sizeof(Envelope) <= kMaxCachedBlock, "envelopes should come from the block cache");

}  // namespace actr::detail
