// Snapshot: the forwarding table as the userspace dataplane uses it, built
// on the control side from the ForwardingPlan (plus what the kernel told the
// L2 resolver), immutable once published and swapped atomically. The
// dataplane thread notices a new version between packet batches and brings
// its own live state (schedulers, counters, connections) in line with it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>

#include "forwarding/backend.hpp"
#include "forwarding/plan.hpp"
#include "forwarding/userspace/l2_resolver.hpp"

namespace lvsd::forwarding::userspace {

struct EngineLimits {
  uint32_t max_connections = 1048576;
  std::chrono::milliseconds syn_recv_timeout{10000};
  bool operator==(const EngineLimits&) const = default;
};

using L2Map = std::map<Address, L2Info>;

struct Snapshot {
  uint64_t version = 0;
  // The table, one immutable entry per service. A commit shares the entries
  // of the services it did not touch with the previous snapshot (the same
  // objects), and the dataplane skips those: at 10,000 realservers a
  // one-realserver change copies and re-applies one service, not the table.
  std::map<ServiceKey, std::shared_ptr<const ServiceEntry>> services;
  Timeouts timeouts;
  // Per realserver address (DR and TUN need it): interface, MAC, MTU,
  // source. Shared too; a new object whenever the facts change.
  std::shared_ptr<const L2Map> l2 = std::make_shared<const L2Map>();

  // Sets `services` from a whole plan (a fresh entry per service).
  void set_plan(const ForwardingPlan& plan) {
    services.clear();
    for (const auto& [key, entry] : plan.services)
      services.emplace(key, std::make_shared<const ServiceEntry>(entry));
  }
};

// Single-producer (control) / single-consumer (dataplane) handoff.
class SnapshotSlot {
 public:
  void publish(std::shared_ptr<const Snapshot> s) {
    std::atomic_store_explicit(&current_, std::move(s), std::memory_order_release);
    version_.fetch_add(1, std::memory_order_release);
  }
  // Cheap check for the dataplane's loop.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::shared_ptr<const Snapshot> load() const {
    return std::atomic_load_explicit(&current_, std::memory_order_acquire);
  }

 private:
  std::shared_ptr<const Snapshot> current_;
  std::atomic<uint64_t> version_{0};
};

// Counters written by the dataplane thread only, read by the control thread.
struct LiveCounters {
  std::atomic<uint64_t> conns{0}, inpkts{0}, outpkts{0}, inbytes{0}, outbytes{0};
  std::atomic<uint32_t> active{0}, inactive{0}, persistent{0};

  void add_in(uint64_t bytes) {
    inpkts.store(inpkts.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    inbytes.store(inbytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  }
  void add_out(uint64_t bytes) {
    outpkts.store(outpkts.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    outbytes.store(outbytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  }
  void add_conn() {
    conns.store(conns.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  Stats stats() const {
    Stats s;
    s.conns = conns.load(std::memory_order_relaxed);
    s.inpkts = inpkts.load(std::memory_order_relaxed);
    s.outpkts = outpkts.load(std::memory_order_relaxed);
    s.inbytes = inbytes.load(std::memory_order_relaxed);
    s.outbytes = outbytes.load(std::memory_order_relaxed);
    return s;
  }
};

// Where the control thread finds the counters (published by the dataplane
// after it applied a snapshot; the counter objects are shared, so an index
// stays valid while the dataplane moves on).
struct StatsIndex {
  struct Service {
    std::shared_ptr<LiveCounters> counters;
    std::map<DestKey, std::shared_ptr<LiveCounters>> dests;
  };
  uint64_t snapshot_version = 0;
  std::map<ServiceKey, Service> services;
};

}  // namespace lvsd::forwarding::userspace
