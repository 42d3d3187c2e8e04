#pragma once
// JSON views of the running config for the `services`, `vrrp` and `sync`
// status commands, used until a runtime module registers its own view (which
// adds health, counters and VRRP state to the same shapes). Each carries
// "source":"config" so clients can tell configured from observed state.
#include <nlohmann/json.hpp>

#include "daemon/config/config.hpp"

namespace lvsd::core {

nlohmann::json service_json(const config::Service& s);
nlohmann::json services_view(const config::Config& cfg);
nlohmann::json vrrp_view(const config::Config& cfg);
nlohmann::json sync_view(const config::Config& cfg);

}  // namespace lvsd::core
