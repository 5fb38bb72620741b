#include "presence.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>

namespace actr::signal {

bool acl_allows(const Actor& owner, const ActrId& requester) {
  const auto owner_realm = owner.id.realm().realm_id();
  const auto realm = requester.realm().realm_id();
  if (!owner.request->has_acl()) return realm == owner_realm;
  bool allowed = false;
  for (const auto& rule : owner.request->acl().rules()) {
    if (!(rule.from_type() == requester.type())) continue;
    bool realm_ok = rule.has_any_realm()  ? rule.any_realm()
                    : rule.has_realm_id() ? rule.realm_id() == realm
                                          : realm == owner_realm;
    if (!realm_ok) continue;
    if (rule.permission() == AclRule::DENY) return false;  // a matching DENY beats every ALLOW
    allowed = true;
  }
  return allowed;
}

double haversine_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kEarthKm = 6371.0;
  auto rad = [](double deg) { return deg * std::numbers::pi / 180.0; };
  double dlat = rad(lat2 - lat1);
  double dlon = rad(lon2 - lon1);
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(rad(lat1)) * std::cos(rad(lat2)) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthKm * std::asin(std::min(1.0, std::sqrt(a)));
}

std::optional<std::pair<double, double>> geo_from_spec(const RegisterRequest& request) {
  if (!request.has_service_spec()) return std::nullopt;
  for (const auto& tag : request.service_spec().tags()) {
    if (!tag.starts_with("geo:")) continue;
    auto comma = tag.find(',');
    if (comma == std::string::npos) continue;
    char* end = nullptr;
    double lat = std::strtod(tag.c_str() + 4, &end);
    if (end != tag.c_str() + comma) continue;
    double lon = std::strtod(tag.c_str() + comma + 1, &end);
    if (*end != '\0' || std::abs(lat) > 90 || std::abs(lon) > 180) continue;
    return std::pair{lat, lon};
  }
  return std::nullopt;
}

Actor* Registry::find(const ActrId& id) {
  auto it = actors_.find(id);
  return it == actors_.end() ? nullptr : it->second.get();
}

Actor& Registry::add(Actor actor) {
  auto id = actor.id;
  if (auto* old = find(id)) erase(old->id);
  auto& slot = actors_[id];
  slot = std::make_unique<Actor>(std::move(actor));
  return *slot;
}

void Registry::erase(const ActrId& id) {
  auto it = actors_.find(id);
  if (it == actors_.end()) return;
  Actor& a = *it->second;
  set_absent(a);
  actors_.erase(it);
}

Registry::Slot Registry::slot_for(Actor& a) {
  return Slot{&a,
              a.id.serial_number(),
              a.id.realm().realm_id(),
              static_cast<std::int32_t>(a.availability),
              a.power_reserve,
              a.mailbox_backlog,
              a.request->has_acl()};
}

void Registry::refresh(Actor& a) {
  if (!a.present) return;
  auto it = by_type_.find(a.id.type());
  if (it != by_type_.end() && a.type_slot < it->second.size()) it->second[a.type_slot] = slot_for(a);
}

void Registry::set_present(Actor& a, std::int64_t now_ms) {
  a.last_seen_ms = now_ms;
  if (a.present) return;
  a.present = true;
  ++present_count_;
  auto& list = by_type_[a.id.type()];
  a.type_slot = list.size();
  list.push_back(slot_for(a));
  if (a.request->has_service_spec()) by_service_[a.request->service_spec().name()].insert(&a);
}

void Registry::set_absent(Actor& a) {
  for (auto& type : a.subscriptions) {
    auto it = subscribers_.find(type);
    if (it != subscribers_.end() && (it->second.erase(&a), it->second.empty())) subscribers_.erase(it);
  }
  a.subscriptions.clear();
  if (!a.present) return;
  a.present = false;
  --present_count_;
  auto it = by_type_.find(a.id.type());
  auto& list = it->second;
  list[a.type_slot] = list.back();  // swap-remove keeps this O(1)
  list[a.type_slot].actor->type_slot = a.type_slot;
  list.pop_back();
  if (list.empty()) by_type_.erase(it);
  if (a.request->has_service_spec()) {
    auto s = by_service_.find(a.request->service_spec().name());
    if (s != by_service_.end() && (s->second.erase(&a), s->second.empty())) by_service_.erase(s);
  }
}

std::vector<Actor*> Registry::expired(std::int64_t now_ms, std::int64_t timeout_ms) {
  std::vector<Actor*> out;
  for (auto& [type, list] : by_type_) {
    for (auto& s : list) {
      if (now_ms - s.actor->last_seen_ms > timeout_ms) out.push_back(s.actor);
    }
  }
  return out;
}

void Registry::forget_stale(std::uint64_t now_unix) {
  std::erase_if(actors_, [&](auto& entry) {
    const Actor& a = *entry.second;
    return !a.present && !a.session && a.credential_expires_at < now_unix && a.previous_until < now_unix;
  });
}

std::vector<const Actor*> Registry::route_candidates(const ActrId& requester,
                                                     const RouteCandidatesRequest& request) const {
  // Ranking keys, computed once per candidate; compared in the order of the requested factors.
  struct Ranked {
    const Slot* slot;
    bool exact;
    bool affinity;
    double distance;
  };
  std::vector<const Actor*> out;
  auto it = by_type_.find(request.target_type());
  if (it == by_type_.end()) return out;
  const auto& criteria = request.criteria();
  const bool has_health = request.has_criteria() && criteria.has_minimal_health_requirement();
  const auto min_health = static_cast<std::int32_t>(criteria.minimal_health_requirement());
  const bool has_loc = request.has_client_location() && request.client_location().has_latitude() &&
                       request.client_location().has_longitude();
  const auto& factors = request.criteria().ranking_factors();
  const bool wants_affinity =
      std::find(factors.begin(), factors.end(),
                RouteCandidatesRequest::NodeSelectionCriteria::CLIENT_AFFINITY) != factors.end();
  const bool wants_exact = !request.client_fingerprint().empty();
  const auto requester_text = wants_affinity ? to_string(requester) : std::string();
  const auto serial = requester.serial_number();
  const auto realm = requester.realm().realm_id();
  static thread_local std::vector<Ranked> ranked;  // reused: no allocation per query
  ranked.clear();
  for (const Slot& s : it->second) {
    if (s.serial == serial && s.realm == realm) continue;     // serials are unique: the requester
    if (has_health && s.availability > min_health) continue;  // FULL(0) is the healthiest
    if (s.availability == UNAVAILABLE) continue;
    if (s.has_acl ? !acl_allows(*s.actor, requester) : s.realm != realm) continue;
    Ranked r{&s, false, false, std::numeric_limits<double>::infinity()};
    if (wants_exact || wants_affinity || has_loc) {
      const Actor* a = s.actor;
      r.exact = wants_exact && a->request->has_service_spec() &&
                a->request->service_spec().fingerprint() == request.client_fingerprint();
      r.affinity = wants_affinity && std::find(a->sticky_client_ids.begin(), a->sticky_client_ids.end(),
                                               requester_text) != a->sticky_client_ids.end();
      if (has_loc && a->geo) {
        r.distance = haversine_km(request.client_location().latitude(), request.client_location().longitude(),
                                  a->geo->first, a->geo->second);
      }
    }
    ranked.push_back(r);
  }
  auto before = [&](const Ranked& x, const Ranked& y) {
    for (int f : factors) {
      using F = RouteCandidatesRequest::NodeSelectionCriteria;
      switch (f) {
        case F::MAXIMUM_POWER_RESERVE:
          if (x.slot->power_reserve != y.slot->power_reserve) {
            return x.slot->power_reserve > y.slot->power_reserve;
          }
          break;
        case F::MINIMUM_MAILBOX_BACKLOG:
          if (x.slot->mailbox_backlog != y.slot->mailbox_backlog) {
            return x.slot->mailbox_backlog < y.slot->mailbox_backlog;
          }
          break;
        case F::EXACT_MATCH_FIRST:
          if (x.exact != y.exact) return x.exact;
          break;
        case F::NEAREST:
          if (x.distance != y.distance) return x.distance < y.distance;
          break;
        case F::CLIENT_AFFINITY:
          if (x.affinity != y.affinity) return x.affinity;
          break;
        default: break;
      }
    }
    return x.slot->serial < y.slot->serial;  // deterministic last resort
  };
  std::size_t count = request.has_criteria() ? criteria.candidate_count() : 1;
  count = std::min(count, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(count), ranked.end(),
                    before);
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(ranked[i].slot->actor);
  return out;
}

std::vector<DiscoveryResponse::TypeEntry> Registry::discover(const ActrId& requester,
                                                             const DiscoveryRequest& request) const {
  std::map<std::string, DiscoveryResponse::TypeEntry> sorted;  // by type text: stable answers
  for (const auto& [type, list] : by_type_) {
    if (request.has_manufacturer() && type.manufacturer() != request.manufacturer()) continue;
    for (const Slot& s : list) {
      const Actor* a = s.actor;
      if (!acl_allows(*a, requester)) continue;
      DiscoveryResponse::TypeEntry entry;
      *entry.mutable_actr_type() = type;
      if (a->request->has_service_spec()) {
        const auto& spec = a->request->service_spec();
        entry.set_name(spec.name());
        if (spec.has_description()) entry.set_description(spec.description());
        entry.set_service_fingerprint(spec.fingerprint());
        if (spec.has_published_at()) entry.set_published_at(spec.published_at());
        *entry.mutable_tags() = spec.tags();
      } else {
        entry.set_name(type.name());
        entry.set_service_fingerprint("");
      }
      sorted.emplace(to_string(type), std::move(entry));
      break;
    }
  }
  std::vector<DiscoveryResponse::TypeEntry> out;
  for (auto& [text, entry] : sorted) {
    if (out.size() >= request.limit()) break;
    out.push_back(std::move(entry));
  }
  return out;
}

const ServiceSpec* Registry::find_spec(const ActrId& requester, const std::string& name) const {
  auto it = by_service_.find(name);
  if (it == by_service_.end()) return nullptr;
  for (const Actor* a : it->second) {
    if (acl_allows(*a, requester)) return &a->request->service_spec();
  }
  return nullptr;
}

void Registry::subscribe(Actor& subscriber, const ActrType& type) {
  if (subscribers_[type].insert(&subscriber).second) subscriber.subscriptions.push_back(type);
}

void Registry::unsubscribe(Actor& subscriber, const ActrType& type) {
  auto it = subscribers_.find(type);
  if (it == subscribers_.end()) return;
  it->second.erase(&subscriber);
  if (it->second.empty()) subscribers_.erase(it);
  std::erase(subscriber.subscriptions, type);
}

std::vector<Actor*> Registry::subscribers_for(const Actor& up) {
  std::vector<Actor*> out;
  auto it = subscribers_.find(up.id.type());
  if (it == subscribers_.end()) return out;
  for (Actor* s : it->second) {
    if (s != &up && s->session && acl_allows(up, s->id)) out.push_back(s);
  }
  return out;
}

}  // namespace actr::signal
