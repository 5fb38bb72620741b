#pragma once
// Who is registered and who is alive: in-memory, indexed by ActrId and by ActrType, so every
// signaling message is answered without database work. Also the ACL check and the ranking of
// route candidates.

#include <actr/signal.pb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actr/protocol/ids.hpp"

namespace actr::signal {

class Session;

struct Actor {
  ActrId id;
  std::string id_text;
  std::shared_ptr<const RegisterRequest> request;  // service spec, ACL, ws_address
  std::optional<std::pair<double, double>> geo;    // from a ServiceSpec tag "geo:<lat>,<lon>"

  // Renewal (the token itself is never kept, only its hash).
  std::string token_hash;
  std::uint64_t token_expires_at = 0;
  std::uint64_t credential_expires_at = 0;
  std::string previous_token_hash;  // a retried renew within the window gets the same answer
  std::uint64_t previous_until = 0;
  std::string previous_answer;

  // Presence.
  bool present = false;
  std::int64_t last_seen_ms = 0;
  ServiceAvailabilityState availability = FULL;
  float power_reserve = 1.0F;
  float mailbox_backlog = 0.0F;
  std::vector<std::string> sticky_client_ids;
  std::shared_ptr<Session> session;  // the current signaling connection, if any
  std::size_t type_slot = 0;         // position in the by-type index
  std::vector<ActrType> subscriptions;
};

/// True when `owner`'s ACL lets `requester` reach it. No ACL at all = same realm only; an ACL
/// allows what an ALLOW rule matches unless a DENY rule matches too.
bool acl_allows(const Actor& owner, const ActrId& requester);
/// Great-circle distance in km.
double haversine_km(double lat1, double lon1, double lat2, double lon2);
std::optional<std::pair<double, double>> geo_from_spec(const RegisterRequest& request);

class Registry {
 public:
  Actor* find(const ActrId& id);
  /// Adds a registration (not yet present).
  Actor& add(Actor actor);
  /// Drops the actor completely (unregister, or forgotten after its credential expired).
  void erase(const ActrId& id);

  void set_present(Actor& actor, std::int64_t now_ms);
  void set_absent(Actor& actor);

  /// Present actors whose last sign of life is older than `timeout_ms`.
  std::vector<Actor*> expired(std::int64_t now_ms, std::int64_t timeout_ms);
  /// Registrations neither present nor holding a live credential (memory only; SQLite keeps them).
  void forget_stale(std::uint64_t now_unix);

  std::vector<const Actor*> route_candidates(const ActrId& requester,
                                             const RouteCandidatesRequest& request) const;
  std::vector<DiscoveryResponse::TypeEntry> discover(const ActrId& requester,
                                                     const DiscoveryRequest& request) const;
  const ServiceSpec* find_spec(const ActrId& requester, const std::string& name) const;

  void subscribe(Actor& subscriber, const ActrType& type);
  void unsubscribe(Actor& subscriber, const ActrType& type);
  /// Present subscribers to `type` that `up`'s ACL lets see it.
  std::vector<Actor*> subscribers_for(const Actor& up);

  std::size_t size() const { return actors_.size(); }
  std::size_t present_count() const { return present_count_; }
  /// Copies the actor's health (availability, power reserve, mailbox backlog) into the by-type
  /// index; call after changing them.
  void refresh(Actor& actor);

 private:
  // What route_candidates filters and ranks on, kept in the by-type index itself so that a query
  // reads one contiguous array (and not one Actor and one RegisterRequest per candidate): the cost
  // stays the same whether 1k or 100k actors are registered.
  struct Slot {
    Actor* actor;
    std::uint64_t serial;
    std::uint32_t realm;
    std::int32_t availability;
    float power_reserve;
    float mailbox_backlog;
    bool has_acl;
  };
  static Slot slot_for(Actor& actor);

  std::unordered_map<ActrId, std::unique_ptr<Actor>> actors_;
  std::unordered_map<ActrType, std::vector<Slot>> by_type_;  // present actors only
  std::unordered_map<std::string, std::unordered_set<Actor*>> by_service_;
  std::unordered_map<ActrType, std::unordered_set<Actor*>> subscribers_;
  std::size_t present_count_ = 0;
};

}  // namespace actr::signal
