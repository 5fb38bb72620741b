#pragma once
// A decode target taken from the thread's small pool of messages of its type.
//
// Why: a decoded request lives only while its handler runs. A fresh protobuf message allocates
// each string it decodes twice over without an arena (the string object and its buffer) and frees
// both at the end. A message that was Clear()ed keeps that capacity, so decoding the next request
// into it allocates nothing. Not user API: the generated serve() and dispatch() decode into one.

#include <cstddef>
#include <cstdint>

#include "actr/framework/payload.hpp"

namespace actr::detail {
namespace message_pool {

/// Messages kept per type and thread: enough for the handlers one thread has suspended at once
/// in a busy node; more are simply freed.
inline constexpr std::uint32_t kKept = 8;
/// A message decoded from more bytes than this is freed, not kept: its capacity would stay pinned.
inline constexpr std::size_t kKeepAtMost = 4096;

/// Trivially destructible and constant-initialized, so the inline paths need no TLS guard.
struct Shelf {
  google::protobuf::Message* kept[kKept];
  std::uint32_t count = 0;
  bool armed = false;   // this thread's reaper knows the shelf
  bool closed = false;  // the thread is ending: keep nothing more
};

/// Registers `shelf` with this thread's reaper, which frees what it holds at thread exit (or
/// closes it when the thread is already ending).
void arm(Shelf& shelf);

}  // namespace message_pool

template <class M>
class Recycled {
 public:
  Recycled() = default;
  Recycled(const Recycled&) = delete;
  Recycled& operator=(const Recycled&) = delete;
  ~Recycled() { give_back(); }

  /// Decodes `payload` into a message from the pool (or a new one): DecodeFailure as
  /// Payload::decode_into reports it.
  Result<void> decode(Payload&& payload) {
    give_back();
    keep_ = payload.bytes().size() <= message_pool::kKeepAtMost;
    auto& shelf = shelf_;
    message_ = shelf.count > 0 ? static_cast<M*>(shelf.kept[--shelf.count]) : new M();
    return std::move(payload).decode_into(*message_);
  }

  /// The decoded message; only after decode().
  const M& operator*() const { return *message_; }

  /// Messages of type M this thread's pool holds now (for tests).
  static std::uint32_t kept() { return shelf_.count; }

 private:
  void give_back() noexcept {
    if (!message_) return;
    M* message = message_;
    message_ = nullptr;
    auto& shelf = shelf_;
    if (keep_ && shelf.count < message_pool::kKept) {
      if (!shelf.armed) message_pool::arm(shelf);
      if (!shelf.closed) {
        message->Clear();  // nothing of one request reaches the next; capacity stays
        shelf.kept[shelf.count++] = message;
        return;
      }
    }
    delete message;
  }

  inline static thread_local constinit message_pool::Shelf shelf_{};
  M* message_ = nullptr;
  bool keep_ = false;
};

}  // namespace actr::detail
