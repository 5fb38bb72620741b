#include "gates.hpp"

#include <fmt/format.h>

namespace actr::detail {

asio::awaitable<Result<void>> InProcessGate::tell(EnvelopePtr envelope) const {
  auto admitted = co_await core->tell(target, std::move(envelope));
  if (!admitted) co_return std::unexpected(std::move(admitted.error()));
  co_return Result<void>{};
}

asio::awaitable<Result<void>> InProcessGate::send_chunk(DataChunk chunk, PayloadType lane,
                                                        Clock::time_point deadline) const {
  if (target == Target::Shell) {
    co_return fail(ErrorCode::NotImplemented, "the shell has no stream registry: send data chunks to actors");
  }
  co_return co_await core->deliver_chunk(std::move(chunk), core->self_id(), lane, deadline);
}

Error PeerGate::unreachable() const {
  return Error{ErrorCode::Unavailable, fmt::format("remote actor {} is unreachable: this node has no "
                                                   "signaling connection (NodeConfig::remote is not set)",
                                                   to_string(*target))};
}

// Plain functions handing over Peers' awaitable: no coroutine frame of their own on the way.
asio::awaitable<Result<Payload>> PeerGate::request(EnvelopePtr envelope) const {
  core->request_id(*envelope);  // the wire carries it
  if (auto* peers = core->peers()) return peers->request(*target, std::move(envelope));
  return failed<Payload>(unreachable());
}
asio::awaitable<Result<void>> PeerGate::tell(EnvelopePtr envelope) const {
  core->request_id(*envelope);
  if (auto* peers = core->peers()) return peers->tell(*target, std::move(envelope));
  return failed<void>(unreachable());
}
asio::awaitable<Result<void>> PeerGate::send_chunk(DataChunk chunk, PayloadType lane,
                                                   Clock::time_point deadline) const {
  if (auto* peers = core->peers())
    co_return co_await peers->send_chunk(*target, std::move(chunk), lane, deadline);
  co_return std::unexpected(unreachable());
}

Gate pick_gate(NodeCore& core, const Dest& dest) {
  switch (dest.kind()) {
    case Dest::Kind::Shell: return InProcessGate{&core, Target::Shell};
    case Dest::Kind::Local: return InProcessGate{&core, Target::Workload};
    case Dest::Kind::Actor:
      if (dest.actor_id() == core.self_id()) return InProcessGate{&core, Target::Workload};
      return PeerGate{&core, &dest.actor_id()};
  }
  return InProcessGate{&core, Target::Workload};
}

}  // namespace actr::detail
