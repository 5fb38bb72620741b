#pragma once
// The Context a handler sees: identity of the request it handles plus the node's gates.
// Built on the handler's coroutine frame, one per request; cheap to make, never shared.

#include "envelope.hpp"
#include "executor.hpp"

namespace actr::detail {

class NodeCore;

class RuntimeContext final : public Context {
 public:
  /// `inbound` is the request being handled, or nullptr (on_start, on_stop).
  RuntimeContext(NodeCore& core, Envelope* inbound);

  const ActrId& self_id() const override;
  const std::optional<ActrId>& caller_id() const override;
  std::string_view request_id() const override;
  const Metadata& metadata() const override;
  const TraceContext& trace() const override;

  asio::awaitable<Result<Payload>> send_request(const Dest& dest, Outbound message) override;
  asio::awaitable<Result<void>> send_tell(const Dest& dest, Outbound message) override;

  Result<void> register_stream(std::string stream_id, StreamHandler handler) override;
  Result<void> unregister_stream(std::string_view stream_id) override;
  asio::awaitable<Result<void>> send_data_chunk(const Dest& dest, DataChunk chunk, PayloadType lane) override;

  Result<void> register_media_track(std::string track_id, MediaTrackHandler handler) override;
  Result<void> unregister_media_track(std::string_view track_id) override;
  asio::awaitable<Result<void>> add_media_track(const Dest& dest, std::string track_id,
                                                std::string codec) override;
  asio::awaitable<Result<void>> send_media_sample(const Dest& dest, MediaSample sample) override;

  asio::awaitable<Result<ActrId>> discover_route_candidate(const ActrType& type) override;
  asio::awaitable<Result<void>> subscribe_actr_up(const ActrType& type) override;
  asio::awaitable<Result<std::vector<ActrId>>> discover_route_candidates(const ActrType& type,
                                                                         std::uint32_t count) override;

 private:
  NodeCore& core_;
  Envelope* inbound_;
  mutable TraceContext trace_;  // drawn on first use when the request brought none
};

}  // namespace actr::detail
