#include "ais.hpp"

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "util.hpp"

namespace actr::signal {
namespace {

constexpr std::uint64_t kSerialBlock = 4096;  // serials reserved per SQLite write

bool same_secret(std::string_view a, std::string_view b) {
  auto ha = sha256(a);
  auto hb = sha256(b);
  return sodium_memcmp(ha.data(), hb.data(), ha.size()) == 0;  // constant time
}

template <class Response>
HttpAnswer error_answer(unsigned status, ErrorCode code, std::string message) {
  Response response;
  error_to_proto(Error{code, std::move(message)}, *response.mutable_error());
  return {status, response.SerializeAsString()};
}

void set_timestamp(google::protobuf::Timestamp& ts, std::uint64_t unix_secs) {
  ts.set_seconds(static_cast<std::int64_t>(unix_secs));
  ts.set_nanos(0);
}

}  // namespace

Result<std::string> Ais::load() {
  auto rows = store_.load_realms();
  if (!rows) return std::unexpected(rows.error());
  for (auto& row : *rows) realms_[row.id] = row;
  for (const auto& seed : config_.realms) {
    RealmRow row = realms_.contains(seed.id) ? realms_[seed.id] : RealmRow{};
    row.id = seed.id;
    row.secret = seed.secret;
    row.enabled = true;
    if (auto r = store_.upsert_realm(row); !r) return std::unexpected(r.error());
    realms_[seed.id] = row;
  }
  std::string dev_secret;
  if (realms_.empty()) {
    dev_secret = hex_encode(random_bytes(16));
    if (auto r = create_realm(1, dev_secret); !r) return std::unexpected(r.error());
  } else if (config_.realms.empty() && realms_.size() == 1 && realms_.contains(1)) {
    dev_secret = realms_[1].secret;  // the dev realm of an earlier run
  }
  turn_secret_ = config_.turn_secret;
  if (turn_secret_.empty()) {
    if (auto stored = store_.get_meta("turn_secret")) {
      turn_secret_ = *stored;
    } else {
      turn_secret_ = hex_encode(random_bytes(32));
      if (auto r = store_.set_meta("turn_secret", turn_secret_); !r) return std::unexpected(r.error());
    }
  }
  return dev_secret;
}

Result<std::uint64_t> Ais::next_serial() {
  if (serial_next_ == serial_end_) {
    auto first = store_.reserve_serials(kSerialBlock);
    if (!first) return first;
    serial_next_ = *first;
    serial_end_ = *first + kSerialBlock;
  }
  return serial_next_++;
}

void Ais::issue(Actor& actor, RegisterResponse::RegisterOk& ok) {
  const auto now = unix_now();
  const auto expires = now + config_.credential_ttl_secs;
  IdentityClaims claims;
  claims.set_realm_id(actor.id.realm().realm_id());
  claims.set_actor_id(actor.id_text);
  claims.set_expires_at(expires);
  auto claims_bytes = claims.SerializeAsString();

  *ok.mutable_actr_id() = actor.id;
  auto* cred = ok.mutable_credential();
  cred->set_key_id(keys_.current_id());
  cred->set_signature(keys_.sign(claims_bytes));
  cred->set_claims(std::move(claims_bytes));
  auto* turn = ok.mutable_turn_credential();
  turn->set_username(fmt::format("{}:{}", expires, actor.id_text));
  turn->set_password(base64_encode(hmac_sha1(turn_secret_, turn->username())));
  turn->set_expires_at(expires);
  set_timestamp(*ok.mutable_credential_expires_at(), expires);
  ok.set_signaling_heartbeat_interval_secs(config_.heartbeat_interval_secs);
  ok.set_signing_pubkey(keys_.current_public());
  ok.set_signing_key_id(keys_.current_id());
  auto token = random_bytes(32);
  actor.token_hash = sha256(token);
  actor.token_expires_at = now + config_.renewal_token_ttl_secs;
  actor.credential_expires_at = expires;
  ok.set_renewal_token(std::move(token));
  set_timestamp(*ok.mutable_renewal_token_expires_at(), actor.token_expires_at);
  store_.queue_registration(
      {actor.id_text, actor.token_hash, actor.token_expires_at, actor.request->SerializeAsString()});
}

HttpAnswer Ais::register_actor(std::string_view body, std::string_view secret) {
  auto request = std::make_shared<RegisterRequest>();
  if (!request->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    ++metrics_.malformed;
    return error_answer<RegisterResponse>(400, ErrorCode::DecodeFailure,
                                          "body is not a valid RegisterRequest");
  }
  const auto realm_id = request->realm().realm_id();
  auto realm = realms_.find(realm_id);
  if (realm == realms_.end() || !realm->second.enabled) {
    ++metrics_.auth_failures;
    return error_answer<RegisterResponse>(
        403, ErrorCode::PermissionDenied,
        fmt::format("realm {} is {}", realm_id, realm == realms_.end() ? "unknown" : "disabled"));
  }
  const auto& r = realm->second;
  bool ok_secret = !secret.empty() && (same_secret(secret, r.secret) ||
                                       (!r.previous_secret.empty() && unix_now() < r.previous_until &&
                                        same_secret(secret, r.previous_secret)));
  if (!ok_secret) {
    ++metrics_.auth_failures;
    return error_answer<RegisterResponse>(
        401, ErrorCode::PermissionDenied,
        fmt::format("wrong or missing x-actrix-realm-secret for realm {}", realm_id));
  }
  if (auto v = validate(request->actr_type()); !v) {
    return error_answer<RegisterResponse>(200, ErrorCode::InvalidArgument, v.error().message);
  }
  if (request->has_service_spec() && request->service_spec().name().empty()) {
    return error_answer<RegisterResponse>(200, ErrorCode::InvalidArgument,
                                          "service_spec.name must not be empty");
  }
  auto serial = next_serial();
  if (!serial) {
    spdlog::error("serial allocation failed: {}", serial.error().to_string());
    return error_answer<RegisterResponse>(500, ErrorCode::Internal, "cannot allocate a serial number");
  }
  Actor actor;
  actor.id = make_actr_id(realm_id, *serial, request->actr_type());
  actor.id_text = to_string(actor.id);
  actor.geo = geo_from_spec(*request);
  actor.request = std::move(request);
  Actor& stored = registry_.add(std::move(actor));
  registry_.set_present(stored, mono_ms());  // heartbeat clock starts at registration

  RegisterResponse response;
  issue(stored, *response.mutable_success());
  ++metrics_.registrations;
  return {200, response.SerializeAsString()};
}

Actor& Ais::restore(RegistrationRow row, RegisterRequest request, ActrId id) {
  Actor actor;
  actor.id = std::move(id);
  actor.id_text = std::move(row.actor_id);
  actor.geo = geo_from_spec(request);
  actor.request = std::make_shared<RegisterRequest>(std::move(request));
  actor.token_hash = std::move(row.token_hash);
  actor.token_expires_at = row.token_expires_at;
  return registry_.add(std::move(actor));
}

Actor* Ais::registration(const ActrId& id) {
  if (Actor* a = registry_.find(id)) return a;
  auto text = to_string(id);
  auto row = store_.load_registration(text);
  if (!row) return nullptr;
  RegisterRequest request;
  if (!request.ParseFromString(row->request)) return nullptr;
  return &restore(std::move(*row), std::move(request), id);
}

HttpAnswer Ais::renew(std::string_view body) {
  RenewCredentialRequest request;
  if (!request.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    ++metrics_.malformed;
    return error_answer<RenewCredentialResponse>(400, ErrorCode::DecodeFailure,
                                                 "body is not a valid RenewCredentialRequest");
  }
  const auto now = unix_now();
  Actor* actor = registration(request.actr_id());
  const auto hash = sha256(request.renewal_token());
  if (actor && !actor->previous_answer.empty() && now < actor->previous_until &&
      sodium_memcmp(hash.data(), actor->previous_token_hash.data(), hash.size()) == 0) {
    return {200, actor->previous_answer};  // a retry: same answer, no second rotation
  }
  if (!actor || actor->token_hash.size() != hash.size() ||
      sodium_memcmp(hash.data(), actor->token_hash.data(), hash.size()) != 0 ||
      now >= actor->token_expires_at) {
    ++metrics_.auth_failures;
    return error_answer<RenewCredentialResponse>(401, ErrorCode::PermissionDenied,
                                                 "unknown actor, or renewal token wrong or expired");
  }
  RenewCredentialResponse response;
  actor->previous_token_hash = actor->token_hash;
  issue(*actor, *response.mutable_success());
  actor->previous_answer = response.SerializeAsString();
  actor->previous_until = now + config_.renew_retry_window_secs;
  ++metrics_.renewals;
  return {200, actor->previous_answer};
}

Result<VerifiedCredential> Ais::verify(const AIdCredential& credential, std::string_view actor_id) const {
  const auto now = unix_now();
  if (!keys_.verify(credential.key_id(), credential.claims(), credential.signature(), now)) {
    return fail(ErrorCode::PermissionDenied,
                keys_.state(credential.key_id(), now) == KeyStore::KeyState::Unknown
                    ? fmt::format("credential signed with unknown or expired key {}", credential.key_id())
                    : std::string("credential signature does not verify"));
  }
  IdentityClaims claims;
  if (!claims.ParseFromString(credential.claims())) {
    return fail(ErrorCode::PermissionDenied, "credential claims do not decode");
  }
  if (claims.expires_at() <= now) return fail(ErrorCode::PermissionDenied, "credential expired");
  if (claims.actor_id() != actor_id) {
    return fail(ErrorCode::PermissionDenied,
                fmt::format("credential is for '{}', not '{}'", claims.actor_id(), actor_id));
  }
  return VerifiedCredential{credential.key_id(), claims.expires_at(), claims.actor_id()};
}

Result<void> Ais::create_realm(std::uint32_t id, const std::string& secret) {
  if (id == 0 || secret.empty())
    return fail(ErrorCode::InvalidArgument, "realm id must be > 0, secret non-empty");
  if (realms_.contains(id)) return fail(ErrorCode::InvalidArgument, fmt::format("realm {} exists", id));
  RealmRow row{id, secret, "", 0, true};
  if (auto r = store_.upsert_realm(row); !r) return r;
  realms_[id] = row;
  return {};
}

Result<void> Ais::set_realm_enabled(std::uint32_t id, bool enabled) {
  auto it = realms_.find(id);
  if (it == realms_.end()) return fail(ErrorCode::NotFound, fmt::format("no realm {}", id));
  RealmRow row = it->second;
  row.enabled = enabled;
  if (auto r = store_.upsert_realm(row); !r) return r;
  it->second = row;
  return {};
}

Result<void> Ais::rotate_realm_secret(std::uint32_t id, const std::string& secret) {
  auto it = realms_.find(id);
  if (it == realms_.end()) return fail(ErrorCode::NotFound, fmt::format("no realm {}", id));
  if (secret.empty()) return fail(ErrorCode::InvalidArgument, "the new secret must not be empty");
  RealmRow row = it->second;
  row.previous_secret = row.secret;
  row.previous_until = unix_now() + config_.secret_rotation_grace_secs;
  row.secret = secret;
  if (auto r = store_.upsert_realm(row); !r) return r;
  it->second = row;
  return {};
}

}  // namespace actr::signal
