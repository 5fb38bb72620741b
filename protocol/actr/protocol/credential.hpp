#pragma once
// AIdCredential: IdentityClaims signed with Ed25519 (libsodium) by the signaling server.
// Nodes verify a peer's credential before they accept its first frame; the signaling server signs them.

#include <actr/actr.pb.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "actr/protocol/error.hpp"

namespace actr {

/// libsodium Ed25519 key sizes.
inline constexpr std::size_t kSigningPublicKeyBytes = 32;
inline constexpr std::size_t kSigningSecretKeyBytes = 64;  // seed followed by the public key
inline constexpr std::size_t kSignatureBytes = 64;

struct SigningKeypair {
  std::string public_key;  // 32 bytes
  std::string secret_key;  // 64 bytes
};

/// A fresh random Ed25519 keypair.
SigningKeypair generate_signing_keypair();

/// Encodes `claims` and signs the bytes. InvalidArgument when the claims lack a required field or the
/// secret key is not 64 bytes.
Result<AIdCredential> sign_credential(const IdentityClaims& claims, std::uint32_t key_id,
                                      std::string_view secret_key);

/// Checks, in this order: the key length, the signature over `credential.claims()`, that the claims
/// decode, that they name `expected_source` (text form and realm) and that they have not expired
/// (`expires_at > now_unix_seconds`). Every failure is PermissionDenied with a message saying which
/// check failed. Choosing the key for `credential.key_id()` is the caller's job.
Result<IdentityClaims> verify_credential(const AIdCredential& credential, std::string_view signing_pubkey,
                                         const ActrId& expected_source, std::uint64_t now_unix_seconds);

/// Seconds since the Unix epoch (system clock), the time base of `expires_at`.
std::uint64_t unix_now_seconds();

}  // namespace actr
