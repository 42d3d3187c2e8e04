// VRRP scenarios on the fake LAN: several InstanceFsm, a fake clock, scripted or
// seeded loss, latency and partitions. Every takeover is asserted to the exact
// nanosecond given by the RFC formulas (v3, 1 s interval unless stated):
//   Skew_Time(P) = (256 - P)/256 s   Master_Down_Interval(P) = 3 s + Skew_Time(P)
//   P=255: 3.00390625  P=254: 3.0078125  P=200: 3.21875  P=150: 3.4140625
//   P=100: 3.609375
#include "vrrp/fake_lan.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace lvsd::vrrp {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::make_address;
using NodeId = FakeLan::NodeId;
using Nodes = std::vector<NodeId>;

InstanceParams params(std::uint8_t priority, const char* address,
                      Centiseconds interval = Centiseconds(100), unsigned version = 3) {
  InstanceParams p;
  p.vrid = 7;
  p.version = version;
  p.priority = priority;
  p.advert_interval = interval;
  p.primary_address = make_address(address);
  return p;
}

Duration skew(int priority, int interval_cs = 100) {
  return Duration(std::int64_t{256 - priority} * interval_cs * 10'000'000 / 256);
}
Duration mdi(int priority, int interval_cs = 100) {
  return 3 * Duration(std::int64_t{interval_cs} * 10'000'000) + skew(priority, interval_cs);
}

std::size_t count_master_transitions(const FakeLan& lan, NodeId n) {
  return lan.transitions(n, State::master).size();
}

TEST(VrrpOnFakeLan, FormulaTableInTheHeaderIsRight) {
  EXPECT_EQ(mdi(255), 3'003'906'250ns);
  EXPECT_EQ(mdi(254), 3'007'812'500ns);
  EXPECT_EQ(mdi(200), 3'218'750'000ns);
  EXPECT_EQ(mdi(150), 3'414'062'500ns);
  EXPECT_EQ(mdi(100), 3'609'375'000ns);
}

TEST(VrrpOnFakeLan, ElectionHighestPriorityWins) {
  FakeLan lan;
  const NodeId a = lan.add(params(100, "10.0.0.1"));
  const NodeId b = lan.add(params(200, "10.0.0.2"));
  const NodeId c = lan.add(params(150, "10.0.0.3"));
  lan.start_all();
  lan.run_for(60s);
  EXPECT_EQ(lan.masters(), Nodes{b});
  EXPECT_EQ(lan.vip_holders(), Nodes{b});
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + mdi(200));
  EXPECT_EQ(count_master_transitions(lan, b), 1u);
  EXPECT_EQ(count_master_transitions(lan, a), 0u);
  EXPECT_EQ(count_master_transitions(lan, c), 0u);
  EXPECT_EQ(lan.fsm(a).current_master(), make_address("10.0.0.2"));
  EXPECT_EQ(lan.fsm(c).master_priority(), 200);
  EXPECT_EQ(lan.adverts(b).size(), 57u);  // from 3.21875 s every second up to 60 s
}

TEST(VrrpOnFakeLan, EqualPrioritiesTieBreakOnTheHigherAddress) {
  FakeLan lan;
  lan.set_latency(1ms);
  const NodeId a = lan.add(params(100, "10.0.0.1"));
  const NodeId b = lan.add(params(100, "10.0.0.2"));
  lan.start_all();
  lan.run_for(30s);
  // Both time out together and become master; each hears the other 1 ms later
  // and the lower address steps down.
  EXPECT_EQ(lan.when(a, State::master), lan.t0() + mdi(100));
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + mdi(100));
  const auto down = lan.transitions(a, State::backup);
  ASSERT_EQ(down.size(), 2u);
  EXPECT_EQ(down[1].first, lan.t0() + mdi(100) + 1ms);
  EXPECT_EQ(down[1].second.reason, "higher priority master 10.0.0.2 (priority 100)");
  EXPECT_EQ(lan.masters(), Nodes{b});
  EXPECT_EQ(count_master_transitions(lan, b), 1u);
}

TEST(VrrpOnFakeLan, EqualPrioritiesTieBreakOnIpv6Addresses) {
  FakeLan lan;
  const NodeId hi = lan.add(params(100, "2001:db8::a"));
  const NodeId lo = lan.add(params(100, "2001:db8::9"));
  lan.start_all();
  lan.run_for(30s);
  EXPECT_EQ(lan.masters(), Nodes{hi});
  EXPECT_EQ(lan.vip_holders(), Nodes{hi});
  EXPECT_EQ(lan.fsm(lo).current_master(), make_address("2001:db8::a"));
}

TEST(VrrpOnFakeLan, HigherPriorityPreemptsAfterMasterDownInterval) {
  FakeLan lan;
  const NodeId a = lan.add(params(100, "10.0.0.1"));
  const NodeId b = lan.add(params(200, "10.0.0.2"));
  lan.start(a);
  lan.run_for(10s);
  EXPECT_EQ(lan.masters(), Nodes{a});
  lan.start(b);  // at t0 + 10 s; it discards a's lower adverts
  lan.run_for(50s);
  const TimePoint takeover = lan.t0() + 10s + mdi(200);
  EXPECT_EQ(lan.when(b, State::master), takeover);
  EXPECT_EQ(lan.when(a, State::backup, lan.t0() + 10s), takeover);
  EXPECT_EQ(lan.transitions(b, State::master).at(0).second.reason,
            "preempting lower priority master");
  EXPECT_EQ(lan.masters(), Nodes{b});
}

TEST(VrrpOnFakeLan, NopreemptNeverTakesOverFromALiveLowerMaster) {
  FakeLan lan;
  const NodeId a = lan.add(params(100, "10.0.0.1"));
  InstanceParams pb = params(200, "10.0.0.2");
  pb.preempt = false;
  const NodeId b = lan.add(pb);
  lan.start(a);
  lan.run_for(10s);
  lan.start(b);
  lan.run_until(lan.t0() + 30500ms);
  EXPECT_EQ(lan.masters(), Nodes{a});
  EXPECT_EQ(count_master_transitions(lan, b), 0u);
  // a's adverts go out at t0 + 3.609375 + k s; the last one is at 29.609375 s.
  lan.crash(a);
  lan.run_for(30s);
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + 29'609'375'000ns + mdi(200));
}

TEST(VrrpOnFakeLan, PreemptDelayPostponesTheTakeover) {
  FakeLan lan;
  const NodeId a = lan.add(params(100, "10.0.0.1"));
  InstanceParams pb = params(200, "10.0.0.2");
  pb.preempt_delay = 10s;
  const NodeId b = lan.add(pb);
  lan.start(a);  // master at 3.609375 s, adverts at 3.609375 + k s
  lan.run_for(10s);
  lan.start(b);
  lan.run_for(1s);
  // First lower advert at 10.609375 s: the delay runs until 20.609375 s. Adverts
  // up to 19.609375 s are accepted, then discarded.
  EXPECT_EQ(lan.fsm(b).preempt_deadline(), lan.t0() + 20'609'375'000ns);
  lan.run_for(50s);
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + 19'609'375'000ns + mdi(200));
  EXPECT_EQ(lan.masters(), Nodes{b});
}

TEST(VrrpOnFakeLan, ResignTakeoverAfterSkewTimeWithoutAVipGap) {
  FakeLan lan;
  const NodeId a = lan.add(params(200, "10.0.0.1"));
  const NodeId b = lan.add(params(100, "10.0.0.2"));
  lan.start_all();
  lan.run_for(20300ms);
  ASSERT_EQ(lan.masters(), Nodes{a});
  const TimePoint ts = lan.now();
  lan.shutdown(a);
  lan.run_for(10s);
  const TimePoint takeover = ts + skew(100);  // not ts + mdi(100)
  EXPECT_EQ(lan.when(b, State::master), takeover);
  EXPECT_EQ(lan.transitions(b, State::master).at(0).second.reason, "master resigned (priority 0)");
  // a kept the VIPs until b's first advert: no instant without a holder.
  EXPECT_EQ(lan.vip_changes(a, false), std::vector<TimePoint>{takeover});
  EXPECT_EQ(lan.vip_changes(b, true), std::vector<TimePoint>{takeover});
  EXPECT_EQ(lan.fsm(a).state(), State::initialize);
  EXPECT_EQ(lan.vip_holders(), Nodes{b});
}

TEST(VrrpOnFakeLan, ResignWithLatencyAndThreeRouters) {
  FakeLan lan;
  lan.set_latency(5ms);
  const NodeId a = lan.add(params(200, "10.0.0.1"));
  const NodeId b = lan.add(params(150, "10.0.0.2"));
  const NodeId c = lan.add(params(100, "10.0.0.3"));
  lan.start_all();
  lan.run_for(20300ms);
  ASSERT_EQ(lan.masters(), Nodes{a});
  const TimePoint ts = lan.now();
  lan.shutdown(a);
  lan.run_for(10s);
  EXPECT_EQ(lan.when(b, State::master), ts + 5ms + skew(150));
  EXPECT_EQ(lan.vip_changes(a, false), std::vector<TimePoint>{ts + 10ms + skew(150)});
  EXPECT_EQ(count_master_transitions(lan, c), 0u) << "b's advert reset c's shorter timer";
  EXPECT_EQ(lan.masters(), Nodes{b});
}

TEST(VrrpOnFakeLan, V3BackupLearnsTheMastersInterval) {
  FakeLan lan;
  const NodeId a = lan.add(params(200, "10.0.0.1", Centiseconds(50)));
  const NodeId b = lan.add(params(100, "10.0.0.2", Centiseconds(100)));
  lan.start_all();
  lan.run_until(lan.t0() + 10200ms);
  EXPECT_EQ(lan.when(a, State::master), lan.t0() + mdi(200, 50));  // 1.609375 s
  EXPECT_EQ(lan.fsm(b).master_adver_interval(), Centiseconds(50));
  EXPECT_EQ(lan.fsm(b).master_down_interval(), 1'804'687'500ns);
  lan.crash(a);  // its last advert went out at 10.109375 s
  lan.run_for(10s);
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + 10'109'375'000ns + mdi(100, 50));
  // As master, b advertises its own interval.
  EXPECT_EQ(lan.fsm(b).master_adver_interval(), Centiseconds(100));
  const auto sent = lan.adverts(b);
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent[1] - sent[0], 1s);
}

TEST(VrrpOnFakeLan, V2UsesItsOwnIntervalAndSkew) {
  FakeLan lan;
  const NodeId a = lan.add(params(200, "10.0.0.1", Centiseconds(200), 2));
  const NodeId b = lan.add(params(100, "10.0.0.2", Centiseconds(200), 2));
  lan.start_all();
  lan.run_until(lan.t0() + 20s);
  // v2: Master_Down_Interval = 3 x 2 s + (256 - P)/256 s.
  EXPECT_EQ(lan.when(a, State::master), lan.t0() + 6s + 218'750'000ns);
  lan.crash(a);  // last advert at 18.21875 s
  lan.run_for(20s);
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + 18'218'750'000ns + 6s + 609'375'000ns);
}

TEST(VrrpOnFakeLan, SplitBrainAndHealLeavesTheRightMaster) {
  FakeLan lan;
  const NodeId a = lan.add(params(200, "10.0.0.1"));
  const NodeId b = lan.add(params(100, "10.0.0.2"));
  lan.start_all();
  lan.run_until(lan.t0() + 10500ms);
  lan.partition({{a}, {b}});
  lan.run_until(lan.t0() + 20500ms);
  // b last heard a at 10.21875 s.
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + 10'218'750'000ns + mdi(100));
  EXPECT_EQ(lan.masters(), (Nodes{a, b}));
  lan.heal();
  lan.run_for(60s);
  // a's first advert after the heal (21.21875 s) makes b step down.
  EXPECT_EQ(lan.when(b, State::backup, lan.t0() + 20500ms), lan.t0() + 21'218'750'000ns);
  EXPECT_EQ(lan.masters(), Nodes{a});
  EXPECT_EQ(lan.vip_holders(), Nodes{a});
  EXPECT_EQ(count_master_transitions(lan, b), 1u);
  EXPECT_EQ(count_master_transitions(lan, a), 1u) << "a never stepped down";
}

TEST(VrrpOnFakeLan, SplitBrainWithEqualPrioritiesHealsToTheHigherAddress) {
  FakeLan lan;
  const NodeId a = lan.add(params(100, "10.0.0.9"));
  const NodeId b = lan.add(params(100, "10.0.0.10"));  // numerically higher
  const NodeId c = lan.add(params(50, "10.0.0.11"));
  lan.start(a);
  lan.run_for(5s);
  lan.start(b);
  lan.start(c);
  lan.run_for(5s);
  ASSERT_EQ(lan.masters(), Nodes{a}) << "an equal-priority backup does not preempt";
  lan.partition({{a}, {b, c}});
  lan.run_for(20s);
  EXPECT_EQ(lan.masters(), (Nodes{a, b}));
  const TimePoint healed = lan.now();
  lan.heal();
  lan.run_for(30s);
  EXPECT_EQ(lan.masters(), Nodes{b});
  const TimePoint a_down = *lan.when(a, State::backup, healed);
  // a steps down at b's first advert after the heal.
  TimePoint first_b_advert{};
  for (TimePoint t : lan.adverts(b))
    if (t >= healed) {
      first_b_advert = t;
      break;
    }
  EXPECT_EQ(a_down, first_b_advert);
  EXPECT_LT(a_down - healed, 1s);
  EXPECT_EQ(count_master_transitions(lan, c), 0u);
}

TEST(VrrpOnFakeLan, TwoLostAdvertsInARowNeverFailOver) {
  FakeLan lan;
  const NodeId a = lan.add(params(200, "10.0.0.1"));
  const NodeId b = lan.add(params(100, "10.0.0.2"));
  int sent = 0;
  lan.set_drop_filter([&](NodeId from, NodeId, const SendAdvert&, TimePoint) {
    if (from != a) return false;
    const int i = sent++;
    return i % 5 == 1 || i % 5 == 2;  // two lost, three delivered, repeatedly
  });
  lan.start_all();
  lan.run_for(120s);
  EXPECT_GT(lan.lost(a, b), 40u);
  EXPECT_EQ(count_master_transitions(lan, b), 0u);
  EXPECT_EQ(lan.masters(), Nodes{a});
}

TEST(VrrpOnFakeLan, ThreeLostAdvertsInARowFailOverAtTheExactTick) {
  FakeLan lan;
  const NodeId a = lan.add(params(200, "10.0.0.1"));
  const NodeId b = lan.add(params(100, "10.0.0.2"));
  int sent = 0;
  lan.set_drop_filter([&](NodeId from, NodeId, const SendAdvert&, TimePoint) {
    if (from != a) return false;
    const int i = sent++;
    return i >= 10 && i <= 12;
  });
  lan.start_all();
  lan.run_for(60s);
  // Advert i goes out at 3.21875 + i s: b last heard #9 at 12.21875 s.
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + 12'218'750'000ns + mdi(100));
  EXPECT_EQ(lan.when(b, State::backup, lan.t0() + 5s), lan.t0() + 16'218'750'000ns);
  EXPECT_EQ(count_master_transitions(lan, b), 1u);
  EXPECT_EQ(lan.masters(), Nodes{a});
}

// Seeded random loss: b becomes master once per run of >= 3 consecutive lost
// adverts from a, never otherwise, each time exactly Master_Down_Interval after
// the last advert it heard.
TEST(VrrpOnFakeLan, RandomLossFailsOverExactlyOnRunsOfThree) {
  auto scenario = [](std::uint64_t seed) {
    auto lan = std::make_unique<FakeLan>(seed);
    const NodeId a = lan->add(params(200, "10.0.0.1"));
    const NodeId b = lan->add(params(100, "10.0.0.2"));
    lan->link(a, b).loss = 0.3;
    lan->start_all();
    lan->run_for(600s);
    return lan;
  };
  auto lan = scenario(42);
  const NodeId a = 0, b = 1;
  // Replay a's adverts: lost or delivered, and find the runs.
  std::vector<TimePoint> expected_takeovers;
  std::size_t run = 0, runs_of_two = 0;
  TimePoint last_heard{};
  const auto& recs = lan->records();
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto& r = recs[i];
    if (r.node != a) continue;
    const auto* act = std::get_if<Action>(&r.what);
    if (!act || !std::holds_alternative<SendAdvert>(*act)) continue;
    const bool lost =
        i + 1 < recs.size() && std::holds_alternative<FakeLan::Lost>(recs[i + 1].what);
    if (lost) {
      if (++run == 3) expected_takeovers.push_back(last_heard + mdi(100));
    } else {
      if (run == 2) ++runs_of_two;
      run = 0;
      last_heard = r.at;
    }
  }
  std::vector<TimePoint> takeovers;
  for (const auto& [at, t] : lan->transitions(b, State::master))
    takeovers.push_back(at);
  ASSERT_GE(expected_takeovers.size(), 3u) << "the seed must exercise the failover";
  EXPECT_GE(runs_of_two, 10u) << "and many harmless runs of two";
  EXPECT_EQ(takeovers, expected_takeovers);
  EXPECT_EQ(lan->masters(), Nodes{a});

  // Deterministic: the same seed replays the same history.
  auto again = scenario(42);
  ASSERT_EQ(again->records().size(), lan->records().size());
  for (std::size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(again->records()[i].at, recs[i].at);
    ASSERT_EQ(again->records()[i].what.index(), recs[i].what.index());
    if (const auto* x = std::get_if<Action>(&recs[i].what)) {
      EXPECT_EQ(to_string(std::get<Action>(again->records()[i].what)), to_string(*x));
    }
  }
  EXPECT_NE(scenario(43)->records().size(), recs.size());
}

TEST(VrrpOnFakeLan, LatencyDelaysTheTakeoverByOneTrip) {
  FakeLan lan;
  lan.set_latency(50ms);
  const NodeId a = lan.add(params(200, "10.0.0.1"));
  const NodeId b = lan.add(params(100, "10.0.0.2"));
  lan.start_all();
  lan.run_until(lan.t0() + 20500ms);
  EXPECT_EQ(lan.masters(), Nodes{a});
  lan.crash(a);  // last advert sent at 20.21875 s, heard at 20.26875 s
  lan.run_for(10s);
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + 20'268'750'000ns + mdi(100));
}

TEST(VrrpOnFakeLan, AsymmetricLatencyStillElectsOneMaster) {
  FakeLan lan;
  const NodeId a = lan.add(params(200, "10.0.0.1"));
  const NodeId b = lan.add(params(100, "10.0.0.2"));
  lan.set_link(a, b, {300ms, 0.0, true});  // b still hears a before its timer
  lan.set_link(b, a, {5ms, 0.0, true});
  lan.start_all();
  lan.run_for(60s);
  EXPECT_EQ(lan.masters(), Nodes{a});
  EXPECT_EQ(count_master_transitions(lan, b), 0u);
}

TEST(VrrpOnFakeLan, FaultResignsAndFaultClearedPreemptsBack) {
  FakeLan lan;
  const NodeId a = lan.add(params(200, "10.0.0.1"));
  const NodeId b = lan.add(params(100, "10.0.0.2"));
  lan.start_all();
  lan.run_until(lan.t0() + 10500ms);
  lan.fault(a, "eth0 down");
  EXPECT_EQ(lan.fsm(a).state(), State::fault);
  EXPECT_FALSE(lan.holds_vips(a));
  lan.run_until(lan.t0() + 20500ms);
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + 10500ms + skew(100));
  EXPECT_EQ(lan.fsm(a).state(), State::fault) << "adverts are ignored in fault";
  lan.fault_cleared(a);
  lan.run_for(30s);
  const TimePoint back = lan.t0() + 20500ms + mdi(200);
  EXPECT_EQ(lan.when(a, State::master, lan.t0() + 20s), back);
  EXPECT_EQ(lan.when(b, State::backup, lan.t0() + 20s), back);
  EXPECT_EQ(lan.masters(), Nodes{a});
}

TEST(VrrpOnFakeLan, TrackerPriorityChangesCauseASwitchoverAndBack) {
  FakeLan lan;
  const NodeId a = lan.add(params(200, "10.0.0.1"));
  const NodeId b = lan.add(params(150, "10.0.0.2"));
  lan.start_all();
  lan.run_until(lan.t0() + 10500ms);
  lan.set_priority(a, 100);  // a tracked script failed, weight -100
  lan.run_until(lan.t0() + 20500ms);
  // b last accepted a's priority-200 advert of 10.21875 s.
  const TimePoint switchover = lan.t0() + 10'218'750'000ns + mdi(150);
  EXPECT_EQ(lan.when(b, State::master), switchover);
  EXPECT_EQ(lan.when(a, State::backup, lan.t0() + 5s), switchover);
  lan.set_priority(a, 200);  // recovered
  lan.run_for(30s);
  // a (backup) last accepted b's advert of 19.6328125 s while at priority 100,
  // so its Master_Down_Timer ran with Skew_Time(100); later ones it discards.
  const TimePoint back = lan.t0() + 19'632'812'500ns + mdi(100);
  EXPECT_EQ(lan.when(a, State::master, lan.t0() + 20s), back);
  EXPECT_EQ(lan.masters(), Nodes{a});
}

TEST(VrrpOnFakeLan, AddressOwnerTakesOverAtOnce) {
  FakeLan lan;
  const NodeId o = lan.add(params(255, "10.0.0.1"));
  const NodeId b = lan.add(params(254, "10.0.0.2"));
  lan.start(b);
  lan.run_until(lan.t0() + 10300ms);
  EXPECT_EQ(lan.when(b, State::master), lan.t0() + mdi(254));
  lan.start(o);
  EXPECT_EQ(lan.fsm(o).state(), State::master);
  lan.run_for(1ms);
  EXPECT_EQ(lan.when(b, State::backup, lan.t0() + 10s), lan.t0() + 10300ms);
  lan.set_priority(o, 1);
  EXPECT_EQ(lan.fsm(o).effective_priority(), 255);
  lan.run_until(lan.t0() + 20500ms);
  lan.crash(o);  // last advert at 20.3 s
  lan.run_for(10s);
  EXPECT_EQ(lan.when(b, State::master, lan.t0() + 20s), lan.t0() + 20300ms + mdi(254));
  lan.revive(o);
  EXPECT_EQ(lan.masters(), (Nodes{o, b}));
  lan.run_for(1ms);
  EXPECT_EQ(lan.masters(), Nodes{o});
}

TEST(VrrpOnFakeLan, InitialStateMasterTakesOverQuicklyOnlyWhenItWins) {
  {
    FakeLan lan;
    InstanceParams p = params(100, "10.0.0.1");
    p.initial_state = InitialState::master;
    const NodeId a = lan.add(p);
    lan.start_all();
    lan.run_for(10s);
    EXPECT_EQ(lan.when(a, State::master), lan.t0() + 1s + skew(100));
  }
  {
    FakeLan lan;
    const NodeId m = lan.add(params(200, "10.0.0.1"));
    InstanceParams p = params(100, "10.0.0.2");
    p.initial_state = InitialState::master;
    const NodeId a = lan.add(p);
    lan.start(m);
    lan.run_until(lan.t0() + 10500ms);
    lan.start(a);
    lan.run_for(30s);
    EXPECT_EQ(count_master_transitions(lan, a), 0u) << "it heard the higher master in time";
    EXPECT_EQ(lan.masters(), Nodes{m});
  }
  {
    FakeLan lan;
    const NodeId m = lan.add(params(200, "10.0.0.1"));
    InstanceParams p = params(250, "10.0.0.2");
    p.initial_state = InitialState::master;
    const NodeId a = lan.add(p);
    lan.start(m);
    lan.run_until(lan.t0() + 10500ms);
    lan.start(a);
    lan.run_for(30s);
    EXPECT_EQ(lan.when(a, State::master), lan.t0() + 10500ms + 1s + skew(250));
    EXPECT_EQ(lan.masters(), Nodes{a});
  }
}

TEST(VrrpOnFakeLan, TenMillisecondAdvertsStayStableForTenMinutes) {
  FakeLan lan;
  lan.set_latency(200us);
  const NodeId a = lan.add(params(200, "10.0.0.1", Centiseconds(1)));
  const NodeId b = lan.add(params(100, "10.0.0.2", Centiseconds(1)));
  lan.start_all();
  lan.run_for(600s, 10'000'000);
  EXPECT_EQ(lan.when(a, State::master), lan.t0() + mdi(200, 1));
  EXPECT_EQ(count_master_transitions(lan, b), 0u);
  EXPECT_EQ(lan.fsm(b).master_down_interval(), 30ms + 6'093'750ns);
  lan.crash(a);
  const TimePoint last = lan.adverts(a).back();
  lan.run_for(1s);
  EXPECT_EQ(lan.when(b, State::master), last + 200us + mdi(100, 1));
}

TEST(FakeLan, StepBoundGuardsAgainstLivelock) {
  FakeLan lan;
  lan.add(params(255, "10.0.0.1", Centiseconds(1)));
  lan.start_all();
  EXPECT_THROW(lan.run_for(10s, 100), std::runtime_error);
}

TEST(FakeLan, PartitionIsolatesGroupsAndHealRestores) {
  FakeLan lan;
  for (const char* addr : {"10.0.0.1", "10.0.0.2", "10.0.0.3"})
    lan.add(params(100, addr));
  lan.partition({{0, 1}, {2}});
  EXPECT_TRUE(lan.link(0, 1).up);
  EXPECT_FALSE(lan.link(0, 2).up);
  EXPECT_FALSE(lan.link(2, 1).up);
  lan.heal();
  EXPECT_TRUE(lan.link(0, 2).up);
  EXPECT_TRUE(lan.link(2, 1).up);
}

TEST(FakeLan, CrashedNodesNeitherHearNorAct) {
  FakeLan lan;
  const NodeId a = lan.add(params(200, "10.0.0.1"));
  const NodeId b = lan.add(params(100, "10.0.0.2"));
  lan.start_all();
  lan.crash(b);
  lan.run_for(30s);
  EXPECT_EQ(lan.masters(), Nodes{a});
  EXPECT_EQ(lan.fsm(b).state(), State::backup) << "frozen";
  EXPECT_FALSE(lan.alive(b));
  EXPECT_EQ(lan.steps(), 28u) << "a's master down, 26 adver timers, b's dead timer";
}

}  // namespace
}  // namespace lvsd::vrrp
