#pragma once
// HealthState: the pure part of "health decides which realservers get
// traffic". Fed checker verdicts (and runtime operations) plus `now`, it keeps
// each realserver's state and each service's quorum, and answers the two
// questions the forwarding plan asks (forwarding::PlanInputs): the effective
// weight of a realserver (none = leave it out) and whether a service is in
// sorry mode.
//
// Rules (keepalived's, made explicit):
//  - A realserver without a check is always up. With a check it starts up,
//    or down when the check has `alpha` (then its first success brings it up).
//  - Down: left out of the plan, or kept with weight 0 when the service has
//    inhibit_on_failure. Draining: weight 0, existing connections kept.
//  - Runtime administration (an operator's drain / maint / ready, HAProxy's
//    `set server ... state`): `drain` makes a healthy realserver draining;
//    `maint` takes it out like a failed one (left out, or weight 0 with
//    inhibit_on_failure) whatever its checks say; `ready` hands it back to its
//    checks. Checks keep running meanwhile, so `healthy` stays the truth.
//    The effective state is maint > down > draining > up.
//  - Weight: a runtime weight override (ipvsadm -e -w, HAProxy's
//    `set weight`) wins over a dynamic weight (misc checks with
//    dynamic_weight), which wins over the configured weight: an operator's
//    explicit choice beats automation until it is reset.
//  - Slow start: for `slow_start` after coming up (a check success, or
//    leaving maint, as HAProxy does), the weight ramps linearly from 1 to its
//    full value. Leaving drain does not ramp: the realserver never went away.
//  - Quorum: the sum of the weights of up realservers (draining, maint and
//    down ones do not count; an override counts with its value). A service that is up
//    goes down when the sum falls below quorum.weight - hysteresis; a service
//    that is down comes up when it reaches quorum.weight + hysteresis. The
//    first evaluation uses quorum.weight alone.
//  - Sorry mode = quorum down and a sorry server configured: the plan holds
//    the sorry server alone, switched in one plan update.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config/config.hpp"

namespace lvsd::checkers {

using TimePoint = std::chrono::steady_clock::time_point;

// The effective state: what the plan does with the realserver.
enum class RsState { up, down, draining, maint };
std::string_view to_string(RsState s);

// The operator's runtime state of a realserver (not in the config file).
enum class AdminState { ready, drain, maint };
std::string_view to_string(AdminState s);
std::optional<AdminState> parse_admin_state(std::string_view s);

struct RsStatus {
  RsState state = RsState::up;  // effective: from `healthy` and `admin`
  bool checked = false;         // has a health check
  bool healthy = true;          // the checks' verdict (always true without a check)
  TimePoint since{};            // of the current effective state
  TimePoint up_since{};         // last transition to up (slow start)
  std::optional<uint32_t> dynamic_weight;
  AdminState admin = AdminState::ready;     // runtime, kept across reloads
  std::optional<uint32_t> weight_override;  // runtime, kept across reloads
  std::string reason;                       // of the last health transition
  uint32_t flaps = 0;                       // health transitions so far
};

struct ServiceStatus {
  bool quorum_up = true;
  uint64_t healthy_weight = 0;
  TimePoint since{};
};

struct HealthEvent {
  enum class Kind { rs_up, rs_down, quorum_up, quorum_down } kind;
  std::string service;     // Service::key()
  std::string realserver;  // RealServer::key(), "" for quorum events
  std::string reason;
  bool operator==(const HealthEvent&) const = default;
};

class HealthState {
 public:
  // Adopts a config. Realservers and services present before (same keys)
  // keep their state; new ones start per the rules above. Returns the quorum
  // events of services whose quorum changed (e.g. a realserver was removed).
  std::vector<HealthEvent> configure(const config::Config& cfg, TimePoint now);

  // A checker's verdict for one realserver of one service.
  std::vector<HealthEvent> set_health(const std::string& service, const std::string& realserver,
                                      bool up, const std::string& reason, TimePoint now);
  std::vector<HealthEvent> set_dynamic_weight(const std::string& service,
                                              const std::string& realserver,
                                              std::optional<uint32_t> weight, TimePoint now);
  // Runtime operations. Unknown keys are ignored (the caller resolves names
  // first); the returned events are quorum changes. `change` sets the admin
  // state and/or the weight override with one quorum evaluation, so a
  // combined request cannot report a quorum flap in between.
  struct RuntimeChange {
    std::optional<AdminState> admin;  // unset: keep
    bool set_weight = false;          // false: keep the override
    std::optional<uint32_t> weight;   // with set_weight: the override, nullopt = reset
  };
  std::vector<HealthEvent> change(const std::string& service, const std::string& realserver,
                                  const RuntimeChange& c, TimePoint now);
  std::vector<HealthEvent> set_admin(const std::string& service, const std::string& realserver,
                                     AdminState admin, TimePoint now);
  // nullopt = back to the dynamic or configured weight.
  std::vector<HealthEvent> set_weight_override(const std::string& service,
                                               const std::string& realserver,
                                               std::optional<uint32_t> weight, TimePoint now);

  // forwarding::PlanInputs answers.
  std::optional<uint32_t> weight(const config::Service& s, const config::RealServer& rs,
                                 TimePoint now) const;
  bool sorry_mode(const config::Service& s) const;

  // When the next slow-start weight step is due (the caller re-plans then).
  std::optional<TimePoint> next_change(TimePoint now) const;

  const RsStatus* realserver(const std::string& service, const std::string& realserver) const;
  const ServiceStatus* service(const std::string& service) const;

 private:
  struct Svc {
    config::Service cfg;
    ServiceStatus status;
    bool evaluated = false;
    std::map<std::string, RsStatus> rs;  // by RealServer::key()
  };
  uint32_t base_weight(const Svc& svc, const config::RealServer& rs, const RsStatus& st) const;
  // Recomputes st.state from healthy/admin; true when it changed.
  static bool update_state(RsStatus& st, TimePoint now);
  std::vector<HealthEvent> evaluate_quorum(Svc& svc, TimePoint now);
  const config::RealServer* find_rs(const Svc& svc, const std::string& key) const;

  std::map<std::string, Svc> services_;  // by Service::key()
};

}  // namespace lvsd::checkers
