#pragma once
// The forwarding module: turns the running config into a ForwardingPlan and
// keeps the dataplane (a forwarding::Backend) equal to it.
//
// Reconciliation (at start, after every reload, and every
// forwarding.reconcile_interval): read the backend's table back, compare the
// part lvsd owns with the plan, and apply the ordered delta. Changes made by
// someone else (ipvsadm) to lvsd's services are repaired, counted and logged
// as drift. Services lvsd does not own (not in the config) are left alone
// unless forwarding.foreign_services is `remove`. On stop the table is kept or
// flushed per forwarding.on_stop.
//
// Backend choice (forwarding.backend): `ipvs` must work or start-up fails with
// the factory's message; `auto` takes ip_vs when it answers, else the
// userspace engine, else runs with no dataplane and says so in the status.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/config/config.hpp"
#include "daemon/core/event_bus.hpp"
#include "daemon/core/module.hpp"
#include "forwarding/backend.hpp"
#include "forwarding/plan_from_config.hpp"

namespace lvsd::modules {

// Opens the backend of the given kind (`ipvs` or `userspace`; never
// `automatic`). An error's message() says why and how to fix it.
struct BackendOpenError {
  std::string message;
};
using BackendFactory =
    std::function<std::variant<std::unique_ptr<forwarding::Backend>, BackendOpenError>(
        config::ForwardingBackend kind, const config::Config& cfg)>;

struct ForwardingCounters {
  std::uint64_t reconciles = 0;       // read-back + compare rounds
  std::uint64_t coalesced = 0;        // reconcile_soon requests served by another's round
  std::uint64_t ops_applied = 0;      // delta operations that succeeded
  std::uint64_t ops_failed = 0;       // delta operations the backend refused
  std::uint64_t drift_repairs = 0;    // successful ops that undid a change made behind our back
  std::uint64_t readback_errors = 0;  // read-backs that failed
  bool operator==(const ForwardingCounters&) const = default;
};

// Where the last reconcile's time went (wall clock, milliseconds): it runs on
// the control thread, which also runs the health checks and the status
// socket, so its cost is shown (`forwarding` status, forwarding_reconciled).
struct ReconcileTiming {
  double total_ms = 0;
  double readback_ms = 0;  // backend read-back of the table
  double plan_ms = 0;      // plan_from_config
  double compare_ms = 0;   // ownership filter, drift and delta
  double apply_ms = 0;     // backend apply() of every op (and their log lines)
  double commit_ms = 0;    // backend commit() (userspace: snapshot + steering)
};

class ForwardingModule : public core::Module {
 public:
  ForwardingModule(boost::asio::io_context& io, core::EventBus& events, BackendFactory factory);
  ~ForwardingModule() override;

  std::string_view name() const override { return "forwarding"; }
  void start(const config::Config& cfg) override;
  void reconfigure(const config::Config& cfg, const config::ConfigDiff& diff) override;
  void stop() override;
  void register_commands(core::StatusServer& server) override;
  nlohmann::json snapshot() const override;

  // Later modules (health checks) feed effective weights and sorry mode here;
  // the next reconcile applies them.
  void set_plan_inputs(forwarding::PlanInputs inputs);
  // Health columns for the services view: a JSON object ({health, since,
  // reason, ...}) for a config service key and realserver key, or null.
  using HealthProvider =
      std::function<nlohmann::json(const std::string& service, const std::string& realserver)>;
  void set_health_provider(HealthProvider provider) { health_provider_ = std::move(provider); }
  // Reconciles now; `why` is logged ("start", "reload", "periodic", "health").
  void reconcile(std::string_view why);
  // Reconciles once the handlers already queued on the io_context have run:
  // requests made meanwhile share that one reconcile (counted as coalesced).
  // For health transitions, which come in bursts (a switch dies: every
  // realserver behind it fails within one check interval): one reconcile
  // per burst instead of one per realserver. A reconcile costs O(table)
  // (~0.25 s at 10,000 realservers), so one each would stall the control
  // loop, delay the other checks past their timeout, and feed the burst.
  void reconcile_soon(std::string_view why);

  const ForwardingCounters& counters() const { return counters_; }
  const ReconcileTiming& last_timing() const { return last_timing_; }
  forwarding::Backend* backend() { return backend_.get(); }

  // The `services` status view: the backend's read-back (with counters)
  // joined with the config's names; `source` names the backend.
  nlohmann::json services_json();

 private:
  void open_backend(const config::Config& cfg);
  void apply_timeouts();
  void arm_timer();
  std::set<forwarding::ServiceKey> owned_keys(const forwarding::ForwardingPlan& desired) const;

  boost::asio::io_context& io_;
  core::EventBus& events_;
  BackendFactory factory_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<forwarding::Backend> backend_;
  std::string backend_note_;  // why there is no backend, or which one was chosen
  std::optional<forwarding::BackendInfo> info_;
  config::Config cfg_;
  forwarding::PlanInputs inputs_;
  HealthProvider health_provider_;
  // Services lvsd programmed (config keys, past and present until removed).
  std::set<forwarding::ServiceKey> owned_;
  // The plan of the last reconcile: a later read-back that differs is drift.
  forwarding::ForwardingPlan applied_;
  bool have_applied_ = false;
  // The backend's whole table as of the end of the last reconcile (its
  // read-back, plus our successful ops since), and the backend's
  // table_generation() then: a reconcile finding the same generation skips
  // the read-back.
  forwarding::ForwardingPlan table_;
  bool have_table_ = false;
  std::optional<uint64_t> table_generation_;
  ForwardingCounters counters_;
  std::string last_error_;
  std::string last_reconcile_;
  std::string last_reason_;
  ReconcileTiming last_timing_;
  double max_reconcile_ms_ = 0;
  bool stopped_ = false;
  bool reconcile_pending_ = false;
  std::string pending_why_;
};

}  // namespace lvsd::modules
