#pragma once
// The 5-byte frame header of a WebSocket direct-connect message (internal to actr_wire):
//   [payload_type: 1 byte][length: 4 bytes, big endian][data]

#include <actr/options.pb.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "actr/protocol/error.hpp"

namespace actr::wire::detail {

using FrameHeader = std::array<char, 5>;

inline FrameHeader encode_header(PayloadType lane, std::uint32_t length) {
  return FrameHeader{static_cast<char>(lane), static_cast<char>(length >> 24),
                     static_cast<char>(length >> 16), static_cast<char>(length >> 8),
                     static_cast<char>(length)};
}

struct FrameView {
  PayloadType lane;
  std::string_view data;
};

/// Splits one WebSocket message into lane and data. DecodeFailure says what is wrong: too short for a
/// header, an unknown lane byte, or a length field that disagrees with the message size.
Result<FrameView> decode_frame(std::string_view message);

}  // namespace actr::wire::detail
