// The forwarding module against the kernel-faithful FakeBackend: initial
// programming, reloads, drift repair, foreign services, errors, stop.
#include "daemon/modules/forwarding_module.hpp"

#include <gtest/gtest.h>

#include "daemon/config/loader.hpp"
#include "forwarding/fake_backend.hpp"

namespace lvsd::modules {
namespace {

using nlohmann::json;
namespace fwd = lvsd::forwarding;

config::Config load(const std::string& yaml) {
  auto r = config::load_string(yaml, "t.yaml");
  for (const auto& e : r.errors)
    ADD_FAILURE() << e.str();
  return r.config.value_or(config::Config{});
}

const std::string kBase = R"(
forwarding:
  timeouts: {tcp: 10m, tcp_fin: 1m, udp: 2m}
services:
  - name: web
    address: 192.0.2.200
    port: 80
    scheduler: wlc
    realservers:
      - {address: 192.0.2.21, weight: 3}
      - {address: 192.0.2.22, weight: 1}
  - name: dns
    address: 192.0.2.200
    port: 53
    protocol: udp
    scheduler: rr
    realservers:
      - {address: 192.0.2.23}
)";

// The fake with one more knob: refuse the next N apply() calls like the kernel
// would (ENOENT), leaving read-backs alone.
class FlakyBackend : public fwd::FakeBackend {
 public:
  using FakeBackend::FakeBackend;
  std::error_code apply(const fwd::PlanOp& op) override {
    if (fail_applies > 0) {
      --fail_applies;
      return std::make_error_code(std::errc::no_such_file_or_directory);
    }
    return FakeBackend::apply(op);
  }
  int fail_applies = 0;
};

class ForwardingModuleTest : public ::testing::Test {
 protected:
  // The factory hands out `fake_` (kept alive by the module) for ipvs.
  BackendFactory factory(bool ipvs_ok = true, bool userspace_ok = false) {
    return [this, ipvs_ok, userspace_ok](config::ForwardingBackend kind, const config::Config&)
               -> std::variant<std::unique_ptr<fwd::Backend>, BackendOpenError> {
      const bool ok = kind == config::ForwardingBackend::ipvs ? ipvs_ok : userspace_ok;
      if (!ok) return BackendOpenError{std::string(config::to_string(kind)) + " unavailable"};
      auto b = std::make_unique<FlakyBackend>(initial_);
      fake_ = b.get();
      return b;
    };
  }
  std::unique_ptr<ForwardingModule> make(BackendFactory f) {
    auto m = std::make_unique<ForwardingModule>(io_, events_, std::move(f));
    sub_ = events_.subscribe([this](const json& e) { events_seen_.push_back(e); });
    return m;
  }

  boost::asio::io_context io_;
  core::EventBus events_;
  core::EventBus::Subscription sub_;
  std::vector<json> events_seen_;
  fwd::ForwardingPlan initial_;
  FlakyBackend* fake_ = nullptr;
};

TEST_F(ForwardingModuleTest, ProgramsThePlanAndTimeoutsAtStart) {
  auto m = make(factory());
  const auto cfg = load(kBase);
  m->start(cfg);
  ASSERT_NE(fake_, nullptr);
  EXPECT_EQ(fake_->table(), fwd::plan_from_config(cfg));
  auto t = fake_->get_timeouts();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->tcp, 600u);
  EXPECT_EQ(t->tcp_fin, 60u);
  EXPECT_EQ(t->udp, 120u);
  EXPECT_EQ(m->counters().ops_applied, 5u);  // 2 services + 3 dests
  EXPECT_EQ(m->counters().ops_failed, 0u);
  ASSERT_FALSE(events_seen_.empty());
  EXPECT_EQ(events_seen_.back()["type"], "forwarding");
  EXPECT_EQ(events_seen_.back()["applied"], 5);
}

TEST_F(ForwardingModuleTest, ReloadAppliesOnlyTheDifference) {
  auto m = make(factory());
  m->start(load(kBase));
  const std::size_t before = fake_->calls().apply;
  std::string next = kBase;
  next.replace(next.find("weight: 3"), 9, "weight: 5");             // edit one dest
  next.replace(next.find("  - name: dns"), std::string::npos, "");  // remove a service
  const auto cfg = load(next);
  m->reconfigure(cfg, {});
  EXPECT_EQ(fake_->table(), fwd::plan_from_config(cfg));
  // EditDest + DelDest + DelService
  EXPECT_EQ(fake_->calls().apply - before, 3u);
}

TEST_F(ForwardingModuleTest, DriftIsRepairedCountedAndPublished) {
  auto m = make(factory());
  const auto cfg = load(kBase);
  m->start(cfg);
  // Behind lvsd's back: a dest removed, a weight changed.
  auto& svc = fake_->table().services.at(fwd::service_key(cfg.services[0]));
  svc.dests.erase(svc.dests.begin());
  svc.dests.begin()->second.weight = 42;
  events_seen_.clear();
  m->reconcile("periodic");
  EXPECT_EQ(fake_->table(), fwd::plan_from_config(cfg));
  EXPECT_EQ(m->counters().drift_repairs, 2u);
  ASSERT_EQ(events_seen_.size(), 1u);
  EXPECT_EQ(events_seen_[0]["drift"], 2);
  EXPECT_EQ(events_seen_[0]["applied"], 2);
  // Nothing to do the next time.
  events_seen_.clear();
  m->reconcile("periodic");
  EXPECT_TRUE(events_seen_.empty());
  EXPECT_EQ(m->counters().drift_repairs, 2u);
}

TEST_F(ForwardingModuleTest, ReconcileSoonCoalescesABurstIntoOneRound) {
  auto m = make(factory());
  const auto cfg = load(kBase);
  m->start(cfg);
  const auto rounds = m->counters().reconciles;
  // A burst of health transitions, each asking for a reconcile.
  for (int i = 0; i < 50; ++i)
    m->reconcile_soon("health");
  EXPECT_EQ(m->counters().reconciles, rounds);  // nothing yet: after the queued handlers
  io_.poll();
  io_.restart();
  EXPECT_EQ(m->counters().reconciles, rounds + 1);
  EXPECT_EQ(m->counters().coalesced, 49u);
  // The next request after that round gets a round of its own.
  m->reconcile_soon("health");
  io_.poll();
  EXPECT_EQ(m->counters().reconciles, rounds + 2);
  // After stop, nothing is scheduled.
  m->stop();
  m->reconcile_soon("health");
  io_.restart();
  io_.poll();
  EXPECT_EQ(m->counters().reconciles, rounds + 2);
}

TEST_F(ForwardingModuleTest, ForeignServicesAreLeftAloneUnlessConfigured) {
  fwd::VirtualService foreign;
  foreign.key =
      fwd::ServiceKey::inet(fwd::Protocol::tcp, boost::asio::ip::make_address("198.51.100.1"), 25);
  initial_.put(foreign);
  {
    auto m = make(factory());
    m->start(load(kBase));
    EXPECT_EQ(fake_->table().services.count(foreign.key), 1u);
    const json view = m->services_json();
    bool saw_foreign = false;
    for (const auto& s : view["services"]) {
      if (s["key"] == foreign.key.to_string()) {
        saw_foreign = true;
        EXPECT_EQ(s["owned"], false);
        EXPECT_TRUE(s["name"].is_null());
      }
    }
    EXPECT_TRUE(saw_foreign);
  }
  {
    auto m = make(factory());
    m->start(
        load("forwarding: {foreign_services: remove}\n" + kBase.substr(kBase.find("services:"))));
    EXPECT_EQ(fake_->table().services.count(foreign.key), 0u);
  }
}

TEST_F(ForwardingModuleTest, KernelErrorsAreCountedNotFatalAndRepairedNextTime) {
  auto m = make(factory());
  const auto cfg = load(kBase);
  m->start(cfg);
  std::string next = kBase;
  next.replace(next.find("weight: 3"), 9, "weight: 7");
  const auto cfg2 = load(next);
  fake_->fail_applies = 1;
  m->reconfigure(cfg2, {});
  EXPECT_EQ(m->counters().ops_failed, 1u);
  EXPECT_NE(m->snapshot()["last_error"].get<std::string>().find("op=edit_dest"), std::string::npos)
      << m->snapshot().dump();
  m->reconcile("periodic");
  EXPECT_EQ(fake_->table(), fwd::plan_from_config(cfg2));
}

TEST_F(ForwardingModuleTest, ReadBackFailureIsCounted) {
  auto m = make(factory());
  m->start(load(kBase));
  fake_->fail_next(1, std::errc::io_error);
  m->reconcile("periodic");
  EXPECT_EQ(m->counters().readback_errors, 1u);
}

TEST_F(ForwardingModuleTest, ExplicitBackendThatCannotOpenFailsStartWithItsReason) {
  auto m = make(factory(/*ipvs_ok=*/false));
  try {
    m->start(load("forwarding: {backend: ipvs}\n"));
    FAIL() << "start should have thrown";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "forwarding.backend is ipvs: ipvs unavailable");
  }
}

TEST_F(ForwardingModuleTest, AutoFallsBackToUserspaceThenToNoDataplane) {
  {
    auto m = make(factory(false, true));
    m->start(load(kBase));
    ASSERT_NE(m->backend(), nullptr);
    EXPECT_NE(m->snapshot()["choice"].get<std::string>().find("userspace (auto"),
              std::string::npos);
  }
  {
    auto m = make(factory(false, false));
    m->start(load(kBase));
    EXPECT_EQ(m->backend(), nullptr);
    const json view = m->services_json();
    EXPECT_EQ(view["source"], "config");
    EXPECT_NE(view["dataplane"].get<std::string>().find("ipvs unavailable"), std::string::npos);
  }
}

TEST_F(ForwardingModuleTest, StopKeepsOrFlushesOwnedServicesOnly) {
  fwd::VirtualService foreign;
  foreign.key = fwd::ServiceKey::mark(99);
  initial_.put(foreign);
  {
    auto m = make(factory());
    m->start(load(kBase));
    m->stop();
    EXPECT_EQ(fake_->table().services.size(), 3u);  // keep (default)
  }
  {
    auto m = make(factory());
    m->start(load("forwarding: {on_stop: flush}\n" + kBase.substr(kBase.find("services:"))));
    m->stop();
    ASSERT_EQ(fake_->table().services.size(), 1u);
    EXPECT_EQ(fake_->table().services.begin()->first, foreign.key);
  }
}

TEST_F(ForwardingModuleTest, ServicesViewJoinsNamesAndCounters) {
  auto m = make(factory());
  const auto cfg = load(kBase);
  m->start(cfg);
  const auto key = fwd::service_key(cfg.services[0]);
  fwd::DestStatus ds;
  ds.active_conns = 7;
  ds.stats.inpkts = 1000;
  fake_->set_dest_status(key, fwd::DestKey{boost::asio::ip::make_address("192.0.2.21"), 80}, ds);
  const json view = m->services_json();
  EXPECT_EQ(view["source"], "fake");
  const json* web = nullptr;
  for (const auto& s : view["services"]) {
    if (s["name"] == "web") web = &s;
  }
  ASSERT_NE(web, nullptr);
  EXPECT_EQ((*web)["owned"], true);
  EXPECT_EQ((*web)["realservers"][0]["address"], "192.0.2.21");
  EXPECT_EQ((*web)["realservers"][0]["weight"], 3);
  EXPECT_EQ((*web)["realservers"][0]["active_conns"], 7);
  EXPECT_EQ((*web)["realservers"][0]["stats"]["inpkts"], 1000);
}

// A backend that is the only writer of its table, as the userspace engine:
// it numbers its table's versions (table_generation).
class OwnTableBackend : public FlakyBackend {
 public:
  using FlakyBackend::FlakyBackend;
  std::error_code apply(const fwd::PlanOp& op) override {
    auto ec = FlakyBackend::apply(op);
    if (!ec) ++generation;
    return ec;
  }
  std::optional<uint64_t> table_generation() const override { return generation; }
  uint64_t generation = 0;
};

// Hands out an OwnTableBackend, seen by the test as `own` and as `fake`.
BackendFactory own_table_factory(const fwd::ForwardingPlan& initial, OwnTableBackend*& own,
                                 FlakyBackend*& fake) {
  return [&initial, &own, &fake](config::ForwardingBackend, const config::Config&)
             -> std::variant<std::unique_ptr<fwd::Backend>, BackendOpenError> {
    auto b = std::make_unique<OwnTableBackend>(initial);
    own = b.get();
    fake = b.get();
    return b;
  };
}

TEST_F(ForwardingModuleTest, AnUnchangedTableIsNotReadBack) {
  OwnTableBackend* own = nullptr;
  auto m = make(own_table_factory(initial_, own, fake_));
  const auto cfg = load(kBase);
  m->start(cfg);
  ASSERT_NE(own, nullptr);
  const std::size_t reads = own->calls().read_back;
  EXPECT_EQ(reads, 1u);  // the first reconcile reads the table
  // A realserver goes down: one DelDest, from lvsd's own copy of the table.
  m->set_plan_inputs(fwd::PlanInputs{[](const config::Service&, const config::RealServer& r) {
                                       return r.address.to_string() == "192.0.2.22"
                                                  ? std::nullopt
                                                  : std::optional(r.weight);
                                     },
                                     {}});
  const std::size_t applies = own->calls().apply;
  m->reconcile("health");
  EXPECT_EQ(own->calls().read_back, reads);
  EXPECT_EQ(own->calls().apply - applies, 1u);
  auto want = fwd::plan_from_config(cfg);
  want.services.at(fwd::service_key(cfg.services[0]))
      .dests.erase(fwd::DestKey{boost::asio::ip::make_address("192.0.2.22"), 80});
  EXPECT_EQ(own->table(), want);
  // Nothing changed since: nothing read, nothing applied.
  m->reconcile("periodic");
  EXPECT_EQ(own->calls().read_back, reads);
  EXPECT_EQ(own->calls().apply - applies, 1u);
  EXPECT_EQ(m->counters().drift_repairs, 0u);
}

TEST_F(ForwardingModuleTest, ATableChangedByAnotherWriterIsReadBackAndRepaired) {
  OwnTableBackend* own = nullptr;
  auto m = make(own_table_factory(initial_, own, fake_));
  const auto cfg = load(kBase);
  m->start(cfg);
  ASSERT_NE(own, nullptr);
  // Someone else's op: the generation moves on.
  const auto svc = fwd::service_key(cfg.services[0]);
  ASSERT_FALSE(own->apply(fwd::DelDest{svc, own->table().services.at(svc).dests.begin()->first}));
  const std::size_t reads = own->calls().read_back;
  m->reconcile("periodic");
  EXPECT_EQ(own->calls().read_back, reads + 1);
  EXPECT_EQ(own->table(), fwd::plan_from_config(cfg));
  EXPECT_EQ(m->counters().drift_repairs, 1u);
  // A failed op leaves lvsd's copy as the backend's table: the next round
  // retries it without reading back.
  const fwd::PlanInputs heavier{[](const config::Service&, const config::RealServer& r) {
                                  return std::optional(r.weight + 1);
                                },
                                {}};
  own->fail_applies = 1;
  m->set_plan_inputs(heavier);
  m->reconcile("health");  // 3 EditDests, the first refused
  EXPECT_EQ(m->counters().ops_failed, 1u);
  m->reconcile("health");
  EXPECT_EQ(own->calls().read_back, reads + 1);
  EXPECT_EQ(own->table(), fwd::plan_from_config(cfg, heavier));
}

}  // namespace
}  // namespace lvsd::modules
