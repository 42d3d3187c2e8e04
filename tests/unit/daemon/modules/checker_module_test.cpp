// The checker module with scripted probes, a manual clock and the FakeBackend:
// verdicts become plan changes, shared checks run once, quorum brings the
// sorry server in and out, a reload keeps unchanged checkers.
#include "daemon/modules/checker_module.hpp"

#include <gtest/gtest.h>

#include "daemon/config/loader.hpp"
#include "daemon/core/status_server.hpp"
#include "forwarding/fake_backend.hpp"

namespace lvsd::modules {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fwd = lvsd::forwarding;
namespace chk = lvsd::checkers;

config::Config load(const std::string& yaml) {
  auto r = config::load_string(yaml, "t.yaml");
  for (const auto& e : r.errors)
    ADD_FAILURE() << e.str();
  return r.config.value_or(config::Config{});
}

// Answers after 10 ms of manual time with whatever the test says the target's
// state is now.
class ScriptedProbe : public chk::Probe {
 public:
  ScriptedProbe(chk::Clock& clock, std::map<std::string, bool>& up, std::string target, int& runs)
      : clock_(clock), up_(up), target_(std::move(target)), runs_(runs) {}
  void run(std::chrono::milliseconds, std::function<void(chk::ProbeResult)> done) override {
    ++runs_;
    timer_ = clock_.make_timer();
    timer_->arm(10ms, [this, done] {
      chk::ProbeResult r;
      r.ok = up_.count(target_) ? up_[target_] : true;
      r.reason = r.ok ? "200 OK" : "connection refused";
      r.latency = 10ms;
      done(r);
    });
  }
  void cancel() override {
    if (timer_) timer_->cancel();
  }

 private:
  chk::Clock& clock_;
  std::map<std::string, bool>& up_;
  std::string target_;
  int& runs_;
  std::unique_ptr<chk::Timer> timer_;
};

const std::string kConfig = R"(
checks:
  - {name: web, type: http, path: /healthz, interval: 1s, timeout: 500ms, rise: 2, fall: 2}
services:
  - name: web
    address: 192.0.2.200
    port: 80
    check: web
    quorum: {weight: 1, on_up: /usr/local/bin/web-up, on_down: /usr/local/bin/web-down}
    sorry_server: {address: 192.0.2.99}
    realservers:
      - {address: 192.0.2.21}
      - {address: 192.0.2.22}
  - name: alt
    address: 192.0.2.201
    port: 80
    check: web
    realservers:
      - {address: 192.0.2.21}
)";

class CheckerModuleTest : public ::testing::Test {
 protected:
  void start(const config::Config& cfg) {
    forwarding_ = std::make_unique<ForwardingModule>(
        io_, events_,
        [this](config::ForwardingBackend, const config::Config&)
            -> std::variant<std::unique_ptr<fwd::Backend>, BackendOpenError> {
          auto b = std::make_unique<fwd::FakeBackend>();
          fake_ = b.get();
          return b;
        });
    checkers_ = std::make_unique<CheckerModule>(
        io_, events_, *forwarding_, clock_,
        [this](boost::asio::io_context&, const config::Check& c, const chk::ProbeTarget& t) {
          created_.push_back(c.name + " " + std::string(config::to_string(c.type)) + " " +
                             (c.misc.command.empty() ? "" : c.misc.command.front()));
          return std::make_unique<ScriptedProbe>(clock_, up_, t.address.to_string(), runs_);
        });
    checkers_->start(cfg);
    forwarding_->start(cfg);
  }
  // Dest addresses of a service in the fake kernel table.
  // Health transitions re-plan through a posted (coalesced) reconcile: run
  // what is queued first.
  std::vector<std::string> dests(const std::string& vip) {
    io_.restart();
    io_.poll();
    std::vector<std::string> out;
    for (const auto& [key, entry] : fake_->table().services) {
      if (key.address.to_string() != vip) continue;
      for (const auto& [dk, _] : entry.dests)
        out.push_back(dk.address.to_string());
    }
    return out;
  }

  boost::asio::io_context io_;
  core::EventBus events_;
  chk::ManualClock clock_;
  std::map<std::string, bool> up_;
  int runs_ = 0;
  std::vector<std::string> created_;
  std::unique_ptr<ForwardingModule> forwarding_;
  std::unique_ptr<CheckerModule> checkers_;
  fwd::FakeBackend* fake_ = nullptr;
};

using Dests = std::vector<std::string>;

TEST_F(CheckerModuleTest, SharedChecksRunOnceAndVerdictsChangeThePlan) {
  start(load(kConfig));
  // 192.0.2.21 is checked for two services with the same check: one checker.
  EXPECT_EQ(checkers_->checker_count(), 2u);
  EXPECT_EQ(dests("192.0.2.200"), (Dests{"192.0.2.21", "192.0.2.22"}));
  clock_.advance(3s);
  const int runs_before = runs_;
  clock_.advance(10s);
  // Two checkers, ~1 attempt per second each.
  EXPECT_NEAR(runs_ - runs_before, 20, 2);

  up_["192.0.2.21"] = false;
  clock_.advance(1500ms);  // one failure: fall is 2
  EXPECT_EQ(dests("192.0.2.200"), (Dests{"192.0.2.21", "192.0.2.22"}));
  clock_.advance(1500ms);  // the second failure (the fast interval may make it sooner)
  EXPECT_EQ(dests("192.0.2.200"), (Dests{"192.0.2.22"}));
  EXPECT_EQ(dests("192.0.2.201"), Dests{});  // the shared verdict reaches both services

  up_["192.0.2.21"] = true;
  clock_.advance(3s);
  EXPECT_EQ(dests("192.0.2.200"), (Dests{"192.0.2.21", "192.0.2.22"}));
  EXPECT_EQ(dests("192.0.2.201"), (Dests{"192.0.2.21"}));
}

TEST_F(CheckerModuleTest, QuorumLossSwitchesToTheSorryServerAndBack) {
  start(load(kConfig));
  std::vector<json> seen;
  auto sub = events_.subscribe([&](const json& e) { seen.push_back(e); });
  up_["192.0.2.21"] = false;
  up_["192.0.2.22"] = false;
  clock_.advance(4s);
  EXPECT_EQ(dests("192.0.2.200"), (Dests{"192.0.2.99"}));
  bool quorum_down = false;
  for (const auto& e : seen)
    quorum_down |= e["type"] == "quorum" && e["state"] == "down";
  EXPECT_TRUE(quorum_down);
  // The services view marks the sorry server and shows the down realservers.
  const json view = forwarding_->services_json();
  int down_rows = 0;
  for (const auto& s : view["services"]) {
    if (s["name"] != "web") continue;
    for (const auto& r : s["realservers"]) {
      if (r["address"] == "192.0.2.99") {
        EXPECT_EQ(r["health"], "sorry");
      }
      if (r["health"] == "down") ++down_rows;
    }
  }
  EXPECT_EQ(down_rows, 2);

  up_["192.0.2.22"] = true;
  clock_.advance(4s);
  EXPECT_EQ(dests("192.0.2.200"), (Dests{"192.0.2.22"}));
  // on_down then on_up ran, as misc commands.
  EXPECT_NE(std::find(created_.begin(), created_.end(), "quorum_down misc /usr/local/bin/web-down"),
            created_.end());
  EXPECT_NE(std::find(created_.begin(), created_.end(), "quorum_up misc /usr/local/bin/web-up"),
            created_.end());
}

TEST_F(CheckerModuleTest, ReloadKeepsUnchangedCheckersAndTheirState) {
  const auto cfg = load(kConfig);
  start(cfg);
  up_["192.0.2.22"] = false;
  clock_.advance(4s);
  ASSERT_EQ(dests("192.0.2.200"), (Dests{"192.0.2.21"}));
  // Add a realserver; the others' checkers and state stay.
  std::string next = kConfig;
  next.insert(next.find("  - name: alt"), "      - {address: 192.0.2.23}\n");
  const auto cfg2 = load(next);
  checkers_->reconfigure(cfg2, {});
  forwarding_->reconfigure(cfg2, {});
  EXPECT_EQ(checkers_->checker_count(), 3u);
  // rs2 is still down (not re-admitted by the reload), rs3 starts up.
  EXPECT_EQ(dests("192.0.2.200"), (Dests{"192.0.2.21", "192.0.2.23"}));
  const json snap = checkers_->snapshot();
  EXPECT_EQ(snap["checkers"].size(), 3u);
}

// The `realserver` status command: an operator's drain / maint / ready and
// weight override go through HealthState and re-plan at once.
class RealserverCommandTest : public CheckerModuleTest {
 protected:
  void SetUp() override {
    start(load(kConfig));
    server_ = std::make_unique<core::StatusServer>(io_, events_);
    checkers_->register_commands(*server_);
    sub_ = events_.subscribe([this](const json& e) { seen_.push_back(e); });
  }
  json run(json request) {
    request["command"] = "realserver";
    return server_->dispatch_request(request);
  }
  // Weight of each dest of the web service (192.0.2.200) in the fake table.
  std::map<std::string, uint32_t> weights() {
    io_.restart();
    io_.poll();  // health re-plans are posted
    std::map<std::string, uint32_t> out;
    for (const auto& [key, entry] : fake_->table().services) {
      if (key.address.to_string() != "192.0.2.200") continue;
      for (const auto& [dk, d] : entry.dests)
        out[dk.address.to_string()] = d.weight;
    }
    return out;
  }
  std::vector<json> of_type(const std::string& type) {
    std::vector<json> out;
    for (const auto& e : seen_)
      if (e["type"] == type) out.push_back(e);
    return out;
  }
  std::string error_of(const json& request) {
    const json r = run(request);
    EXPECT_FALSE(r.value("ok", true)) << r.dump();
    return r.value("error", "");
  }

  std::unique_ptr<core::StatusServer> server_;
  std::vector<json> seen_;
  core::EventBus::Subscription sub_;
};

using Weights = std::map<std::string, uint32_t>;

TEST_F(RealserverCommandTest, DrainMaintReadyChangeThePlanAtOnce) {
  ASSERT_EQ(weights(), (Weights{{"192.0.2.21", 1}, {"192.0.2.22", 1}}));
  const auto reconciles = forwarding_->counters().reconciles;

  json r = run({{"service", "web"}, {"realserver", "192.0.2.22"}, {"admin", "drain"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  const json& d = r["data"];
  EXPECT_EQ(d["service"], "tcp 192.0.2.200:80");
  EXPECT_EQ(d["realserver"], "192.0.2.22:80");
  EXPECT_EQ(d["changed"], true);
  EXPECT_EQ(d["admin"], "drain");
  EXPECT_EQ(d["previous"]["admin"], "ready");
  EXPECT_EQ(d["state"], "draining");
  EXPECT_EQ(d["weight"], 0);
  // One plan update, weight 0: existing connections stay, no new ones.
  EXPECT_EQ(forwarding_->counters().reconciles, reconciles + 1);
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 1}, {"192.0.2.22", 0}}));
  const auto admin = of_type("admin");
  ASSERT_EQ(admin.size(), 1u);
  EXPECT_EQ(admin[0]["service"], "tcp 192.0.2.200:80");
  EXPECT_EQ(admin[0]["realserver"], "192.0.2.22:80");
  EXPECT_EQ(admin[0]["admin"], "drain");
  EXPECT_EQ(admin[0]["previous_admin"], "ready");
  EXPECT_EQ(admin[0]["state"], "draining");

  // The same again changes nothing: no event, no re-plan.
  r = run({{"service", "web"}, {"realserver", "192.0.2.22:80"}, {"admin", "drain"}});
  EXPECT_EQ(r["data"]["changed"], false);
  EXPECT_EQ(of_type("admin").size(), 1u);
  EXPECT_EQ(forwarding_->counters().reconciles, reconciles + 1);

  // Maint: out of the table; the checks keep running and say up.
  r = run({{"service", "web"}, {"realserver", "192.0.2.22"}, {"admin", "maint"}});
  EXPECT_EQ(r["data"]["state"], "maint");
  EXPECT_TRUE(r["data"]["weight"].is_null());
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 1}}));
  const int runs_before = runs_;
  clock_.advance(5s);
  EXPECT_GT(runs_, runs_before);
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 1}}));
  EXPECT_EQ(r["data"]["healthy"], true);

  // Ready: back to what the checks say.
  r = run({{"service", "web"}, {"realserver", "192.0.2.22"}, {"admin", "ready"}});
  EXPECT_EQ(r["data"]["state"], "up");
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 1}, {"192.0.2.22", 1}}));
  EXPECT_EQ(of_type("admin").size(), 3u);
}

TEST_F(RealserverCommandTest, MaintOfAFailedRealserverThenReadyKeepsItOut) {
  up_["192.0.2.22"] = false;
  clock_.advance(4s);
  ASSERT_EQ(weights(), (Weights{{"192.0.2.21", 1}}));
  run({{"service", "web"}, {"realserver", "192.0.2.22"}, {"admin", "maint"}});
  const json r = run({{"service", "web"}, {"realserver", "192.0.2.22"}, {"admin", "ready"}});
  EXPECT_EQ(r["data"]["state"], "down");
  EXPECT_EQ(r["data"]["healthy"], false);
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 1}}));
  up_["192.0.2.22"] = true;
  clock_.advance(4s);
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 1}, {"192.0.2.22", 1}}));
}

TEST_F(RealserverCommandTest, WeightOverrideAndReset) {
  json r = run({{"service", "tcp 192.0.2.200:80"}, {"realserver", "192.0.2.21:80"}, {"weight", 5}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["data"]["weight_override"], 5);
  EXPECT_TRUE(r["data"]["previous"]["weight_override"].is_null());
  EXPECT_EQ(r["data"]["configured_weight"], 1);
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 5}, {"192.0.2.22", 1}}));
  // Weight 0 is accepted (in the table, no new connections).
  run({{"service", "web"}, {"realserver", "192.0.2.21"}, {"weight", 0}});
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 0}, {"192.0.2.22", 1}}));
  // Reset by null or "reset".
  r = run({{"service", "web"}, {"realserver", "192.0.2.21"}, {"weight", nullptr}});
  EXPECT_TRUE(r["data"]["weight_override"].is_null());
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 1}, {"192.0.2.22", 1}}));
  run({{"service", "web"}, {"realserver", "192.0.2.21"}, {"weight", 65535}});
  EXPECT_EQ(weights()["192.0.2.21"], 65535u);
  run({{"service", "web"}, {"realserver", "192.0.2.21"}, {"weight", "reset"}});
  EXPECT_EQ(weights()["192.0.2.21"], 1u);
  // Admin and weight in one request: one event, one re-plan.
  const auto reconciles = forwarding_->counters().reconciles;
  const auto events_before = of_type("admin").size();
  r = run({{"service", "web"}, {"realserver", "192.0.2.22"}, {"admin", "drain"}, {"weight", 3}});
  EXPECT_EQ(r["data"]["admin"], "drain");
  EXPECT_EQ(r["data"]["weight_override"], 3);
  EXPECT_EQ(forwarding_->counters().reconciles, reconciles + 1);
  EXPECT_EQ(of_type("admin").size(), events_before + 1);
  EXPECT_EQ(weights()["192.0.2.22"], 0u);  // draining wins over the override
}

TEST_F(RealserverCommandTest, StateIsVisibleInServicesAndChecks) {
  run({{"service", "web"}, {"realserver", "192.0.2.22"}, {"admin", "drain"}, {"weight", 4}});
  const json view = forwarding_->services_json();
  bool found = false;
  for (const auto& s : view["services"]) {
    if (s["name"] != "web") continue;
    for (const auto& r : s["realservers"]) {
      if (r["address"] != "192.0.2.22") continue;
      found = true;
      EXPECT_EQ(r["admin"], "drain");
      EXPECT_EQ(r["weight_override"], 4);
      EXPECT_EQ(r["health"], "draining");
    }
  }
  EXPECT_TRUE(found);
  const json snap = checkers_->snapshot();
  found = false;
  for (const auto& s : snap["services"]) {
    if (s["name"] != "web") continue;
    for (const auto& r : s["realservers"]) {
      if (r["realserver"] != "192.0.2.22:80") continue;
      found = true;
      EXPECT_EQ(r["admin"], "drain");
      EXPECT_EQ(r["weight_override"], 4);
      EXPECT_EQ(r["state"], "draining");
      EXPECT_EQ(r["healthy"], true);
      EXPECT_EQ(r["weight"], 0);
    }
  }
  EXPECT_TRUE(found);
  // A bare query answers the state and changes nothing.
  const json q = run({{"service", "web"}, {"realserver", "192.0.2.22"}});
  EXPECT_EQ(q["data"]["changed"], false);
  EXPECT_EQ(q["data"]["admin"], "drain");
}

TEST_F(RealserverCommandTest, ReloadKeepsRuntimeStateOfRealserversThatStay) {
  run({{"service", "web"}, {"realserver", "192.0.2.22"}, {"admin", "drain"}});
  run({{"service", "web"}, {"realserver", "192.0.2.21"}, {"weight", 7}});
  std::string next = kConfig;
  next.insert(next.find("  - name: alt"), "      - {address: 192.0.2.23}\n");
  const auto cfg2 = load(next);
  checkers_->reconfigure(cfg2, {});
  forwarding_->reconfigure(cfg2, {});
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 7}, {"192.0.2.22", 0}, {"192.0.2.23", 1}}));
  // Removed and added back: forgotten.
  std::string without = kConfig;
  without.erase(without.find("      - {address: 192.0.2.22}\n"),
                std::string("      - {address: 192.0.2.22}\n").size());
  checkers_->reconfigure(load(without), {});
  forwarding_->reconfigure(load(without), {});
  checkers_->reconfigure(load(kConfig), {});
  forwarding_->reconfigure(load(kConfig), {});
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 7}, {"192.0.2.22", 1}}));
}

TEST_F(RealserverCommandTest, ServiceAndRealserverNamesResolve) {
  // Name, key, VIP:port; address alone, address:port.
  for (const char* svc : {"web", "tcp 192.0.2.200:80", "192.0.2.200:80"}) {
    for (const char* rs : {"192.0.2.21", "192.0.2.21:80"}) {
      const json r = run({{"service", svc}, {"realserver", rs}});
      ASSERT_TRUE(r["ok"]) << svc << " " << rs << ": " << r.dump();
      EXPECT_EQ(r["data"]["service"], "tcp 192.0.2.200:80");
      EXPECT_EQ(r["data"]["realserver"], "192.0.2.21:80");
    }
  }
}

TEST_F(RealserverCommandTest, ErrorsAreClear) {
  std::string e = error_of({{"service", "wbe"}, {"realserver", "192.0.2.21"}, {"admin", "drain"}});
  EXPECT_NE(e.find("unknown service \"wbe\""), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean \"web\"?"), std::string::npos) << e;
  EXPECT_NE(e.find("services: web (tcp 192.0.2.200:80), alt (tcp 192.0.2.201:80)"),
            std::string::npos)
      << e;
  e = error_of({{"service", "nothing-like-it"}, {"realserver", "192.0.2.21"}});
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;

  e = error_of({{"service", "web"}, {"realserver", "192.0.2.29"}, {"admin", "drain"}});
  EXPECT_NE(e.find("service web has no realserver \"192.0.2.29\""), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean \"192.0.2.21:80\"?"), std::string::npos) << e;
  EXPECT_NE(e.find("realservers: 192.0.2.21:80, 192.0.2.22:80"), std::string::npos) << e;
  e = error_of({{"service", "web"}, {"realserver", "192.0.2.21:81"}});
  EXPECT_NE(e.find("has no realserver \"192.0.2.21:81\""), std::string::npos) << e;
  e = error_of({{"service", "web"}, {"realserver", "rs1"}});
  EXPECT_NE(e.find("has no realserver \"rs1\""), std::string::npos) << e;

  e = error_of({{"service", "web"}, {"realserver", "192.0.2.21"}, {"admin", "up"}});
  EXPECT_EQ(e, "bad admin \"up\": expected \"ready\", \"drain\" or \"maint\"");
  e = error_of({{"service", "web"}, {"realserver", "192.0.2.21"}, {"admin", 1}});
  EXPECT_NE(e.find("bad admin 1"), std::string::npos) << e;
  for (const json& w : {json(65536), json(-1), json(1.5), json("x"), json(true)}) {
    e = error_of({{"service", "web"}, {"realserver", "192.0.2.21"}, {"weight", w}});
    EXPECT_NE(e.find("bad weight " + w.dump() + ": expected an integer 0..65535"),
              std::string::npos)
        << e;
  }
  e = error_of({{"service", "web"}});
  EXPECT_NE(e.find("missing \"realserver\""), std::string::npos) << e;
  e = error_of({{"realserver", "192.0.2.21"}});
  EXPECT_NE(e.find("missing \"service\""), std::string::npos) << e;
  e = error_of({{"service", "web"}, {"realserver", "192.0.2.21"}, {"action", "drain"}});
  EXPECT_NE(e.find("unknown field \"action\""), std::string::npos) << e;
  // Nothing was changed by any of these.
  EXPECT_TRUE(of_type("admin").empty());
  EXPECT_EQ(weights(), (Weights{{"192.0.2.21", 1}, {"192.0.2.22", 1}}));
}

TEST(RealserverCommandAmbiguity, SameEndpointTwoProtocolsAndDisabledRealservers) {
  boost::asio::io_context io;
  core::EventBus events;
  chk::ManualClock clock;
  ForwardingModule forwarding(
      io, events,
      [](config::ForwardingBackend,
         const config::Config&) -> std::variant<std::unique_ptr<fwd::Backend>, BackendOpenError> {
        return std::make_unique<fwd::FakeBackend>();
      });
  CheckerModule checkers(
      io, events, forwarding, clock,
      [](boost::asio::io_context&, const config::Check&,
         const chk::ProbeTarget&) -> std::unique_ptr<chk::Probe> { return nullptr; });
  const auto cfg = load(R"(
services:
  - {name: web-tcp, address: 192.0.2.200, port: 53, protocol: tcp,
     realservers: [{address: 192.0.2.21}, {address: 192.0.2.22, enabled: false}]}
  - {name: web-udp, address: 192.0.2.200, port: 53, protocol: udp,
     realservers: [{address: 192.0.2.21}, {address: 192.0.2.21, port: 5353}]}
  - {name: web6, address: "2001:db8::200", port: 80,
     realservers: [{address: "2001:db8::21"}]}
  - {name: marked, fwmark: 7, realservers: [{address: 192.0.2.23}]}
)");
  checkers.start(cfg);
  forwarding.start(cfg);
  core::StatusServer server(io, events);
  checkers.register_commands(server);
  auto ask = [&](const std::string& svc, const std::string& rs) {
    return server.dispatch_request(
        {{"command", "realserver"}, {"service", svc}, {"realserver", rs}, {"admin", "drain"}});
  };
  json r = ask("192.0.2.200:53", "192.0.2.21");
  EXPECT_FALSE(r["ok"]);
  EXPECT_NE(r["error"].get<std::string>().find(
                "service \"192.0.2.200:53\" is ambiguous: web-tcp (tcp 192.0.2.200:53), web-udp "
                "(udp 192.0.2.200:53); give the name or the key"),
            std::string::npos)
      << r.dump();
  r = ask("web-udp", "192.0.2.21");
  EXPECT_FALSE(r["ok"]);
  EXPECT_NE(r["error"].get<std::string>().find("ambiguous"), std::string::npos) << r.dump();
  EXPECT_TRUE(ask("web-udp", "192.0.2.21:5353")["ok"]);
  // IPv6 endpoints with and without brackets; fwmark services by key.
  for (const char* rs : {"2001:db8::21", "[2001:db8::21]:80", "[2001:db8::21]"}) {
    r = ask("[2001:db8::200]:80", rs);
    EXPECT_TRUE(r["ok"]) << rs << ": " << r.dump();
  }
  r = ask("web6", "[2001:db8::21]:81");
  EXPECT_NE(r["error"].get<std::string>().find("has no realserver"), std::string::npos) << r.dump();
  r = ask("fwmark 7 inet", "192.0.2.23");
  EXPECT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["data"]["name"], "marked");
  r = ask("web-tcp", "192.0.2.22");
  EXPECT_NE(r["error"].get<std::string>().find("disabled in the config"), std::string::npos)
      << r.dump();
  checkers.stop();
  forwarding.stop();
}

}  // namespace
}  // namespace lvsd::modules
