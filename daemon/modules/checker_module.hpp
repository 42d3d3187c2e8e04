#pragma once
// The checker module: runs one CheckerBase per distinct (target, check) pair —
// identical checks of the same realserver shared by several services run once
// — feeds their verdicts into HealthState, and hands the forwarding module
// the resulting effective weights and sorry modes (a re-plan per change).
// Every transition is logged once and published as an event; `checks` on the
// status socket lists every checker; the `services` view gets health columns.
// A reload keeps the state of every checker whose target and check are
// unchanged.
//
// The `realserver` command is the operator's runtime control (HAProxy's
// `set server ... state ready|drain|maint` and `set weight`, ipvsadm -e -w):
//   {"command":"realserver","service":S,"realserver":R}            the state
//   ... "admin":"ready"|"drain"|"maint"                               set it
//   ... "weight":N (0..65535) | null | "reset"                        override
// S is a service name, its key ("tcp 192.0.2.200:80") or its address:port
// when that is unique; R is "addr:port", "[v6]:port" or an address alone
// when the service has it once. A change goes through HealthState like a
// check verdict (logged once, an `admin` event, one re-plan). Runtime state
// survives reloads for realservers that stay, not a restart.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "checkers/checker_base.hpp"
#include "checkers/clock.hpp"
#include "checkers/health_state.hpp"
#include "daemon/core/event_bus.hpp"
#include "daemon/core/module.hpp"
#include "daemon/modules/forwarding_module.hpp"

namespace lvsd::modules {

class CheckerModule : public core::Module {
 public:
  // `forwarding` must outlive this module; add this module before it so the
  // forwarding module's first plan already has the health inputs.
  using ProbeFactory = std::function<std::unique_ptr<checkers::Probe>(
      boost::asio::io_context&, const config::Check&, const checkers::ProbeTarget&)>;
  CheckerModule(boost::asio::io_context& io, core::EventBus& events, ForwardingModule& forwarding,
                checkers::Clock& clock, ProbeFactory probes = checkers::make_probe);
  ~CheckerModule() override;

  std::string_view name() const override { return "checkers"; }
  void start(const config::Config& cfg) override;
  void reconfigure(const config::Config& cfg, const config::ConfigDiff& diff) override;
  void stop() override;
  void register_commands(core::StatusServer& server) override;
  nlohmann::json snapshot() const override;

  const checkers::HealthState& health() const { return health_; }
  std::size_t checker_count() const { return entries_.size(); }

 private:
  struct User {
    std::string service;     // config::Service::key()
    std::string realserver;  // config::RealServer::key()
  };
  struct Entry {
    checkers::ProbeTarget target;
    config::Check check;
    std::unique_ptr<checkers::CheckerBase> checker;
    std::vector<User> users;
  };

  void build(const config::Config& cfg);
  void on_transition(Entry& e, const checkers::Transition& t);
  void on_result(Entry& e, const checkers::ProbeResult& r);
  void handle(const std::vector<checkers::HealthEvent>& events);
  // Re-plans the forwarding table. Health transitions (`now` false) share a
  // coalesced reconcile (ForwardingModule::reconcile_soon: a burst of them
  // costs one round); an operator's command (`now` true) is applied before
  // its answer is sent.
  void replan(std::string_view why, bool now = false);
  // Runs a service's on_up / on_down command without waiting for it.
  void run_quorum_command(const std::string& service, bool up);
  void arm_slow_start();
  nlohmann::json rs_health(const std::string& service, const std::string& realserver) const;
  // The `realserver` status command (throws core::CommandError).
  nlohmann::json realserver_command(const nlohmann::json& request);
  const config::Service& find_service(const std::string& what) const;
  static const config::RealServer& find_realserver(const config::Service& s,
                                                   const std::string& what);
  static std::string fingerprint(const checkers::ProbeTarget& t, const config::Check& c);

  boost::asio::io_context& io_;
  core::EventBus& events_;
  ForwardingModule& forwarding_;
  checkers::Clock& clock_;
  ProbeFactory probes_;
  config::Config cfg_;
  checkers::HealthState health_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::map<std::string, Entry*> by_user_;  // "service|realserver" -> its checker
  boost::asio::steady_timer slow_start_timer_;
  bool stopped_ = false;
  uint64_t transitions_ = 0;
  // Quorum commands in flight (run through the misc probe: same privilege
  // drop, timeout and asynchronous reaping as misc checks).
  std::map<uint64_t, std::unique_ptr<checkers::Probe>> commands_;
  uint64_t next_command_ = 0;
};

}  // namespace lvsd::modules
