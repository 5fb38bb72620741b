#pragma once
// Context: everything a handler can do — who am I, who called, call/tell other actors, streams,
// media and discovery. The runtime implements it; handlers receive it by reference and must not
// keep it past their own completion.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actr/framework/data.hpp"
#include "actr/framework/dest.hpp"
#include "actr/framework/payload.hpp"
#include "actr/framework/rpc_traits.hpp"
#include "actr/protocol/trace.hpp"

namespace actr {

inline constexpr std::chrono::milliseconds kDefaultCallTimeout{30'000};

struct CallOptions {
  CallOptions() = default;
  /// Lets `ctx.call(dest, request, 500ms)` read naturally.
  CallOptions(std::chrono::milliseconds t) : timeout(t) {}  // NOLINT(google-explicit-constructor)

  std::chrono::milliseconds timeout = kDefaultCallTimeout;  // covers queueing, connecting, waiting
  Metadata metadata;
  /// Empty: the runtime makes a fresh request_id. Set it to retry a call whose answer was lost
  /// (Unavailable after its link died): a receiver that saw this request_id from this caller
  /// answers from its cache instead of running the request again (docs/remote.md, "Retries").
  std::string request_id;
};

/// One outbound message as the runtime sees it.
/// It has a constructor on purpose: g++ 12 miscompiles a braced *aggregate* temporary passed as an
/// argument inside a co_await expression (the copy in the coroutine frame points at freed memory).
struct Outbound {
  Outbound(std::string_view route_key_, PayloadType lane_, Payload payload_, CallOptions options_ = {})
      : route_key(route_key_), lane(lane_), payload(std::move(payload_)), options(std::move(options_)) {}

  std::string_view route_key;
  PayloadType lane = RPC_RELIABLE;
  Payload payload;
  CallOptions options;
};

class Context {
 public:
  virtual ~Context() = default;

  // --- identity of this actor and of the message being handled ---
  virtual const ActrId& self_id() const = 0;
  /// The calling actor; nullopt when the host application (shell) called, or outside a request.
  virtual const std::optional<ActrId>& caller_id() const = 0;
  /// The request being handled; empty outside a request (on_start, on_stop, stream handlers).
  virtual std::string_view request_id() const = 0;
  virtual const Metadata& metadata() const = 0;
  virtual const TraceContext& trace() const = 0;

  // --- RPC ---
  template <RpcRequest Request>
  boost::asio::awaitable<Result<typename RpcTraits<Request>::Response>> call(const Dest& dest,
                                                                             Request request,
                                                                             CallOptions options = {}) {
    return call_route<typename RpcTraits<Request>::Response>(
        dest, RpcTraits<Request>::route_key, RpcTraits<Request>::lane, Payload::of(std::move(request)),
        std::move(options));
  }

  /// Fire and forget: completes once the message is accepted for delivery; never answered.
  template <RpcRequest Request>
  boost::asio::awaitable<Result<void>> tell(const Dest& dest, Request request, CallOptions options = {}) {
    return send_tell(dest, Outbound{RpcTraits<Request>::route_key, RpcTraits<Request>::lane,
                                    Payload::of(std::move(request)), std::move(options)});
  }

  /// A typed call on an explicit route (generated clients use it when RpcTraits are ambiguous).
  template <class Response>
  boost::asio::awaitable<Result<Response>> call_route(const Dest& dest, std::string_view route_key,
                                                      PayloadType lane, Payload request,
                                                      CallOptions options = {}) {
    const auto timeout = options.timeout;
    auto reply =
        co_await send_request(dest, Outbound{route_key, lane, std::move(request), std::move(options)});
    if (!reply) co_return std::unexpected(name_the_call(std::move(reply.error()), route_key, dest, timeout));
    // Typed already (in process): hand the message over with one move, not via take's Result.
    if (auto* typed = reply->template get_if<Response>()) co_return std::move(*typed);
    co_return std::move(*reply).template take<Response>();
  }

  /// Untyped call: bytes in, bytes out.
  boost::asio::awaitable<Result<std::string>> call_raw(const Dest& dest, std::string_view route_key,
                                                       PayloadType lane, std::string payload,
                                                       CallOptions options = {});
  boost::asio::awaitable<Result<void>> tell_raw(const Dest& dest, std::string_view route_key,
                                                PayloadType lane, std::string payload,
                                                CallOptions options = {});

  /// The primitives the typed calls build on. send_request's TimedOut says only that the deadline
  /// passed: the calls above reword it to name the call (name_the_call).
  virtual boost::asio::awaitable<Result<Payload>> send_request(const Dest& dest, Outbound message) = 0;
  virtual boost::asio::awaitable<Result<void>> send_tell(const Dest& dest, Outbound message) = 0;

  // --- data streams ---
  /// Chunks for `stream_id` arriving at this actor go to `handler`, in order. AlreadyExists is
  /// reported as InvalidArgument.
  virtual Result<void> register_stream(std::string stream_id, StreamHandler handler) = 0;
  virtual Result<void> unregister_stream(std::string_view stream_id) = 0;
  /// Delivers a chunk to `dest`'s stream registry. Reliable lanes wait for room (backpressure);
  /// STREAM_LATENCY_FIRST drops the chunk when the receiver is full.
  virtual boost::asio::awaitable<Result<void>> send_data_chunk(const Dest& dest, DataChunk chunk,
                                                               PayloadType lane = STREAM_RELIABLE) = 0;

  // --- media (RTP tracks over WebRTC) ---
  virtual Result<void> register_media_track(std::string track_id, MediaTrackHandler handler) = 0;
  virtual Result<void> unregister_media_track(std::string_view track_id) = 0;
  virtual boost::asio::awaitable<Result<void>> add_media_track(const Dest& dest, std::string track_id,
                                                               std::string codec) = 0;
  virtual boost::asio::awaitable<Result<void>> send_media_sample(const Dest& dest, MediaSample sample) = 0;

  // --- discovery ---
  /// One actor of `type` to call, chosen by the signaling server.
  virtual boost::asio::awaitable<Result<ActrId>> discover_route_candidate(const ActrType& type) = 0;
  /// Asks signaling to announce every actor of `type` that comes up; each one reaches
  /// Workload::on_actr_up.
  virtual boost::asio::awaitable<Result<void>> subscribe_actr_up(const ActrType& type) = 0;
  /// Up to `count` candidates, best first, for callers that fail over.
  virtual boost::asio::awaitable<Result<std::vector<ActrId>>> discover_route_candidates(
      const ActrType& type, std::uint32_t count) = 0;

 protected:
  /// A TimedOut becomes "call <route> on <dest> got no reply within <timeout> ms"; other errors
  /// pass unchanged. (Here, in the callers' cold path, so that send_request needs no coroutine
  /// frame of its own to do it.)
  static Error name_the_call(Error error, std::string_view route_key, const Dest& dest,
                             std::chrono::milliseconds timeout);
};

}  // namespace actr
