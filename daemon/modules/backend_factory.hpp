#pragma once
// The production BackendFactory: `ipvs` opens the kernel's ip_vs over generic
// netlink; `userspace` is lvsd's own NFQUEUE engine (not built yet, so it
// answers with an error that says so).
#include "daemon/modules/forwarding_module.hpp"

namespace lvsd::modules {

BackendFactory default_backend_factory();

}  // namespace lvsd::modules
