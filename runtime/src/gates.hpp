#pragma once
// The gate a message takes, chosen from its Dest once per send. A std::variant, not a virtual
// call: the set of gates is closed and the in-process one sits on the hot path.
//   InProcessGate — Dest::shell(), Dest::local(), or Dest::actor(<own id>)
//   PeerGate      — any other actor; answers Unavailable until peer wires exist in this build

#include <variant>

#include "node_core.hpp"

namespace actr::detail {

struct InProcessGate {
  NodeCore* core;
  Target target;

  asio::awaitable<Result<Payload>> request(EnvelopePtr envelope) const {
    return core->request(target, std::move(envelope));
  }
  asio::awaitable<Result<void>> tell(EnvelopePtr envelope) const;
  asio::awaitable<Result<void>> send_chunk(DataChunk chunk, PayloadType lane,
                                           Clock::time_point deadline) const;
};

struct PeerGate {
  NodeCore* core;
  const ActrId* target;  // the Dest's: a gate lives for one send, inside its caller's co_await

  asio::awaitable<Result<Payload>> request(EnvelopePtr envelope) const;
  asio::awaitable<Result<void>> tell(EnvelopePtr envelope) const;
  asio::awaitable<Result<void>> send_chunk(DataChunk chunk, PayloadType lane,
                                           Clock::time_point deadline) const;
  Error unreachable() const;
};

/// An awaitable that yields `error`: the refusal a plain (frameless) send function hands back.
template <class T>
asio::awaitable<Result<T>> failed(Error error) {
  co_return std::unexpected(std::move(error));
}

using Gate = std::variant<InProcessGate, PeerGate>;

Gate pick_gate(NodeCore& core, const Dest& dest);

}  // namespace actr::detail
