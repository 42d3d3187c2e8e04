#include "daemon/modules/backend_factory.hpp"

#include "forwarding/ipvs/backend.hpp"

namespace lvsd::modules {

BackendFactory default_backend_factory() {
  return [](config::ForwardingBackend kind)
             -> std::variant<std::unique_ptr<forwarding::Backend>, BackendOpenError> {
    switch (kind) {
      case config::ForwardingBackend::ipvs: {
        auto opened = forwarding::ipvs::IpvsBackend::open();
        if (!opened) return BackendOpenError{opened.error().message};
        return std::unique_ptr<forwarding::Backend>(std::move(*opened));
      }
      case config::ForwardingBackend::userspace:
        return BackendOpenError{"the userspace engine is not part of this build yet"};
      case config::ForwardingBackend::automatic:
        break;
    }
    return BackendOpenError{"no backend of that kind"};
  };
}

}  // namespace lvsd::modules
