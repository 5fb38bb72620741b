#pragma once
// Actor Identity Service: realms and their secrets, registration (serial numbers, credentials,
// TURN credentials, renewal tokens), renewal, and the checks of a presented credential.

#include <actr/signal.pb.h>

#include <cstdint>
#include <map>
#include <string>

#include "actr/protocol/error.hpp"
#include "config.hpp"
#include "keys.hpp"
#include "metrics.hpp"
#include "presence.hpp"
#include "store.hpp"

namespace actr::signal {

struct HttpAnswer {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/x-protobuf";
};

/// What a verified credential says.
struct VerifiedCredential {
  std::uint32_t key_id = 0;
  std::uint64_t expires_at = 0;
  std::string actor_id;  // text form, as signed
};

class Ais {
 public:
  Ais(const Config& config, Store& store, KeyStore& keys, Registry& registry, Metrics& metrics)
      : config_(config), store_(store), keys_(keys), registry_(registry), metrics_(metrics) {}

  /// Loads realms and the TURN secret; applies --realm seeds; creates the dev realm when there is
  /// no realm at all (its secret is returned so main can print it).
  Result<std::string> load();

  HttpAnswer register_actor(std::string_view body, std::string_view secret);
  HttpAnswer renew(std::string_view body);

  /// Signature, key validity, expiry, and that the claims name `actor_id`.
  Result<VerifiedCredential> verify(const AIdCredential& credential, std::string_view actor_id) const;
  /// The registration for an id: memory first, then SQLite (after a restart).
  Actor* registration(const ActrId& id);

  // Realm administration.
  Result<void> create_realm(std::uint32_t id, const std::string& secret);
  Result<void> set_realm_enabled(std::uint32_t id, bool enabled);
  Result<void> rotate_realm_secret(std::uint32_t id, const std::string& secret);
  const std::map<std::uint32_t, RealmRow>& realms() const { return realms_; }

 private:
  Result<std::uint64_t> next_serial();
  /// Fills a RegisterOk for `actor`: fresh credential, TURN credential, rotated renewal token.
  void issue(Actor& actor, RegisterResponse::RegisterOk& ok);
  Actor& restore(RegistrationRow row, RegisterRequest request, ActrId id);

  const Config& config_;
  Store& store_;
  KeyStore& keys_;
  Registry& registry_;
  Metrics& metrics_;
  std::map<std::uint32_t, RealmRow> realms_;
  std::string turn_secret_;
  std::uint64_t serial_next_ = 0;
  std::uint64_t serial_end_ = 0;
};

}  // namespace actr::signal
