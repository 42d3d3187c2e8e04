// The VRRP module: config conversion (pure), and one instance run for real on
// the module's own VRRP thread over the fake network and fake kernel (10 ms
// adverts, so it becomes master within ~40 ms of real time): events on the
// bus, notify arguments, the `vrrp` view, reload keeping the state, and the
// graceful stop.
#include "daemon/modules/vrrp_module.hpp"

#include <gtest/gtest.h>

#include <chrono>

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
      track: {interfaces: [eth1]}
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
  const auto unsup = VrrpModule::unsupported(cfg);
  ASSERT_EQ(unsup.size(), 1u);
  EXPECT_EQ(unsup.at("VI_6"), std::vector<std::string>{"track.interfaces"});
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
  VrrpModule::NotifyFactory notifier() {
    return [this](boost::asio::io_context& io, const config::Check& c,
                  const checkers::ProbeTarget&) -> std::unique_ptr<checkers::Probe> {
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
    ASSERT_TRUE(run_until([&] { return events.back().value("to", "") == "initialize"; }));
    ASSERT_TRUE(run_until([&] { return notified.size() == 2; }));
    EXPECT_EQ(notified[1], (config::Command{"/bin/echo", "stopped", "VI_1", "STOP", "210"}));
  }
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
