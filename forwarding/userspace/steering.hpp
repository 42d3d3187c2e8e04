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

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "forwarding/model.hpp"
#include "forwarding/userspace/steering_members.hpp"

namespace lvsd::forwarding::userspace {

struct SteeringTarget {
  ServiceKey service;
  // NAT destinations: their replies are steered too.
  std::vector<DestKey> nat_dests;
  // Every realserver is NAT: the service's packets go to the GSO queues
  // (first .. first+count-1); otherwise to the plain ones (first+count ..
  // first+2*count-1).
  bool nat_only = true;
  bool operator==(const SteeringTarget&) const = default;
};

// One target that differs from the last installed state: as it was (none:
// new) and as it is now (none: gone).
struct SteeringChange {
  std::optional<SteeringTarget> before;
  std::optional<SteeringTarget> after;
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
// The same text from counted members (what Steering::install sends).
std::string steering_refill(Family family, const SteeringMembers& members);

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
  // without targets gets empty chains (the jump stays). Every set is refilled
  // as a copy and swapped in. Errors carry the command's stderr in `detail`.
  std::error_code install(const std::vector<SteeringTarget>& targets, SteeringQueues queues,
                          std::string& detail);
  // Brings what install() (or the last update()) left to `targets` (every
  // target, as for install), given the targets that changed since then.
  // Only the set members that appear or vanish are added or deleted, in
  // place, in one `ipset -exist restore` (none when no member changed: a
  // weight change, a DR realserver); the rules are rewritten only when their
  // text changed (all-port or fwmark services, port-0 NAT realservers). At
  // 10,000 realservers one realserver going down cost ~150 ms as a full
  // refill (docs/userspace.md, tests/bench/reconcile_scale.sh). Does a full
  // install() when nothing is installed yet, after a failed call (the
  // kernel's state is then unknown) and when a set outgrew its maxelem.
  std::error_code update(const std::vector<SteeringTarget>& targets,
                         const std::vector<SteeringChange>& changes, SteeringQueues queues,
                         std::string& detail);
  // Whether install() (or update()) succeeded last and nothing was removed
  // since.
  bool installed() const { return installed_; }
  // Commands run by install()/update()/remove() (ipset, iptables-restore,
  // iptables), for tests and the benchmark.
  uint64_t commands_run() const { return commands_run_; }
  // Removes lvsd's jumps and chains from both families (idempotent; used on
  // stop and, at start, for leftovers of a crashed run).
  std::error_code remove(std::string& detail);

 private:
  std::error_code run(const std::vector<std::string>& argv, const std::string& input,
                      std::string& detail);
  std::error_code write_rules(Family family, const std::string& cmd, const std::string& rules,
                              std::string& detail);

  std::error_code run_restore(const std::string& command, const std::string& input,
                              std::string& detail);
  std::error_code ensure_jumps(const std::string& command, std::string& detail);

  std::string iptables_;
  std::string ip6tables_;
  std::string ipset_;
  // What the kernel holds since the last successful install()/update().
  bool installed_ = false;
  SteeringMembers members_;
  std::array<std::string, 2> rules_;  // iptables-restore text per family (inet, inet6)
  std::array<std::array<std::size_t, SteeringMembers::kSets>, 2> maxelem_{};
  uint64_t commands_run_ = 0;
};

}  // namespace lvsd::forwarding::userspace
