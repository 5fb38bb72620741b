#pragma once
// RFC 6455 frame codec: header parse/build, masking, and the opening-handshake accept key.
//
// Shared by the peer wire (both roles) and actr-signal (server role) so the project frames WebSocket
// messages one way. It is deliberately stateless: message reassembly, control-frame handling and the
// closing handshake belong to the connection that uses it, because their policies differ (the peer
// wire enforces max_message_size and backpressure, the signaling server its own limits).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace actr::wire::ws {

enum Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

namespace close_code {
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kGoingAway = 1001;
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kNoStatus = 1005;  // never sent: "the close frame carried no code"
inline constexpr std::uint16_t kBadPayload = 1007;
inline constexpr std::uint16_t kTooBig = 1009;
inline constexpr std::uint16_t kInternalError = 1011;
}  // namespace close_code

/// 2 bytes + 8 bytes of extended length + 4 bytes of masking key.
inline constexpr std::size_t kMaxHeaderBytes = 14;
/// Control frames carry at most this many payload bytes (and a close reason 2 fewer).
inline constexpr std::size_t kMaxControlPayload = 125;

using MaskKey = std::array<std::uint8_t, 4>;

struct FrameHeader {
  bool fin = true;
  std::uint8_t rsv = 0;  // the three reserved bits (0x70 of the first byte), shifted down
  std::uint8_t opcode = kBinary;
  bool masked = false;
  MaskKey mask{};
  std::uint64_t length = 0;  // payload bytes
};

/// Parses the header at the start of [data, data + size). Returns its size in bytes, or 0 when the
/// buffer does not yet hold the whole header (read more and call again). Never fails: whether the
/// header is acceptable is header_violation()'s question.
std::size_t parse_header(const void* data, std::size_t size, FrameHeader& out);

/// Why a header breaks RFC 6455 for a receiver that expects masked (server role) or unmasked
/// (client role) frames, or an empty view. Checks reserved bits (no extension is negotiated), unknown
/// opcodes, control frames that are fragmented or longer than 125 bytes, masking, and a length whose
/// top bit is set. Continuation sequencing needs message state and is left to the caller.
std::string_view header_violation(const FrameHeader& header, bool expect_masked);

/// Writes a header into `out` (room for kMaxHeaderBytes) and returns its size. With `mask` set the
/// MASK bit and the key are written; the payload still has to be masked with apply_mask().
std::size_t write_header(void* out, std::uint8_t opcode, std::uint64_t length, bool fin = true,
                         const MaskKey* mask = nullptr);

/// XORs [data, data + size) with `key`, as bytes `offset`.. of a masked payload (masking is its own
/// inverse, so this both masks and unmasks). Word-at-a-time; any alignment.
void apply_mask(void* data, std::size_t size, const MaskKey& key, std::size_t offset = 0);
/// apply_mask() uses 32-byte AVX2 registers where the CPU has them (checked once, at first use);
/// this is what it runs elsewhere (both are tested on whatever CPU runs the tests).
void apply_mask_portable(void* data, std::size_t size, const MaskKey& key, std::size_t offset = 0);

/// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455 GUID)).
std::string accept_key(std::string_view sec_websocket_key);

/// Whether `code` may appear in a close frame received from a peer (RFC 6455 section 7.4).
bool valid_close_code(std::uint16_t code);

/// Whether `text` is well-formed UTF-8 (text messages and close reasons must be).
bool valid_utf8(std::string_view text);

/// Cuts a close reason to the 123 bytes a close frame can carry, on a UTF-8 boundary.
std::string_view close_reason_text(std::string_view reason);

}  // namespace actr::wire::ws
