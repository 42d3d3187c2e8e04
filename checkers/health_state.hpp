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
//  - Dynamic weight (misc checks with dynamic_weight) replaces the configured
//    weight while reported.
//  - Slow start: for `slow_start` after coming up, the weight ramps linearly
//    from 1 to its full value.
//  - Quorum: the sum of the weights of up realservers. A service that is up
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

enum class RsState { up, down, draining };
std::string_view to_string(RsState s);

struct RsStatus {
  RsState state = RsState::up;
  bool checked = false;  // has a health check
  TimePoint since{};     // of the current state
  TimePoint up_since{};  // last transition to up (slow start)
  std::optional<uint32_t> dynamic_weight;
  bool drain = false;  // runtime: draining requested
  std::string reason;  // of the last transition
  uint32_t flaps = 0;  // transitions so far
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
  std::vector<HealthEvent> set_drain(const std::string& service, const std::string& realserver,
                                     bool drain, TimePoint now);

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
  std::vector<HealthEvent> evaluate_quorum(Svc& svc, TimePoint now);
  const config::RealServer* find_rs(const Svc& svc, const std::string& key) const;

  std::map<std::string, Svc> services_;  // by Service::key()
};

}  // namespace lvsd::checkers
