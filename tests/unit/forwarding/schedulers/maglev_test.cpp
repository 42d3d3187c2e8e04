#include "forwarding/schedulers/maglev.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "forwarding/schedulers/hash.hpp"
#include "helpers.hpp"

namespace lvsd::forwarding::schedulers {
namespace {

using testing::from;
using testing::ip;
using testing::rs;

std::string rip(int k) {
  return "10.0." + std::to_string(k / 250) + "." + std::to_string(k % 250 + 1);
}

// Table as dest keys, independent of list positions.
std::vector<std::string> keyed(const MaglevHashing& mh, const DestList& l) {
  std::vector<std::string> out;
  out.reserve(mh.table().size());
  for (auto i : mh.table())
    out.push_back(i < 0 ? "-" : l[i].key.to_string());
  return out;
}

TEST(Hsiphash, KernelSipHash13OnSixtyFourBit) {
  // Golden values from an independent SipHash-c-d implementation (checked
  // against the reference SipHash-2-4 vectors), run as SipHash-1-3 over the
  // 4 little-endian bytes with k0 = k1 = the key, truncated to 32 bits.
  EXPECT_EQ(hsiphash_u32(0, 0, 0), 0x9ac48af0u);
  EXPECT_EQ(hsiphash_u32(1, 2654435761ULL, 2654435761ULL), 0x16ec66b2u);
  EXPECT_EQ(hsiphash_u32(0xc0000215, 2654435761ULL, 2654435761ULL), 0x768d7b25u);
  EXPECT_EQ(hsiphash_u32(0xc0000215, 2654446892ULL, 2654446892ULL), 0x3e8d3144u);
  EXPECT_EQ(hsiphash_u32(0xdeadbeef, 2654446892ULL, 2654446892ULL), 0x37dd7b7eu);
}

TEST(Maglev, RejectsNonPrimeSizes) {
  EXPECT_TRUE(is_prime(65537));
  EXPECT_TRUE(is_prime(65521));
  EXPECT_FALSE(is_prime(65536));
  EXPECT_THROW(MaglevHashing(SchedulerFlags{}, MhOptions{65536, true, 6}), std::invalid_argument);
  EXPECT_NO_THROW(MaglevHashing(SchedulerFlags{}, MhOptions{251, true, 6}));
}

TEST(Maglev, FillsEverySlotInProportionToWeight) {
  MaglevHashing mh(SchedulerFlags{}, MhOptions{});
  DestList l;
  l.add(rs("10.0.0.1", 1));
  l.add(rs("10.0.0.2", 2));
  l.add(rs("10.0.0.3", 1));
  mh.init(l);
  std::map<int32_t, int> n;
  for (auto i : mh.table())
    n[i]++;
  EXPECT_EQ(n.count(-1), 0u);
  EXPECT_NEAR(n[1], 65537 / 2, 2);  // 10.0.0.2, weight 2 of 4
  EXPECT_NEAR(n[0], 65537 / 4, 2);
}

TEST(Maglev, SameTableWhateverTheOrderOfAddsWithCanonicalOrder) {
  MaglevHashing a(SchedulerFlags{}, MhOptions{});
  MaglevHashing b(SchedulerFlags{}, MhOptions{});
  DestList la, lb;
  for (int k = 0; k < 20; ++k)
    la.add(rs(rip(k), 1 + k % 3));
  for (int k = 19; k >= 0; --k)
    lb.add(rs(rip(k), 1 + k % 3));
  a.init(la);
  b.init(lb);
  EXPECT_EQ(keyed(a, la), keyed(b, lb));
  // The kernel's list order does depend on the order of adds.
  MaglevHashing ka(SchedulerFlags{}, MhOptions::kernel());
  MaglevHashing kb(SchedulerFlags{}, MhOptions::kernel());
  ka.init(la);
  kb.init(lb);
  EXPECT_NE(keyed(ka, la), keyed(kb, lb));
}

TEST(Maglev, QuiescedDestKeepsItsSlotsButIsNeverPicked) {
  ScheduledService s("mh");
  for (int k = 0; k < 5; ++k)
    s.add(rs(rip(k), 1));
  auto& mh = static_cast<MaglevHashing&>(s.scheduler());
  const auto before = keyed(mh, s.dests());
  s.update(rs(rip(2), 0));
  EXPECT_EQ(keyed(mh, s.dests()), before);
  for (int c = 0; c < 2000; ++c) {
    const auto i =
        s.pick(from("198.51." + std::to_string(c / 250) + "." + std::to_string(c % 250)));
    if (i) {
      EXPECT_NE(s.dests()[*i].key.address, ip(rip(2)));
    }
  }
}

TEST(Maglev, FallbackFindsAnotherDest) {
  SchedulerOptions o;
  o.flags.fallback = true;
  ScheduledService s("mh", o);
  ScheduledService plain("mh");
  for (int k = 0; k < 4; ++k) {
    s.add(rs(rip(k), 1));
    plain.add(rs(rip(k), 1));
  }
  s.update(rs(rip(0), 0));
  plain.update(rs(rip(0), 0));
  int none = 0;
  for (int c = 0; c < 400; ++c) {
    const auto p = from("198.51.100." + std::to_string(c % 250), static_cast<uint16_t>(c));
    const auto i = s.pick(p);
    ASSERT_TRUE(i);
    EXPECT_NE(s.dests()[*i].key.address, ip(rip(0)));
    none += !plain.pick(p);
  }
  EXPECT_GT(none, 50);  // about a quarter of the clients hashed to rip(0)
}

}  // namespace
}  // namespace lvsd::forwarding::schedulers
