// What a scheduler sees of a virtual service: its destinations in the order of
// the kernel's svc->destinations list, each with its weight, connection counts
// and overload flag, plus the first packet of a new connection.
//
// Kernel rules mirrored here (net/netfilter/ipvs/ip_vs_ctl.c, ip_vs_conn.c):
//  - ip_vs adds a destination at the *head* of the list (list_add_rcu), so the
//    newest destination comes first; schedulers that scan the list (rr, wrr,
//    lc, wlc, fo, ...) break ties by this order.
//  - last_weight keeps the latest non-zero weight (mh keeps a quiesced
//    destination's slots).
//  - Overload (IP_VS_DEST_F_OVERLOAD), ip_vs_dest_update_overload(): with an
//    upper threshold u != 0, a destination whose active + inactive connections
//    reach u is overloaded until they fall below the lower threshold l (or
//    u - u/4, i.e. 75% of u rounded up, when l is 0). The flag is recomputed
//    when a connection is bound, when one is unbound while overloaded, and when
//    the thresholds change.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "forwarding/model.hpp"

namespace lvsd::forwarding::schedulers {

struct Dest {
  DestKey key;
  int32_t weight = 1;            // 0 = quiesced: never picked for a new connection
  int32_t last_weight = 1;       // latest non-zero weight (0 only if added with 0)
  uint32_t upper_threshold = 0;  // 0 = no limit
  uint32_t lower_threshold = 0;  // 0 = 75% of upper
  int32_t active_conns = 0;
  int32_t inactive_conns = 0;
  bool overloaded = false;  // IP_VS_DEST_F_OVERLOAD

  // ip_vs_dest_conn_overhead(): activeconns * 256 + inactconns.
  int64_t overhead() const { return (int64_t{active_conns} << 8) + inactive_conns; }
  int64_t total_conns() const { return int64_t{active_conns} + inactive_conns; }
  // Neither quiesced nor overloaded.
  bool usable() const { return weight > 0 && !overloaded; }
  bool operator==(const Dest&) const = default;
};

// The first packet of a new connection, in the service's direction
// (client -> VIP). Ports in host order.
struct Packet {
  Address saddr;
  Address daddr;
  uint16_t sport = 0;
  uint16_t dport = 0;
  // For the caches of lblc/lblcr (entry aging); any monotonic clock.
  std::chrono::steady_clock::time_point now{};
};

// A service's destination list. Indices are positions in kernel order (0 = the
// most recently added). Only structure and accounting: the schedulers are told
// about changes by ScheduledService (scheduler.hpp).
class DestList {
 public:
  std::size_t size() const { return dests_.size(); }
  bool empty() const { return dests_.empty(); }
  const Dest& operator[](std::size_t i) const { return dests_[i]; }
  const std::vector<Dest>& dests() const { return dests_; }
  auto begin() const { return dests_.begin(); }
  auto end() const { return dests_.end(); }
  std::optional<std::size_t> find(const DestKey& key) const;

  // Inserts at the front (index 0). Precondition: key not present. A dest
  // removed while it still had connections comes back with their counts (the
  // kernel takes it back from its trash, ip_vs_trash_get_dest).
  std::size_t add(const RealServer& rs);
  // Weight and thresholds of the dest at `i` (the key is not changed).
  void update(std::size_t i, const RealServer& rs);
  // Unlinks the dest; if it still has connections it goes to the trash, where
  // they keep being counted until they end.
  Dest remove(std::size_t i);

  // Connection accounting, as ip_vs_bind_dest()/ip_vs_unbind_dest() and the
  // protocols' state transitions (a new TCP connection starts inactive and
  // becomes active on ESTABLISHED; UDP connections stay inactive).
  void bind(std::size_t i, bool active = false);
  void unbind(std::size_t i, bool active);
  void activate(std::size_t i);    // inactive -> active (ESTABLISHED)
  void deactivate(std::size_t i);  // active -> inactive (FIN, RST...)

  // Direct access for tests and the userspace engine's snapshots: sets the
  // counts as given and recomputes the overload flag from scratch.
  void set_counts(std::size_t i, int32_t active, int32_t inactive);

  // Connections of removed dests (in the trash): they end or change state too.
  const std::vector<Dest>& trash() const { return trash_; }
  bool deactivate_trashed(const DestKey& key);
  bool unbind_trashed(const DestKey& key, bool active);

 private:
  std::vector<Dest> dests_;
  std::vector<Dest> trash_;
};

// ip_vs_dest_update_overload().
void update_overload(Dest& d);

}  // namespace lvsd::forwarding::schedulers
