// FakeBackend: an in-memory Backend that keeps a table and behaves like the
// kernel's ip_vs per backend.hpp (same errors for the same calls), for tests.
// Tests can set counters, count calls, inject failures and change the table
// "behind lvsd's back" to simulate drift.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "forwarding/backend.hpp"

namespace lvsd::forwarding {

class FakeBackend : public Backend {
 public:
  struct Calls {
    std::size_t info = 0;
    std::size_t apply = 0;
    std::size_t read_back = 0;
    std::size_t set_timeouts = 0;
    std::size_t get_timeouts = 0;
    std::size_t start_sync_daemon = 0;
    std::size_t stop_sync_daemon = 0;
    std::size_t sync_daemons = 0;
    std::size_t total() const;
  };

  explicit FakeBackend(ForwardingPlan initial = {});

  // Backend
  std::string_view name() const override { return "fake"; }
  Result<BackendInfo> info() override;
  std::error_code apply(const PlanOp& op) override;
  Result<ReadBack> read_back() override;
  std::error_code set_timeouts(const Timeouts& t) override;
  Result<Timeouts> get_timeouts() override;
  std::error_code start_sync_daemon(const SyncDaemonConfig& c) override;
  std::error_code stop_sync_daemon(SyncState state) override;
  Result<std::vector<SyncDaemonConfig>> sync_daemons() override;

  // ---- test controls (not part of Backend)

  // The next `n` Backend calls (any but name()) fail with `error` and change
  // nothing; they are still counted.
  void fail_next(std::size_t n, std::errc error);
  // The table, mutable behind lvsd's back (drift). Counters of entries removed
  // by apply() are dropped at once; of entries removed here, at the next
  // read_back().
  ForwardingPlan& table() { return plan_; }
  const ForwardingPlan& table() const { return plan_; }
  // Counters reported by read_back() (zero until set).
  void set_stats(const ServiceKey& service, const Stats& stats);
  void set_dest_status(const ServiceKey& service, const DestKey& dest, const DestStatus& status);
  // Schedulers the "kernel" knows (default: every ip_vs scheduler) and
  // persistence engines (default: "sip").
  void set_schedulers(std::set<std::string> names) { schedulers_ = std::move(names); }
  void set_persistence_engines(std::set<std::string> names) { pes_ = std::move(names); }
  // Interfaces a sync daemon may bind to (default: any name).
  void set_interfaces(std::set<std::string> names) { interfaces_ = std::move(names); }
  void set_info(const BackendInfo& info) { info_ = info; }

  const Calls& calls() const { return calls_; }
  // Every op apply() accepted, in order.
  const PlanDelta& applied() const { return applied_; }

 private:
  bool take_failure(std::error_code& ec);
  std::error_code check_service(const VirtualService& s) const;
  std::error_code check_dest(const ServiceKey& service, const RealServer& d) const;
  bool has_mixed_family_dests() const;

  ForwardingPlan plan_;
  std::map<ServiceKey, ServiceStatus> status_;
  Timeouts timeouts_;
  std::vector<SyncDaemonConfig> daemons_;
  BackendInfo info_{"1.2.1", 4096};
  std::set<std::string> schedulers_;
  std::set<std::string> pes_{"sip"};
  std::set<std::string> interfaces_;  // empty = any
  std::size_t fail_count_ = 0;
  std::errc fail_error_ = std::errc::io_error;
  Calls calls_;
  PlanDelta applied_;
};

}  // namespace lvsd::forwarding
