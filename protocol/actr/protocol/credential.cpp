#include "actr/protocol/credential.hpp"

#include <sodium.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

#include "actr/protocol/ids.hpp"

namespace actr {
namespace {

void ensure_sodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness source: nothing sensible to do
    return true;
  }();
  (void)ready;
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

static_assert(crypto_sign_PUBLICKEYBYTES == kSigningPublicKeyBytes);
static_assert(crypto_sign_SECRETKEYBYTES == kSigningSecretKeyBytes);
static_assert(crypto_sign_BYTES == kSignatureBytes);

SigningKeypair generate_signing_keypair() {
  ensure_sodium();
  SigningKeypair pair;
  pair.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  pair.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(pair.public_key.data()),
                      reinterpret_cast<unsigned char*>(pair.secret_key.data()));
  return pair;
}

Result<AIdCredential> sign_credential(const IdentityClaims& claims, std::uint32_t key_id,
                                      std::string_view secret_key) {
  ensure_sodium();
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    return fail(ErrorCode::InvalidArgument, fmt::format("signing secret key must be {} bytes, got {}",
                                                        crypto_sign_SECRETKEYBYTES, secret_key.size()));
  }
  if (!claims.IsInitialized()) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("identity claims lack required fields: {}", claims.InitializationErrorString()));
  }
  AIdCredential credential;
  credential.set_key_id(key_id);
  claims.SerializeToString(credential.mutable_claims());
  std::string* signature = credential.mutable_signature();
  signature->resize(crypto_sign_BYTES);
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature->data()), nullptr,
                       bytes(credential.claims()), credential.claims().size(), bytes(secret_key));
  return credential;
}

Result<IdentityClaims> verify_credential(const AIdCredential& credential, std::string_view signing_pubkey,
                                         const ActrId& expected_source, std::uint64_t now_unix_seconds) {
  ensure_sodium();
  if (signing_pubkey.size() != crypto_sign_PUBLICKEYBYTES) {
    return fail(ErrorCode::PermissionDenied,
                fmt::format("credential check failed: signing public key must be {} bytes, got {}",
                            crypto_sign_PUBLICKEYBYTES, signing_pubkey.size()));
  }
  const std::string& signature = credential.signature();
  if (signature.size() != crypto_sign_BYTES ||
      crypto_sign_verify_detached(bytes(signature), bytes(credential.claims()), credential.claims().size(),
                                  bytes(signing_pubkey)) != 0) {
    return fail(ErrorCode::PermissionDenied,
                fmt::format("credential signature is invalid (key_id {})", credential.key_id()));
  }
  IdentityClaims claims;
  if (!claims.ParseFromString(credential.claims())) {
    return fail(ErrorCode::PermissionDenied,
                "credential claims are malformed: not an encoded IdentityClaims");
  }
  std::string expected = to_string(expected_source);
  if (claims.actor_id() != expected) {
    return fail(
        ErrorCode::PermissionDenied,
        fmt::format("credential was issued to '{}', not to the source '{}'", claims.actor_id(), expected));
  }
  if (claims.realm_id() != expected_source.realm().realm_id()) {
    return fail(ErrorCode::PermissionDenied,
                fmt::format("credential realm {} does not match the source realm {}", claims.realm_id(),
                            expected_source.realm().realm_id()));
  }
  if (claims.expires_at() <= now_unix_seconds) {
    return fail(ErrorCode::PermissionDenied,
                fmt::format("credential of '{}' expired at {} (now {})", claims.actor_id(),
                            claims.expires_at(), now_unix_seconds));
  }
  return claims;
}

std::uint64_t unix_now_seconds() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(duration_cast<seconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace actr
