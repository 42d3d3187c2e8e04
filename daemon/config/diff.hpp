// What changed between two configs, for reload: modules apply only the
// difference, and unchanged services, realservers, checks and VRRP instances
// keep their state. Services are matched by key(), realservers by
// address:port, everything else by name. References are already resolved, so
// a service whose named check changed is itself reported as changed.
#pragma once

#include <string>
#include <vector>

#include "daemon/config/config.hpp"

namespace lvsd::config {

// One changed value: `field` is a key path inside the item
// ("logging.level", "timeouts.tcp", "check.interval"); before/after are the
// values rendered as in the YAML ("none" when absent).
struct FieldChange {
  std::string field;
  std::string before;
  std::string after;
  bool operator==(const FieldChange&) const = default;
};

template <class T>
struct Changed {
  T before;
  T after;
  std::vector<FieldChange> fields;
};

struct ServiceChange {
  Service before;
  Service after;
  std::vector<FieldChange> fields;  // service settings, realservers excluded
  std::vector<RealServer> realservers_added;
  std::vector<RealServer> realservers_removed;
  std::vector<Changed<RealServer>> realservers_changed;
};

struct ConfigDiff {
  std::vector<FieldChange> global;      // e.g. logging.level, status_socket.path
  std::vector<FieldChange> forwarding;  // e.g. backend, timeouts.tcp, userspace.queues
  std::vector<Service> services_added;
  std::vector<Service> services_removed;
  std::vector<ServiceChange> services_changed;
  std::vector<Check> checks_added;
  std::vector<Check> checks_removed;
  std::vector<Changed<Check>> checks_changed;
  std::vector<VrrpInstance> vrrp_instances_added;
  std::vector<VrrpInstance> vrrp_instances_removed;
  std::vector<Changed<VrrpInstance>> vrrp_instances_changed;
  std::vector<VrrpSyncGroup> vrrp_sync_groups_added;
  std::vector<VrrpSyncGroup> vrrp_sync_groups_removed;
  std::vector<Changed<VrrpSyncGroup>> vrrp_sync_groups_changed;
  std::vector<VrrpScript> vrrp_scripts_added;
  std::vector<VrrpScript> vrrp_scripts_removed;
  std::vector<Changed<VrrpScript>> vrrp_scripts_changed;
  std::vector<VrrpTrackFile> vrrp_files_added;
  std::vector<VrrpTrackFile> vrrp_files_removed;
  std::vector<Changed<VrrpTrackFile>> vrrp_files_changed;
  bool sync_added = false;
  bool sync_removed = false;
  std::vector<FieldChange> sync;  // when sync stays configured and changes

  bool empty() const;
  // One log line per change, key=value style, values quoted when needed:
  //   service_added key="tcp 192.0.2.200:80" name=web
  //   realserver_changed service="tcp 192.0.2.200:80" key=192.0.2.21:80 field=weight before=1
  //   after=2
  std::vector<std::string> describe() const;
};

ConfigDiff diff(const Config& before, const Config& after);

}  // namespace lvsd::config
