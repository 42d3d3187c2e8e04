// The desired forwarding table from the typed config: every service with its
// enabled realservers. Health, quorum and runtime operations come in through
// PlanInputs, so the checker module can feed effective weights later without
// changing this function.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "daemon/config/config.hpp"
#include "forwarding/model.hpp"
#include "forwarding/plan.hpp"

namespace lvsd::forwarding {

struct PlanInputs {
  // Effective weight of an enabled realserver, or nullopt to leave it out of
  // the table (failed, removed by a runtime op). Unset: the configured weight.
  // Disabled realservers are never asked and never in the table.
  std::function<std::optional<uint32_t>(const config::Service&, const config::RealServer&)> weight;
  // True when the service has lost its quorum and has a sorry server: its
  // table is then the sorry server alone (weight 1). Unset: never.
  std::function<bool(const config::Service&)> sorry_mode;
};

ForwardingPlan plan_from_config(const config::Config& config, const PlanInputs& inputs = {});

// The pieces, for callers that need one service (and for tests).
ServiceKey service_key(const config::Service& s);
VirtualService virtual_service(const config::Service& s);
RealServer real_server(const config::Service& s, const config::RealServer& rs);
RealServer sorry_real_server(const config::Service& s, const config::SorryServer& sorry);
Timeouts timeouts_from_config(const config::Forwarding& f);

}  // namespace lvsd::forwarding
