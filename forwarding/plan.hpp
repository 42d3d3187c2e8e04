// ForwardingPlan: the desired (or observed) forwarding table as a value, and
// the delta between two plans as an ordered list of operations that a backend
// applies one by one. Pure: no I/O.
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "forwarding/model.hpp"

namespace lvsd::forwarding {

struct ServiceEntry {
  VirtualService service;               // service.key == the map key
  std::map<DestKey, RealServer> dests;  // each dest.key() == its map key
  bool operator==(const ServiceEntry&) const = default;
};

struct ForwardingPlan {
  std::map<ServiceKey, ServiceEntry> services;

  // Insert or replace a service (its dests are kept when it already exists).
  ServiceEntry& put(const VirtualService& service);
  // Insert or replace a dest of an existing service (std::out_of_range otherwise).
  void put(const ServiceKey& service, const RealServer& dest);
  std::size_t dest_count() const;

  bool operator==(const ForwardingPlan&) const = default;
};

// Operations, each with the full values the backend needs for its message.
struct AddService {
  VirtualService service;
  bool operator==(const AddService&) const = default;
};
struct EditService {  // same key; scheduler, flags, persistence or pe changed
  VirtualService service;
  VirtualService before;  // for logs; backends ignore it
  bool operator==(const EditService&) const = default;
};
// Removes the service; ip_vs removes its remaining dests with it, but
// compute_delta emits a DelDest for each of them first.
struct DelService {
  ServiceKey service;
  bool operator==(const DelService&) const = default;
};
struct AddDest {
  ServiceKey service;
  RealServer dest;
  bool operator==(const AddDest&) const = default;
};
struct EditDest {  // same address:port; weight, method, tunnel or thresholds changed
  ServiceKey service;
  RealServer dest;
  RealServer before;  // for logs; backends ignore it
  bool operator==(const EditDest&) const = default;
};
struct DelDest {
  ServiceKey service;
  DestKey dest;
  bool operator==(const DelDest&) const = default;
};

using PlanOp = std::variant<AddService, EditService, DelService, AddDest, EditDest, DelDest>;
using PlanDelta = std::vector<PlanOp>;

// The operations that turn `current` into `desired`. Identical plans give an
// empty delta. Order (each group sorted by service key, then dest key), chosen
// so the ops apply one by one to ip_vs without a transient error and so a
// service never goes through a moment without dests when its set changes:
//   1. AddService   (new keys)
//   2. EditService  (same key, other attributes changed)
//   3. AddDest      (new dests, in new and existing services)
//   4. EditDest     (same key, other attributes changed)
//   5. DelDest      (dests gone, including every dest of a service going away)
//   6. DelService
// A change of a key field (protocol, address, port, fwmark, family of a
// service; address or port of a dest) is a delete plus an add.
PlanDelta compute_delta(const ForwardingPlan& current, const ForwardingPlan& desired);

// Applies one op to `plan` with ip_vs's semantics (see backend.hpp): EEXIST for
// AddService/AddDest on an existing entry, ESRCH for any op naming an absent
// service (except AddService), ENOENT for EditDest/DelDest of an absent dest.
// Returns {} on success; on error `plan` is unchanged. Only these structural
// checks: value checks (scheduler names, ranges, families) are the backend's.
std::error_code apply_op(ForwardingPlan& plan, const PlanOp& op);

// Applies every op in order; throws std::invalid_argument naming the op and the
// error when one does not fit. (Not named `apply`: PlanDelta is a std::vector,
// so an unqualified apply(plan, delta) would find std::apply by ADL.)
ForwardingPlan apply_delta(ForwardingPlan plan, const PlanDelta& delta);

// For logs, key=value style:
//   op=add_service service="TCP 192.0.2.200:80" scheduler=wlc persistence=300s netmask=...
std::string to_string(const PlanOp& op);
std::string to_string(const VirtualService& s);  // key=value attributes, no op
std::string to_string(const RealServer& d);      // key=value attributes, no op
// The table, one line per service and per dest, ipvsadm -Ln style.
std::string to_string(const ForwardingPlan& plan);

std::ostream& operator<<(std::ostream& os, const AddService& op);
std::ostream& operator<<(std::ostream& os, const EditService& op);
std::ostream& operator<<(std::ostream& os, const DelService& op);
std::ostream& operator<<(std::ostream& os, const AddDest& op);
std::ostream& operator<<(std::ostream& os, const EditDest& op);
std::ostream& operator<<(std::ostream& os, const DelDest& op);
std::ostream& operator<<(std::ostream& os, const ForwardingPlan& plan);

}  // namespace lvsd::forwarding
