// Ownership of the virtual addresses and routes, on the fake kernel.
#include "vrrp/vip_set.hpp"

#include <gtest/gtest.h>

#include "vrrp/fake_address_manager.hpp"

namespace lvsd::vrrp {
namespace {

using boost::asio::ip::make_address;

Vip vip(const char* a, unsigned prefix = 24) {
  Vip v;
  v.address = make_address(a);
  v.prefix = prefix;
  v.device = "eth0";
  return v;
}

VirtualRoute route(const char* to) {
  VirtualRoute r;
  r.to = make_address(to);
  r.prefix = 24;
  r.via = make_address("192.0.2.1");
  return r;
}

FakeAddressManager kernel() {
  FakeAddressManager am;
  InterfaceInfo eth0;
  eth0.name = "eth0";
  eth0.index = 2;
  eth0.up = eth0.running = true;
  am.set_interface(eth0);
  return am;
}

TEST(VrrpVipSet, AcquireAndReleaseWhatWeAdded) {
  auto am = kernel();
  VipSet s({vip("192.0.2.200"), vip("192.0.2.201")}, {route("198.51.100.0")});
  const auto a = s.acquire(am);
  EXPECT_EQ(a.added, 3u);
  EXPECT_TRUE(a.problems.empty());
  EXPECT_TRUE(am.has_address(make_address("192.0.2.200")));
  EXPECT_EQ(am.routes().size(), 1u);
  // Acquiring again adds nothing twice.
  EXPECT_EQ(s.acquire(am).added, 0u);
  const auto r = s.release(am);
  EXPECT_EQ(r.removed, 3u);
  EXPECT_TRUE(am.addresses().empty());
  EXPECT_TRUE(am.routes().empty());
  EXPECT_FALSE(s.holding());
}

TEST(VrrpVipSet, NeverRemovesAnOperatorsAddress) {
  auto am = kernel();
  am.preset_address(vip("192.0.2.200"), /*marked=*/false);
  VipSet s({vip("192.0.2.200"), vip("192.0.2.201")}, {});
  const auto a = s.acquire(am);
  EXPECT_EQ(a.added, 1u);
  ASSERT_EQ(a.problems.size(), 1u);
  EXPECT_NE(a.problems[0].find("without lvsd's mark"), std::string::npos);
  s.release(am);
  EXPECT_TRUE(am.has_address(make_address("192.0.2.200")));
  EXPECT_FALSE(am.has_address(make_address("192.0.2.201")));
  // Not even as stale at start.
  VipSet t({vip("192.0.2.200")}, {});
  EXPECT_EQ(t.clear_stale(am).removed, 0u);
  EXPECT_TRUE(am.has_address(make_address("192.0.2.200")));
}

TEST(VrrpVipSet, AdoptsAndClearsWhatAKilledLvsdLeft) {
  auto am = kernel();
  am.preset_address(vip("192.0.2.200"), /*marked=*/true);
  am.preset_route(route("198.51.100.0"), /*marked=*/true);
  VipSet s({vip("192.0.2.200")}, {route("198.51.100.0")});
  // As master: adopted, and released later like our own.
  EXPECT_EQ(s.acquire(am).adopted, 2u);
  EXPECT_EQ(s.release(am).removed, 2u);
  EXPECT_TRUE(am.addresses().empty());
  // As backup at start: removed.
  am.preset_address(vip("192.0.2.200"), true);
  am.preset_route(route("198.51.100.0"), true);
  EXPECT_EQ(s.clear_stale(am).removed, 2u);
  EXPECT_TRUE(am.addresses().empty());
  EXPECT_TRUE(am.routes().empty());
}

TEST(VrrpVipSet, AnOperatorsRouteSurvivesRelease) {
  auto am = kernel();
  am.preset_route(route("198.51.100.0"), /*marked=*/false);
  VipSet s({}, {route("198.51.100.0")});
  s.acquire(am);  // EEXIST: taken as ours, but delete matches our protocol only
  const auto r = s.release(am);
  EXPECT_EQ(r.removed, 0u);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(am.routes().size(), 1u);
}

TEST(VrrpVipSet, UpdateWhileHolding) {
  auto am = kernel();
  VipSet s({vip("192.0.2.200"), vip("192.0.2.201")}, {});
  s.acquire(am);
  const auto u = s.update(am, {vip("192.0.2.201"), vip("192.0.2.202")}, {});
  EXPECT_EQ(u.added, 1u);
  EXPECT_EQ(u.removed, 1u);
  EXPECT_FALSE(am.has_address(make_address("192.0.2.200")));
  EXPECT_TRUE(am.has_address(make_address("192.0.2.202")));
  // Not holding: only recorded.
  s.release(am);
  s.update(am, {vip("192.0.2.203")}, {});
  EXPECT_TRUE(am.addresses().empty());
}

TEST(VrrpVipSet, ErrorsAreReported) {
  auto am = kernel();
  Vip other = vip("192.0.2.200");
  other.device = "eth9";  // ENODEV
  VipSet s({other}, {});
  const auto a = s.acquire(am);
  ASSERT_EQ(a.problems.size(), 1u);
  EXPECT_NE(a.problems[0].find("add failed"), std::string::npos);
}

}  // namespace
}  // namespace lvsd::vrrp
