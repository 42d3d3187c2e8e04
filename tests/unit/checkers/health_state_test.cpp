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
  h.set_admin(kWeb, "192.0.2.23:80", AdminState::drain, t0);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.23:80")->state, RsState::draining);
  EXPECT_EQ(h.weight(web, web.realservers[2], t0), 0u);
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 4u);
  // A success while draining keeps it draining.
  h.set_health(kWeb, "192.0.2.23:80", true, "ok", t0);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.23:80")->state, RsState::draining);
  h.set_admin(kWeb, "192.0.2.23:80", AdminState::ready, t0);
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
  EXPECT_TRUE(h.set_admin(kWeb, "10.0.0.1:1", AdminState::maint, t0).empty());
  EXPECT_TRUE(h.set_weight_override("tcp 10.0.0.1:1", "192.0.2.21:80", 3, t0).empty());
}

TEST(HealthState, AdminStateNames) {
  for (const auto a : {AdminState::ready, AdminState::drain, AdminState::maint})
    EXPECT_EQ(parse_admin_state(to_string(a)), a);
  EXPECT_EQ(parse_admin_state("drain"), AdminState::drain);
  EXPECT_EQ(parse_admin_state("disable"), std::nullopt);
  EXPECT_EQ(parse_admin_state(""), std::nullopt);
  EXPECT_EQ(to_string(RsState::maint), "maint");
}

TEST(HealthState, DrainWhileDownStaysDownUntilTheChecksSayUp) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  const auto& web = cfg.services[0];
  h.set_health(kWeb, "192.0.2.23:80", false, "refused", t0 + 1s);
  h.set_admin(kWeb, "192.0.2.23:80", AdminState::drain, t0 + 2s);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.23:80")->state, RsState::down);
  EXPECT_EQ(h.weight(web, web.realservers[2], t0 + 2s), std::nullopt);
  // Healthy again: draining (weight 0), not up.
  const auto ev = h.set_health(kWeb, "192.0.2.23:80", true, "ok", t0 + 3s);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev[0].kind, Kind::rs_up);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.23:80")->state, RsState::draining);
  EXPECT_EQ(h.weight(web, web.realservers[2], t0 + 3s), 0u);
}

TEST(HealthState, MaintTakesARealserverOutWhateverItsChecksSay) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  const auto& web = cfg.services[0];
  const std::string rs = "192.0.2.22:80";
  auto ev = h.set_admin(kWeb, rs, AdminState::maint, t0 + 1s);
  EXPECT_TRUE(ev.empty());  // 6 -> 4: quorum 4 holds
  EXPECT_EQ(h.realserver(kWeb, rs)->state, RsState::maint);
  EXPECT_EQ(h.realserver(kWeb, rs)->since, t0 + 1s);
  EXPECT_EQ(h.weight(web, web.realservers[1], t0 + 1s), std::nullopt);  // left out of the plan
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 4u);
  // Checks keep reporting; their verdict is kept but maint wins.
  ev = h.set_health(kWeb, rs, false, "refused", t0 + 2s);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::rs_down);
  EXPECT_EQ(h.realserver(kWeb, rs)->state, RsState::maint);
  EXPECT_FALSE(h.realserver(kWeb, rs)->healthy);
  EXPECT_EQ(h.realserver(kWeb, rs)->since, t0 + 1s);
  // Ready hands it back to its checks: they say down.
  h.set_admin(kWeb, rs, AdminState::ready, t0 + 3s);
  EXPECT_EQ(h.realserver(kWeb, rs)->state, RsState::down);
  h.set_health(kWeb, rs, true, "ok", t0 + 4s);
  EXPECT_EQ(h.realserver(kWeb, rs)->state, RsState::up);
  EXPECT_EQ(h.weight(web, web.realservers[1], t0 + 4s), 2u);
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 6u);
  // Maint of an unchecked realserver works the same.
  const auto& nocheck = cfg.services[1];
  h.set_admin(nocheck.key(), "192.0.2.21:80", AdminState::maint, t0 + 5s);
  EXPECT_EQ(h.weight(nocheck, nocheck.realservers[0], t0 + 5s), std::nullopt);
}

TEST(HealthState, MaintWithInhibitOnFailureKeepsWeightZero) {
  HealthState h;
  const auto cfg = load(R"(
services:
  - {address: 192.0.2.200, port: 80, inhibit_on_failure: true,
     realservers: [{address: 192.0.2.21, weight: 5}]}
)");
  h.configure(cfg, t0);
  h.set_admin(cfg.services[0].key(), "192.0.2.21:80", AdminState::maint, t0);
  EXPECT_EQ(h.weight(cfg.services[0], cfg.services[0].realservers[0], t0), 0u);
}

TEST(HealthState, DrainAndMaintDoNotCountForQuorum) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  const auto& web = cfg.services[0];
  // quorum 4, hysteresis 1: 6 -> 4 (drain) -> 2 (maint) < 3: down, sorry in.
  EXPECT_TRUE(h.set_admin(kWeb, "192.0.2.21:80", AdminState::drain, t0).empty());
  auto ev = h.set_admin(kWeb, "192.0.2.22:80", AdminState::maint, t0 + 1s);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::quorum_down);
  EXPECT_TRUE(h.sorry_mode(web));
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 2u);
  // Both ready: 6 >= 5, quorum back.
  EXPECT_TRUE(h.set_admin(kWeb, "192.0.2.21:80", AdminState::ready, t0 + 2s).empty());
  ev = h.set_admin(kWeb, "192.0.2.22:80", AdminState::ready, t0 + 3s);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::quorum_up);
  EXPECT_FALSE(h.sorry_mode(web));
}

TEST(HealthState, WeightOverrideReplacesConfiguredAndDynamicWeight) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  const auto& web = cfg.services[0];
  const auto& rs1 = web.realservers[0];
  h.set_weight_override(kWeb, rs1.key(), 7, t0);
  EXPECT_EQ(h.weight(web, rs1, t0), 7u);
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 11u);  // the override counts with its value
  // A dynamic weight reported meanwhile does not beat the operator's choice...
  h.set_dynamic_weight(kWeb, rs1.key(), 9, t0);
  EXPECT_EQ(h.weight(web, rs1, t0), 7u);
  // ...and takes over when the override is reset.
  h.set_weight_override(kWeb, rs1.key(), std::nullopt, t0);
  EXPECT_EQ(h.weight(web, rs1, t0), 9u);
  h.set_dynamic_weight(kWeb, rs1.key(), std::nullopt, t0);
  EXPECT_EQ(h.weight(web, rs1, t0), 2u);
  // Override 0: in the plan with weight 0, still up, counts 0 for quorum.
  h.set_weight_override(kWeb, rs1.key(), 0, t0);
  EXPECT_EQ(h.weight(web, rs1, t0), 0u);
  EXPECT_EQ(h.realserver(kWeb, rs1.key())->state, RsState::up);
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 4u);
  // A down realserver stays out whatever its override.
  h.set_weight_override(kWeb, rs1.key(), 50, t0);
  h.set_health(kWeb, rs1.key(), false, "refused", t0 + 1s);
  EXPECT_EQ(h.weight(web, rs1, t0 + 1s), std::nullopt);
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 4u);
}

TEST(HealthState, WeightOverrideCanMakeOrBreakQuorum) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  // quorum 4 (hysteresis 1): 2+2+2 -> 0+0+2 via overrides: below 3, down.
  EXPECT_TRUE(h.set_weight_override(kWeb, "192.0.2.21:80", 0, t0).empty());
  const auto ev = h.set_weight_override(kWeb, "192.0.2.22:80", 0, t0);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Kind::quorum_down);
  // One override of 10 alone brings it back (12 >= 5).
  const auto ev2 = h.set_weight_override(kWeb, "192.0.2.23:80", 10, t0);
  ASSERT_EQ(ev2.size(), 1u);
  EXPECT_EQ(ev2[0].kind, Kind::quorum_up);
}

TEST(HealthState, CombinedChangeEvaluatesQuorumOnce) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  h.set_admin(kWeb, "192.0.2.21:80", AdminState::drain, t0);
  h.set_admin(kWeb, "192.0.2.22:80", AdminState::drain, t0);  // 2 < 3: quorum down
  ASSERT_FALSE(h.service(kWeb)->quorum_up);
  // Ready and weight 1 at once: 1 + 2 = 3 < 5 keeps it down; no up/down pair.
  const auto ev = h.change(kWeb, "192.0.2.21:80",
                           {.admin = AdminState::ready, .set_weight = true, .weight = 1}, t0 + 1s);
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.21:80")->admin, AdminState::ready);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.21:80")->weight_override, 1u);
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 3u);
  // Leaving set_weight false keeps the override.
  h.change(kWeb, "192.0.2.21:80",
           {.admin = AdminState::drain, .set_weight = false, .weight = std::nullopt}, t0 + 2s);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.21:80")->weight_override, 1u);
}

TEST(HealthState, SlowStartAfterMaintButNotAfterDrain) {
  HealthState h;
  const auto cfg = load(R"(
services:
  - {address: 192.0.2.200, port: 80, slow_start: 10s,
     realservers: [{address: 192.0.2.21, weight: 100}, {address: 192.0.2.22, weight: 100}]}
)");
  const auto& s = cfg.services[0];
  h.configure(cfg, t0);
  h.set_admin(s.key(), "192.0.2.21:80", AdminState::maint, t0 + 1s);
  h.set_admin(s.key(), "192.0.2.22:80", AdminState::drain, t0 + 1s);
  EXPECT_EQ(h.next_change(t0 + 1s), std::nullopt);  // nothing ramps while out
  h.set_admin(s.key(), "192.0.2.21:80", AdminState::ready, t0 + 2s);
  h.set_admin(s.key(), "192.0.2.22:80", AdminState::ready, t0 + 2s);
  EXPECT_EQ(h.weight(s, s.realservers[0], t0 + 2s), 1u);
  EXPECT_EQ(h.weight(s, s.realservers[0], t0 + 7s), 50u);
  EXPECT_EQ(h.weight(s, s.realservers[1], t0 + 2s), 100u);
  ASSERT_TRUE(h.next_change(t0 + 2s).has_value());
  // The ramp goes to the override when there is one.
  h.set_weight_override(s.key(), "192.0.2.21:80", 20, t0 + 7s);
  EXPECT_EQ(h.weight(s, s.realservers[0], t0 + 7s), 10u);
  EXPECT_EQ(h.weight(s, s.realservers[0], t0 + 12s), 20u);
}

TEST(HealthState, ReloadKeepsRuntimeStateOfRealserversThatStay) {
  HealthState h;
  h.configure(load(kFarm), t0);
  h.set_admin(kWeb, "192.0.2.21:80", AdminState::drain, t0);
  h.set_admin(kWeb, "192.0.2.22:80", AdminState::maint, t0);
  h.set_weight_override(kWeb, "192.0.2.23:80", 9, t0);
  // Reload: rs3's weight changes in the file, rs2 goes away.
  std::string next = kFarm;
  next.replace(next.find("      - {address: 192.0.2.22, weight: 2}\n"),
               std::string("      - {address: 192.0.2.22, weight: 2}\n").size(), "");
  next.replace(next.find("{address: 192.0.2.23, weight: 2}"),
               std::string("{address: 192.0.2.23, weight: 2}").size(),
               "{address: 192.0.2.23, weight: 4}");
  const auto cfg2 = load(next);
  h.configure(cfg2, t0 + 5s);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.21:80")->admin, AdminState::drain);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.21:80")->state, RsState::draining);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.22:80"), nullptr);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.23:80")->weight_override, 9u);
  EXPECT_EQ(h.weight(cfg2.services[0], cfg2.services[0].realservers[1], t0 + 5s), 9u);
  // rs2 comes back: a new realserver, its maint forgotten.
  h.configure(load(kFarm), t0 + 6s);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.22:80")->admin, AdminState::ready);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.22:80")->state, RsState::up);
}

TEST(HealthState, ReloadRemovingTheCheckOfARealserverInMaintKeepsMaint) {
  HealthState h;
  h.configure(load(kFarm), t0);
  h.set_health(kWeb, "192.0.2.21:80", false, "refused", t0);
  h.set_admin(kWeb, "192.0.2.21:80", AdminState::maint, t0);
  std::string next = kFarm;
  next.replace(next.find("    check: h\n"), std::string("    check: h\n").size(), "");
  h.configure(load(next), t0 + 1s);
  const auto* st = h.realserver(kWeb, "192.0.2.21:80");
  EXPECT_TRUE(st->healthy);  // no check: healthy
  EXPECT_EQ(st->state, RsState::maint);
  h.set_admin(kWeb, "192.0.2.21:80", AdminState::ready, t0 + 2s);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.21:80")->state, RsState::up);
}

// The config-object and positional lookups find the same state as the keys.
TEST(HealthState, ObjectAndPositionalLookupsMatchTheKeys) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  h.set_health(kWeb, "192.0.2.21:80", false, "refused", t0 + 1s);
  h.set_admin(kWeb, "192.0.2.22:80", AdminState::drain, t0 + 1s);
  h.set_weight_override(kWeb, "192.0.2.23:80", 7, t0 + 1s);
  std::size_t seen = 0;
  for (std::size_t i = 0; i < cfg.services.size(); ++i) {
    const auto& s = cfg.services[i];
    ASSERT_NE(h.service(s.key()), nullptr);
    EXPECT_EQ(h.service(s), h.service(s.key()));
    EXPECT_EQ(h.service(i, s), h.service(s.key()));
    std::vector<std::optional<uint32_t>> out;
    h.weights(i, s, t0 + 2s, out);
    ASSERT_EQ(out.size(), s.realservers.size());
    for (std::size_t j = 0; j < s.realservers.size(); ++j) {
      const auto& r = s.realservers[j];
      const RsStatus* st = h.realserver(s.key(), r.key());
      ASSERT_NE(st, nullptr);
      EXPECT_EQ(h.realserver(s, r), st);
      EXPECT_EQ(h.realserver(i, j, s, r), st);
      EXPECT_EQ(h.weight(i, j, s, r, t0 + 2s), h.weight(s, r, t0 + 2s));
      EXPECT_EQ(out[j], h.weight(s, r, t0 + 2s));
      ++seen;
    }
  }
  EXPECT_EQ(seen, 5u);
  const auto& web = cfg.services[0];
  EXPECT_EQ(h.weight(0, 0, web, web.realservers[0], t0 + 2s), std::nullopt);  // down
  EXPECT_EQ(h.weight(0, 1, web, web.realservers[1], t0 + 2s), 0u);            // draining
  EXPECT_EQ(h.weight(0, 2, web, web.realservers[2], t0 + 2s), 7u);            // override
  EXPECT_EQ(h.realserver(0, 0, web, web.realservers[0])->reason, "refused");
}

// Positions are hints: a wrong one (another config's) falls back to the
// lookup by identity; unknown services and realservers get their configured
// weight, disabled ones have no state.
TEST(HealthState, StalePositionsFallBackAndUnknownsGetTheConfiguredWeight) {
  HealthState h;
  const auto cfg = load(kFarm);
  h.configure(cfg, t0);
  h.set_health("tcp 192.0.2.202:80", "192.0.2.21:80", true, "ok", t0 + 1s);  // alpha up
  h.set_health(kWeb, "192.0.2.22:80", false, "refused", t0 + 1s);
  const auto& web = cfg.services[0];
  const auto& alpha = cfg.services[2];
  // alpha asked at web's position, web's rs 2 at rs 0's position.
  EXPECT_EQ(h.realserver(0, 0, alpha, alpha.realservers[0]),
            h.realserver("tcp 192.0.2.202:80", "192.0.2.21:80"));
  EXPECT_EQ(h.weight(0, 0, alpha, alpha.realservers[0], t0 + 1s), 1u);
  EXPECT_EQ(h.weight(0, 0, web, web.realservers[1], t0 + 1s), std::nullopt);
  EXPECT_EQ(h.weight(7, 9, web, web.realservers[1], t0 + 1s), std::nullopt);
  EXPECT_EQ(h.service(9, web), h.service(kWeb));

  config::Service other = web;
  other.port = 8080;
  other.inhibit_on_failure = true;
  EXPECT_EQ(h.service(other), nullptr);
  EXPECT_EQ(h.service(0, other), nullptr);
  EXPECT_EQ(h.realserver(0, 1, other, other.realservers[1]), nullptr);
  EXPECT_EQ(h.weight(0, 1, other, other.realservers[1], t0 + 1s), 2u);  // configured
  EXPECT_FALSE(h.sorry_mode(other));
  config::RealServer stranger = web.realservers[1];
  stranger.port = 81;
  EXPECT_EQ(h.realserver(0, 1, web, stranger), nullptr);
  EXPECT_EQ(h.weight(0, 1, web, stranger, t0 + 1s), 2u);

  // A disabled realserver: no state, its configured weight (the plan never
  // asks for it).
  std::string next = kFarm;
  next.replace(next.find("{address: 192.0.2.23, weight: 2}"),
               std::string("{address: 192.0.2.23, weight: 2}").size(),
               "{address: 192.0.2.23, weight: 2, enabled: false}");
  const auto cfg2 = load(next);
  h.configure(cfg2, t0 + 2s);
  const auto& web2 = cfg2.services[0];
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.23:80"), nullptr);
  EXPECT_EQ(h.realserver(0, 2, web2, web2.realservers[2]), nullptr);
  EXPECT_EQ(h.realserver(web2, web2.realservers[2]), nullptr);
  EXPECT_EQ(h.weight(0, 2, web2, web2.realservers[2], t0 + 2s), 2u);
  std::vector<std::optional<uint32_t>> out{5, 5, 5, 5, 5};
  h.weights(0, web2, t0 + 2s, out);
  EXPECT_EQ(out, (std::vector<std::optional<uint32_t>>{2u, std::nullopt, 2u}));
  EXPECT_EQ(h.service(kWeb)->healthy_weight, 2u);
}

// The index is rebuilt on every reload: services and realservers removed,
// added and moved keep (or get) the right state at their new positions, and
// the old config's objects still find what stayed.
TEST(HealthState, IndexFollowsAReloadThatRemovesAndAddsRealserversAndServices) {
  HealthState h;
  const auto cfg1 = load(kFarm);
  h.configure(cfg1, t0);
  h.set_health(kWeb, "192.0.2.22:80", false, "refused", t0 + 1s);
  h.set_admin(kWeb, "192.0.2.23:80", AdminState::drain, t0 + 1s);
  h.set_admin("tcp 192.0.2.201:80", "192.0.2.21:80", AdminState::maint, t0 + 1s);
  // Reload: a new service first, nocheck removed, web loses .21 and gets .25
  // between .22 and .23.
  const auto cfg2 = load(R"(
checks:
  - {name: h, type: http, path: /healthz}
  - {name: a, type: tcp, alpha: true}
services:
  - name: mail
    address: 192.0.2.210
    port: 25
    realservers:
      - {address: 192.0.2.31}
  - name: web
    address: 192.0.2.200
    port: 80
    check: h
    quorum: {weight: 4, hysteresis: 1}
    sorry_server: {address: 192.0.2.99}
    realservers:
      - {address: 192.0.2.22, weight: 2}
      - {address: 192.0.2.25, weight: 3}
      - {address: 192.0.2.23, weight: 2}
  - name: alpha
    address: 192.0.2.202
    port: 80
    check: a
    realservers:
      - {address: 192.0.2.21}
)");
  h.configure(cfg2, t0 + 5s);
  const auto& mail = cfg2.services[0];
  const auto& web = cfg2.services[1];
  const auto& alpha = cfg2.services[2];
  EXPECT_EQ(h.realserver(0, 0, mail, mail.realservers[0])->state, RsState::up);
  EXPECT_EQ(h.weight(0, 0, mail, mail.realservers[0], t0 + 5s), 1u);
  EXPECT_EQ(h.realserver(1, 0, web, web.realservers[0])->state, RsState::down);
  EXPECT_EQ(h.realserver(1, 0, web, web.realservers[0])->since, t0 + 1s);
  EXPECT_EQ(h.realserver(1, 1, web, web.realservers[1])->state, RsState::up);
  EXPECT_EQ(h.realserver(1, 1, web, web.realservers[1])->since, t0 + 5s);
  EXPECT_EQ(h.realserver(1, 2, web, web.realservers[2])->state, RsState::draining);
  EXPECT_EQ(h.realserver(2, 0, alpha, alpha.realservers[0])->state, RsState::down);
  std::vector<std::optional<uint32_t>> out;
  h.weights(1, web, t0 + 5s, out);
  EXPECT_EQ(out, (std::vector<std::optional<uint32_t>>{std::nullopt, 3u, 0u}));
  EXPECT_EQ(h.service(1, web)->healthy_weight, 3u);
  EXPECT_EQ(h.service(1, web), h.service(kWeb));
  EXPECT_EQ(h.service("tcp 192.0.2.201:80"), nullptr);
  EXPECT_EQ(h.service(cfg1.services[1]), nullptr);  // nocheck is gone
  EXPECT_EQ(h.service(1, cfg1.services[1]), nullptr);
  EXPECT_EQ(h.realserver(kWeb, "192.0.2.21:80"), nullptr);
  EXPECT_EQ(h.realserver(0, 0, cfg1.services[0], cfg1.services[0].realservers[0]), nullptr);
  // The old config's objects, at their old positions, find what stayed.
  EXPECT_EQ(h.realserver(0, 1, cfg1.services[0], cfg1.services[0].realservers[1]),
            h.realserver(1, 0, web, web.realservers[0]));
  EXPECT_EQ(h.weight(2, 0, cfg1.services[2], cfg1.services[2].realservers[0], t0 + 5s),
            std::nullopt);
  // Verdicts by key land where the positions look.
  h.set_health(kWeb, "192.0.2.22:80", true, "ok", t0 + 6s);
  EXPECT_EQ(h.weight(1, 0, web, web.realservers[0], t0 + 6s), 2u);
  // Back to the first config: web's .21 is new again, the index moves back.
  h.configure(cfg1, t0 + 7s);
  EXPECT_EQ(h.realserver(0, 0, cfg1.services[0], cfg1.services[0].realservers[0])->since, t0 + 7s);
  EXPECT_EQ(h.realserver(0, 1, cfg1.services[0], cfg1.services[0].realservers[1])->state,
            RsState::up);
  EXPECT_EQ(h.realserver(1, 0, cfg1.services[1], cfg1.services[1].realservers[0])->admin,
            AdminState::ready);  // nocheck came back new: its maint forgotten
  EXPECT_EQ(h.service(2, cfg1.services[2]), h.service("tcp 192.0.2.202:80"));
}

// Identity is what the keys say: fwmark services by mark and family alone,
// IPv6 realservers by address and port; duplicates (a hand-made config) share
// the first one's state, as they did in a map by key.
TEST(HealthState, IdentityIsTheKeyWithoutFormattingIt) {
  config::Config cfg;
  config::Check check;
  check.name = "t";
  config::Service fw;
  fw.fwmark = 7;
  fw.family = config::Family::inet6;
  config::RealServer r6;
  r6.address = boost::asio::ip::make_address("2001:db8::21");
  r6.port = 80;
  r6.weight = 5;
  r6.check = check;
  fw.realservers = {r6, r6};
  cfg.services = {fw, fw};
  cfg.services[1].realservers[0].weight = 9;
  HealthState h;
  h.configure(cfg, t0);
  ASSERT_NE(h.service("fwmark 7 inet6"), nullptr);
  ASSERT_NE(h.realserver("fwmark 7 inet6", "[2001:db8::21]:80"), nullptr);
  config::Service same = fw;
  same.protocol = config::Protocol::udp;  // not in a fwmark service's key
  same.port = 53;
  EXPECT_EQ(h.service(same), h.service("fwmark 7 inet6"));
  config::Service v4 = fw;
  v4.family = config::Family::inet;
  EXPECT_EQ(h.service(v4), nullptr);
  h.set_health("fwmark 7 inet6", "[2001:db8::21]:80", false, "refused", t0 + 1s);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& s = cfg.services[i];
    for (std::size_t j = 0; j < 2; ++j) {
      EXPECT_EQ(h.realserver(i, j, s, s.realservers[j]),
                h.realserver("fwmark 7 inet6", "[2001:db8::21]:80"));
      EXPECT_EQ(h.weight(i, j, s, s.realservers[j], t0 + 1s), std::nullopt);
    }
  }
  config::RealServer other_port = r6;
  other_port.port = 81;
  EXPECT_EQ(h.realserver(fw, other_port), nullptr);
  EXPECT_EQ(h.weight(1, 0, fw, other_port, t0 + 1s), 5u);
}

}  // namespace
}  // namespace lvsd::checkers
