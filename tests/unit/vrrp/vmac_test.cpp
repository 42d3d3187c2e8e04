#include "vrrp/vmac.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace lvsd::vrrp {
namespace {

TEST(VrrpVmac, InterfaceNames) {
  EXPECT_TRUE(valid_interface_name("vrrp.51"));
  EXPECT_TRUE(valid_interface_name("abcdefghijklmno"));    // 15
  EXPECT_FALSE(valid_interface_name("abcdefghijklmnop"));  // 16: IFNAMSIZ with the NUL
  EXPECT_FALSE(valid_interface_name(""));
  EXPECT_FALSE(valid_interface_name("."));
  EXPECT_FALSE(valid_interface_name(".."));
  EXPECT_FALSE(valid_interface_name("a/b"));
  EXPECT_FALSE(valid_interface_name("eth0:1"));
  EXPECT_FALSE(valid_interface_name("a b"));
}

TEST(VrrpVmac, SpecCarriesTheRfcMac) {
  const auto v4 = make_vmac_spec("vrrp.51", "eth0", Family::inet, 51);
  EXPECT_EQ(v4.mac, (MacAddress{0x00, 0x00, 0x5e, 0x00, 0x01, 0x33}));
  EXPECT_EQ(mac_string(v4.mac), "00:00:5e:00:01:33");
  const auto v6 = make_vmac_spec("vrrp6.255", "eth1", Family::inet6, 255);
  EXPECT_EQ(mac_string(v6.mac), "00:00:5e:00:02:ff");
  EXPECT_EQ(v6.base, "eth1");
}

TEST(VrrpVmac, DefaultNamesFollowKeepalived) {
  // One per VRID: vrrp.<vrid>.
  EXPECT_EQ(assign_vmac_names({{"", Family::inet, 51}, {"", Family::inet6, 52}}),
            (std::vector<std::string>{"vrrp.51", "vrrp.52"}));
  // The same VRID for IPv4 and IPv6: the IPv6 one tries vrrp6 second.
  EXPECT_EQ(assign_vmac_names({{"", Family::inet, 7}, {"", Family::inet6, 7}}),
            (std::vector<std::string>{"vrrp.7", "vrrp6.7"}));
  // Further collisions (two interfaces): vrrp1, vrrp2, ..., skipping 6.
  EXPECT_EQ(assign_vmac_names({{"", Family::inet, 7},
                               {"", Family::inet, 7},
                               {"", Family::inet6, 7},
                               {"", Family::inet6, 7}}),
            (std::vector<std::string>{"vrrp.7", "vrrp1.7", "vrrp6.7", "vrrp2.7"}));
  std::vector<VmacRequest> many(7, VmacRequest{"", Family::inet, 9});
  const auto names = assign_vmac_names(many);
  EXPECT_EQ(names[5], "vrrp5.9");
  EXPECT_EQ(names[6], "vrrp7.9");
  // An explicit name is kept, and a default never takes it.
  EXPECT_EQ(assign_vmac_names({{"", Family::inet, 51}, {"vrrp.51", Family::inet, 52}}),
            (std::vector<std::string>{"vrrp1.51", "vrrp.51"}));
}

TEST(VrrpVmac, OnlyOurMacvlanIsAdopted) {
  const auto want = make_vmac_spec("vrrp.51", "eth0", Family::inet, 51);
  LinkFacts ours;
  ours.kind = "macvlan";
  ours.mac = want.mac;
  ours.link_index = 2;
  ours.mode = kMacvlanModePrivate;
  EXPECT_EQ(classify_link(ours, want, 2), VmacMatch::adopt);
  // Ours, on another base or in another mode: re-made.
  EXPECT_EQ(classify_link(ours, want, 3), VmacMatch::recreate);
  auto bridge_mode = ours;
  bridge_mode.mode = 4;
  EXPECT_EQ(classify_link(bridge_mode, want, 2), VmacMatch::recreate);
  // Anything else is never touched: another MAC (an operator's macvlan),
  // another kind with the virtual MAC, a physical interface.
  auto other_mac = ours;
  other_mac.mac[5] = 52;
  EXPECT_EQ(classify_link(other_mac, want, 2), VmacMatch::foreign);
  auto veth = ours;
  veth.kind = "veth";
  EXPECT_EQ(classify_link(veth, want, 2), VmacMatch::foreign);
  LinkFacts physical;
  physical.mac = want.mac;
  EXPECT_EQ(classify_link(physical, want, 2), VmacMatch::foreign);
  // The IPv6 instance of the same VRID has another MAC: not ours either.
  EXPECT_EQ(classify_link(ours, make_vmac_spec("vrrp.51", "eth0", Family::inet6, 51), 2),
            VmacMatch::foreign);
}

bool has(const std::vector<SysctlSetting>& v, const std::string& path, int value) {
  return std::find(v.begin(), v.end(), SysctlSetting{path, value}) != v.end();
}

TEST(VrrpVmac, SysctlsAsKeepalived) {
  const auto v4 = vmac_sysctls(make_vmac_spec("vrrp.51", "eth0", Family::inet, 51));
  EXPECT_TRUE(has(v4, "net/ipv4/conf/vrrp.51/arp_ignore", 1));
  EXPECT_TRUE(has(v4, "net/ipv4/conf/vrrp.51/accept_local", 1));
  EXPECT_TRUE(has(v4, "net/ipv4/conf/vrrp.51/rp_filter", 0));
  EXPECT_TRUE(has(v4, "net/ipv4/conf/vrrp.51/promote_secondaries", 1));
  EXPECT_TRUE(has(v4, "net/ipv6/conf/vrrp.51/disable_ipv6", 1));
  const auto v6 = vmac_sysctls(make_vmac_spec("vrrp.52", "eth0", Family::inet6, 52));
  EXPECT_TRUE(has(v6, "net/ipv6/conf/vrrp.52/addr_gen_mode", 1));  // none: no EUI-64 address
  EXPECT_TRUE(has(v6, "net/ipv6/conf/vrrp.52/accept_ra", 0));
  EXPECT_TRUE(has(v6, "net/ipv6/conf/vrrp.52/disable_ipv6", 0));
  EXPECT_FALSE(has(v6, "net/ipv6/conf/vrrp.52/disable_ipv6", 1));
  const auto base = base_sysctls("eth0");
  EXPECT_EQ(base, (std::vector<SysctlSetting>{{"net/ipv4/conf/eth0/arp_ignore", 1},
                                              {"net/ipv4/conf/eth0/arp_filter", 1}}));
}

TEST(VrrpVmac, RpFilterKeepsEveryOtherInterfaceEffectiveValue) {
  // all=0: nothing to do (the vmac's own 0 is enough).
  EXPECT_TRUE(rp_filter_plan(0, 1, {{"eth0", 1}}, {"vrrp.51"}).empty());
  // all=2 (systemd's default): each interface and default to max(own, 2),
  // the vmacs left alone, all to 0 last.
  const auto plan = rp_filter_plan(
      2, 0, {{"all", 2}, {"default", 0}, {"lo", 0}, {"eth0", 1}, {"eth1", 2}, {"vrrp.51", 0}},
      {"vrrp.51"});
  EXPECT_EQ(plan, (std::vector<SysctlSetting>{{"net/ipv4/conf/lo/rp_filter", 2},
                                              {"net/ipv4/conf/eth0/rp_filter", 2},
                                              {"net/ipv4/conf/default/rp_filter", 2},
                                              {"net/ipv4/conf/all/rp_filter", 0}}));
}

}  // namespace
}  // namespace lvsd::vrrp
