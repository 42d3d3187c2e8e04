// The common interface of lvsd's schedulers: one class per ip_vs scheduler
// (rr wrr lc wlc sed nq sh dh lblc lblcr mh fo ovf twos), each a transcription
// of the kernel's net/netfilter/ipvs/ip_vs_<name>.c (see docs/schedulers.md for
// where lvsd intentionally differs).
//
// A scheduler is told when the service's destination list changes (the
// kernel's add_dest/del_dest/upd_dest hooks, called after the list changed)
// and picks a destination for the first packet of a new connection. It never
// picks a destination of weight 0; all but lblc's cache hit and sh/dh/mh's
// table lookups also skip overloaded destinations (the hashing ones return
// "none", or fall back with the fallback flag).
//
// Use ScheduledService, which keeps a DestList and its scheduler in step.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "forwarding/model.hpp"
#include "forwarding/schedulers/dest.hpp"

namespace lvsd::forwarding::schedulers {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string_view name() const = 0;

  // The scheduler is attached to a service that has `dests` (init_service).
  virtual void init(const DestList& dests) { (void)dests; }

  // `dests` is the list after the change.
  virtual void dest_added(const DestList& dests, std::size_t index) { (void)dests, (void)index; }
  // `old_index` is where `removed` was before it was unlinked.
  virtual void dest_removed(const DestList& dests, std::size_t old_index, const Dest& removed) {
    (void)dests, (void)old_index, (void)removed;
  }
  // Weight or thresholds edited (called on every edit, like upd_dest).
  virtual void dest_updated(const DestList& dests, std::size_t index) { (void)dests, (void)index; }

  // Index of the destination for a new connection, or nullopt when none is
  // available ("no destination available" in the kernel's log).
  virtual std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) = 0;
};

struct MhOptions {
  // Lookup table size; must be a prime >= the number of destinations. The
  // kernel uses primes[CONFIG_IP_VS_MH_TAB_INDEX - 8] of {251, 509, 1021,
  // 2039, 4093, 8191, 16381, 32749, 65521, 131071}: 4093 with the default
  // index 12 (Debian's). lvsd defaults to 65537 (the Maglev paper's size).
  uint32_t table_size = 65537;
  // Build the table from the destinations sorted by address:port instead of
  // list order: two directors with the same realservers and weights then
  // compute the same table whatever order the destinations were added in.
  // false = the kernel's order (newest first), bit-identical to ip_vs_mh with
  // the kernel's table size.
  bool canonical_order = true;
  // IP_VS_MH_TAB_BITS: weights/gcd are shifted right so the largest fits in
  // this many bits (kernel: CONFIG_IP_VS_MH_TAB_INDEX / 2 = 6).
  int weight_bits = 6;

  static MhOptions kernel() { return MhOptions{4093, false, 6}; }
};

struct SchedulerOptions {
  SchedulerFlags flags;  // sh and mh: fallback, port
  MhOptions mh;
  // lblc/lblcr: a cache entry unused this long is dropped (sysctl
  // lblc_expiration / lblcr_expiration; lblcr also drops the most loaded
  // member of a set not modified for this long).
  std::chrono::steady_clock::duration lblc_expiration = std::chrono::hours(24);
  // twos: 0 = seed from std::random_device.
  uint64_t twos_seed = 0;
};

// The scheduler called `name` (the ip_vs name), or nullptr if unknown.
std::unique_ptr<Scheduler> make_scheduler(std::string_view name,
                                          const SchedulerOptions& options = {});
// Every name make_scheduler accepts.
std::span<const std::string_view> scheduler_names();

// A service's destination list with its scheduler, kept in step.
class ScheduledService {
 public:
  explicit ScheduledService(std::unique_ptr<Scheduler> scheduler);
  ScheduledService(std::string_view scheduler_name, const SchedulerOptions& options = {});

  const DestList& dests() const { return dests_; }
  Scheduler& scheduler() { return *scheduler_; }

  // add_dest / edit_dest / del_dest. add throws std::invalid_argument if the
  // destination exists; update and remove return false if it does not.
  void add(const RealServer& rs);
  bool update(const RealServer& rs);
  bool remove(const DestKey& key);

  std::optional<std::size_t> pick(const Packet& packet) { return scheduler_->pick(dests_, packet); }

  // Connection accounting (see DestList).
  void bind(std::size_t i, bool active = false) { dests_.bind(i, active); }
  void unbind(std::size_t i, bool active) { dests_.unbind(i, active); }
  void activate(std::size_t i) { dests_.activate(i); }
  void deactivate(std::size_t i) { dests_.deactivate(i); }
  void set_counts(std::size_t i, int32_t active, int32_t inactive) {
    dests_.set_counts(i, active, inactive);
  }
  DestList& dest_list() { return dests_; }  // trash accounting

 private:
  DestList dests_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace lvsd::forwarding::schedulers
