#include "daemon/modules/backend_factory.hpp"

#include <thread>

#include <spdlog/spdlog.h>

#include "forwarding/ipvs/backend.hpp"
#include "forwarding/userspace/backend.hpp"

namespace lvsd::modules {

namespace us = forwarding::userspace;

us::UserspaceOptions userspace_options(const config::Config& cfg) {
  const auto& u = cfg.forwarding.userspace;
  us::UserspaceOptions o;
  o.dataplane.queue_first = u.queue_base;
  // One dataplane thread serves every queue, so more queues only add polling;
  // 0 (the default) means one queue of each kind.
  unsigned queues = u.queues == 0 ? 1 : u.queues;
  o.dataplane.queue_count = static_cast<uint16_t>(queues);
  o.dataplane.queue_maxlen = u.queue_maxlen;
  o.dataplane.fail_open = u.fail_open;
  o.limits.max_connections = u.max_connections;
  o.limits.syn_recv_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(u.syn_recv_timeout);
  return o;
}

BackendFactory default_backend_factory() {
  return [](config::ForwardingBackend kind, const config::Config& cfg)
             -> std::variant<std::unique_ptr<forwarding::Backend>, BackendOpenError> {
    switch (kind) {
      case config::ForwardingBackend::ipvs: {
        auto opened = forwarding::ipvs::IpvsBackend::open();
        if (!opened) return BackendOpenError{opened.error().message};
        return std::unique_ptr<forwarding::Backend>(std::move(*opened));
      }
      case config::ForwardingBackend::userspace: {
        if (cfg.forwarding.userspace.steering == config::Steering::nftables)
          spdlog::warn("event=userspace_steering_nftables_not_implemented using=iptables");
        std::string error;
        auto b = us::UserspaceBackend::open(userspace_options(cfg), error);
        if (!b) return BackendOpenError{error};
        return std::unique_ptr<forwarding::Backend>(std::move(b));
      }
      case config::ForwardingBackend::automatic:
        break;
    }
    return BackendOpenError{"no backend of that kind"};
  };
}

}  // namespace lvsd::modules
