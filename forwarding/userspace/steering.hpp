// Steering: the iptables rules that hand the userspace engine its packets.
//
// lvsd owns these chains per family, the LVSD-* ipsets, and nothing else:
//   raw    LVSD-PRE   jumped to from PREROUTING (rule tagged `-m comment
//                     --comment lvsd`): packets for address services (to the
//                     VIP), and for NAT the realservers' replies (from RS:port
//                     to a non-local address), matched by ipset lookups, go
//                     to LVSD-Q-GSO / LVSD-Q, which untrack them (CT
//                     --notrack: the engine rewrites them, conntrack must not
//                     see the half-translated flow) and queue them.
//   mangle LVSD-MARK  appended to PREROUTING: fwmark services (the operator's
//                     MARK rules in mangle PREROUTING run before it; these
//                     packets are tracked by conntrack if it is loaded).
// Rules are written with iptables-restore --noflush (declaring a chain there
// flushes it), so an update is one atomic transaction per table set; removal
// deletes the jumps and the chains. A start after a crash finds the old
// chains and replaces them. Rules of others are never read or changed.
//
// Queue selection: `--queue-balance first:last` when more than one queue
// (the kernel hashes the address pair), with `--queue-bypass` so packets
// pass (fail open) while no lvsd listens on the queue.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "forwarding/model.hpp"

namespace lvsd::forwarding::userspace {

struct SteeringTarget {
  ServiceKey service;
  // NAT destinations: their replies are steered too.
  std::vector<DestKey> nat_dests;
  // Every realserver is NAT: the service's packets go to the GSO queues
  // (first .. first+count-1); otherwise to the plain ones (first+count ..
  // first+2*count-1).
  bool nat_only = true;
};

struct SteeringQueues {
  uint16_t first = 100;
  uint16_t count = 1;  // per kind: `count` GSO queues, then `count` plain queues
};

// The ipsets the rules match against, per family ("4"/"6" in the names):
//   services_gso / services   hash:ip,port  VIP,proto:port of port services
//                                           (NAT-only / with DR or TUN)
//   vips                      hash:ip       every VIP (ICMP errors to it)
//   nat_realservers           hash:ip,port  RS,proto:port of NAT realservers
//   nat_realserver_addresses  hash:ip       their addresses (ICMP errors)
struct SteeringSetNames {
  std::string services_gso, services, vips, nat_realservers, nat_realserver_addresses;
};
SteeringSetNames steering_set_names(Family family);
// lvsd's chains in the raw table (LVSD-PRE and its two queue chains).
std::vector<std::string> steering_chain_names();

// The `ipset -exist restore` input that creates lvsd's sets of one family
// (when missing) and replaces their members with exactly `targets`' (each set
// filled as a copy, then swapped in). Pure: tested as text.
std::string steering_sets(Family family, const std::vector<SteeringTarget>& targets);

// The iptables-restore input installing exactly `targets` for one family
// (inet: iptables, inet6: ip6tables), matching against the sets above. Pure:
// tested as text.
std::string steering_ruleset(Family family, const std::vector<SteeringTarget>& targets,
                             SteeringQueues queues);

class Steering {
 public:
  // `iptables` / `ip6tables` / `ipset` are the command names (tests may pass
  // others).
  Steering(std::string iptables = "iptables", std::string ip6tables = "ip6tables",
           std::string ipset = "ipset");

  // Installs (or replaces) the rules for every target of the family; a family
  // without targets gets empty chains (the jump stays). Errors carry the
  // command's stderr in `detail`.
  std::error_code install(const std::vector<SteeringTarget>& targets, SteeringQueues queues,
                          std::string& detail);
  // Removes lvsd's jumps and chains from both families (idempotent; used on
  // stop and, at start, for leftovers of a crashed run).
  std::error_code remove(std::string& detail);

 private:
  std::error_code run_restore(const std::string& command, const std::string& input,
                              std::string& detail);
  std::error_code ensure_jumps(const std::string& command, std::string& detail);

  std::string iptables_;
  std::string ip6tables_;
  std::string ipset_;
};

}  // namespace lvsd::forwarding::userspace
