#include "stream_registry.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace actr::detail {

Result<void> StreamRegistry::add(std::string stream_id, StreamHandler handler) {
  if (stream_id.empty()) return fail(ErrorCode::InvalidArgument, "stream_id is empty");
  if (!handler)
    return fail(ErrorCode::InvalidArgument, fmt::format("stream '{}': handler is empty", stream_id));
  if (streams_.contains(stream_id)) {
    return fail(ErrorCode::InvalidArgument, fmt::format("stream '{}' is already registered", stream_id));
  }
  auto stream = std::make_shared<Stream>(strand_);
  stream->id = stream_id;
  stream->handler = std::move(handler);
  streams_.emplace(std::move(stream_id), stream);
  asio::co_spawn(strand_, work(std::move(stream)), asio::detached);
  return {};
}

Result<void> StreamRegistry::remove(std::string_view stream_id) {
  auto it = streams_.find(std::string(stream_id));
  if (it == streams_.end())
    return fail(ErrorCode::NotFound, fmt::format("stream '{}' is not registered", stream_id));
  close(*it->second);
  streams_.erase(it);
  return {};
}

void StreamRegistry::close_all() {
  for (auto& [id, stream] : streams_) close(*stream);
  streams_.clear();
}

void StreamRegistry::close(Stream& stream) {
  stream.closed = true;
  stream.queue.clear();
  stream.readable.notify_all(false);
  stream.writable.notify_all(false);
}

std::optional<Result<void>> StreamRegistry::try_deliver(DataChunk& chunk, const ActrId& sender,
                                                        PayloadType lane) {
  auto it = streams_.find(chunk.stream_id());
  if (it == streams_.end()) {
    return fail(ErrorCode::NotFound,
                fmt::format("no stream '{}' is registered at the receiver", chunk.stream_id()));
  }
  Stream& stream = *it->second;
  if (stream.queue.size() >= capacity_) {
    if (lane != STREAM_LATENCY_FIRST) return std::nullopt;  // reliable: the sender waits for room
    ++dropped_;  // latency first: a late chunk is worth less than a fresh one
    return Result<void>{};
  }
  stream.queue.emplace_back(std::move(chunk), sender);
  stream.readable.notify_one();
  return Result<void>{};
}

asio::awaitable<Result<void>> StreamRegistry::deliver(DataChunk chunk, ActrId sender, PayloadType lane,
                                                      Clock::time_point deadline) {
  for (;;) {
    if (auto done = try_deliver(chunk, sender, lane)) co_return std::move(*done);
    auto stream = streams_.at(chunk.stream_id());  // registered and full; kept alive across the wait
    if (!co_await stream->writable.wait(deadline) && !stream->closed && stream->queue.size() >= capacity_) {
      co_return fail(ErrorCode::TimedOut,
                     fmt::format("stream '{}': the receiver stayed full until the deadline", stream->id));
    }
    if (stream->closed) {
      co_return fail(ErrorCode::Unavailable, fmt::format("stream '{}' was unregistered", stream->id));
    }
  }
}

asio::awaitable<void> StreamRegistry::work(std::shared_ptr<Stream> stream) {
  for (;;) {
    while (stream->queue.empty() && !stream->closed) co_await stream->readable.wait();
    if (stream->closed) co_return;
    auto [chunk, sender] = std::move(stream->queue.front());
    stream->queue.pop_front();
    stream->writable.notify_one();
    try {
      co_await stream->handler(std::move(chunk), sender);
    } catch (const std::exception& e) {
      spdlog::error("stream '{}': handler threw: {}", stream->id, e.what());
    } catch (...) {
      spdlog::error("stream '{}': handler threw a non-standard exception", stream->id);
    }
  }
}

}  // namespace actr::detail
