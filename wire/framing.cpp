#include "framing.hpp"

#include <fmt/format.h>

namespace actr::wire::detail {

Result<FrameView> decode_frame(std::string_view message) {
  if (message.size() < 5) {
    return fail(ErrorCode::DecodeFailure,
                fmt::format("malformed frame: {} bytes is shorter than the 5-byte header", message.size()));
  }
  auto lane = static_cast<unsigned char>(message[0]);
  if (!PayloadType_IsValid(lane)) {
    return fail(ErrorCode::DecodeFailure, fmt::format("malformed frame: unknown lane byte {}", lane));
  }
  auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(message[i]));
  };
  std::uint32_t length = byte(1) << 24 | byte(2) << 16 | byte(3) << 8 | byte(4);
  if (length != message.size() - 5) {
    return fail(ErrorCode::DecodeFailure,
                fmt::format("malformed frame: header says {} data bytes, message carries {}", length,
                            message.size() - 5));
  }
  return FrameView{static_cast<PayloadType>(lane), message.substr(5)};
}

}  // namespace actr::wire::detail
