// Discovery, service specs, route candidates (each ranking factor, ACL, health) and ActrUp events.
#include <gtest/gtest.h>

#include "actr/protocol/ids.hpp"
#include "harness.hpp"

namespace actr::signal::test {
namespace {

using signaling::ActrToSignaling;
using signaling::SignalingEnvelope;
using Factor = RouteCandidatesRequest::NodeSelectionCriteria;

struct Node {
  RegisterResponse::RegisterOk ok;
  std::unique_ptr<WsClient> ws;
};

Node join(ServerProcess& s, RegisterRequest req) {
  Node n{register_ok(s.port, s.dev_secret, req), nullptr};
  n.ws = WsClient::connect(s.port, n.ok);
  EXPECT_NE(n.ws, nullptr);
  return n;
}

void ping(Node& n, float power, float backlog, ServiceAvailabilityState state = FULL,
          std::vector<std::string> sticky = {}) {
  auto r = n.ws->request(n.ws->actr([&](ActrToSignaling& m) {
    auto* p = m.mutable_ping();
    p->set_availability(state);
    p->set_power_reserve(power);
    p->set_mailbox_backlog(backlog);
    for (auto& s : sticky) p->add_sticky_client_ids(s);
  }));
  ASSERT_TRUE(r && r->server_to_actr().has_pong());
}

RegisterRequest service(const std::string& name, const std::string& fingerprint,
                        std::vector<std::string> tags = {}) {
  auto req = make_register(1, "acme", name);
  auto* spec = req.mutable_service_spec();
  spec->set_name(name + "Service");
  spec->set_fingerprint(fingerprint);
  for (auto& t : tags) spec->add_tags(t);
  return req;
}

std::vector<std::uint64_t> route(Node& client, const ActrType& type,
                                 std::vector<Factor::NodeRankingFactor> factors, std::uint32_t count = 10,
                                 std::function<void(RouteCandidatesRequest&)> more = {}) {
  auto r = client.ws->request(client.ws->actr([&](ActrToSignaling& m) {
    auto* req = m.mutable_route_candidates_request();
    *req->mutable_target_type() = type;
    req->set_client_fingerprint("");
    req->mutable_criteria()->set_candidate_count(count);
    for (auto f : factors) req->mutable_criteria()->add_ranking_factors(f);
    if (more) more(*req);
  }));
  std::vector<std::uint64_t> out;
  EXPECT_TRUE(r && r->server_to_actr().route_candidates_response().has_success());
  if (!r) return out;
  for (auto& id : r->server_to_actr().route_candidates_response().success().candidates()) {
    out.push_back(id.serial_number());
  }
  return out;
}

std::uint64_t serial(const Node& n) { return n.ok.actr_id().serial_number(); }

TEST(Routing, RankingFactorsInOrder) {
  ServerProcess server;
  auto client = join(server, make_register(1, "acme", "client"));
  auto a = join(server, service("echo", "fp-a", {"geo:48.85,2.35"}));    // Paris
  auto b = join(server, service("echo", "fp-b", {"geo:40.71,-74.0"}));   // New York
  auto c = join(server, service("echo", "fp-a", {"geo:35.68,139.69"}));  // Tokyo
  const auto type = a.ok.actr_id().type();
  ping(a, 0.2F, 5);
  ping(b, 0.9F, 5);
  ping(c, 0.5F, 1);
  EXPECT_EQ(route(client, type, {Factor::MAXIMUM_POWER_RESERVE}),
            (std::vector{serial(b), serial(c), serial(a)}));
  EXPECT_EQ(route(client, type, {Factor::MINIMUM_MAILBOX_BACKLOG})[0], serial(c));
  // Backlog ties between a and b, broken by the next factor.
  EXPECT_EQ(route(client, type, {Factor::MINIMUM_MAILBOX_BACKLOG, Factor::MAXIMUM_POWER_RESERVE}),
            (std::vector{serial(c), serial(b), serial(a)}));
  auto exact = route(client, type, {Factor::EXACT_MATCH_FIRST, Factor::MAXIMUM_POWER_RESERVE}, 10,
                     [](RouteCandidatesRequest& r) { r.set_client_fingerprint("fp-a"); });
  EXPECT_EQ(exact, (std::vector{serial(c), serial(a), serial(b)}));
  auto near_london = route(client, type, {Factor::NEAREST}, 10, [](RouteCandidatesRequest& r) {
    r.mutable_client_location()->set_latitude(51.5);
    r.mutable_client_location()->set_longitude(-0.12);
  });
  EXPECT_EQ(near_london, (std::vector{serial(a), serial(b), serial(c)}));
  ping(a, 0.2F, 5, FULL, {to_string(client.ok.actr_id())});
  EXPECT_EQ(route(client, type, {Factor::CLIENT_AFFINITY, Factor::MAXIMUM_POWER_RESERVE})[0], serial(a));
  EXPECT_EQ(route(client, type, {Factor::MAXIMUM_POWER_RESERVE}, 2).size(), 2u);  // candidate_count
}

TEST(Routing, HealthMinimumAclFilterAndWsAddress) {
  ServerProcess server;
  auto client = join(server, make_register(1, "acme", "client"));
  auto stranger = join(server, make_register(1, "other", "client"));
  auto open_req = service("echo", "fp");
  open_req.set_ws_address("ws://127.0.0.1:9100");
  auto open = join(server, open_req);
  auto guarded_req = service("echo", "fp");
  auto* rule = guarded_req.mutable_acl()->add_rules();
  rule->set_permission(AclRule::ALLOW);
  *rule->mutable_from_type() = client.ok.actr_id().type();
  auto guarded = join(server, guarded_req);
  const auto type = open.ok.actr_id().type();
  ping(open, 1, 0, DEGRADED);
  ping(guarded, 1, 0, FULL);
  EXPECT_EQ(route(client, type, {}).size(), 2u);
  EXPECT_EQ(route(stranger, type, {}), (std::vector{serial(open)}));  // the ACL hides `guarded`
  auto healthy = route(client, type, {}, 10, [](RouteCandidatesRequest& r) {
    r.mutable_criteria()->set_minimal_health_requirement(FULL);
  });
  EXPECT_EQ(healthy, (std::vector{serial(guarded)}));
  auto r = client.ws->request(client.ws->actr([&](ActrToSignaling& m) {
    *m.mutable_route_candidates_request()->mutable_target_type() = type;
    m.mutable_route_candidates_request()->set_client_fingerprint("");
    m.mutable_route_candidates_request()->mutable_criteria()->set_candidate_count(10);
  }));
  ASSERT_TRUE(r);
  const auto& ok = r->server_to_actr().route_candidates_response().success();
  ASSERT_EQ(ok.ws_address_map_size(), 1);
  EXPECT_TRUE(ok.ws_address_map(0).candidate_id() == open.ok.actr_id());
  EXPECT_EQ(ok.ws_address_map(0).ws_address(), "ws://127.0.0.1:9100");
}

TEST(Routing, DiscoveryAndServiceSpec) {
  ServerProcess server;
  auto client = join(server, make_register(1, "acme", "client"));
  auto echo = join(server, service("echo", "fp-echo", {"t1"}));
  auto clock_req = service("clock", "fp-clock");
  auto* rule = clock_req.mutable_acl()->add_rules();
  rule->set_permission(AclRule::DENY);
  *rule->mutable_from_type() = client.ok.actr_id().type();
  auto clock = join(server, clock_req);
  auto other_req = service("ticker", "fp-t");
  other_req.mutable_actr_type()->set_manufacturer("zeta");
  auto other = join(server, other_req);

  auto discover = [&](std::function<void(DiscoveryRequest&)> fill) {
    auto r = client.ws->request(
        client.ws->actr([&](ActrToSignaling& m) { fill(*m.mutable_discovery_request()); }));
    std::vector<std::string> names;
    for (auto& e : r->server_to_actr().discovery_response().success().entries()) names.push_back(e.name());
    return names;
  };
  // Types present: the client itself (no spec: its type name), echo, ticker; clock hidden by its ACL.
  EXPECT_EQ(discover([](DiscoveryRequest&) {}),
            (std::vector<std::string>{"client", "echoService", "tickerService"}));
  EXPECT_EQ(discover([](DiscoveryRequest& d) { d.set_manufacturer("zeta"); }),
            (std::vector<std::string>{"tickerService"}));
  EXPECT_EQ(discover([](DiscoveryRequest& d) { d.set_limit(1); }).size(), 1u);

  auto spec = client.ws->request(client.ws->actr(
      [](ActrToSignaling& m) { m.mutable_get_service_spec_request()->set_name("echoService"); }));
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->server_to_actr().get_service_spec_response().success().fingerprint(), "fp-echo");
  auto hidden = client.ws->request(client.ws->actr(
      [](ActrToSignaling& m) { m.mutable_get_service_spec_request()->set_name("clockService"); }));
  EXPECT_EQ(hidden->server_to_actr().error().code(), 10003u);
}

TEST(Routing, SubscribeActrUpEvents) {
  ServerProcess server;
  auto watcher = join(server, make_register(1, "acme", "client"));
  const auto echo_type = make_actr_type("acme", "echo", "1.0.0");
  auto sub = watcher.ws->request(watcher.ws->actr([&](ActrToSignaling& m) {
    *m.mutable_subscribe_actr_up_request()->mutable_target_type() = echo_type;
  }));
  ASSERT_TRUE(sub && sub->server_to_actr().subscribe_actr_up_response().has_success());
  auto echo = join(server, service("echo", "fp"));
  auto event = watcher.ws->wait_for([](const SignalingEnvelope& e) {
    return e.has_server_to_actr() && e.server_to_actr().has_actr_up_event();
  });
  ASSERT_TRUE(event);
  EXPECT_TRUE(event->server_to_actr().actr_up_event().actor_id() == echo.ok.actr_id());
  auto unsub = watcher.ws->request(watcher.ws->actr([&](ActrToSignaling& m) {
    *m.mutable_unsubscribe_actr_up_request()->mutable_target_type() = echo_type;
  }));
  ASSERT_TRUE(unsub && unsub->server_to_actr().unsubscribe_actr_up_response().has_success());
  auto echo2 = join(server, service("echo", "fp"));
  // No event after unsubscribing: the next thing on the socket is the answer to a ping.
  auto r = watcher.ws->request(watcher.ws->actr([](ActrToSignaling& m) {
    m.mutable_ping()->set_availability(FULL);
    m.mutable_ping()->set_power_reserve(1);
    m.mutable_ping()->set_mailbox_backlog(0);
  }));
  ASSERT_TRUE(r);
  EXPECT_FALSE(watcher.ws->wait_for(
      [](const SignalingEnvelope& e) { return e.server_to_actr().has_actr_up_event(); }, 200ms));
}

}  // namespace
}  // namespace actr::signal::test
