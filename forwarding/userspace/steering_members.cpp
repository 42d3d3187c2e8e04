#include "forwarding/userspace/steering_members.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "forwarding/userspace/steering.hpp"

namespace lvsd::forwarding::userspace {

void SteeringMembers::add(const SteeringTarget& t) {
  count(t, +1);
}

void SteeringMembers::remove(const SteeringTarget& t) {
  count(t, -1);
}

void SteeringMembers::clear() {
  for (auto& family : sets_)
    for (auto& set : family)
      set.clear();
  pending_.clear();
}

// The members steering_sets() lists for a target (see steering.hpp): port
// services' VIP,proto:port, every VIP, NAT realservers' RS,proto:port and
// addresses; fwmark services have none (their rule matches the mark).
void SteeringMembers::count(const SteeringTarget& t, int delta) {
  const ServiceKey& s = t.service;
  if (s.is_fwmark()) return;
  const Family f = s.family;
  const std::string proto(to_string(s.protocol));
  bump(f, vips, s.address.to_string(), delta);
  if (s.port != 0)
    bump(f, t.nat_only ? services_gso : services,
         fmt::format("{},{}:{}", s.address.to_string(), proto, s.port), delta);
  for (const auto& d : t.nat_dests) {
    if (d.family() != f) continue;
    bump(f, nat_realserver_addresses, d.address.to_string(), delta);
    if (d.port != 0)
      bump(f, nat_realservers, fmt::format("{},{}:{}", d.address.to_string(), proto, d.port),
           delta);
  }
}

void SteeringMembers::bump(Family f, Set s, std::string member, int delta) {
  auto& set = sets_[index(f)][s];
  auto it = set.find(member);
  const bool was = it != set.end();
  if (delta > 0) {
    if (was) {
      ++it->second;
      return;
    }
    set.emplace(member, 1);
  } else {
    if (!was) throw std::logic_error("steering member removed more often than added: " + member);
    if (--it->second > 0) return;
    set.erase(it);
  }
  // Presence flipped: remember how it was at the last take (first flip only).
  pending_.try_emplace({static_cast<uint8_t>(index(f)), s, std::move(member)}, was);
}

bool SteeringMembers::has_changes() const {
  for (const auto& [key, was] : pending_) {
    const auto& [fi, s, member] = key;
    if (sets_[fi][s].contains(member) != was) return true;
  }
  return false;
}

std::string SteeringMembers::take_changes() {
  std::string adds, dels;
  for (const auto& [key, was] : pending_) {
    const auto& [fi, s, member] = key;
    const bool now = sets_[fi][s].contains(member);
    if (now == was) continue;
    const SteeringSetNames n = steering_set_names(fi == 0 ? Family::inet : Family::inet6);
    const std::string* names[kSets] = {&n.services_gso, &n.services, &n.vips, &n.nat_realservers,
                                       &n.nat_realserver_addresses};
    (now ? adds : dels) += fmt::format("{} {} {}\n", now ? "add" : "del", *names[s], member);
  }
  pending_.clear();
  return adds + dels;
}

}  // namespace lvsd::forwarding::userspace
