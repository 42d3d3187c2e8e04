// Drivers on the fake network: real encoded adverts through the real receive
// path, fake kernels (addresses, interfaces), a manual clock. Takeover times
// are asserted to the nanosecond of the RFC formulas (v3, 1 s interval):
//   Master_Down_Interval(P) = 3 s + (256 - P)/256 s
//   P=200: 3.21875 s   P=100: 3.609375 s   Skew_Time(100) = 0.609375 s
#include "vrrp/driver.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "tests/unit/vrrp/driver_lab.hpp"

namespace lvsd::vrrp {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::make_address;
using boost::asio::ip::make_address_v4;
using boost::asio::ip::make_address_v6;

Duration mdi(int priority, int interval_cs = 100) {
  return 3 * Duration(std::int64_t{interval_cs} * 10'000'000) +
         Duration(std::int64_t{256 - priority} * interval_cs * 10'000'000 / 256);
}

InstanceConfig instance(std::uint8_t priority, unsigned version = 3, Family family = Family::inet) {
  InstanceConfig c;
  c.name = "VI_1";
  c.interface = "eth0";
  c.family = family;
  c.fsm.vrid = 51;
  c.fsm.version = version;
  c.fsm.priority = priority;
  c.fsm.advert_interval = Centiseconds(100);
  Vip v;
  v.address = family == Family::inet ? make_address("192.0.2.200") : make_address("2001:db8::200");
  v.prefix = family == Family::inet ? 24 : 64;
  v.device = "eth0";
  c.vips = {v};
  c.garp.count = 2;
  c.garp.repeat_delay = 0s;
  return c;
}

using driver_lab::eth0;
using Host = driver_lab::Host;
class VrrpDriverTest : public driver_lab::DriverLab {};

TEST_F(VrrpDriverTest, ElectsTheHigherPriorityAtItsMasterDownInterval) {
  Host& a = add(11);
  Host& b = add(12);
  a.driver->configure({instance(200)});
  b.driver->configure({instance(100)});
  EXPECT_EQ(status(a).state, State::backup);
  EXPECT_TRUE(net.joined("dir11", Family::inet));
  const auto t = time_to(a, State::master, 10s);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, mdi(200));
  EXPECT_TRUE(a.kernel.has_address(make_address("192.0.2.200")));
  // Announced before the first advert went out, count 2.
  EXPECT_EQ(a.kernel.announcements().size(), 2u);
  run_for(5s);
  EXPECT_EQ(status(b).state, State::backup);
  EXPECT_FALSE(b.kernel.has_address(make_address("192.0.2.200")));
  EXPECT_EQ(status(b).master, make_address("192.0.2.11"));
  EXPECT_EQ(status(b).master_priority, 200);
  EXPECT_EQ(status(a).adverts_sent, 6u);  // at 3.21875 s and each second after
  EXPECT_EQ(status(b).adverts_received, 6u);
  EXPECT_EQ(status(b).drops.total(), 0u);
  ASSERT_EQ(a.events.size(), 2u);
  EXPECT_EQ(a.events[1].to, State::master);
  EXPECT_EQ(a.events[1].priority, 200);
  // The advert on the wire: v3, vrid 51, priority 200, 100 cs, the VIP.
  const auto& sent = net.sent().front();
  EXPECT_EQ(sent.source, make_address("192.0.2.11"));
  EXPECT_EQ(sent.destination, make_address("224.0.0.18"));
  ChecksumContext ctx{sent.source, sent.destination};
  const auto adv = decode(sent.payload, ctx);
  ASSERT_TRUE(adv);
  EXPECT_EQ(adv->priority, 200);
  EXPECT_EQ(adv->max_adver_int, 100);
  EXPECT_EQ(adv->addresses, std::vector{make_address("192.0.2.200")});
}

TEST_F(VrrpDriverTest, BackupTakesOverWhenTheMasterFallsSilentAndThePreemptsBack) {
  Host& a = add(11);
  Host& b = add(12);
  a.driver->configure({instance(200)});
  b.driver->configure({instance(100)});
  ASSERT_TRUE(time_to(a, State::master, 10s));
  run_for(500ms);  // between adverts: the last one left 0.5 s ago... now
  // The master dies on the wire (its host keeps believing it is master).
  net.set_link("dir11", false);
  const auto t = time_to(b, State::master, 10s);
  ASSERT_TRUE(t);
  // MDI(100) after the last advert heard, which left 0.5 s before the cut.
  EXPECT_EQ(*t, mdi(100) - 500ms);
  EXPECT_TRUE(b.kernel.has_address(make_address("192.0.2.200")));
  EXPECT_GT(status(a).send_errors, 0u);
  // Back: A never stopped being master (it heard nothing while cut off); B
  // hears A's higher priority at A's next advert and steps down.
  net.set_link("dir11", true);
  run_for(5s);
  EXPECT_EQ(status(a).state, State::master);
  EXPECT_EQ(status(b).state, State::backup);
  EXPECT_FALSE(b.kernel.has_address(make_address("192.0.2.200")));
  EXPECT_TRUE(a.kernel.has_address(make_address("192.0.2.200")));
}

TEST_F(VrrpDriverTest, GracefulShutdownHandsOverAfterSkewTimeAndKeepsTheVipsUntilThen) {
  Host& a = add(11);
  Host& b = add(12);
  a.driver->configure({instance(200)});
  b.driver->configure({instance(100)});
  ASSERT_TRUE(time_to(a, State::master, 10s));
  run_for(300ms);
  bool done = false;
  a.driver->shutdown([&] { done = true; });
  EXPECT_EQ(status(a).priority_zero_sent, 1u);
  // Still holding while the backup waits its Skew_Time.
  EXPECT_TRUE(a.kernel.has_address(make_address("192.0.2.200")));
  const auto t = time_to(b, State::master, 3s);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, Duration(std::int64_t{156} * 1'000'000'000 / 256));  // Skew_Time(100)
  // Both hold the VIP for a moment (the client may still be sending to a's
  // MAC until it has read b's gratuitous ARP), then a lets go.
  run_for(1ms);
  EXPECT_FALSE(done);
  EXPECT_TRUE(a.kernel.has_address(make_address("192.0.2.200")));
  run_for(50ms);
  EXPECT_TRUE(done);
  EXPECT_FALSE(a.kernel.has_address(make_address("192.0.2.200")));
  EXPECT_TRUE(b.kernel.has_address(make_address("192.0.2.200")));
  EXPECT_EQ(status(b).priority_zero_received, 1u);
  EXPECT_EQ(net.open_channels("dir11"), 0u);
}

TEST_F(VrrpDriverTest, ShutdownAloneReleasesAfterTheResignHold) {
  Host& a = add(11);
  a.driver->configure({instance(200)});
  ASSERT_TRUE(time_to(a, State::master, 10s));
  bool done = false;
  a.driver->shutdown([&] { done = true; });
  run_for(1999ms);
  EXPECT_FALSE(done);
  EXPECT_TRUE(a.kernel.has_address(make_address("192.0.2.200")));
  run_for(2ms + 50ms);  // the hold, then the release linger
  EXPECT_TRUE(done);
  EXPECT_FALSE(a.kernel.has_address(make_address("192.0.2.200")));
}

TEST_F(VrrpDriverTest, InterfaceDownIsAFaultAndItsReturnPreemptsBack) {
  Host& a = add(11);
  Host& b = add(12);
  a.driver->configure({instance(200)});
  b.driver->configure({instance(100)});
  ASSERT_TRUE(time_to(a, State::master, 10s));
  auto down = eth0(11);
  down.up = false;
  a.kernel.set_interface(down);
  EXPECT_EQ(status(a).state, State::fault);
  EXPECT_EQ(status(a).fault_reason, "interface eth0 is down");
  EXPECT_FALSE(a.kernel.has_address(make_address("192.0.2.200")));
  // It resigned on the way out (priority 0): the backup takes over at Skew_Time.
  const auto t = time_to(b, State::master, 3s);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, Duration(std::int64_t{156} * 1'000'000'000 / 256));
  a.kernel.set_interface(eth0(11));
  EXPECT_EQ(status(a).state, State::backup);
  const auto back = time_to(a, State::master, 10s);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, mdi(200));
  run_for(10ms);
  EXPECT_EQ(status(b).state, State::backup);
}

TEST_F(VrrpDriverTest, MissingInterfaceIsReportedAndStartsWhenItAppears) {
  Host& a = add(11);
  a.kernel.remove_interface("eth0");
  a.driver->configure({instance(200)});
  EXPECT_FALSE(status(a).running);
  EXPECT_EQ(status(a).state, State::fault);
  EXPECT_EQ(status(a).fault_reason, "interface eth0 not found");
  a.kernel.set_interface(eth0(11));
  EXPECT_TRUE(status(a).running);
  EXPECT_EQ(status(a).state, State::backup);
  EXPECT_EQ(status(a).source, make_address("192.0.2.11"));
}

TEST_F(VrrpDriverTest, SourceNeverOneOfOurVips) {
  Host& a = add(11);
  auto info = eth0(11);
  info.ipv4 = {make_address_v4("192.0.2.200"), make_address_v4("192.0.2.11")};
  a.kernel.set_interface(info);
  a.driver->configure({instance(200)});
  EXPECT_EQ(status(a).source, make_address("192.0.2.11"));
}

TEST_F(VrrpDriverTest, TtlNot255IsCountedAndIgnored) {
  Host& a = add(11);
  Host& b = add(12);
  net.set_ttl(64);
  a.driver->configure({instance(200)});
  b.driver->configure({instance(100)});
  run_for(6s);
  // Both deaf to each other: both master (split brain), every advert counted.
  EXPECT_EQ(status(a).state, State::master);
  EXPECT_EQ(status(b).state, State::master);
  EXPECT_GT(status(a).drops[RxDrop::bad_ttl], 0u);
  EXPECT_GT(status(b).drops[RxDrop::bad_ttl], 0u);
  EXPECT_EQ(status(b).adverts_received, 0u);
  // Healed: the lower one steps down at the next advert it accepts.
  net.set_ttl(255);
  run_for(1100ms);
  EXPECT_EQ(status(a).state, State::master);
  EXPECT_EQ(status(b).state, State::backup);
}

TEST_F(VrrpDriverTest, V2PasswordMismatchAndUnknownVrid) {
  Host& a = add(11);
  Host& b = add(12);
  auto ca = instance(200, 2);
  ca.auth_type = AuthType::simple_text;
  ca.password = "secret";
  auto cb = ca;
  cb.fsm.priority = 100;
  cb.password = "Secret";
  a.driver->configure({ca});
  b.driver->configure({cb});
  run_for(5s);
  EXPECT_GT(status(b).drops[RxDrop::auth_mismatch], 0u);
  EXPECT_EQ(status(b).state, State::master);
  // Same password: B accepts and steps down.
  cb.password = "secret";
  b.driver->configure({cb});
  run_for(1100ms);
  EXPECT_EQ(status(b).state, State::backup);
  EXPECT_GE(status(b).adverts_received, 1u);
  // Another VRID on the same segment: counted on the channel.
  auto other = instance(100);
  other.fsm.vrid = 52;
  b.driver->configure({other});
  run_for(2s);
  const auto st = b.driver->status();
  ASSERT_EQ(st.channels.size(), 1u);
  EXPECT_GT(st.channels[0].drops[RxDrop::unknown_vrid], 0u);
}

TEST_F(VrrpDriverTest, UnicastPeersInsteadOfMulticast) {
  Host& a = add(11);
  Host& b = add(12);
  auto ca = instance(200);
  ca.unicast_peers = {make_address("192.0.2.12")};
  auto cb = instance(100);
  cb.unicast_peers = {make_address("192.0.2.11")};
  a.driver->configure({ca});
  b.driver->configure({cb});
  EXPECT_FALSE(net.joined("dir11", Family::inet));
  run_for(5s);
  EXPECT_EQ(status(a).state, State::master);
  EXPECT_EQ(status(b).state, State::backup);
  EXPECT_TRUE(status(b).unicast);
  for (const auto& s : net.sent())
    EXPECT_EQ(s.destination, make_address(s.host == "dir11" ? "192.0.2.12" : "192.0.2.11"));
}

TEST_F(VrrpDriverTest, Ipv6V3OverLinkLocal) {
  Host& a = add(11);
  Host& b = add(12);
  a.driver->configure({instance(200, 3, Family::inet6)});
  b.driver->configure({instance(100, 3, Family::inet6)});
  run_for(5s);
  EXPECT_EQ(status(a).state, State::master);
  EXPECT_EQ(status(b).state, State::backup);
  EXPECT_EQ(status(b).master, make_address("fe80::11"));
  EXPECT_TRUE(a.kernel.has_address(make_address("2001:db8::200")));
  EXPECT_EQ(net.sent().front().destination, make_address("ff02::12"));
}

TEST_F(VrrpDriverTest, ReloadKeepsStateAndRemovalReleases) {
  Host& a = add(11);
  a.driver->configure({instance(200)});
  ASSERT_TRUE(time_to(a, State::master, 10s));
  const auto became = status(a).became_master;
  auto changed = instance(250);
  Vip extra = changed.vips[0];
  extra.address = make_address("192.0.2.201");
  changed.vips.push_back(extra);
  a.driver->configure({changed});
  EXPECT_EQ(status(a).state, State::master);
  EXPECT_EQ(status(a).became_master, became);
  EXPECT_EQ(status(a).effective_priority, 250);
  EXPECT_TRUE(a.kernel.has_address(make_address("192.0.2.201")));
  a.driver->configure({});
  EXPECT_TRUE(a.driver->status().instances.empty());
  EXPECT_TRUE(a.kernel.addresses().empty());
  EXPECT_EQ(net.open_channels("dir11"), 0u);
}

TEST_F(VrrpDriverTest, StaleVipsOfAKilledPredecessorAreClearedAtStart) {
  Host& a = add(11);
  Vip stale = instance(200).vips[0];
  a.kernel.preset_address(stale, /*marked=*/true);
  Vip mine = stale;
  mine.address = make_address("192.0.2.99");
  a.kernel.preset_address(mine, /*marked=*/false);
  a.driver->configure({instance(200)});
  EXPECT_FALSE(a.kernel.has_address(make_address("192.0.2.200")));
  EXPECT_TRUE(a.kernel.has_address(make_address("192.0.2.99")));
}

// ------------------------------------------------------------- trackers

TEST_F(VrrpDriverTest, TrackedInterfaceWeightZeroFaultsAndItsReturnPreemptsBack) {
  Host& a = add(11);
  Host& b = add(12);
  InterfaceInfo eth1 = eth0(11);
  eth1.name = "eth1";
  eth1.index = 3;
  eth1.ipv4.clear();
  a.kernel.set_interface(eth1);
  auto ca = instance(200);
  ca.trackers = {{TrackKind::interface, "eth1", 0}};
  a.driver->configure({ca});
  b.driver->configure({instance(100)});
  ASSERT_TRUE(time_to(a, State::master, 10s));
  run_for(300ms);
  // Carrier lost on the tracked interface (IFF_RUNNING cleared).
  eth1.running = false;
  a.kernel.set_interface(eth1);
  EXPECT_EQ(status(a).state, State::fault);
  EXPECT_EQ(status(a).fault_reason, "tracked interface eth1 down");
  EXPECT_FALSE(a.kernel.has_address(make_address("192.0.2.200")));
  ASSERT_EQ(status(a).trackers.size(), 1u);
  EXPECT_TRUE(status(a).trackers[0].fault);
  // It resigned (priority 0): the backup takes over at Skew_Time.
  const auto t = time_to(b, State::master, 3s);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, Duration(std::int64_t{156} * 1'000'000'000 / 256));
  eth1.running = true;
  a.kernel.set_interface(eth1);
  EXPECT_EQ(status(a).state, State::backup);
  const auto back = time_to(a, State::master, 10s);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, mdi(200));
  run_for(10ms);
  EXPECT_EQ(status(b).state, State::backup);
}

TEST_F(VrrpDriverTest, OwnInterfaceFaultWinsOverATrackerAndBothMustClear) {
  Host& a = add(11);
  auto ca = instance(200);
  ca.trackers = {{TrackKind::service, "web", 0}};
  a.driver->configure({ca});
  a.driver->set_tracked(TrackKind::service, "web", {false, 0});
  EXPECT_EQ(status(a).state, State::fault);
  EXPECT_EQ(status(a).fault_reason, "tracked service web down");
  auto down = eth0(11);
  down.up = false;
  a.kernel.set_interface(down);
  EXPECT_EQ(status(a).fault_reason, "interface eth0 is down");
  a.driver->set_tracked(TrackKind::service, "web", {true, 0});
  EXPECT_EQ(status(a).state, State::fault);
  a.kernel.set_interface(eth0(11));
  EXPECT_EQ(status(a).state, State::backup);
  EXPECT_TRUE(time_to(a, State::master, 10s));
}

TEST_F(VrrpDriverTest, TrackedServiceLowersPriorityReadvertisesAndRestoringPreemptsBack) {
  Host& a = add(11);
  Host& b = add(12);
  auto ca = instance(200);
  ca.trackers = {{TrackKind::service, "web", -150}};
  a.driver->configure({ca});
  b.driver->configure({instance(100)});
  ASSERT_TRUE(time_to(a, State::master, 10s));
  run_for(300ms);
  const auto sent_before = status(a).adverts_sent;
  a.driver->set_tracked(TrackKind::service, "web", {false, 0});
  EXPECT_EQ(status(a).effective_priority, 50);
  EXPECT_EQ(status(a).priority, 200);
  // Re-advertised at once with the new priority.
  EXPECT_EQ(status(a).adverts_sent, sent_before + 1);
  pump();
  const auto& last = net.sent().back();
  ChecksumContext ctx{last.source, last.destination};
  const auto adv = decode(last.payload, ctx);
  ASSERT_TRUE(adv);
  EXPECT_EQ(adv->priority, 50);
  // B (100, preempt) discards the lower advert: it takes over one
  // Master_Down_Interval after the last advert it accepted (300 ms ago).
  const auto t = time_to(b, State::master, 10s);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, mdi(100) - 300ms);
  run_for(10ms);
  EXPECT_EQ(status(a).state, State::backup);
  EXPECT_FALSE(a.kernel.has_address(make_address("192.0.2.200")));
  // Restored: A is 200 again and discards B's adverts from now on, so it
  // preempts when the Master_Down_Timer armed at B's last advert (410 ms
  // ago, with the Skew_Time of priority 50 then in effect) runs out.
  run_for(400ms);
  a.driver->set_tracked(TrackKind::service, "web", {true, 0});
  EXPECT_EQ(status(a).effective_priority, 200);
  const auto back = time_to(a, State::master, 10s);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, mdi(50) - 410ms);
  run_for(10ms);
  EXPECT_EQ(status(b).state, State::backup);
}

TEST_F(VrrpDriverTest, TrackedFileAndScriptWeightsAdd) {
  Host& a = add(11);
  auto ca = instance(100);
  ca.trackers = {{TrackKind::file, "f", 2}, {TrackKind::script, "s", 30}};
  a.driver->configure({ca});
  // Unknown: OK, value 0.
  EXPECT_EQ(status(a).effective_priority, 130);
  a.driver->set_tracked(TrackKind::file, "f", {true, 10});
  EXPECT_EQ(status(a).effective_priority, 150);
  a.driver->set_tracked(TrackKind::script, "s", {false, 0});
  EXPECT_EQ(status(a).effective_priority, 120);
  // Not tracked by this instance: no effect.
  a.driver->set_tracked(TrackKind::script, "other", {false, 0});
  EXPECT_EQ(status(a).effective_priority, 120);
  // A reload that changes the base priority re-applies the weights.
  ca.fsm.priority = 90;
  a.driver->configure({ca});
  EXPECT_EQ(status(a).effective_priority, 110);
  // value x weight <= -254: Fault.
  a.driver->set_tracked(TrackKind::file, "f", {true, -127});
  EXPECT_EQ(status(a).state, State::fault);
  a.driver->set_tracked(TrackKind::file, "f", {true, 0});
  EXPECT_EQ(status(a).state, State::backup);
}

// ------------------------------------------------------------- sync groups

InstanceConfig member(const char* name, std::uint8_t vrid, const char* vip, std::uint8_t priority,
                      const char* group = "G") {
  InstanceConfig c = instance(priority);
  c.name = name;
  c.fsm.vrid = vrid;
  c.vips[0].address = make_address(vip);
  c.sync_group = group;
  return c;
}

std::optional<InstanceStatus> named(Host& h, const std::string& name) {
  for (const auto& i : h.driver->status().instances)
    if (i.name == name) return i;
  return std::nullopt;
}

TEST_F(VrrpDriverTest, SyncGroupMemberFaultFaultsTheGroupAndWeightsBecomeZero) {
  Host& a = add(11);
  Host& b = add(12);
  InterfaceInfo eth1 = eth0(11);
  eth1.name = "eth1";
  eth1.index = 3;
  a.kernel.set_interface(eth1);
  auto ca1 = member("VI_1", 51, "192.0.2.200", 200);
  // A weight in a sync group is set to 0 (keepalived): down = Fault.
  ca1.trackers = {{TrackKind::interface, "eth1", -50}};
  a.driver->configure({ca1, member("VI_2", 52, "192.0.2.201", 200)});
  b.driver->configure(
      {member("VI_1", 51, "192.0.2.200", 100), member("VI_2", 52, "192.0.2.201", 100)});
  ASSERT_TRUE(time_to(a, State::master, 10s));
  run_for(300ms);
  // Configured together: no member saw the other as faulty on the way up.
  for (const auto& e : a.events)
    EXPECT_NE(e.to, State::fault) << e.instance << ": " << e.reason;
  EXPECT_EQ(named(a, "VI_2")->state, State::master);
  ASSERT_EQ(a.driver->status().groups.size(), 1u);
  EXPECT_EQ(a.driver->status().groups[0].state, State::master);
  EXPECT_EQ(b.driver->status().groups[0].state, State::backup);
  eth1.running = false;
  a.kernel.set_interface(eth1);
  EXPECT_EQ(named(a, "VI_1")->state, State::fault);
  EXPECT_EQ(named(a, "VI_1")->fault_reason, "tracked interface eth1 down");
  EXPECT_EQ(named(a, "VI_1")->effective_priority, 200) << "the weight was not applied";
  EXPECT_EQ(named(a, "VI_2")->state, State::fault);
  EXPECT_EQ(named(a, "VI_2")->fault_reason, "sync group G: VI_1 in fault");
  EXPECT_EQ(a.driver->status().groups[0].state, State::fault);
  // Both resigned: b's members take over at Skew_Time(100), together.
  const auto t = time_to(b, State::master, 3s);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, Duration(std::int64_t{156} * 1'000'000'000 / 256));
  EXPECT_EQ(named(b, "VI_2")->state, State::master);
  EXPECT_EQ(b.driver->status().groups[0].state, State::master);
  EXPECT_TRUE(b.kernel.has_address(make_address("192.0.2.201")));
  EXPECT_FALSE(a.kernel.has_address(make_address("192.0.2.201")));
  // Back: both restart as Backup and preempt.
  eth1.running = true;
  a.kernel.set_interface(eth1);
  EXPECT_EQ(named(a, "VI_2")->state, State::backup);
  ASSERT_TRUE(time_to(a, State::master, 10s));
  run_for(10ms);
  EXPECT_EQ(named(a, "VI_2")->state, State::master);
  EXPECT_EQ(named(b, "VI_1")->state, State::backup);
  EXPECT_EQ(named(b, "VI_2")->state, State::backup);
  EXPECT_EQ(b.driver->status().groups[0].state, State::backup);
}

TEST_F(VrrpDriverTest, SyncGroupGoesMasterOnlyWhenEveryMemberCanAndStepsDownTogether) {
  Host& a = add(11);  // master of VI_1 only
  Host& c = add(13);  // master of VI_2 only
  Host& b = add(12);  // both, grouped
  std::vector<GroupEvent> groups;
  b.driver.reset();
  {
    Driver::Hooks hooks;
    hooks.on_transition = [&b](const TransitionEvent& e) { b.events.push_back(e); };
    hooks.on_group_transition = [&groups](const GroupEvent& e) { groups.push_back(e); };
    b.driver = std::make_unique<Driver>(io, clock, net.transport("dir12"), b.kernel, hooks);
  }
  a.driver->configure({member("VI_1", 51, "192.0.2.200", 200, "")});
  c.driver->configure({member("VI_2", 52, "192.0.2.201", 200, "")});
  b.driver->configure(
      {member("VI_1", 51, "192.0.2.200", 100), member("VI_2", 52, "192.0.2.201", 100)});
  ASSERT_TRUE(time_to(a, State::master, 10s));
  run_for(2s);
  EXPECT_EQ(status(c).state, State::master);
  ASSERT_FALSE(groups.empty());
  EXPECT_EQ(groups.back().to, State::backup);
  // VI_1's master dies; VI_2's is still heard: b's VI_1 waits as Backup.
  net.set_link("dir11", false);
  run_for(5s);
  EXPECT_EQ(named(b, "VI_1")->state, State::backup);
  EXPECT_EQ(b.driver->status().groups[0].waiting, std::vector<std::string>{"VI_1"});
  EXPECT_FALSE(b.kernel.has_address(make_address("192.0.2.200")));
  // VI_2's master dies too: when b's VI_2 timer expires the group goes
  // Master, VI_1 with it at the same instant.
  run_for(300ms);
  net.set_link("dir13", false);
  std::optional<Duration> t;
  {
    const TimePoint start = clock.now();
    for (int guard = 0; guard < 100000 && named(b, "VI_2")->state != State::master; ++guard) {
      const auto next = clock.next_deadline();
      ASSERT_TRUE(next);
      clock.advance_to(*next);
      pump();
    }
    t = clock.now() - start;
  }
  EXPECT_LE(*t, mdi(100));
  EXPECT_EQ(named(b, "VI_1")->state, State::master);
  EXPECT_EQ(named(b, "VI_1")->last_transition->reason, "sync group G: VI_2 became master");
  EXPECT_TRUE(b.driver->status().groups[0].waiting.empty());
  EXPECT_EQ(groups.back().to, State::master);
  EXPECT_TRUE(b.kernel.has_address(make_address("192.0.2.200")));
  EXPECT_TRUE(b.kernel.has_address(make_address("192.0.2.201")));
  // VI_2's higher master comes back: b's VI_2 steps down and takes VI_1
  // along (no priority 0: the peer's group would follow its own member).
  const auto zero_before = named(b, "VI_1")->priority_zero_sent;
  net.set_link("dir13", true);
  run_for(1100ms);
  EXPECT_EQ(named(b, "VI_2")->state, State::backup);
  EXPECT_EQ(named(b, "VI_1")->state, State::backup);
  EXPECT_EQ(named(b, "VI_1")->last_transition->reason, "sync group G: VI_2 became backup");
  EXPECT_EQ(named(b, "VI_1")->priority_zero_sent, zero_before);
  EXPECT_FALSE(b.kernel.has_address(make_address("192.0.2.200")));
  EXPECT_EQ(groups.back().to, State::backup);
}
}  // namespace
}  // namespace lvsd::vrrp
