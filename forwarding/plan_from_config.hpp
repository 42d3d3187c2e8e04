// The desired forwarding table from the typed config: every service with its
// enabled realservers. Health, quorum and runtime operations come in through
// PlanInputs, so the checker module can feed effective weights later without
// changing this function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

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
  // The weight question for all realservers of config.services[service_index]
  // at once: out[j] (out is resized to s.realservers.size()) for
  // s.realservers[j], read only for enabled ones. Used instead of `weight`
  // when set. For a provider that keeps its state in config order
  // (checkers::HealthState): no lookup and one clock reading per service
  // instead of per realserver, 10,000 times per reconcile at scale.
  std::function<void(std::size_t service_index, const config::Service& s,
                     std::vector<std::optional<uint32_t>>& out)>
      service_weights{};  // {}: PlanInputs{w, s} is no -Wmissing-field-initializers
};

ForwardingPlan plan_from_config(const config::Config& config, const PlanInputs& inputs = {});

// The pieces, for callers that need one service (and for tests).
ServiceKey service_key(const config::Service& s);
VirtualService virtual_service(const config::Service& s);
RealServer real_server(const config::Service& s, const config::RealServer& rs);
RealServer sorry_real_server(const config::Service& s, const config::SorryServer& sorry);
Timeouts timeouts_from_config(const config::Forwarding& f);

}  // namespace lvsd::forwarding
