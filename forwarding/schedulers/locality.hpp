// lblc and lblcr (ip_vs_lblc.c, ip_vs_lblcr.c): locality-based least
// connections, a cache from the packet's destination address to a
// realserver (lblc) or a set of realservers (lblcr), for cache clusters.
#pragma once

#include <chrono>
#include <map>
#include <vector>

#include "forwarding/schedulers/scheduler.hpp"

namespace lvsd::forwarding::schedulers {

using Clock = std::chrono::steady_clock;

// lblc: the cached realserver for the destination address while it is in the
// service, has weight > 0 and is not "overloaded" in lblc's sense (active
// connections above its weight while some realserver has fewer than half its
// weight active; the threshold flag is not consulted on a cache hit, as in
// the kernel). Otherwise the wlc choice, which replaces the cache entry.
class LocalityLeastConnection final : public Scheduler {
 public:
  explicit LocalityLeastConnection(Clock::duration expiration) : expiration_(expiration) {}
  std::string_view name() const override { return "lblc"; }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;
  // The kernel's periodic garbage collection: drops entries unused for the
  // expiration, and when the cache holds more than 16384 entries, those
  // unused for 6 minutes.
  void expire(Clock::time_point now);
  std::size_t cache_size() const { return cache_.size(); }

 private:
  struct Entry {
    DestKey dest;
    Clock::time_point lastuse;
  };
  Clock::duration expiration_;
  std::map<Address, Entry> cache_;
};

// lblcr: a set per destination address; the least loaded (wlc) usable member,
// unless it is overloaded in lblc's sense, then the wlc choice of the whole
// service is added to the set. A set with more than one member that was not
// modified for the expiration loses its most loaded member.
class LocalityLeastConnectionReplication final : public Scheduler {
 public:
  explicit LocalityLeastConnectionReplication(Clock::duration expiration)
      : expiration_(expiration) {}
  std::string_view name() const override { return "lblcr"; }
  void dest_removed(const DestList& dests, std::size_t old_index, const Dest& removed) override;
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;
  void expire(Clock::time_point now);
  std::size_t cache_size() const { return cache_.size(); }
  // Members of the set for `daddr` (most recently added first), for tests.
  std::vector<DestKey> set_of(const Address& daddr) const;

 private:
  struct Entry {
    std::vector<DestKey> set;  // front = most recently inserted (list_add_rcu)
    Clock::time_point lastmod;
    Clock::time_point lastuse;
  };
  Clock::duration expiration_;
  std::map<Address, Entry> cache_;
};

}  // namespace lvsd::forwarding::schedulers
