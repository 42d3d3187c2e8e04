#pragma once
// The production BackendFactory: `ipvs` opens the kernel's ip_vs over generic
// netlink; `userspace` starts lvsd's own NFQUEUE engine with the config's
// forwarding.userspace settings.
#include "daemon/modules/forwarding_module.hpp"
#include "forwarding/userspace/backend.hpp"

namespace lvsd::modules {

BackendFactory default_backend_factory();
forwarding::userspace::UserspaceOptions userspace_options(const config::Config& cfg);

}  // namespace lvsd::modules
