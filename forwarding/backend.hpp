// forwarding::Backend: what programs the dataplane (kernel ip_vs over generic
// netlink, lvsd's userspace engine, or the in-memory FakeBackend in tests).
//
// Errors are std::error_code in std::generic_category() carrying the errno the
// kernel's ip_vs returns (the userspace engine and the fake return the same
// ones). Facts quoted from ../shared/specs/wire.md §2 unless marked "kernel"
// (from ip_vs_ctl.c / ip_vs_sync.c, not in wire.md). Which call can return what:
//
//   apply(AddService)   EEXIST  "NEW_SERVICE ... −EEXIST if present"
//                       ENOENT  scheduler (or pe) name unknown (kernel: scheduler lookup fails)
//                       EINVAL  IPv6 "NETMASK = prefix length 1..128 (else −EINVAL)"
//   apply(EditService)  ESRCH   "SET_SERVICE ... −ESRCH if absent (all service-keyed cmds
//                               except NEW_SERVICE)"; ENOENT, EINVAL as for AddService
//   apply(DelService)   ESRCH   (service-keyed) — the kernel removes the remaining dests too
//   apply(AddDest)      ESRCH   service absent
//                       EEXIST  dest present (kernel ip_vs_add_dest: "dest already exists")
//                       EINVAL  "a dest of another family is accepted only with FWD_METHOD
//                               TUNNEL and only while no sync daemon runs (−EINVAL otherwise)";
//                               GUE tunnel with port 0 (kernel)
//                       ERANGE  weight > INT_MAX ("WEIGHT u32 (0..INT_MAX)"), or lower
//                               threshold > upper threshold, even with upper 0 (kernel)
//   apply(EditDest)     ESRCH   service absent; ENOENT dest absent (kernel); EINVAL, ERANGE
//                               as for AddDest
//   apply(DelDest)      ESRCH   service absent; ENOENT dest absent (kernel)
//   set_timeouts        EINVAL  a timeout above INT_MAX/HZ seconds (kernel); 0 = leave as is
//   start_sync_daemon   EEXIST  "starting one already running ⇒ −EEXIST" (master and backup
//                               may run together); EINVAL "sync is refused when mixed-family
//                               dests exist"; ENODEV unknown interface (kernel)
//   stop_sync_daemon    ESRCH   none of that state running (kernel stop_sync_thread)
//   any call            EPERM   without CAP_NET_ADMIN ("All ops carry GENL_ADMIN_PERM");
//                       EIO/EPROTO  a backend's own transport failure or malformed reply
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "forwarding/model.hpp"
#include "forwarding/plan.hpp"

namespace lvsd::forwarding {

// A value or an error: std::expected<T, std::error_code> until C++23.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}     // NOLINT(google-explicit-constructor)
  Result(std::error_code error) : v_(error) {}  // NOLINT(google-explicit-constructor)
  Result(std::errc error) : v_(std::make_error_code(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  // {} when there is a value.
  std::error_code error() const { return has_value() ? std::error_code{} : std::get<1>(v_); }

 private:
  std::variant<T, std::error_code> v_;
};

// Counters of a service or dest (ip_vs STATS64; rates are per second, bytes
// rates in bytes/s, as ip_vs estimates them).
struct Stats {
  uint64_t conns = 0;
  uint64_t inpkts = 0;
  uint64_t outpkts = 0;
  uint64_t inbytes = 0;
  uint64_t outbytes = 0;
  uint64_t cps = 0;
  uint64_t inpps = 0;
  uint64_t outpps = 0;
  uint64_t inbps = 0;
  uint64_t outbps = 0;
  bool operator==(const Stats&) const = default;
};

struct DestStatus {
  Stats stats;
  uint32_t active_conns = 0;
  uint32_t inactive_conns = 0;
  uint32_t persistent_conns = 0;
  bool operator==(const DestStatus&) const = default;
};

struct ServiceStatus {
  Stats stats;
  std::map<DestKey, DestStatus> dests;  // same keys as the plan's dests
  bool operator==(const ServiceStatus&) const = default;
};

// The table as the backend has it, with its counters.
struct ReadBack {
  ForwardingPlan plan;
  std::map<ServiceKey, ServiceStatus> status;  // same keys as plan.services
  bool operator==(const ReadBack&) const = default;
};

enum class SyncState : uint8_t { master = 1, backup = 2 };  // IPVS_DAEMON_ATTR_STATE values

inline std::string_view to_string(SyncState s) {
  return s == SyncState::backup ? "backup" : "master";
}

struct SyncDaemonConfig {
  SyncState state = SyncState::master;
  std::string interface;  // multicast interface, < IFNAMSIZ
  uint8_t syncid = 0;
  uint16_t maxlen = 0;  // 0 = the kernel's choice (from the MTU)
  Address group = boost::asio::ip::make_address_v4("224.0.0.81");
  uint16_t port = 8848;  // the kernel sends to port + syncid
  uint8_t ttl = 1;
  bool operator==(const SyncDaemonConfig&) const = default;
};

struct BackendInfo {
  std::string version;           // "1.2.1"
  uint32_t conn_table_size = 0;  // buckets of the connection hash table
  bool operator==(const BackendInfo&) const = default;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // "ipvs", "userspace", "fake".
  virtual std::string_view name() const = 0;
  virtual Result<BackendInfo> info() = 0;

  // One operation of a PlanDelta; {} on success. Errors above.
  virtual std::error_code apply(const PlanOp& op) = 0;
  // Called after a batch of apply() calls (a reconciliation): a backend that
  // stages changes makes them effective here (the userspace engine publishes
  // one snapshot and updates its steering rules once). ip_vs applies each op
  // at once, so by default there is nothing to do.
  virtual std::error_code commit() { return {}; }
  // The whole table with its counters.
  virtual Result<ReadBack> read_back() = 0;
  // For a backend that is the only writer of its table (lvsd's userspace
  // engine): a number that changes with every successful apply(). A caller
  // that kept its own copy of the table in step with its successful ops
  // knows the table without reading it back while the number is the one it
  // saw last (a reconcile at 10,000 realservers then does not copy the table
  // and its counters). nullopt (the default, ip_vs): others may change the
  // table (ipvsadm, keepalived), read it back.
  virtual std::optional<uint64_t> table_generation() const { return std::nullopt; }

  virtual std::error_code set_timeouts(const Timeouts& t) = 0;
  virtual Result<Timeouts> get_timeouts() = 0;

  virtual std::error_code start_sync_daemon(const SyncDaemonConfig& c) = 0;
  virtual std::error_code stop_sync_daemon(SyncState state) = 0;
  virtual Result<std::vector<SyncDaemonConfig>> sync_daemons() = 0;

  // Counters of the backend's own machinery (the userspace engine's drops
  // and queues), by name; empty when the backend has none (ip_vs).
  virtual std::map<std::string, uint64_t> engine_counters() const { return {}; }
};

struct OpFailure {
  std::size_t index = 0;  // position in the delta
  PlanOp op;
  std::error_code error;
};

// Applies every op of `delta` in order, going on after a failure (a later op
// may still succeed; the next reconciliation repairs the rest). Returns the
// failures, empty when everything applied.
inline std::vector<OpFailure> apply_all(Backend& backend, const PlanDelta& delta) {
  std::vector<OpFailure> failures;
  for (std::size_t i = 0; i < delta.size(); ++i) {
    if (auto ec = backend.apply(delta[i])) failures.push_back(OpFailure{i, delta[i], ec});
  }
  return failures;
}

}  // namespace lvsd::forwarding
