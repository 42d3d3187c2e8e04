#include "checkers/health_state.hpp"

#include <gtest/gtest.h>

#include "daemon/config/loader.hpp"

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;
using Kind = HealthEvent::Kind;

config::Config load(const std::string& yaml) {
  auto r = config::load_string(yaml, "t.yaml");
  for (const auto& e : r.errors)
    ADD_FAILURE() << e.str();
  return r.config.value_or(config::Config{});
}

const std::string kFarm = R"(
checks:
  - {name: h, type: http, path: /healthz}
  - {name: a, type: tcp, alpha: true}
services:
  - name: web
    address: 192.0.2.200
    port: 80
    check: h
    quorum: {weight: 4, hysteresis: 1}
    sorry_server: {address: 192.0.2.99}
    realservers:
      - {address: 192.0.2.21, weight: 2}
      - {address: 192.0.2.22, weight: 2}
      - {address: 192.0.2.23, weight: 2}
  - name: nocheck
    address: 192.0.2.201
    port: 80
    realservers:
      - {address: 192.0.2.21}
  - name: alpha
    address: 192.0.2.202
    port: 80
    check: a
    realservers:
      - {address: 192.0.2.21}
)";

const std::string kWeb = "tcp 192.0.2.200:80";
TimePoint t0{std::chrono::seconds(1000)};

TEST(HealthState, InitialStates) {
  HealthState h;
  const auto cfg = load(kFarm);
  const auto ev = h.configure(cfg, t0);
  // alpha starts down: its service (quorum 1) starts with quorum down.
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::quorum_down);
  EXPECT_EQ(ev[0].service, "tcp 192.0.2.202:80");
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.21:80")->state, RsState::up);
  EXPECT_EQ(h.realserver("tcp 192.0.2.202:80", "192.0.2.21:80")->state, RsState::down);
  EXPECT_EQ(h.weight(cfg.services[0], cfg.services[0].realservers[0], t0), 2u);
  EXPECT_EQ(h.weight(cfg.services[2], cfg.services[2].realservers[0], t0), std::nullopt);
  EXPECT_TRUE(h.service(kWeb)->quorum_up);
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 6u);
  // Unchecked realservers stay up whatever happens to others.
  EXPECT_EQ(h.weight(cfg.services[1], cfg.services[1].realservers[0], t0), 1u);
}

TEST(HealthState, QuorumWithHysteresisAndSorryServer) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  const auto& web = cfg.services[0];
  // 6 -> 4: still >= 4 - 1.
  auto ev = h.set_health(kWeb, "192.0.2.21:80", false, "connection refused", t0 + 1s);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::rs_down);
  EXPECT_EQ(h.weight(web, web.realservers[0], t0 + 1s), std::nullopt);
  EXPECT_FALSE(h.sorry_mode(web));
  // 4 -> 2: below 4 - 1 = 3: quorum lost, sorry server in.
  ev = h.set_health(kWeb, "192.0.2.22:80", false, "timeout", t0 + 2s);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].kind, Kind::quorum_down);
  EXPECT_TRUE(h.sorry_mode(web));
  // 2 -> 4: not yet >= 4 + 1: still down.
  ev = h.set_health(kWeb, "192.0.2.21:80", true, "200 OK", t0 + 3s);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(h.sorry_mode(web));
  // 4 -> 6 >= 5: quorum back, sorry server out.
  ev = h.set_health(kWeb, "192.0.2.22:80", true, "200 OK", t0 + 4s);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].kind, Kind::quorum_up);
  EXPECT_FALSE(h.sorry_mode(web));
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.22:80")->flaps, 2u);
}

TEST(HealthState, InhibitOnFailureKeepsWeightZero) {
  HealthState h;
  const auto cfg = load(R"(
checks: [{name: t, type: tcp}]
services:
  - {address: 192.0.2.200, port: 80, check: t, inhibit_on_failure: true,
     realservers: [{address: 192.0.2.21, weight: 5}]}
)");
  h.configure(cfg, t0);
  h.set_health(cfg.services[0].key(), "192.0.2.21:80", false, "x", t0);
  EXPECT_EQ(h.weight(cfg.services[0], cfg.services[0].realservers[0], t0), 0u);
}

TEST(HealthState, DrainingIsWeightZeroAndOutOfQuorum) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  const auto& web = cfg.services[0];
  h.set_drain(kWeb, "192.0.2.23:80", true, t0);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.23:80")->state, RsState::draining);
  EXPECT_EQ(h.weight(web, web.realservers[2], t0), 0u);
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 4u);
  // A success while draining keeps it draining.
  h.set_health(kWeb, "192.0.2.23:80", true, "ok", t0);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.23:80")->state, RsState::draining);
  h.set_drain(kWeb, "192.0.2.23:80", false, t0);
  EXPECT_EQ(h.weight(web, web.realservers[2], t0), 2u);
}

TEST(HealthState, DynamicWeightReplacesConfiguredWeight) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  const auto& web = cfg.services[0];
  h.set_dynamic_weight(kWeb, "192.0.2.21:80", 9, t0);
  EXPECT_EQ(h.weight(web, web.realservers[0], t0), 9u);
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 13u);
  h.set_dynamic_weight(kWeb, "192.0.2.21:80", std::nullopt, t0);
  EXPECT_EQ(h.weight(web, web.realservers[0], t0), 2u);
}

TEST(HealthState, SlowStartRampsFromOneToFull) {
  HealthState h;
  const auto cfg = load(R"(
checks: [{name: t, type: tcp}]
services:
  - {address: 192.0.2.200, port: 80, check: t, slow_start: 10s,
     realservers: [{address: 192.0.2.21, weight: 100}]}
)");
  const auto& s = cfg.services[0];
  const auto& rs = s.realservers[0];
  h.configure(cfg, t0);
  EXPECT_EQ(h.weight(s, rs, t0), 100u);  // present at start: no ramp
  EXPECT_EQ(h.next_change(t0), std::nullopt);
  h.set_health(s.key(), rs.key(), false, "x", t0 + 1s);
  h.set_health(s.key(), rs.key(), true, "ok", t0 + 2s);
  EXPECT_EQ(h.weight(s, rs, t0 + 2s), 1u);
  EXPECT_EQ(h.weight(s, rs, t0 + 7s), 50u);
  EXPECT_EQ(h.weight(s, rs, t0 + 11s), 90u);
  EXPECT_EQ(h.weight(s, rs, t0 + 12s), 100u);
  ASSERT_TRUE(h.next_change(t0 + 2s).has_value());
  EXPECT_EQ(*h.next_change(t0 + 2s), t0 + 3s);
  EXPECT_EQ(h.next_change(t0 + 12s), std::nullopt);
}

TEST(HealthState, ReloadKeepsStateOfUnchangedRealservers) {
  HealthState h;
  auto cfg = load(kFarm);
  h.configure(cfg, t0);
  h.set_health(kWeb, "192.0.2.21:80", false, "refused", t0 + 1s);
  // Same farm plus a new realserver.
  std::string next = kFarm;
  next.insert(next.find("  - name: nocheck"), "      - {address: 192.0.2.24, weight: 2}\n");
  const auto ev = h.configure(load(next), t0 + 5s);
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.21:80")->state, RsState::down);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.21:80")->since, t0 + 1s);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.24:80")->state, RsState::up);
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 6u);
}

TEST(HealthState, UnknownKeysAreIgnored) {
  HealthState h;
  h.configure(load(kFarm), t0);
  EXPECT_TRUE(h.set_health("tcp 10.0.0.1:1", "x", false, "", t0).empty());
  EXPECT_TRUE(h.set_health(kWeb, "10.0.0.1:1", false, "", t0).empty());
}

}  // namespace
}  // namespace lvsd::checkers
