// The VRRP module: config conversion (pure), and one instance run for real on
// the module's own VRRP thread over the fake network and fake kernel (10 ms
// adverts, so it becomes master within ~40 ms of real time): events on the
// bus, notify arguments, the `vrrp` view, reload keeping the state, and the
// graceful stop.
#include "daemon/modules/vrrp_module.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>

#include <unistd.h>

#include <boost/asio/post.hpp>

#include "daemon/config/loader.hpp"
#include "vrrp/fake_address_manager.hpp"
#include "vrrp/fake_transport.hpp"

namespace lvsd::modules {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::make_address;
using nlohmann::json;

config::Config load(const std::string& yaml) {
  auto r = config::load_string(yaml, "t.yaml");
  for (const auto& e : r.errors)
    ADD_FAILURE() << e.str();
  return r.config.value_or(config::Config{});
}

TEST(VrrpModuleConfig, EveryKnobReachesTheDriver) {
  const auto cfg = load(R"(
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      vrid: 51
      version: 2
      priority: 150
      advert_interval: 2s
      preempt: false
      preempt_delay: 5s
      initial_state: master
      auth: {type: pass, password: secret}
      virtual_addresses:
        - 192.0.2.200/24
        - {address: 192.0.2.201, device: eth1, label: "eth1:vip", scope: link}
      virtual_routes:
        - {to: 198.51.100.0/24, via: 192.0.2.1}
        - {to: 203.0.113.0/24}
      unicast_source: 192.0.2.11
      unicast_peers: [192.0.2.12]
      garp: {count: 3, interval: 10ms, repeat_delay: 0s, refresh: 60s}
    - name: VI_6
      interface: eth0
      vrid: 52
      version: 3
      advert_interval: 50ms
      v3_checksum_pseudo_header: false
      virtual_addresses: ["2001:db8::200/64"]
      use_vmac: true
      track:
        interfaces: [eth1, {name: eth2, weight: -10}]
        services: [{name: web, weight: -50}, "tcp 192.0.2.200:80"]
        scripts: [chk, {name: chk2, weight: 7}]
        files: [f, {name: g, weight: -4}]
  sync_groups:
    - {name: G, instances: [VI_6]}
  scripts:
    - {name: chk, command: /bin/true, weight: -20}
    - {name: chk2, command: /bin/true, weight: 5}
  files:
    - {name: f, path: /run/f}
    - {name: g, path: /run/g, weight: 9}
services:
  - name: web
    address: 192.0.2.200
    port: 80
    realservers:
      - {address: 192.0.2.21}
)");
  const auto v = VrrpModule::instances_from(cfg);
  ASSERT_EQ(v.size(), 2u);
  const auto& a = v[0];
  EXPECT_EQ(a.name, "VI_1");
  EXPECT_EQ(a.family, vrrp::Family::inet);
  EXPECT_EQ(a.fsm.vrid, 51);
  EXPECT_EQ(a.fsm.version, 2u);
  EXPECT_EQ(a.fsm.priority, 150);
  EXPECT_EQ(a.fsm.advert_interval, vrrp::Centiseconds(200));
  EXPECT_EQ(a.fsm.resign_hold, 3s);  // 2 x 2 s, capped
  EXPECT_FALSE(a.fsm.preempt);
  EXPECT_EQ(a.fsm.preempt_delay, 5s);
  EXPECT_EQ(a.fsm.initial_state, vrrp::InitialState::master);
  EXPECT_EQ(a.auth_type, vrrp::AuthType::simple_text);
  EXPECT_EQ(a.password, "secret");
  ASSERT_EQ(a.vips.size(), 2u);
  EXPECT_EQ(a.vips[0].str(), "192.0.2.200/24 dev eth0");
  EXPECT_EQ(a.vips[1].device, "eth1");
  EXPECT_EQ(a.vips[1].label, "eth1:vip");
  EXPECT_EQ(a.vips[1].scope, vrrp::Scope::link);
  EXPECT_EQ(a.vips[1].prefix, 32u);
  ASSERT_EQ(a.routes.size(), 2u);
  EXPECT_EQ(a.routes[0].str(), "198.51.100.0/24 via 192.0.2.1");
  EXPECT_EQ(a.routes[1].str(), "203.0.113.0/24 dev eth0");  // no via: the interface
  EXPECT_EQ(a.unicast_source, make_address("192.0.2.11"));
  EXPECT_EQ(a.unicast_peers, std::vector{make_address("192.0.2.12")});
  EXPECT_EQ(a.garp.count, 3u);
  EXPECT_EQ(a.garp.interval, 10ms);
  EXPECT_EQ(a.garp.repeat_delay, 0s);
  EXPECT_EQ(a.garp.refresh, 60s);
  const auto& b = v[1];
  EXPECT_EQ(b.family, vrrp::Family::inet6);
  EXPECT_EQ(b.fsm.advert_interval, vrrp::Centiseconds(5));
  EXPECT_EQ(b.fsm.resign_hold, 100ms);
  EXPECT_FALSE(b.v3_checksum_pseudo_header);
  EXPECT_EQ(b.vips[0].prefix, 64u);
  using vrrp::TrackKind;
  // An entry's own non-zero weight wins; else the script's / file's. The
  // loader names a service by its name even when the key was written.
  const std::vector<vrrp::Tracker> trackers = {
      {TrackKind::interface, "eth1", 0}, {TrackKind::interface, "eth2", -10},
      {TrackKind::service, "web", -50},  {TrackKind::service, "web", 0},
      {TrackKind::script, "chk", -20},   {TrackKind::script, "chk2", 7},
      {TrackKind::file, "f", 1},         {TrackKind::file, "g", -4}};
  EXPECT_EQ(b.trackers, trackers);
  EXPECT_TRUE(a.trackers.empty());
  EXPECT_EQ(a.sync_group, "");
  EXPECT_EQ(b.sync_group, "G");
  // use_vmac: keepalived's default name, the IPv6 virtual MAC, the VIPs on the macvlan.
  EXPECT_FALSE(a.vmac);
  ASSERT_TRUE(b.vmac);
  EXPECT_EQ(b.vmac->name, "vrrp.52");
  EXPECT_EQ(b.vmac->base, "eth0");
  EXPECT_EQ(b.vmac->mac, (vrrp::MacAddress{0x00, 0x00, 0x5e, 0x00, 0x02, 52}));
  EXPECT_EQ(b.vips[0].device, "vrrp.52");
}

TEST(VrrpModuleConfig, AcceptModeDropsOnlyNonOwnerMastersVips) {
  const auto cfg = load(R"(vrrp:
  instances:
    - {name: A, interface: eth0, vrid: 1, accept: false, virtual_addresses: [192.0.2.201/24]}
    - {name: B, interface: eth0, vrid: 2, virtual_addresses: [192.0.2.202/24]}
    - {name: C, interface: eth0, vrid: 3, accept: false, priority: 255,
       virtual_addresses: [192.0.2.203/24]}
    - {name: D, interface: eth0, vrid: 4, version: 3, accept: false,
       virtual_addresses: ["2001:db8::204/64"]}
)");
  std::map<std::string, bool> holding = {{"A", true}, {"B", true}, {"C", true}, {"D", false}};
  // B accepts (the default), C is the owner (always accepts), D is not master.
  EXPECT_EQ(VrrpModule::accept_drop_vips(cfg, holding), std::vector{make_address("192.0.2.201")});
  holding["D"] = true;
  EXPECT_EQ(VrrpModule::accept_drop_vips(cfg, holding),
            (std::vector{make_address("192.0.2.201"), make_address("2001:db8::204")}));
  holding["A"] = holding["D"] = false;
  EXPECT_TRUE(VrrpModule::accept_drop_vips(cfg, holding).empty());
}

TEST(VrrpModuleConfig, DefaultVmacNamesDoNotCollide) {
  const auto cfg = load(R"(vrrp:
  instances:
    - {name: A, interface: eth0, vrid: 7, use_vmac: true, virtual_addresses: [192.0.2.201/24]}
    - {name: B, interface: eth0, vrid: 7, version: 3, use_vmac: true,
       virtual_addresses: ["2001:db8::7/64", {address: "2001:db8::8", device: eth1}]}
    - {name: C, interface: eth1, vrid: 7, use_vmac: true, vmac_name: mine,
       virtual_addresses: [198.51.100.7/24]}
)");
  const auto v = VrrpModule::instances_from(cfg);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].vmac->name, "vrrp.7");
  EXPECT_EQ(v[1].vmac->name, "vrrp6.7");
  EXPECT_EQ(v[2].vmac->name, "mine");
  EXPECT_EQ(v[2].vmac->base, "eth1");
  // Only the VIPs on the instance's interface move to the macvlan.
  EXPECT_EQ(v[1].vips[0].device, "vrrp6.7");
  EXPECT_EQ(v[1].vips[1].device, "eth1");
}

// Forwards to a transport owned elsewhere (the fake network's).
class ForwardTransport : public vrrp::Transport {
 public:
  explicit ForwardTransport(vrrp::Transport& t) : t_(t) {}
  vrrp::Result<std::unique_ptr<vrrp::Channel>, std::string> open(const std::string& interface,
                                                                 vrrp::Family family,
                                                                 Receiver receiver) override {
    return t_.open(interface, family, std::move(receiver));
  }

 private:
  vrrp::Transport& t_;
};

class RecordingProbe : public checkers::Probe {
 public:
  RecordingProbe(boost::asio::io_context& io, std::vector<config::Command>& log,
                 config::Command argv)
      : io_(io), log_(log), argv_(std::move(argv)) {}
  void run(std::chrono::milliseconds, std::function<void(checkers::ProbeResult)> done) override {
    log_.push_back(argv_);
    boost::asio::post(io_, [done] {
      checkers::ProbeResult r;
      r.ok = true;
      r.reason = "exit 0";
      done(r);
    });
  }
  void cancel() override {}

 private:
  boost::asio::io_context& io_;
  std::vector<config::Command>& log_;
  config::Command argv_;
};

class ExitProbe : public checkers::Probe {
 public:
  ExitProbe(boost::asio::io_context& io, bool ok, std::atomic<unsigned>& runs)
      : io_(io), ok_(ok), runs_(runs) {}
  void run(std::chrono::milliseconds, std::function<void(checkers::ProbeResult)> done) override {
    ++runs_;
    boost::asio::post(io_, [done, ok = ok_] {
      checkers::ProbeResult r;
      r.ok = ok;
      r.reason = ok ? "exit 0" : "exit 1";
      done(r);
    });
  }
  void cancel() override {}

 private:
  boost::asio::io_context& io_;
  bool ok_;
  std::atomic<unsigned>& runs_;
};

class VrrpModuleTest : public ::testing::Test {
 protected:
  VrrpModule::Backend backend() {
    return {[this](boost::asio::io_context& io) -> std::unique_ptr<vrrp::Transport> {
              net = std::make_unique<vrrp::FakeNetwork>(io);
              return std::make_unique<ForwardTransport>(net->transport("dir1"));
            },
            [this](boost::asio::io_context&) -> std::unique_ptr<vrrp::AddressManager> {
              auto k = std::make_unique<vrrp::FakeAddressManager>();
              vrrp::InterfaceInfo eth0;
              eth0.name = "eth0";
              eth0.index = 2;
              eth0.up = eth0.running = true;
              eth0.ipv4 = {boost::asio::ip::make_address_v4("192.0.2.11")};
              k->set_interface(eth0);
              kernel = k.get();
              return k;
            }};
  }
  // Notify commands are recorded; VRRP scripts (checks named vrrp_script_*)
  // succeed unless the command is /bin/false.
  VrrpModule::NotifyFactory notifier() {
    return [this](boost::asio::io_context& io, const config::Check& c,
                  const checkers::ProbeTarget&) -> std::unique_ptr<checkers::Probe> {
      if (c.name.rfind("vrrp_script_", 0) == 0) {
        return std::make_unique<ExitProbe>(io, c.misc.command.front() != "/bin/false", script_runs);
      }
      return std::make_unique<RecordingProbe>(io, notified, c.misc.command);
    };
  }
  // Runs the control loop until `pred` or 5 s of real time.
  template <class Pred>
  bool run_until(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.restart();
      io.run_for(5ms);
    }
    return true;
  }

  boost::asio::io_context io;
  core::EventBus bus;
  std::unique_ptr<vrrp::FakeNetwork> net;      // lives on the VRRP thread
  vrrp::FakeAddressManager* kernel = nullptr;  // owned by the module
  std::vector<config::Command> notified;
  std::vector<json> events;
  std::atomic<unsigned> script_runs{0};
};

const char* kOne = R"(
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      vrid: 51
      version: 3
      priority: 200
      advert_interval: 10ms
      virtual_addresses: [192.0.2.200/24]
      garp: {count: 1, repeat_delay: 0s}
      notify: {master: /bin/true, stop: [/bin/echo, stopped]}
)";

TEST_F(VrrpModuleTest, RunsOnItsOwnThreadPublishesNotifiesAndStopsGracefully) {
  auto sub = bus.subscribe([this](const json& e) { events.push_back(e); });
  {
    VrrpModule m(io, bus, backend(), notifier());
    m.start(load(kOne));
    ASSERT_TRUE(run_until([&] {
      return !events.empty() && events.back().value("to", "") == "master";
    })) << "never became master";
    // initialize -> backup, backup -> master, in order.
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0]["type"], "vrrp");
    EXPECT_EQ(events[0]["to"], "backup");
    EXPECT_EQ(events[1]["from"], "backup");
    EXPECT_EQ(events[1]["instance"], "VI_1");
    EXPECT_EQ(events[1]["priority"], 200);
    EXPECT_LT(events[0]["seq"].get<int>(), events[1]["seq"].get<int>());
    ASSERT_TRUE(run_until([&] { return notified.size() == 1; }));
    EXPECT_EQ(notified[0], (config::Command{"/bin/true", "VI_1", "MASTER", "200"}));

    ASSERT_TRUE(run_until([&] { return m.snapshot()["instances"][0]["adverts"]["sent"] > 3; }));
    const json v = m.snapshot();
    EXPECT_EQ(v["source"], "vrrp");
    const json& i = v["instances"][0];
    EXPECT_EQ(i["state"], "master");
    EXPECT_EQ(i["priority"], 200);
    EXPECT_EQ(i["effective_priority"], 200);
    EXPECT_EQ(i["master"], "192.0.2.11");
    EXPECT_EQ(i["holds_vips"], true);
    EXPECT_EQ(i["became_master"], 1);
    EXPECT_EQ(i["drops"]["bad_ttl"], 0);
    EXPECT_EQ(i["last_transition"]["to"], "master");
    EXPECT_EQ(i["virtual_addresses"][0], "192.0.2.200/24 dev eth0");

    // A reload that changes the priority keeps the role.
    auto cfg = load(kOne);
    cfg.vrrp.instances[0].priority = 210;
    m.reconfigure(cfg, config::diff(load(kOne), cfg));
    ASSERT_TRUE(
        run_until([&] { return m.snapshot()["instances"][0]["effective_priority"] == 210; }));
    EXPECT_EQ(m.snapshot()["instances"][0]["state"], "master");
    EXPECT_EQ(m.snapshot()["instances"][0]["became_master"], 1);

    m.stop();
    // The VRRP thread is joined: its objects can be read from here.
    EXPECT_TRUE(kernel->addresses().empty());
    ASSERT_FALSE(net->sent().empty());
    const auto& last = net->sent().back();
    vrrp::ChecksumContext ctx{last.source, last.destination};
    const auto adv = vrrp::decode(last.payload, ctx);
    ASSERT_TRUE(adv);
    EXPECT_EQ(adv->priority, 0) << "the last advert resigns";
    // Published and notified by stop() itself: the control loop ends after
    // it (a daemon's does), so nothing may be left to it.
    EXPECT_EQ(events.back().value("to", ""), "initialize");
    ASSERT_EQ(notified.size(), 2u);
    EXPECT_EQ(notified[1], (config::Command{"/bin/echo", "stopped", "VI_1", "STOP", "210"}));
  }
}

TEST_F(VrrpModuleTest, TrackersFromQuorumEventsScriptsAndFilesSetTheEffectivePriority) {
  const std::string path = ::testing::TempDir() + "vrrp_track_file_" + std::to_string(::getpid());
  { std::ofstream(path) << "5\n"; }
  const std::string yaml = R"(
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      vrid: 51
      version: 3
      priority: 200
      advert_interval: 10ms
      virtual_addresses: [192.0.2.200/24]
      garp: {count: 1, repeat_delay: 0s}
      track:
        services: [{name: web, weight: -150}]
        scripts: [chk]
        files: [{name: f, weight: -1}]
  scripts:
    - {name: chk, command: /bin/false, interval: 100ms, weight: -30, fall: 2}
  files:
    - {name: f, path: ")" + path +
                           R"("}
services:
  - name: web
    address: 192.0.2.200
    port: 80
    realservers:
      - {address: 192.0.2.21}
)";
  VrrpModule m(io, bus, backend(), notifier());
  m.start(load(yaml));
  // -1 until the VRRP thread has published the instance.
  auto prio = [&] {
    const json v = m.snapshot()["instances"];
    return v.empty() ? -1 : v[0]["effective_priority"].get<int>();
  };
  // The file (5 x -1) is read at once; the script fails (/bin/false in the
  // fake runner) twice before it counts (fall 2): 200 - 5 - 30.
  ASSERT_TRUE(run_until([&] { return prio() == 165; })) << prio();
  EXPECT_GE(script_runs, 2u);
  // The checker module's quorum event for the service (by key).
  bus.publish("quorum", {{"service", "tcp 192.0.2.200:80"}, {"state", "down"}, {"reason", "x"}});
  ASSERT_TRUE(run_until([&] { return prio() == 15; })) << prio();
  const json t = m.snapshot()["instances"][0]["trackers"];
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0]["kind"], "service");
  EXPECT_EQ(t[0]["ok"], false);
  EXPECT_EQ(t[0]["delta"], -150);
  EXPECT_EQ(t[2]["kind"], "file");
  EXPECT_EQ(t[2]["value"], 5);
  bus.publish("quorum", {{"service", "tcp 192.0.2.200:80"}, {"state", "up"}, {"reason", "x"}});
  ASSERT_TRUE(run_until([&] { return prio() == 165; })) << prio();
  // The file changes: read again within a second.
  { std::ofstream(path) << "0\n"; }
  ASSERT_TRUE(run_until([&] { return prio() == 170; })) << prio();
  m.stop();
  std::remove(path.c_str());
}

TEST_F(VrrpModuleTest, SyncGroupTransitionsArePublishedAndRunTheGroupNotify) {
  auto sub = bus.subscribe([this](const json& e) {
    if (e.value("type", "") == "vrrp_group") events.push_back(e);
  });
  VrrpModule m(io, bus, backend(), notifier());
  m.start(load(R"(
vrrp:
  instances:
    - {name: VI_1, interface: eth0, vrid: 51, version: 3, priority: 200, advert_interval: 10ms,
       virtual_addresses: [192.0.2.200/24], garp: {count: 1, repeat_delay: 0s}}
    - {name: VI_2, interface: eth0, vrid: 52, version: 3, priority: 200, advert_interval: 10ms,
       virtual_addresses: [192.0.2.201/24], garp: {count: 1, repeat_delay: 0s}}
  sync_groups:
    - {name: G, instances: [VI_1, VI_2], notify: {master: [/bin/echo, group]}}
)"));
  ASSERT_TRUE(run_until([&] {
    return !events.empty() && events.back().value("to", "") == "master";
  })) << "the group never became master";
  EXPECT_EQ(events.back()["group"], "G");
  ASSERT_TRUE(run_until([&] { return notified.size() == 1; }));
  EXPECT_EQ(notified[0], (config::Command{"/bin/echo", "group", "G", "MASTER"}));
  const json g = m.snapshot()["sync_groups"];
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0]["state"], "master");
  EXPECT_EQ(g[0]["instances"], json::array({"VI_1", "VI_2"}));
  EXPECT_TRUE(m.snapshot()["instances"][0].value("unsupported", json::array()).empty());
  m.stop();
}

TEST_F(VrrpModuleTest, NoInstancesNoThread) {
  VrrpModule m(io, bus, backend(), notifier());
  m.start(load("{}"));
  EXPECT_EQ(kernel, nullptr);  // the backend was never built
  EXPECT_TRUE(m.snapshot()["instances"].empty());
  m.stop();
}

}  // namespace
}  // namespace lvsd::modules
