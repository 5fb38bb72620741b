#include "actr/protocol/credential.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include "actr/protocol/ids.hpp"

namespace actr {
namespace {

constexpr std::uint64_t kNow = 1'700'000'000;

ActrId source() { return make_actr_id(7, 0xabc, make_actr_type("acme", "echo", "v1")); }

IdentityClaims claims_for(const ActrId& id, std::uint64_t expires_at = kNow + 3600) {
  IdentityClaims claims;
  claims.set_realm_id(id.realm().realm_id());
  claims.set_actor_id(to_string(id));
  claims.set_expires_at(expires_at);
  return claims;
}

void expect_denied(const Result<IdentityClaims>& result, std::string_view fragment) {
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::PermissionDenied);
  EXPECT_NE(result.error().message.find(fragment), std::string::npos) << result.error().message;
}

}  // namespace

TEST(Credential, SignedCredentialVerifies) {
  auto keys = generate_signing_keypair();
  ASSERT_EQ(keys.public_key.size(), kSigningPublicKeyBytes);
  ASSERT_EQ(keys.secret_key.size(), kSigningSecretKeyBytes);
  auto credential = sign_credential(claims_for(source()), 3, keys.secret_key);
  ASSERT_TRUE(credential) << credential.error().to_string();
  EXPECT_EQ(credential->key_id(), 3u);
  EXPECT_EQ(credential->signature().size(), kSignatureBytes);
  auto claims = verify_credential(*credential, keys.public_key, source(), kNow);
  ASSERT_TRUE(claims) << claims.error().to_string();
  EXPECT_EQ(claims->actor_id(), "abc@7/acme:echo:v1");
  EXPECT_EQ(claims->expires_at(), kNow + 3600);
}

TEST(Credential, RejectsAnotherKeysSignature) {
  auto keys = generate_signing_keypair();
  auto forger = generate_signing_keypair();
  auto forged = sign_credential(claims_for(source()), 1, forger.secret_key);
  ASSERT_TRUE(forged);
  expect_denied(verify_credential(*forged, keys.public_key, source(), kNow), "signature is invalid");
}

TEST(Credential, RejectsTamperedClaimsAndTruncatedSignature) {
  auto keys = generate_signing_keypair();
  auto credential = *sign_credential(claims_for(source()), 1, keys.secret_key);
  auto tampered = credential;
  tampered.mutable_claims()->back() ^= 1;
  expect_denied(verify_credential(tampered, keys.public_key, source(), kNow), "signature is invalid");
  auto truncated = credential;
  truncated.mutable_signature()->pop_back();
  expect_denied(verify_credential(truncated, keys.public_key, source(), kNow), "signature is invalid");
}

TEST(Credential, RejectsCredentialOfAnotherActor) {
  auto keys = generate_signing_keypair();
  auto other = make_actr_id(7, 0xdef, make_actr_type("acme", "echo", "v1"));
  auto credential = *sign_credential(claims_for(other), 1, keys.secret_key);
  expect_denied(verify_credential(credential, keys.public_key, source(), kNow),
                "issued to 'def@7/acme:echo:v1', not to the source 'abc@7/acme:echo:v1'");
}

TEST(Credential, RejectsRealmMismatch) {
  auto keys = generate_signing_keypair();
  auto claims = claims_for(source());
  claims.set_realm_id(8);
  auto credential = *sign_credential(claims, 1, keys.secret_key);
  expect_denied(verify_credential(credential, keys.public_key, source(), kNow), "realm 8 does not match");
}

TEST(Credential, RejectsExpiredCredential) {
  auto keys = generate_signing_keypair();
  auto credential = *sign_credential(claims_for(source(), kNow), 1, keys.secret_key);
  expect_denied(verify_credential(credential, keys.public_key, source(), kNow), "expired at");
  EXPECT_TRUE(verify_credential(credential, keys.public_key, source(), kNow - 1));
}

TEST(Credential, RejectsMalformedClaimsEvenWhenSigned) {
  auto keys = generate_signing_keypair();
  IdentityClaims partial;
  partial.set_actor_id("abc@7/acme:echo:v1");  // realm_id and expires_at missing
  for (std::string claims : {partial.SerializePartialAsString(), std::string("\xff\xff\xff")}) {
    AIdCredential credential;
    credential.set_key_id(1);
    credential.set_claims(claims);
    std::string signature(kSignatureBytes, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(claims.data()), claims.size(),
                         reinterpret_cast<const unsigned char*>(keys.secret_key.data()));
    credential.set_signature(signature);
    expect_denied(verify_credential(credential, keys.public_key, source(), kNow), "claims are malformed");
  }
}

TEST(Credential, RejectsWrongKeyLengths) {
  auto keys = generate_signing_keypair();
  auto credential = *sign_credential(claims_for(source()), 1, keys.secret_key);
  expect_denied(verify_credential(credential, keys.public_key.substr(0, 31), source(), kNow),
                "public key must be 32 bytes, got 31");
  auto bad = sign_credential(claims_for(source()), 1, keys.secret_key.substr(0, 32));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
  IdentityClaims incomplete;
  incomplete.set_actor_id("x");
  auto unsigned_claims = sign_credential(incomplete, 1, keys.secret_key);
  ASSERT_FALSE(unsigned_claims);
  EXPECT_NE(unsigned_claims.error().message.find("required"), std::string::npos);
}

}  // namespace actr
