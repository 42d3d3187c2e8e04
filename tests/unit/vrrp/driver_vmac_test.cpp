// The driver with use_vmac on fake kernels: the macvlan is made before the
// FSM starts, the VIPs and the multicast channel are on it, it is kept across
// an unchanged reload and removed on stop; a leftover of ours is adopted, a
// foreign interface of that name is a Fault and never touched. Plus the
// on_holding hook that Accept_Mode's rules follow.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "tests/unit/vrrp/driver_lab.hpp"
#include "vrrp/driver.hpp"

namespace lvsd::vrrp {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::make_address;
using boost::asio::ip::make_address_v4;
using boost::asio::ip::make_address_v6;

InstanceConfig vmac_instance(std::uint8_t priority, Family family = Family::inet) {
  InstanceConfig c;
  c.name = "VI_1";
  c.interface = "eth0";
  c.family = family;
  c.fsm.vrid = 51;
  c.fsm.version = 3;
  c.fsm.priority = priority;
  c.fsm.advert_interval = Centiseconds(100);
  c.vmac = make_vmac_spec("vrrp.51", "eth0", family, 51);
  Vip v;
  v.address = family == Family::inet ? make_address("192.0.2.200") : make_address("2001:db8::200");
  v.prefix = family == Family::inet ? 24 : 64;
  v.device = "vrrp.51";  // VrrpModule::instances_from moves them there
  c.vips = {v};
  c.garp.count = 1;
  c.garp.repeat_delay = 0s;
  return c;
}

using driver_lab::eth0;
using Host = driver_lab::Host;
class VrrpDriverVmacTest : public driver_lab::DriverLab {};

TEST_F(VrrpDriverVmacTest, MacvlanCarriesTheVipsAndTheAdverts) {
  Host& a = add(11);
  Host& b = add(12);
  a.driver->configure({vmac_instance(200)});
  b.driver->configure({vmac_instance(100)});
  // Made at start, in every state (keepalived keeps it up while backup).
  ASSERT_EQ(a.kernel.vmacs().size(), 1u);
  ASSERT_EQ(b.kernel.vmacs().size(), 1u);
  EXPECT_EQ(b.kernel.interface("vrrp.51")->mac, (MacAddress{0, 0, 0x5e, 0, 1, 51}));
  run_for(5s);
  EXPECT_EQ(status(a).state, State::master);
  EXPECT_EQ(status(b).state, State::backup);
  EXPECT_EQ(status(a).vmac, "vrrp.51");
  EXPECT_EQ(status(a).vmac_mac, "00:00:5e:00:01:33");
  EXPECT_TRUE(status(a).vmac_ready);
  // The VIP on the macvlan, announced from it.
  ASSERT_EQ(a.kernel.addresses().size(), 1u);
  EXPECT_EQ(a.kernel.addresses()[0].vip.device, "vrrp.51");
  ASSERT_FALSE(a.kernel.announcements().empty());
  EXPECT_EQ(a.kernel.announcements()[0].device, "vrrp.51");
  // Adverts leave from the macvlan (so with the virtual MAC), from the
  // interface's address, and the backup hears them there.
  ASSERT_FALSE(net.sent().empty());
  for (const auto& s : net.sent()) {
    EXPECT_EQ(s.interface, "vrrp.51");
    EXPECT_EQ(s.source, make_address("192.0.2.11"));
  }
  EXPECT_GT(status(b).adverts_received, 0u);
  EXPECT_EQ(status(b).drops.total(), 0u);
  EXPECT_EQ(a.holding, (std::vector<std::pair<std::string, bool>>{{"VI_1", true}}));
  EXPECT_TRUE(b.holding.empty());
}

TEST_F(VrrpDriverVmacTest, KeptAcrossAnUnchangedReloadRemovedOnStop) {
  Host& a = add(11);
  a.driver->configure({vmac_instance(200)});
  run_for(5s);
  ASSERT_EQ(status(a).state, State::master);
  auto changed = vmac_instance(200);
  changed.fsm.priority = 150;  // keeps its state
  a.driver->configure({changed});
  run_for(1s);
  EXPECT_EQ(a.kernel.vmacs_created(), 1);
  EXPECT_EQ(status(a).state, State::master);
  bool done = false;
  a.driver->shutdown([&] { done = true; });
  run_for(5s);
  ASSERT_TRUE(done);
  EXPECT_TRUE(a.kernel.vmacs().empty());
  EXPECT_FALSE(a.kernel.interface("vrrp.51"));
  EXPECT_FALSE(a.kernel.has_address(make_address("192.0.2.200")));
  EXPECT_EQ(a.holding.back(), (std::pair<std::string, bool>{"VI_1", false}));
}

TEST_F(VrrpDriverVmacTest, ANewVridRemakesItRemovingAnInstanceRemovesIt) {
  Host& a = add(11);
  a.driver->configure({vmac_instance(200)});
  run_for(1s);
  auto other = vmac_instance(200);
  other.fsm.vrid = 52;
  other.vmac = make_vmac_spec("vrrp.51", "eth0", Family::inet, 52);
  a.driver->configure({other});
  EXPECT_EQ(a.kernel.vmacs_created(), 2);
  EXPECT_EQ(a.kernel.interface("vrrp.51")->mac, (MacAddress{0, 0, 0x5e, 0, 1, 52}));
  a.driver->configure({});
  EXPECT_TRUE(a.kernel.vmacs().empty());
}

TEST_F(VrrpDriverVmacTest, LeftoverOfOursIsAdoptedForeignNameIsAFault) {
  Host& a = add(11);
  const auto spec = make_vmac_spec("vrrp.51", "eth0", Family::inet, 51);
  a.kernel.preset_vmac(spec);  // a killed lvsd's, with its VIP still on it
  Vip stale = vmac_instance(200).vips[0];
  a.kernel.preset_address(stale, true);
  a.driver->configure({vmac_instance(100)});
  EXPECT_EQ(a.kernel.vmacs_created(), 0);  // adopted
  EXPECT_TRUE(status(a).vmac_ready);
  EXPECT_EQ(status(a).state, State::backup);
  EXPECT_FALSE(a.kernel.has_address(make_address("192.0.2.200")));  // cleared as stale

  Host& b = add(12);
  InterfaceInfo foreign;
  foreign.name = "vrrp.51";  // e.g. an operator's VLAN
  foreign.index = 9;
  foreign.up = foreign.running = true;
  b.kernel.set_interface(foreign);
  b.driver->configure({vmac_instance(200)});
  EXPECT_EQ(status(b).state, State::fault);
  EXPECT_NE(status(b).fault_reason.find("vmac vrrp.51"), std::string::npos)
      << status(b).fault_reason;
  b.driver->configure({});
  EXPECT_TRUE(b.kernel.interface("vrrp.51"));  // never removed
}

TEST_F(VrrpDriverVmacTest, LostMacvlanFaultsThenComesBack) {
  Host& a = add(11);
  a.driver->configure({vmac_instance(200)});
  run_for(5s);
  ASSERT_EQ(status(a).state, State::master);
  // Someone deletes it (its VIP goes with it).
  a.kernel.remove_interface("vrrp.51");
  EXPECT_EQ(status(a).state, State::fault);
  pump();
  // Fault, then re-made and restarted as Backup; alone on the LAN it is
  // master again one Master_Down_Interval later.
  EXPECT_EQ(a.kernel.vmacs_created(), 2);
  EXPECT_TRUE(a.kernel.interface("vrrp.51"));
  run_for(5s);
  EXPECT_EQ(status(a).state, State::master);
  EXPECT_TRUE(a.kernel.has_address(make_address("192.0.2.200")));
}

TEST_F(VrrpDriverVmacTest, Ipv6MacvlanGetsTheBaseLinkLocalAsSource) {
  Host& a = add(11);
  a.driver->configure({vmac_instance(200, Family::inet6)});
  run_for(5s);
  ASSERT_EQ(status(a).state, State::master);
  EXPECT_EQ(a.kernel.interface("vrrp.51")->mac, (MacAddress{0, 0, 0x5e, 0, 2, 51}));
  ASSERT_FALSE(net.sent().empty());
  EXPECT_EQ(net.sent().back().interface, "vrrp.51");
  EXPECT_EQ(net.sent().back().source, make_address("fe80::11"));
}

TEST_F(VrrpDriverVmacTest, UnicastKeepsTheChannelOnTheInterface) {
  Host& a = add(11);
  Host& b = add(12);
  auto ca = vmac_instance(200);
  ca.unicast_peers = {make_address("192.0.2.12")};
  auto cb = vmac_instance(100);
  cb.unicast_peers = {make_address("192.0.2.11")};
  a.driver->configure({ca});
  b.driver->configure({cb});
  run_for(5s);
  EXPECT_EQ(status(a).state, State::master);
  EXPECT_EQ(status(b).state, State::backup);
  ASSERT_FALSE(net.sent().empty());
  EXPECT_EQ(net.sent().back().interface, "eth0");
  EXPECT_EQ(a.kernel.addresses()[0].vip.device, "vrrp.51");
}

}  // namespace
}  // namespace lvsd::vrrp
