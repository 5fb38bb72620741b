#pragma once
// A message body that is either encoded bytes (it came off a wire) or a typed protobuf message
// (it never left the process). In-process calls hand the typed message over without serializing;
// the first consumer that needs bytes or another type pays for the conversion, once.

#include <google/protobuf/message.h>

#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#include "actr/framework/block_cache.hpp"
#include "actr/protocol/error.hpp"

namespace actr {
namespace detail {

/// Destroys a message boxed by Payload::of (the size of its block) or one made with new (0).
struct MessageDelete {
  std::size_t block_size = 0;
  void operator()(google::protobuf::Message* message) const noexcept {
    if (block_size == 0) {
      delete message;
      return;
    }
    message->~Message();  // virtual: the boxed type's destructor
    free_block(message, block_size);
  }
};

}  // namespace detail

class Payload {
 public:
  Payload() = default;
  explicit Payload(std::string bytes) : bytes_(std::move(bytes)) {}
  explicit Payload(std::unique_ptr<google::protobuf::Message> message) : message_(message.release()) {}
  // A payload is moved several times along a call's path and, in process, its bytes are empty:
  // skip the (out-of-line) string move then. Lent bytes are copied: see lend().
  Payload(Payload&& other) noexcept : message_(std::move(other.message_)) {
    if (other.lent_) [[unlikely]] {
      copy_lent(other);
    } else if (!other.bytes_.empty()) {
      bytes_ = std::move(other.bytes_);
    }
  }
  Payload& operator=(Payload&& other) noexcept {
    message_ = std::move(other.message_);
    lent_ = nullptr;
    if (other.lent_) [[unlikely]] {
      copy_lent(other);
    } else if (!other.bytes_.empty() || !bytes_.empty()) {
      bytes_ = std::move(other.bytes_);
    }
    return *this;
  }

  /// Bytes that stay someone else's: a request straight off a wire's read buffer, read in place
  /// by a handler that decodes it before it first suspends. Valid only until control returns to
  /// the lender, who calls keep() on any payload that outlives that. Moving it copies the bytes,
  /// so no other payload ever points at them. Not user API.
  void lend(std::string_view bytes) {
    message_.reset();
    bytes_.clear();
    lent_ = bytes.data() ? bytes.data() : "";
    lent_size_ = bytes.size();
  }
  bool is_lent() const { return lent_ != nullptr; }
  /// Copies lent bytes into storage of its own (no-op otherwise).
  void keep() {
    if (!lent_) return;
    bytes_.assign(lent_, lent_size_);
    lent_ = nullptr;
  }
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;

  /// Boxes a typed message. The box comes from the thread's block cache (detail::allocate_block):
  /// an in-process call boxes its request and its response.
  template <class M>
  static Payload of(M&& message) {
    using Message = std::remove_cvref_t<M>;
    void* block = detail::allocate_block(sizeof(Message));
    Message* typed;
    if constexpr (std::is_nothrow_constructible_v<Message, M&&>) {
      typed = ::new (block) Message(std::forward<M>(message));
    } else {
      try {
        typed = ::new (block) Message(std::forward<M>(message));
      } catch (...) {
        detail::free_block(block, sizeof(Message));
        throw;
      }
    }
    Payload payload;
    payload.message_ = MessagePtr(typed, detail::MessageDelete{sizeof(Message)});
    return payload;
  }

  bool is_message() const { return message_ != nullptr; }
  /// The typed message, or nullptr when this holds bytes.
  const google::protobuf::Message* message() const { return message_.get(); }
  /// The encoded bytes when this holds bytes (empty when it holds a message).
  std::string_view bytes() const { return lent_ ? std::string_view(lent_, lent_size_) : bytes_; }

  /// The typed message when it already is an M (in process), else nullptr: handlers can read it
  /// where it lies instead of moving it out.
  template <class M>
  const M* get_if() const {
    return message_ && typeid(*message_) == typeid(M) ? static_cast<const M*>(message_.get()) : nullptr;
  }
  template <class M>
  M* get_if() {
    return message_ && typeid(*message_) == typeid(M) ? static_cast<M*>(message_.get()) : nullptr;
  }

  /// Moves the message out when it already is an M; otherwise decodes the bytes (DecodeFailure
  /// when they are not a valid M, naming the type and size).
  template <class M>
  Result<M> take() && {
    // typeid, not GetDescriptor(): the descriptor lookup costs a call_once check on every call.
    if (message_ && typeid(*message_) == typeid(M)) {
      return std::move(static_cast<M&>(*message_));
    }
    // Decoded in place into the Result it returns (named return value): a protobuf move is a
    // construction, a swap and a destruction.
    Result<M> out(std::in_place);
    if (auto ok = std::move(*this).decode_into(*out); !ok) out = std::unexpected(std::move(ok.error()));
    return out;
  }

  /// Decodes into `out` (serializing first if this holds a message of another type).
  Result<void> decode_into(google::protobuf::Message& out) &&;

  /// Turns bytes into a typed message shaped like `prototype`, in place (no-op when typed already).
  Result<void> materialize(const google::protobuf::Message& prototype);

  /// The encoded bytes; serializes a typed message (InvalidArgument if required fields are unset).
  Result<std::string> take_bytes() &&;
  /// The same, written over `out`: a typed message is serialized into out's existing capacity, so
  /// a caller that reuses `out` does not allocate; bytes are moved in.
  Result<void> write_bytes(std::string& out) &&;

  /// Encoded size, for limits and metrics.
  std::size_t byte_size() const;

 private:
  using MessagePtr = std::unique_ptr<google::protobuf::Message, detail::MessageDelete>;

  /// The moves' rare path, out of line: takes a copy of `other`'s lent bytes, which it forgets.
  void copy_lent(Payload& other) noexcept;

  std::string bytes_;
  MessagePtr message_;
  const char* lent_ = nullptr;  // set: the bytes are [lent_, lent_ + lent_size_), not bytes_
  std::size_t lent_size_ = 0;
};

}  // namespace actr
