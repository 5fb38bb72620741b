#pragma once
// Streams registered by the workload. Each stream has its own bounded FIFO and its own worker
// coroutine, so chunks of one stream are handled in order and one slow stream doesn't stall others.
// A full stream pushes back on reliable lanes (the sender waits, up to its deadline) and drops
// on STREAM_LATENCY_FIRST.

#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>

#include "envelope.hpp"
#include "wait_list.hpp"

namespace actr::detail {

class StreamRegistry {
 public:
  StreamRegistry(Strand strand, std::size_t queue_capacity)
      : strand_(std::move(strand)), capacity_(queue_capacity) {}

  /// All members: call on the strand.
  Result<void> add(std::string stream_id, StreamHandler handler);
  Result<void> remove(std::string_view stream_id);
  asio::awaitable<Result<void>> deliver(DataChunk chunk, ActrId sender, PayloadType lane,
                                        Clock::time_point deadline);
  /// deliver() when it need not wait; nullopt (and `chunk` untouched) when a full stream on a
  /// reliable lane would make it wait for room.
  std::optional<Result<void>> try_deliver(DataChunk& chunk, const ActrId& sender, PayloadType lane);
  void close_all();
  std::uint64_t dropped() const { return dropped_; }

 private:
  struct Stream {
    explicit Stream(const Strand& strand) : readable(strand), writable(strand) {}
    std::string id;
    StreamHandler handler;
    std::deque<std::pair<DataChunk, ActrId>> queue;
    WaitList readable;
    WaitList writable;
    bool closed = false;
  };
  static void close(Stream& stream);
  static asio::awaitable<void> work(std::shared_ptr<Stream> stream);

  Strand strand_;
  std::size_t capacity_;
  std::unordered_map<std::string, std::shared_ptr<Stream>> streams_;
  std::uint64_t dropped_ = 0;
};

}  // namespace actr::detail
