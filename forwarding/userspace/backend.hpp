// UserspaceBackend: the forwarding::Backend of lvsd's own engine. It keeps
// the table as ip_vs would (same operations, same errnos, see backend.hpp),
// and on commit() publishes it to the dataplane (a new Snapshot) and brings
// the steering rules in line. A background thread keeps the L2 facts of DR
// and TUN realservers fresh (MAC, interface, MTU, source address) and
// republishes when they change.
//
// Lifetime: open() installs nothing but the queues; the first commit()
// installs the rules. The destructor stops the dataplane and removes every
// rule lvsd made (the engine cannot keep forwarding without lvsd, unlike
// ip_vs, so on_stop: keep does not apply to it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "forwarding/backend.hpp"
#include "forwarding/userspace/dataplane.hpp"
#include "forwarding/userspace/engine.hpp"
#include "forwarding/userspace/l2_resolver.hpp"
#include "forwarding/userspace/steering.hpp"

namespace lvsd::forwarding::userspace {

struct UserspaceOptions {
  DataplaneOptions dataplane;
  EngineLimits limits;
  std::string iptables = "iptables";
  std::string ip6tables = "ip6tables";
  std::string ipset = "ipset";
  bool manage_forwarding_sysctl = true;  // NAT needs net.ipv4.ip_forward (ipv6 forwarding)
};

class UserspaceBackend : public Backend {
 public:
  static std::unique_ptr<UserspaceBackend> open(const UserspaceOptions& options,
                                                std::string& error);
  ~UserspaceBackend() override;

  std::string_view name() const override { return "userspace"; }
  Result<BackendInfo> info() override;
  std::error_code apply(const PlanOp& op) override;
  std::error_code commit() override;
  Result<ReadBack> read_back() override;
  // lvsd is the only writer of this table: bumped by every successful apply().
  std::optional<uint64_t> table_generation() const override;
  std::error_code set_timeouts(const Timeouts& t) override;
  Result<Timeouts> get_timeouts() override;
  std::error_code start_sync_daemon(const SyncDaemonConfig& c) override;
  std::error_code stop_sync_daemon(SyncState state) override;
  Result<std::vector<SyncDaemonConfig>> sync_daemons() override;

  std::map<std::string, uint64_t> engine_counters() const override;

  // Connection sync's handle on the dataplane.
  SyncChannel& sync_channel() { return engine_->sync_channel(); }

 private:
  explicit UserspaceBackend(const UserspaceOptions& options);
  void publish_locked();
  void resolver_loop();

  UserspaceOptions options_;
  SnapshotSlot slot_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Dataplane> dataplane_;
  Steering steering_;
  std::string steering_error_;
  // Control thread only: the steering targets of plan_ as of the last
  // commit(), ordered by service key, updated service by service.
  std::vector<SteeringTarget> targets_;

  mutable std::mutex mu_;  // plan_, timeouts_, l2_ (the resolver thread reads them)
  ForwardingPlan plan_;
  uint64_t generation_ = 0;
  std::set<ServiceKey> touched_;  // services apply() changed since the last commit()
  Timeouts timeouts_;
  std::map<Address, L2Info> l2_;
  // What publish_locked() hands the dataplane: per service, the entry as of
  // the last commit() (shared between snapshots until the service changes),
  // and l2_ as of its last change.
  std::map<ServiceKey, std::shared_ptr<const ServiceEntry>> published_services_;
  std::shared_ptr<const L2Map> published_l2_ = std::make_shared<const L2Map>();
  bool l2_changed_ = false;
  std::set<std::string> accept_local_;                  // interfaces set up for NAT replies
  std::set<std::pair<Address, Address>> arp_problems_;  // (realserver, VIP) answering ARP
  uint64_t published_ = 0;
  bool dirty_ = false;

  std::thread resolver_;
  std::condition_variable resolver_cv_;
  bool resolver_stop_ = false;
  bool kick_ = false;  // commit() asks for a resolution now

  // Rates (ip_vs estimates them; here: from counter deltas between read-backs).
  struct RateSample {
    std::chrono::steady_clock::time_point at;
    Stats stats;
    Stats rates;
  };
  std::map<std::pair<ServiceKey, DestKey>, RateSample> rates_;
  std::map<ServiceKey, RateSample> service_rates_;
};

}  // namespace lvsd::forwarding::userspace
