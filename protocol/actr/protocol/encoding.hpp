#pragma once
// Byte/text encodings used on the wire: base64 (credentials in headers and URLs) and lowercase hex
// (X-Actr-Source-ID). Decoders return std::nullopt on malformed input and never throw.

#include <optional>
#include <string>
#include <string_view>

namespace actr {

/// Standard alphabet (RFC 4648 §4) with '=' padding.
std::string base64_encode(std::string_view bytes);
/// URL-safe alphabet (RFC 4648 §5) without padding.
std::string base64url_encode(std::string_view bytes);
/// Accepts the standard and the URL-safe alphabet, with or without padding. Rejects characters
/// outside the alphabet (including whitespace), misplaced or excess padding, an impossible length
/// and non-zero unused bits in the last character (so every byte string has one accepted text).
std::optional<std::string> base64_decode(std::string_view text);

/// Lowercase hex, two digits per byte.
std::string hex_encode(std::string_view bytes);
/// Accepts lower- and uppercase digits; rejects odd lengths and non-hex characters.
std::optional<std::string> hex_decode(std::string_view text);

}  // namespace actr
