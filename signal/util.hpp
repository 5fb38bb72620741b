#pragma once
// Small helpers shared by the server parts: clocks, randomness, encodings, hashing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// base64 and hex come from the protocol library (actr/protocol/encoding.hpp), shared with the runtime.
#include "actr/protocol/encoding.hpp"

namespace actr::signal {

/// Wall-clock unix seconds (credential expiry is wall-clock by protocol).
std::uint64_t unix_now();
/// Monotonic milliseconds (heartbeats and rate limits never follow wall-clock jumps).
std::int64_t mono_ms();

std::string random_bytes(std::size_t n);
std::string percent_decode(std::string_view text);
std::string sha256(std::string_view bytes);
/// HMAC-SHA1, for coturn's `use-auth-secret` TURN passwords.
std::string hmac_sha1(std::string_view key, std::string_view message);

/// Unique ids for server-made envelopes: a random per-process prefix and a counter.
std::string next_envelope_id();

}  // namespace actr::signal
