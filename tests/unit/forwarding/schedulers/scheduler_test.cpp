#include "forwarding/schedulers/scheduler.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "forwarding/schedulers/hash.hpp"
#include "forwarding/schedulers/hashing.hpp"
#include "forwarding/schedulers/locality.hpp"
#include "forwarding/schedulers/round_robin.hpp"
#include "helpers.hpp"

namespace lvsd::forwarding::schedulers {
namespace {

using testing::from;
using testing::ip;
using testing::picked;
using testing::rs;

std::vector<std::string> picks(ScheduledService& s, int n, bool bind = false) {
  std::vector<std::string> out;
  for (int k = 0; k < n; ++k) {
    const auto i = s.pick(Packet{});
    out.push_back(i ? s.dests()[*i].key.address.to_string() : "none");
    if (i && bind) s.bind(*i, true);
  }
  return out;
}

TEST(SchedulerFactory, KnowsEveryIpvsScheduler) {
  for (auto name : scheduler_names()) {
    auto s = make_scheduler(name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->name(), name);
  }
  EXPECT_EQ(scheduler_names().size(), 14u);
  EXPECT_EQ(make_scheduler("nope"), nullptr);
  EXPECT_THROW(ScheduledService("nope"), std::invalid_argument);
}

TEST(DestList, NewestFirstLikeTheKernelList) {
  ScheduledService s("rr");
  s.add(rs("192.0.2.21", 1));
  s.add(rs("192.0.2.22", 1));
  s.add(rs("192.0.2.23", 1));
  ASSERT_EQ(s.dests().size(), 3u);
  EXPECT_EQ(s.dests()[0].key.address, ip("192.0.2.23"));
  EXPECT_EQ(s.dests()[2].key.address, ip("192.0.2.21"));
  EXPECT_THROW(s.add(rs("192.0.2.21", 1)), std::invalid_argument);
  EXPECT_FALSE(s.remove(DestKey{ip("192.0.2.99"), 80}));
  EXPECT_FALSE(s.update(rs("192.0.2.99", 1)));
}

TEST(DestList, LastWeightKeepsTheLatestNonZeroWeight) {
  ScheduledService s("mh");
  s.add(rs("192.0.2.21", 5));
  s.update(rs("192.0.2.21", 0));
  EXPECT_EQ(s.dests()[0].weight, 0);
  EXPECT_EQ(s.dests()[0].last_weight, 5);
  s.update(rs("192.0.2.21", 2));
  EXPECT_EQ(s.dests()[0].last_weight, 2);
}

TEST(Overload, UpperThresholdWithDefaultLowerIsThreeQuarters) {
  ScheduledService s("rr");
  s.add(rs("192.0.2.21", 1, 80, /*upper=*/8));
  for (int k = 0; k < 7; ++k)
    s.bind(0, true);
  EXPECT_FALSE(s.dests()[0].overloaded);
  s.bind(0, false);  // 8 = upper: overloaded (inactive ones count too)
  EXPECT_TRUE(s.dests()[0].overloaded);
  EXPECT_EQ(picked(s), "none");
  s.unbind(0, true);  // 7, 6: still >= 6 = 8 - 8/4
  s.unbind(0, true);
  EXPECT_TRUE(s.dests()[0].overloaded);
  s.unbind(0, true);  // 5 < 6
  EXPECT_FALSE(s.dests()[0].overloaded);
  EXPECT_EQ(picked(s), "192.0.2.21");
}

TEST(Overload, ExplicitLowerThresholdAndThresholdEdits) {
  ScheduledService s("wlc");
  s.add(rs("192.0.2.21", 1, 80, 4, 1));
  for (int k = 0; k < 4; ++k)
    s.bind(0, true);
  EXPECT_TRUE(s.dests()[0].overloaded);
  s.unbind(0, true);
  s.unbind(0, true);
  s.unbind(0, true);  // 1 conn: not below the lower threshold 1 yet
  EXPECT_TRUE(s.dests()[0].overloaded);
  s.update(rs("192.0.2.21", 1, 80, 10, 0));  // raising the threshold re-evaluates
  EXPECT_FALSE(s.dests()[0].overloaded);
  s.update(rs("192.0.2.21", 1, 80, 1, 0));  // lowering it too
  EXPECT_TRUE(s.dests()[0].overloaded);
  s.update(rs("192.0.2.21", 1, 80, 0, 0));  // no limit
  EXPECT_FALSE(s.dests()[0].overloaded);
}

TEST(RoundRobin, CyclesInListOrderSkippingQuiescedAndOverloaded) {
  ScheduledService s("rr");
  s.add(rs("192.0.2.21", 1));
  s.add(rs("192.0.2.22", 1));
  s.add(rs("192.0.2.23", 1));
  EXPECT_EQ(picks(s, 4),
            (std::vector<std::string>{"192.0.2.23", "192.0.2.22", "192.0.2.21", "192.0.2.23"}));
  s.update(rs("192.0.2.22", 0));
  EXPECT_EQ(picks(s, 3), (std::vector<std::string>{"192.0.2.21", "192.0.2.23", "192.0.2.21"}));
  s.update(rs("192.0.2.22", 1, 80, 1));
  s.set_counts(*s.dests().find(DestKey{ip("192.0.2.22"), 80}), 1, 0);
  EXPECT_EQ(picks(s, 2), (std::vector<std::string>{"192.0.2.23", "192.0.2.21"}));
}

TEST(RoundRobin, RemovingTheCurrentDestContinuesWithTheNextOne) {
  ScheduledService s("rr");
  for (auto a : {"192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24"})
    s.add(rs(a, 1));
  // list: 24 23 22 21
  EXPECT_EQ(picks(s, 2), (std::vector<std::string>{"192.0.2.24", "192.0.2.23"}));
  s.remove(DestKey{ip("192.0.2.23"), 80});  // position moves back to 24
  EXPECT_EQ(picks(s, 1), (std::vector<std::string>{"192.0.2.22"}));
  s.add(rs("192.0.2.25", 1));  // at the head: the position stays on 22
  EXPECT_EQ(picks(s, 3), (std::vector<std::string>{"192.0.2.21", "192.0.2.25", "192.0.2.24"}));
}

TEST(RoundRobin, NothingUsable) {
  ScheduledService s("rr");
  EXPECT_EQ(picked(s), "none");
  s.add(rs("192.0.2.21", 0));
  EXPECT_EQ(picked(s), "none");
}

TEST(WeightedRoundRobin, KernelSequenceForWeights4_3_2) {
  // Added so the list is a(4) b(3) c(2): passes cw = 4, 3, 2, 1 give
  // a | a b | a b c | a b c.
  ScheduledService s("wrr");
  s.add(rs("192.0.2.3", 2));  // c
  s.add(rs("192.0.2.2", 3));  // b
  s.add(rs("192.0.2.1", 4));  // a
  const auto seq = picks(s, 9);
  std::string got;
  for (auto& x : seq)
    got += x.back();
  // Adds with w=2 then 3 leave cw at 1 (the kernel's dest_changed rounding),
  // so the first pass is the cw=1 one.
  EXPECT_EQ(got,
            "123"
            "1"
            "12"
            "123");
  const auto more = picks(s, 9);
  got.clear();
  for (auto& x : more)
    got += x.back();
  EXPECT_EQ(got,
            "123"
            "1"
            "12"
            "123");
}

TEST(WeightedRoundRobin, AllZeroWeightsOrAllOverloadedGiveNone) {
  ScheduledService s("wrr");
  s.add(rs("192.0.2.21", 0));
  s.add(rs("192.0.2.22", 0));
  EXPECT_EQ(picked(s), "none");
  s.update(rs("192.0.2.21", 2, 80, 1));
  s.set_counts(*s.dests().find(DestKey{ip("192.0.2.21"), 80}), 1, 0);
  EXPECT_EQ(picked(s), "none");
  s.update(rs("192.0.2.22", 1));
  EXPECT_EQ(picked(s), "192.0.2.22");
}

TEST(LeastConnection, OverheadIsActiveTimes256PlusInactive) {
  ScheduledService s("lc");
  s.add(rs("192.0.2.21", 1));
  s.add(rs("192.0.2.22", 100));  // weights do not matter, except 0
  s.set_counts(0, 1, 0);         // .22: 256
  s.set_counts(1, 0, 255);       // .21: 255
  EXPECT_EQ(picked(s), "192.0.2.21");
  s.set_counts(1, 0, 256);  // tie: first in list (.22, the newest)
  EXPECT_EQ(picked(s), "192.0.2.22");
  s.update(rs("192.0.2.22", 0));
  EXPECT_EQ(picked(s), "192.0.2.21");
}

TEST(WeightedLeastConnection, OverheadPerWeight) {
  ScheduledService s("wlc");
  s.add(rs("192.0.2.21", 1));
  s.add(rs("192.0.2.22", 3));
  // Open 8 long-lived connections: wlc spreads them 6:2.
  const auto seq = picks(s, 8, /*bind=*/true);
  std::map<std::string, int> count;
  for (auto& x : seq)
    count[x]++;
  EXPECT_EQ(count["192.0.2.22"], 6);
  EXPECT_EQ(count["192.0.2.21"], 2);
}

TEST(ShortestExpectedDelayAndNeverQueue, Formulas) {
  // sed: (active + 1) / weight. .21 w1 a0 -> 1; .22 w3 a2 -> 1: tie, first (.22).
  ScheduledService sed("sed");
  sed.add(rs("192.0.2.21", 1));
  sed.add(rs("192.0.2.22", 3));
  sed.set_counts(0, 2, 50);  // inactive conns do not count
  EXPECT_EQ(picked(sed), "192.0.2.22");
  sed.set_counts(0, 3, 0);  // 4/3 > 1
  EXPECT_EQ(picked(sed), "192.0.2.21");

  // nq: an idle server wins at once, whatever the weights.
  ScheduledService nq("nq");
  nq.add(rs("192.0.2.21", 1));
  nq.add(rs("192.0.2.22", 10));
  nq.set_counts(0, 1, 0);
  EXPECT_EQ(picked(nq), "192.0.2.21");
  nq.set_counts(1, 1, 0);  // both busy: sed: 2/10 < 2/1
  EXPECT_EQ(picked(nq), "192.0.2.22");
}

TEST(WeightedFailoverAndOverflow, HighestWeightFirst) {
  ScheduledService fo("fo");
  fo.add(rs("192.0.2.21", 5));
  fo.add(rs("192.0.2.22", 10, 80, 2));
  EXPECT_EQ(picked(fo), "192.0.2.22");
  fo.set_counts(0, 2, 0);  // .22 overloaded
  EXPECT_EQ(picked(fo), "192.0.2.21");

  ScheduledService ovf("ovf");
  ovf.add(rs("192.0.2.21", 1));
  ovf.add(rs("192.0.2.22", 2));
  const auto seq = picks(ovf, 6, /*bind=*/true);
  // .22 takes active 0, 1, 2 (until active > weight), then .21 takes 0, 1.
  EXPECT_EQ(seq, (std::vector<std::string>{"192.0.2.22", "192.0.2.22", "192.0.2.22", "192.0.2.21",
                                           "192.0.2.21", "none"}));
}

TEST(TwoRandomChoices, FollowsWeightsAndPrefersTheLessLoaded) {
  SchedulerOptions o;
  o.twos_seed = 42;
  ScheduledService s("twos", o);
  s.add(rs("192.0.2.21", 1));
  s.add(rs("192.0.2.22", 0));
  s.add(rs("192.0.2.23", 1));
  std::map<std::string, int> count;
  for (int k = 0; k < 3000; ++k) {
    const auto i = s.pick(Packet{});
    ASSERT_TRUE(i);
    count[s.dests()[*i].key.address.to_string()]++;
    s.bind(*i, true);
  }
  EXPECT_EQ(count["192.0.2.22"], 0);
  EXPECT_NEAR(count["192.0.2.21"], 1500, 50);  // least-loaded choice keeps them balanced
}

TEST(SourceHashing, KernelBucketsAndWeightReplication) {
  // hash_32(val, 8) = (val * 0x61C88647) >> 24
  EXPECT_EQ(hash_32(0, 8), 0u);
  EXPECT_EQ(hash_32(1, 8), 0x61u);
  EXPECT_EQ(SourceHashing::bucket(ip("0.0.0.1"), 0), 0x61u);
  EXPECT_EQ(SourceHashing::bucket(ip("0.0.0.0"), 1), 0x61u);
  EXPECT_EQ(fold_address(ip("::1")), 1u);
  EXPECT_EQ(fold_address(ip("1:2:3:4:5:6:7:8")),
            0x00010002u ^ 0x00030004u ^ 0x00050006u ^ 0x00070008u);

  SourceHashing sh(SchedulerFlags{});
  DestList l;
  l.add(rs("192.0.2.21", 1));
  l.add(rs("192.0.2.22", 3));  // list: .22(3) .21(1) -> buckets 0-2 .22, 3 .21, ...
  sh.init(l);
  EXPECT_EQ(sh.buckets()[0], 0);
  EXPECT_EQ(sh.buckets()[2], 0);
  EXPECT_EQ(sh.buckets()[3], 1);
  EXPECT_EQ(sh.buckets()[4], 0);
  int n22 = 0;
  for (auto b : sh.buckets())
    n22 += b == 0;
  EXPECT_EQ(n22, 192);
}

TEST(SourceHashing, UnavailableGivesNoneOrFallsBack) {
  ScheduledService plain("sh");
  plain.add(rs("192.0.2.21", 1));
  plain.add(rs("192.0.2.22", 1));
  SchedulerOptions o;
  o.flags.fallback = true;
  ScheduledService fb("sh", o);
  fb.add(rs("192.0.2.21", 1));
  fb.add(rs("192.0.2.22", 1));
  const Packet p = from("198.51.100.7");
  const std::string home = picked(plain, p);
  ASSERT_NE(home, "none");
  EXPECT_EQ(picked(fb, p), home);
  EXPECT_EQ(picked(plain, p), home);  // stable
  plain.update(rs(home, 0));
  fb.update(rs(home, 0));
  EXPECT_EQ(picked(plain, p), "none");
  const std::string other = home == "192.0.2.21" ? "192.0.2.22" : "192.0.2.21";
  EXPECT_EQ(picked(fb, p), other);
}

TEST(SourceHashing, PortFlagSpreadsOneClient) {
  SchedulerOptions o;
  o.flags.port = true;
  ScheduledService s("sh", o);
  for (auto a : {"192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24"})
    s.add(rs(a, 1));
  std::map<std::string, int> seen;
  for (uint16_t port = 1000; port < 1100; ++port)
    seen[picked(s, from("198.51.100.7", port))]++;
  EXPECT_EQ(seen.size(), 4u);
  ScheduledService noport("sh");
  for (auto a : {"192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24"})
    noport.add(rs(a, 1));
  seen.clear();
  for (uint16_t port = 1000; port < 1100; ++port)
    seen[picked(noport, from("198.51.100.7", port))]++;
  EXPECT_EQ(seen.size(), 1u);
}

TEST(DestinationHashing, HashesTheDestinationAddress) {
  ScheduledService s("dh");
  s.add(rs("192.0.2.21", 1));
  s.add(rs("192.0.2.22", 5));  // weights are ignored by dh
  // bucket b -> list index b % 2
  for (const char* d : {"203.0.113.1", "203.0.113.2", "203.0.113.3"}) {
    const unsigned b = DestinationHashing::bucket(ip(d));
    const auto i = s.pick(from("198.51.100.1", 1, d));
    ASSERT_TRUE(i);
    EXPECT_EQ(*i, b % 2) << d;
    EXPECT_EQ(s.pick(from("198.51.100.99", 2, d)), i) << "the client does not matter";
  }
}

TEST(LocalityLeastConnection, StickyUntilOverloadedInLblcSense) {
  ScheduledService s("lblc");
  s.add(rs("192.0.2.21", 2));
  s.add(rs("192.0.2.22", 2));
  const Packet to_a = from("198.51.100.1", 1, "203.0.113.1");
  const std::string first = picked(s, to_a);
  const std::size_t fi = *s.dests().find(DestKey{ip(first), 80});
  s.set_counts(fi, 2, 0);  // busy, but not above its weight
  EXPECT_EQ(picked(s, to_a), first);
  s.set_counts(fi, 3, 0);  // above its weight, and the other has 0*2 < 2: move
  const std::string second = picked(s, to_a);
  EXPECT_NE(second, first);
  EXPECT_EQ(picked(s, to_a), second) << "the cache now names the new one";
  // A removed destination is not used from the cache.
  s.remove(DestKey{ip(second), 80});
  EXPECT_EQ(picked(s, to_a), first);
}

TEST(LocalityLeastConnection, EntriesExpire) {
  SchedulerOptions o;
  o.lblc_expiration = std::chrono::seconds(10);
  auto sched = std::make_unique<LocalityLeastConnection>(o.lblc_expiration);
  auto* lblc = sched.get();
  ScheduledService s(std::move(sched));
  s.add(rs("192.0.2.21", 1));
  Packet p = from("198.51.100.1", 1, "203.0.113.1");
  EXPECT_EQ(picked(s, p), "192.0.2.21");
  EXPECT_EQ(lblc->cache_size(), 1u);
  lblc->expire(p.now + std::chrono::seconds(5));
  EXPECT_EQ(lblc->cache_size(), 1u);
  lblc->expire(p.now + std::chrono::seconds(11));
  EXPECT_EQ(lblc->cache_size(), 0u);
}

TEST(LocalityLeastConnectionReplication, GrowsTheSetUnderLoadAndShrinksItLater) {
  SchedulerOptions o;
  o.lblc_expiration = std::chrono::seconds(60);
  auto sched = std::make_unique<LocalityLeastConnectionReplication>(o.lblc_expiration);
  auto* lblcr = sched.get();
  ScheduledService s(std::move(sched));
  s.add(rs("192.0.2.21", 1));
  s.add(rs("192.0.2.22", 1));
  Packet p = from("198.51.100.1", 1, "203.0.113.1");
  const auto a = s.pick(p);
  ASSERT_TRUE(a);
  EXPECT_EQ(lblcr->set_of(p.daddr).size(), 1u);
  s.set_counts(*a, 2, 0);  // above weight 1, the other has 0 active
  const auto b = s.pick(p);
  ASSERT_TRUE(b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(lblcr->set_of(p.daddr).size(), 2u);
  // Both in the set: the least loaded member serves.
  s.set_counts(*b, 1, 0);
  EXPECT_EQ(s.pick(p), b);
  // Not modified for longer than the expiration: the most loaded member goes.
  p.now += std::chrono::seconds(61);
  EXPECT_EQ(s.pick(p), b);
  EXPECT_EQ(lblcr->set_of(p.daddr), std::vector<DestKey>{s.dests()[*b].key});
}

}  // namespace
}  // namespace lvsd::forwarding::schedulers

namespace lvsd::forwarding::schedulers {
namespace {

TEST(DestList, RemovedDestWithConnectionsComesBackWithItsCounts) {
  ScheduledService s("lc");
  s.add(testing::rs("192.0.2.21", 1));
  s.bind(0, true);
  s.bind(0, false);
  s.remove(DestKey{testing::ip("192.0.2.21"), 80});
  ASSERT_EQ(s.dests().trash().size(), 1u);
  EXPECT_TRUE(s.dest_list().deactivate_trashed(DestKey{testing::ip("192.0.2.21"), 80}));
  s.add(testing::rs("192.0.2.21", 1));
  EXPECT_EQ(s.dests()[0].active_conns, 0);
  EXPECT_EQ(s.dests()[0].inactive_conns, 2);
  EXPECT_TRUE(s.dests().trash().empty());
  // Without connections nothing is kept.
  s.set_counts(0, 0, 0);
  s.remove(DestKey{testing::ip("192.0.2.21"), 80});
  EXPECT_TRUE(s.dests().trash().empty());
}

}  // namespace
}  // namespace lvsd::forwarding::schedulers
