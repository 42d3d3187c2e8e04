// Property tests over random add/remove/weight/threshold/connection sequences.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "forwarding/schedulers/maglev.hpp"
#include "forwarding/schedulers/scheduler.hpp"
#include "helpers.hpp"

namespace lvsd::forwarding::schedulers {
namespace {

using testing::rs;

std::string rip(int k) {
  return "10.1." + std::to_string(k / 250) + "." + std::to_string(k % 250 + 1);
}

Packet random_packet(std::mt19937& rng, int step) {
  Packet p;
  p.saddr = boost::asio::ip::address_v4(static_cast<uint32_t>(rng()));
  p.sport = static_cast<uint16_t>(rng());
  p.daddr = boost::asio::ip::address_v4(0xCB007100u + rng() % 64);  // 203.0.113.0/26
  p.dport = 80;
  p.now = std::chrono::steady_clock::time_point{} + std::chrono::seconds(step);
  return p;
}

// No scheduler ever picks a destination that was removed, has weight 0, or is
// overloaded by its thresholds (lblc's cache hit ignores the threshold flag in
// the kernel too, so only weight and presence are checked for lblc/lblcr).
TEST(SchedulerProperty, NeverPicksRemovedQuiescedOrOverloaded) {
  for (auto name : scheduler_names()) {
    for (uint32_t seed = 1; seed <= 8; ++seed) {
      std::mt19937 rng(seed);
      SchedulerOptions o;
      o.flags.fallback = seed % 2;
      o.flags.port = seed % 3 == 0;
      o.mh.table_size = 251;
      o.twos_seed = seed;
      o.lblc_expiration = std::chrono::seconds(50);
      ScheduledService s(name, o);
      std::set<std::string> present;
      std::vector<std::pair<std::string, bool>> conns;  // dest addr, active
      for (int step = 0; step < 1500; ++step) {
        const int op = static_cast<int>(rng() % 100);
        const std::string a = rip(static_cast<int>(rng() % 12));
        if (op < 8) {
          if (!present.count(a)) {
            s.add(rs(a, rng() % 4, 80, rng() % 3 == 0 ? 1 + rng() % 6 : 0));
            present.insert(a);
          }
        } else if (op < 12) {
          if (present.count(a)) {
            s.remove(DestKey{testing::ip(a), 80});
            present.erase(a);
            std::erase_if(conns, [&](auto& c) { return c.first == a; });
          }
        } else if (op < 20) {
          if (present.count(a)) s.update(rs(a, rng() % 5, 80, rng() % 3 == 0 ? 1 + rng() % 6 : 0));
        } else if (op < 35 && !conns.empty()) {
          const std::size_t k = rng() % conns.size();
          const auto i = s.dests().find(DestKey{testing::ip(conns[k].first), 80});
          ASSERT_TRUE(i);
          s.unbind(*i, conns[k].second);
          conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(k));
        } else {
          const auto i = s.pick(random_packet(rng, step));
          if (!i) continue;
          const Dest& d = s.dests()[*i];
          ASSERT_TRUE(present.count(d.key.address.to_string())) << name << " seed " << seed;
          ASSERT_GT(d.weight, 0) << name << " picked a quiesced dest, seed " << seed;
          if (name != "lblc" && name != "lblcr") {
            ASSERT_FALSE(d.overloaded) << name << " picked an overloaded dest, seed " << seed;
          }
          const bool active = rng() % 2;
          s.bind(*i, active);
          conns.emplace_back(d.key.address.to_string(), active);
        }
      }
    }
  }
}

// wrr: over a long run each destination's share equals its weight share
// within 1%, whatever the weights and the order of adds and edits.
TEST(SchedulerProperty, WrrLongRunSharesFollowWeights) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    ScheduledService s("wrr");
    const int n = 2 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k)
      s.add(rs(rip(k), 1 + rng() % 20));
    // Some edits before measuring.
    for (int e = 0; e < 3; ++e)
      s.update(rs(rip(static_cast<int>(rng() % n)), rng() % 20));
    int64_t total_w = 0;
    for (const Dest& d : s.dests())
      total_w += d.weight;
    if (total_w == 0) continue;
    std::map<std::size_t, int64_t> count;
    const int64_t picks = total_w * 500;
    for (int64_t k = 0; k < picks; ++k) {
      const auto i = s.pick(Packet{});
      ASSERT_TRUE(i);
      count[*i]++;
    }
    for (std::size_t i = 0; i < s.dests().size(); ++i) {
      const double want = static_cast<double>(s.dests()[i].weight) / static_cast<double>(total_w);
      const double got = static_cast<double>(count[i]) / static_cast<double>(picks);
      EXPECT_NEAR(got, want, 0.01) << "seed " << seed << " dest " << i;
    }
  }
}

// lc/wlc (and sed, nq): the pick is never strictly worse than another usable
// destination by the scheduler's own load measure.
TEST(SchedulerProperty, LeastConnectionFamilyNeverPicksAStrictlyWorseDest) {
  for (const std::string name : {"lc", "wlc", "sed", "nq"}) {
    for (uint32_t seed = 1; seed <= 30; ++seed) {
      std::mt19937 rng(seed);
      ScheduledService s(name);
      const int n = 1 + static_cast<int>(rng() % 10);
      for (int k = 0; k < n; ++k)
        s.add(rs(rip(k), rng() % 6, 80, rng() % 4 == 0 ? 5 : 0));
      for (int step = 0; step < 400; ++step) {
        const std::size_t j = rng() % s.dests().size();
        s.set_counts(j, static_cast<int32_t>(rng() % 8), static_cast<int32_t>(rng() % 300));
        const auto i = s.pick(Packet{});
        bool any_usable = false;
        for (const Dest& d : s.dests())
          any_usable |= d.usable();
        ASSERT_EQ(i.has_value(), any_usable) << name;
        if (!i) continue;
        const Dest& p = s.dests()[*i];
        for (const Dest& d : s.dests()) {
          if (!d.usable()) continue;
          if (name == "lc") {
            ASSERT_LE(p.overhead(), d.overhead()) << name;
          } else if (name == "wlc") {
            ASSERT_LE(p.overhead() * d.weight, d.overhead() * p.weight) << name;
          } else if (name == "sed") {
            ASSERT_LE((p.active_conns + 1) * int64_t{d.weight},
                      (d.active_conns + 1) * int64_t{p.weight})
                << name;
          } else {  // nq: an idle server if there is one, else as sed
            if (d.active_conns == 0) {
              ASSERT_EQ(p.active_conns, 0) << name;
            }
            if (p.active_conns != 0) {
              ASSERT_LE((p.active_conns + 1) * int64_t{d.weight},
                        (d.active_conns + 1) * int64_t{p.weight})
                  << name;
            }
          }
        }
      }
    }
  }
}

// mh: removing one of N destinations moves its keys and about nothing else;
// adding it back restores the table almost exactly.
TEST(SchedulerProperty, MaglevRemovalMovesAboutOneNthOfTheKeys) {
  for (const int n : {5, 10, 50, 100}) {
    MaglevHashing mh(SchedulerFlags{}, MhOptions{});
    DestList l;
    for (int k = 0; k < n; ++k)
      l.add(rs(rip(k), 1));
    mh.init(l);
    std::vector<std::string> before;
    for (auto i : mh.table())
      before.push_back(l[i].key.to_string());
    const std::string gone = rip(n / 2) + ":80";
    const Dest removed = l.remove(*l.find(DestKey{testing::ip(rip(n / 2)), 80}));
    mh.dest_removed(l, 0, removed);
    std::size_t moved = 0, moved_other = 0;
    for (std::size_t s = 0; s < before.size(); ++s) {
      const std::string now = l[mh.table()[s]].key.to_string();
      if (now != before[s]) {
        ++moved;
        if (before[s] != gone) ++moved_other;
      }
    }
    const double size = static_cast<double>(before.size());
    EXPECT_LT(static_cast<double>(moved) / size, 1.0 / n * 1.5 + 0.002) << "n=" << n;
    // Keys of the remaining destinations stay put (Maglev's small extra churn).
    EXPECT_LT(static_cast<double>(moved_other) / size, 0.5 / n + 0.002) << "n=" << n;
    std::printf("mh n=%d: %.3f%% of slots moved (1/n = %.3f%%), %.3f%% from other dests\n", n,
                100.0 * static_cast<double>(moved) / size, 100.0 / n,
                100.0 * static_cast<double>(moved_other) / size);
  }
}

}  // namespace
}  // namespace lvsd::forwarding::schedulers
