#pragma once
// The in-process form of an RpcEnvelope. It carries a Payload (bytes or a typed message) so that
// nothing is serialized until a wire needs bytes, plus what the runtime needs to route and time out.

#include <actr/package.pb.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "actr/framework/block_cache.hpp"
#include "actr/framework/context.hpp"
#include "actr/framework/payload.hpp"
#include "actr/protocol/trace.hpp"

namespace actr::detail {

struct PeerLink;

/// The caller's side of a request its caller runs inline (see NodeCore::run_inline).
struct InlineReply {
  Result<Payload>* value;  // nullptr: the answer goes the usual way (a peer's request)
  bool done = false;       // *value holds the answer
  bool gone = false;       // the envelope was destroyed: its handler is over
};

using Clock = std::chrono::steady_clock;

/// Who sent a message, as RuntimeContext::caller_id() shows it (nullopt: the host application).
/// Shared, not copied: an ActrId is several heap strings, and every message names its caller. The
/// node keeps one for itself and each peer link one for its peer.
using CallerId = std::shared_ptr<const std::optional<ActrId>>;
/// The host application (shell): no allocation, no reference count.
const CallerId& shell_caller();

/// Moved along the whole path of a call as one heap object (EnvelopePtr): it is large, and a call
/// hands it from caller to strand to mailbox to scheduler to handler.
/// From the block cache: every call makes one envelope and drops it moments later.
struct Envelope : FromBlockCache {
  Direction direction = DIRECTION_UNSPECIFIED;
  PayloadType lane = RPC_RELIABLE;
  /// Points into the envelope itself (set_route_key): short keys need no allocation.
  std::string_view route_key;
  std::string request_id;
  /// The caller chose request_id (CallOptions::request_id): it does not spell `sequence`.
  bool request_id_chosen = false;
  std::uint64_t sequence = 0;  // this node's pending-table key for the request_id it made
  Payload payload;
  std::int64_t timeout_ms = 0;  // > 0 exactly for REQUEST
  Clock::time_point deadline = Clock::time_point::max();
  CallerId caller = shell_caller();
  Metadata metadata;
  TraceContext trace;  // all zero (not valid()) until drawn: see NodeCore::make_envelope
  std::string tracestate;
  std::shared_ptr<PeerLink> reply_via;  // set for requests that came over a peer link
  /// Its place in the duplicate filter (ReplyCache::try_add), where the reply finds its entry again.
  std::uint32_t reply_place = UINT32_MAX;
  /// Holds the scheduler's serial slot (Scheduler::try_claim); its handler gives it back.
  bool holds_slot = false;
  /// Set while a request run inline by its caller (NodeCore::run_inline) has not suspended: its
  /// reply goes straight into the caller's frame, and the caller learns if the envelope is gone.
  InlineReply* inline_reply = nullptr;

  // User-provided on purpose: `make_unique<Envelope>()` value-initializes, and with a defaulted
  // constructor that first zero-fills the whole envelope (~450 bytes) on every call.
  Envelope() {}  // NOLINT(modernize-use-equals-default)
  Envelope(const Envelope&) = delete;
  Envelope& operator=(const Envelope&) = delete;
  ~Envelope() {
    if (inline_reply) inline_reply->gone = true;
  }

  void set_route_key(std::string_view key) {
    if (key.size() <= sizeof route_key_inline_) {
      route_key = std::string_view(route_key_inline_, key.copy(route_key_inline_, key.size()));
    } else {
      route_key_heap_.assign(key);
      route_key = route_key_heap_;
    }
  }

  bool expired(Clock::time_point now) const { return direction == DIRECTION_REQUEST && deadline <= now; }

  // Route keys are "package.Service.Method": most fit here.
  char route_key_inline_[64];
  std::string route_key_heap_;
};

using EnvelopePtr = std::unique_ptr<Envelope>;

}  // namespace actr::detail
