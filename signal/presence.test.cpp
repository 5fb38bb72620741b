#include "presence.hpp"

#include <gtest/gtest.h>

namespace actr::signal {
namespace {

Actor make(std::uint64_t serial, const char* name, std::shared_ptr<RegisterRequest> req = nullptr) {
  Actor a;
  a.id = make_actr_id(1, serial, make_actr_type("acme", name, "1"));
  a.id_text = to_string(a.id);
  if (!req) req = std::make_shared<RegisterRequest>();
  a.request = req;
  a.geo = geo_from_spec(*req);
  return a;
}

}  // namespace

TEST(Presence, AclRules) {
  auto req = std::make_shared<RegisterRequest>();
  auto* allow = req->mutable_acl()->add_rules();
  allow->set_permission(AclRule::ALLOW);
  *allow->mutable_from_type() = make_actr_type("acme", "client", "1");
  allow->set_any_realm(true);
  auto* deny = req->mutable_acl()->add_rules();
  deny->set_permission(AclRule::DENY);
  *deny->mutable_from_type() = make_actr_type("acme", "client", "1");
  deny->set_realm_id(9);
  Actor owner = make(1, "svc", req);
  EXPECT_TRUE(acl_allows(owner, make_actr_id(2, 5, make_actr_type("acme", "client", "1"))));
  EXPECT_FALSE(acl_allows(owner, make_actr_id(9, 5, make_actr_type("acme", "client", "1"))));  // DENY wins
  EXPECT_FALSE(acl_allows(owner, make_actr_id(1, 5, make_actr_type("acme", "other", "1"))));   // no match
  Actor open = make(2, "svc");
  EXPECT_TRUE(acl_allows(open, make_actr_id(1, 5, make_actr_type("x", "y", "1"))));
  EXPECT_FALSE(acl_allows(open, make_actr_id(2, 5, make_actr_type("x", "y", "1"))));  // other realm
}

TEST(Presence, IndexAndRanking) {
  Registry r;
  for (std::uint64_t s = 1; s <= 5; ++s) {
    auto& a = r.add(make(s, "svc"));
    a.power_reserve = static_cast<float>(s) / 10;
    r.set_present(a, 0);
  }
  EXPECT_EQ(r.present_count(), 5u);
  r.set_absent(*r.find(make_actr_id(1, 3, make_actr_type("acme", "svc", "1"))));
  RouteCandidatesRequest q;
  *q.mutable_target_type() = make_actr_type("acme", "svc", "1");
  q.set_client_fingerprint("");
  q.mutable_criteria()->set_candidate_count(3);
  q.mutable_criteria()->add_ranking_factors(
      RouteCandidatesRequest::NodeSelectionCriteria::MAXIMUM_POWER_RESERVE);
  auto out = r.route_candidates(make_actr_id(1, 99, make_actr_type("acme", "c", "1")), q);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]->id.serial_number(), 5u);
  EXPECT_EQ(out[1]->id.serial_number(), 4u);
  EXPECT_EQ(out[2]->id.serial_number(), 2u);
  EXPECT_EQ(r.expired(10'000, 5'000).size(), 4u);
  EXPECT_NEAR(haversine_km(48.85, 2.35, 51.5, -0.12), 343, 5);
}

}  // namespace actr::signal
