// The checker module with scripted probes, a manual clock and the FakeBackend:
// verdicts become plan changes, shared checks run once, quorum brings the
// sorry server in and out, a reload keeps unchanged checkers.
#include "daemon/modules/checker_module.hpp"

#include <gtest/gtest.h>

#include "daemon/config/loader.hpp"
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
  std::vector<std::string> dests(const std::string& vip) {
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

}  // namespace
}  // namespace lvsd::modules
