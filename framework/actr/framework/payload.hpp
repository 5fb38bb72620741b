#pragma once
// A message body that is either encoded bytes (it came off a wire) or a typed protobuf message
// (it never left the process). In-process calls hand the typed message over without serializing;
// the first consumer that needs bytes or another type pays for the conversion, once.

#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <typeinfo>

#include "actr/protocol/error.hpp"

namespace actr {

class Payload {
 public:
  Payload() = default;
  explicit Payload(std::string bytes) : bytes_(std::move(bytes)) {}
  explicit Payload(std::unique_ptr<google::protobuf::Message> message) : message_(std::move(message)) {}

  template <class M>
  static Payload of(M message) {
    return Payload(std::unique_ptr<google::protobuf::Message>(new M(std::move(message))));
  }

  bool is_message() const { return message_ != nullptr; }
  /// The typed message, or nullptr when this holds bytes.
  const google::protobuf::Message* message() const { return message_.get(); }

  /// Moves the message out when it already is an M; otherwise decodes the bytes (DecodeFailure
  /// when they are not a valid M, naming the type and size).
  template <class M>
  Result<M> take() && {
    // typeid, not GetDescriptor(): the descriptor lookup costs a call_once check on every call.
    if (message_ && typeid(*message_) == typeid(M)) {
      return std::move(static_cast<M&>(*message_));
    }
    M out;
    if (auto ok = std::move(*this).decode_into(out); !ok) return std::unexpected(ok.error());
    return out;
  }

  /// Decodes into `out` (serializing first if this holds a message of another type).
  Result<void> decode_into(google::protobuf::Message& out) &&;

  /// Turns bytes into a typed message shaped like `prototype`, in place (no-op when typed already).
  Result<void> materialize(const google::protobuf::Message& prototype);

  /// The encoded bytes; serializes a typed message (InvalidArgument if required fields are unset).
  Result<std::string> take_bytes() &&;

  /// Encoded size, for limits and metrics.
  std::size_t byte_size() const;

 private:
  std::string bytes_;
  std::unique_ptr<google::protobuf::Message> message_;
};

}  // namespace actr
