#include "actr/framework/payload.hpp"

#include <fmt/format.h>

#include <climits>

namespace actr {
namespace {

Result<void> serialize_into(const google::protobuf::Message& message, std::string& out) {
  // protobuf's SerializeToString aborts on missing required fields: check first.
  if (!message.IsInitialized() || !message.SerializeToString(&out)) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("cannot encode {}: missing required fields: {}", message.GetTypeName(),
                            message.InitializationErrorString()));
  }
  return {};
}

Result<std::string> serialize(const google::protobuf::Message& message) {
  std::string bytes;
  auto written = serialize_into(message, bytes);
  if (!written) return std::unexpected(std::move(written.error()));
  return bytes;
}

}  // namespace

Result<void> Payload::decode_into(google::protobuf::Message& out) && {
  if (message_) {
    if (message_->GetDescriptor() == out.GetDescriptor()) {
      out.GetReflection()->Swap(&out, message_.get());
      return {};
    }
    auto bytes = serialize(*message_);
    if (!bytes) return std::unexpected(bytes.error());
    bytes_ = std::move(*bytes);
    message_.reset();
  }
  const std::string_view encoded = bytes();
  if (encoded.size() > INT_MAX || !out.ParseFromArray(encoded.data(), static_cast<int>(encoded.size()))) {
    return fail(ErrorCode::DecodeFailure,
                fmt::format("cannot decode {} from {} bytes{}", out.GetTypeName(), encoded.size(),
                            out.IsInitialized() ? "" : " (missing required fields)"));
  }
  return {};
}

Result<void> Payload::materialize(const google::protobuf::Message& prototype) {
  if (message_ && message_->GetDescriptor() == prototype.GetDescriptor()) return {};
  std::unique_ptr<google::protobuf::Message> typed(prototype.New());
  if (auto ok = std::move(*this).decode_into(*typed); !ok) return ok;
  message_ = MessagePtr(typed.release());
  bytes_.clear();
  lent_ = nullptr;
  return {};
}

Result<std::string> Payload::take_bytes() && {
  if (message_) return serialize(*message_);
  keep();
  return std::move(bytes_);
}

Result<void> Payload::write_bytes(std::string& out) && {
  if (message_) return serialize_into(*message_, out);
  keep();
  out = std::move(bytes_);
  return {};
}

void Payload::copy_lent(Payload& other) noexcept {
  other.keep();
  bytes_ = std::move(other.bytes_);
}

std::size_t Payload::byte_size() const { return message_ ? message_->ByteSizeLong() : bytes().size(); }

}  // namespace actr
