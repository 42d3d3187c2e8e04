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
//
// Lookups: the string API takes Service::key() / RealServer::key() (what
// checker users and operators name). The config-object API (weight,
// sorry_mode, service, realserver) is what the plan asks once per realserver
// on every reconcile: it finds the state by the fields key() formats, hashed
// as binary, and with the positions in the config (service i, realserver j)
// straight from a vector, the position checked against those fields. At
// 10,000 realservers formatting two keys per call was most of a reconcile.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
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

  // forwarding::PlanInputs answers. A service or realserver not in the
  // configured config (e.g. the caller holds a newer one) gets its configured
  // weight and no sorry mode.
  std::optional<uint32_t> weight(const config::Service& s, const config::RealServer& rs,
                                 TimePoint now) const;
  bool sorry_mode(const config::Service& s) const;
  // The same, for s = cfg.services[service_index] and rs =
  // s.realservers[rs_index] of the config passed to configure(): O(1) without
  // hashing. The positions are a hint, checked against s's and rs's keys;
  // a stale one (another config) falls back to the lookup above.
  std::optional<uint32_t> weight(std::size_t service_index, std::size_t rs_index,
                                 const config::Service& s, const config::RealServer& rs,
                                 TimePoint now) const;
  // weight(service_index, j, s, s.realservers[j], now) into out[j] for
  // every j (out resized to s.realservers.size()): the service found once
  // (forwarding::PlanInputs::service_weights).
  void weights(std::size_t service_index, const config::Service& s, TimePoint now,
               std::vector<std::optional<uint32_t>>& out) const;

  // When the next slow-start weight step is due (the caller re-plans then).
  std::optional<TimePoint> next_change(TimePoint now) const;

  // nullptr when unknown. Pointers stay valid until the next configure().
  const RsStatus* realserver(const std::string& service, const std::string& realserver) const;
  const ServiceStatus* service(const std::string& service) const;
  const RsStatus* realserver(const config::Service& s, const config::RealServer& rs) const;
  const ServiceStatus* service(const config::Service& s) const;
  // Positional, as weight() above.
  const RsStatus* realserver(std::size_t service_index, std::size_t rs_index,
                             const config::Service& s, const config::RealServer& rs) const;
  const ServiceStatus* service(std::size_t service_index, const config::Service& s) const;

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  // What Service::key() / RealServer::key() format, unformatted: equal ids
  // <=> equal keys.
  struct SvcId {
    uint32_t fwmark = 0;
    config::Family family = config::Family::inet;  // fwmark services only
    config::Protocol protocol = config::Protocol::tcp;
    std::optional<config::Address> address;
    uint16_t port = 0;
    bool operator==(const SvcId&) const = default;
  };
  struct RsId {
    config::Address address;
    uint16_t port = 0;
    bool operator==(const RsId&) const = default;
  };
  static SvcId id_of(const config::Service& s);
  static RsId id_of(const config::RealServer& rs) { return {rs.address, rs.port}; }
  struct IdHash {
    std::size_t operator()(const SvcId& id) const;
    std::size_t operator()(const RsId& id) const;
  };

  struct Svc {
    config::Service cfg;
    ServiceStatus status;
    bool evaluated = false;
    // The state of each distinct enabled realserver, in config order.
    std::vector<RsStatus> rs;
    // Per cfg.realservers[j]: its index in rs, npos when disabled.
    std::vector<std::size_t> slot;
    std::unordered_map<std::string, std::size_t> by_key;  // RealServer::key() -> rs
    std::unordered_map<RsId, std::size_t, IdHash> by_id;  // -> rs
  };
  uint32_t base_weight(const Svc& svc, const config::RealServer& rs, const RsStatus& st) const;
  // Recomputes st.state from healthy/admin; true when it changed.
  static bool update_state(RsStatus& st, TimePoint now);
  std::vector<HealthEvent> evaluate_quorum(Svc& svc, TimePoint now);
  std::optional<uint32_t> weight_of(const Svc* svc, const RsStatus* st, const config::Service& s,
                                    const config::RealServer& rs, TimePoint now) const;

  // Lookups (nullptr: unknown).
  Svc* find(const std::string& service);
  const Svc* find(const config::Service& s) const;
  const Svc* find(std::size_t service_index, const config::Service& s) const;
  static RsStatus* find(Svc& svc, const std::string& realserver);
  static const RsStatus* find(const Svc& svc, const config::RealServer& rs);
  static const RsStatus* find(const Svc& svc, std::size_t rs_index, const config::RealServer& rs);

  // The distinct services of the config, in config order (the first of
  // duplicates: the loader rejects them, a hand-made config may not).
  std::vector<Svc> services_;
  std::unordered_map<std::string, std::size_t> by_key_;  // Service::key() -> services_
  std::unordered_map<SvcId, std::size_t, IdHash> by_id_;
};

}  // namespace lvsd::checkers
