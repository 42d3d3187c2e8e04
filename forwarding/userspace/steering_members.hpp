// SteeringMembers: the members of lvsd's steering ipsets (steering.hpp),
// kept up to date target by target so that a change of one service costs
// that service's members, not the table's. Each member counts the targets
// that put it there (services on one VIP share its `vips` member, a
// realserver in two services its `nat_realservers` one): removing a target
// drops only the members no other target still needs.
//
// The changes since the last take_changes() come out as `ipset -exist
// restore` lines, adds before dels: each member flips on its own (the kernel
// adds or deletes one hash entry under the set's lock), and a member present
// before and after is never touched, so a packet always matches the old or
// the new membership of its own key. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "forwarding/model.hpp"

namespace lvsd::forwarding::userspace {

struct SteeringTarget;

class SteeringMembers {
 public:
  // The five sets of steering_set_names(), in that order.
  enum Set : uint8_t { services_gso, services, vips, nat_realservers, nat_realserver_addresses };
  static constexpr std::size_t kSets = 5;

  // Counts in (add) or out (remove) the members `t` puts in its family's
  // sets. remove() of a target that was not added is a logic error (the
  // counts would go wrong): callers pass the target as it was added.
  void add(const SteeringTarget& t);
  void remove(const SteeringTarget& t);
  // Forgets every member and every pending change (before a full refill).
  void clear();

  // Members of one set, ordered (a std::map: stable text for tests, diffs).
  const std::map<std::string, uint32_t>& members(Family f, Set s) const {
    return sets_[index(f)][s];
  }
  // Whether members changed (appeared or vanished) since the last
  // take_changes() or clear().
  bool has_changes() const;
  // `ipset -exist restore` input for those changes ("add SET MEMBER" lines
  // first, then "del SET MEMBER"), and forgets them. Empty when none.
  std::string take_changes();

 private:
  static std::size_t index(Family f) { return f == Family::inet ? 0 : 1; }
  void count(const SteeringTarget& t, int delta);
  void bump(Family f, Set s, std::string member, int delta);

  std::array<std::array<std::map<std::string, uint32_t>, kSets>, 2> sets_;
  // Members whose presence changed since the last take, with their
  // presence then (a member added and removed again nets to no change).
  std::map<std::tuple<uint8_t, uint8_t, std::string>, bool> pending_;
};

}  // namespace lvsd::forwarding::userspace
