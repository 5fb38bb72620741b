#include "runtime_context.hpp"

#include <fmt/format.h>

#include "gates.hpp"
#include "node_core.hpp"

namespace actr::detail {
namespace {

const Metadata kNoMetadata;

Error no_media() {
  return Error{ErrorCode::NotImplemented,
               "media tracks travel over WebRTC peer connections, which this build does not have yet"};
}

}  // namespace

RuntimeContext::RuntimeContext(NodeCore& core, Envelope* inbound)
    : core_(core), inbound_(inbound), trace_(inbound ? inbound->trace : TraceContext{}) {}

const TraceContext& RuntimeContext::trace() const {
  if (!trace_.valid()) [[unlikely]]
    trace_ = TraceContext::new_trace();  // the request came without one: start it now
  return trace_;
}

const ActrId& RuntimeContext::self_id() const { return core_.self_id(); }
const std::optional<ActrId>& RuntimeContext::caller_id() const {
  return *(inbound_ ? inbound_->caller : shell_caller());
}
std::string_view RuntimeContext::request_id() const {
  return inbound_ ? std::string_view(core_.request_id(*inbound_)) : std::string_view{};
}
const Metadata& RuntimeContext::metadata() const { return inbound_ ? inbound_->metadata : kNoMetadata; }

// A plain function handing over the gate's awaitable: no coroutine frame of its own (the callers
// word a timeout, see Context::name_the_call).
asio::awaitable<Result<Payload>> RuntimeContext::send_request(const Dest& dest, Outbound message) {
  auto envelope = core_.make_envelope(DIRECTION_REQUEST, std::move(message), core_.self_caller(), &trace());
  if (!envelope) return failed<Payload>(std::move(envelope.error()));
  return std::visit([&](const auto& gate) { return gate.request(std::move(*envelope)); },
                    pick_gate(core_, dest));
}

asio::awaitable<Result<void>> RuntimeContext::send_tell(const Dest& dest, Outbound message) {
  auto envelope = core_.make_envelope(DIRECTION_TELL, std::move(message), core_.self_caller(), &trace());
  if (!envelope) co_return std::unexpected(std::move(envelope.error()));
  Gate gate = pick_gate(core_, dest);
  auto op = std::visit([&](const auto& g) { return g.tell(std::move(*envelope)); }, gate);
  co_return co_await std::move(op);
}

Result<void> RuntimeContext::register_stream(std::string stream_id, StreamHandler handler) {
  return core_.streams().add(std::move(stream_id), std::move(handler));
}

Result<void> RuntimeContext::unregister_stream(std::string_view stream_id) {
  return core_.streams().remove(stream_id);
}

asio::awaitable<Result<void>> RuntimeContext::send_data_chunk(const Dest& dest, DataChunk chunk,
                                                              PayloadType lane) {
  if (lane != STREAM_RELIABLE && lane != STREAM_LATENCY_FIRST) {
    co_return fail(ErrorCode::InvalidArgument,
                   fmt::format("data chunks travel on STREAM_RELIABLE or STREAM_LATENCY_FIRST, not {}",
                               PayloadType_Name(lane)));
  }
  Gate gate = pick_gate(core_, dest);
  auto deadline = Clock::now() + kDefaultCallTimeout;
  auto op = std::visit([&](const auto& g) { return g.send_chunk(std::move(chunk), lane, deadline); }, gate);
  co_return co_await std::move(op);
}

Result<void> RuntimeContext::register_media_track(std::string, MediaTrackHandler) {
  return std::unexpected(no_media());
}
Result<void> RuntimeContext::unregister_media_track(std::string_view) { return std::unexpected(no_media()); }

asio::awaitable<Result<void>> RuntimeContext::add_media_track(const Dest&, std::string, std::string) {
  co_return std::unexpected(no_media());
}

asio::awaitable<Result<void>> RuntimeContext::send_media_sample(const Dest&, MediaSample) {
  co_return std::unexpected(no_media());
}

asio::awaitable<Result<ActrId>> RuntimeContext::discover_route_candidate(const ActrType& type) {
  auto found = co_await core_.discover(type, 1);
  if (!found) co_return std::unexpected(std::move(found.error()));
  co_return std::move(found->front());
}

asio::awaitable<Result<void>> RuntimeContext::subscribe_actr_up(const ActrType& type) {
  co_return co_await core_.subscribe_actr_up(type);
}

asio::awaitable<Result<std::vector<ActrId>>> RuntimeContext::discover_route_candidates(const ActrType& type,
                                                                                       std::uint32_t count) {
  co_return co_await core_.discover(type, count);
}

}  // namespace actr::detail
