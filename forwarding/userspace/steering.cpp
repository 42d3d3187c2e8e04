#include "forwarding/userspace/steering.hpp"

#include <set>

#include <fmt/format.h>

#include "util/run_command.hpp"

namespace lvsd::forwarding::userspace {
namespace {

constexpr const char* kPreChain = "LVSD-PRE";
constexpr const char* kMarkChain = "LVSD-MARK";
// raw: untrack, then queue (to the GSO queues / the plain ones).
constexpr const char* kQueueGsoChain = "LVSD-Q-GSO";
constexpr const char* kQueueChain = "LVSD-Q";
constexpr const char* kComment = "lvsd";

std::string host_prefix(const Address& a) {
  return a.is_v4() ? a.to_string() + "/32" : a.to_string() + "/128";
}

std::string proto_name(Protocol p) {
  return std::string(to_string(p));
}

std::string queue_target(SteeringQueues q) {
  if (q.count <= 1) return fmt::format("-j NFQUEUE --queue-num {} --queue-bypass", q.first);
  return fmt::format("-j NFQUEUE --queue-balance {}:{} --queue-bypass", q.first,
                     q.first + q.count - 1);
}

// ICMP errors that can relate to a connection: v4 dest-unreachable (3),
// time-exceeded (11), parameter-problem (12); v6 1..4.
std::vector<std::string> icmp_error_matches(Family f) {
  if (f == Family::inet)
    return {"-p icmp -m icmp --icmp-type 3", "-p icmp -m icmp --icmp-type 11",
            "-p icmp -m icmp --icmp-type 12"};
  return {"-p ipv6-icmp -m icmp6 --icmpv6-type 1", "-p ipv6-icmp -m icmp6 --icmpv6-type 2",
          "-p ipv6-icmp -m icmp6 --icmpv6-type 3", "-p ipv6-icmp -m icmp6 --icmpv6-type 4"};
}

}  // namespace

namespace {

std::string fam(Family f) {
  return f == Family::inet ? "4" : "6";
}

}  // namespace

SteeringSetNames steering_set_names(Family f) {
  const std::string x = fam(f);
  return SteeringSetNames{"LVSD-SVC" + x + "-GSO", "LVSD-SVC" + x, "LVSD-VIP" + x, "LVSD-RS" + x,
                          "LVSD-RSADDR" + x};
}

std::vector<std::string> steering_chain_names() {
  return {kPreChain, kQueueGsoChain, kQueueChain};
}

std::string steering_sets(Family family, const std::vector<SteeringTarget>& targets) {
  SteeringMembers members;
  for (const auto& t : targets)
    members.add(t);
  return steering_refill(family, members);
}

namespace {

std::size_t maxelem_for(std::size_t members) {
  std::size_t maxelem = 65536;
  while (maxelem < members)
    maxelem *= 2;
  return maxelem;
}

}  // namespace

std::string steering_refill(Family family, const SteeringMembers& members) {
  const SteeringSetNames n = steering_set_names(family);
  const std::string family_opt = family == Family::inet ? "inet" : "inet6";
  std::string out;
  // Each set is refilled as a fresh copy swapped in whole: a packet sees the
  // old members or the new ones, never an empty set in between.
  auto one = [&](const std::string& name, const char* type, SteeringMembers::Set set) {
    const auto& m = members.members(family, set);
    const std::size_t maxelem = maxelem_for(m.size());
    const std::string tmp = name + "-NEW";
    out += fmt::format("create {} {} family {} maxelem {}\n", name, type, family_opt, maxelem);
    out += fmt::format("create {} {} family {} maxelem {}\n", tmp, type, family_opt, maxelem);
    out += fmt::format("flush {}\n", tmp);
    for (const auto& [member, _] : m)
      out += fmt::format("add {} {}\n", tmp, member);
    out += fmt::format("swap {} {}\n", tmp, name);
    out += fmt::format("destroy {}\n", tmp);
  };
  one(n.services_gso, "hash:ip,port", SteeringMembers::services_gso);
  one(n.services, "hash:ip,port", SteeringMembers::services);
  one(n.vips, "hash:ip", SteeringMembers::vips);
  one(n.nat_realservers, "hash:ip,port", SteeringMembers::nat_realservers);
  one(n.nat_realserver_addresses, "hash:ip", SteeringMembers::nat_realserver_addresses);
  return out;
}

std::string steering_ruleset(Family family, const std::vector<SteeringTarget>& targets,
                             SteeringQueues queues) {
  // NAT-only services (and NAT replies) go to the GSO queues: their packets
  // are rewritten and accepted whole. Services with DR/TUN realservers go to
  // the plain queues, whose packets are never larger than the MTU (they are
  // sent again by lvsd itself, as frames or IP-in-IP). ICMP errors are small:
  // plain queues.
  //
  // The matches are ipset lookups (hash, O(1) per packet whatever the number
  // of services and realservers): with one rule per realserver, every packet
  // crossing the director walked thousands of rules at 1,000 NAT realservers
  // (measured: 73% of lvsd's CPU in nft_do_chain, for its own health checks).
  // Only all-port services and port-0 NAT realservers (rare) get a rule each.
  const SteeringSetNames n = steering_set_names(family);
  const std::string nat_q = queue_target(queues);
  const std::string plain_q = queue_target(
      SteeringQueues{static_cast<uint16_t>(queues.first + queues.count), queues.count});
  std::string raw = fmt::format("*raw\n:{} - [0:0]\n:{} - [0:0]\n:{} - [0:0]\n", kPreChain,
                                kQueueGsoChain, kQueueChain);
  std::string mangle = fmt::format("*mangle\n:{} - [0:0]\n", kMarkChain);
  raw += fmt::format("-A {} -j CT --notrack\n-A {} {}\n", kQueueGsoChain, kQueueGsoChain, nat_q);
  raw += fmt::format("-A {} -j CT --notrack\n-A {} {}\n", kQueueChain, kQueueChain, plain_q);
  const std::string nonlocal = "-m addrtype ! --dst-type LOCAL";
  // Loopback first, and out: what arrives on lo was sent by this host to
  // itself, which the engine does not balance (docs/userspace.md: no OUTPUT
  // traffic), so its packets (lvsd's own health checks of local
  // realservers, local clients) skip the set lookups below.
  raw += fmt::format("-A {} -i lo -j RETURN\n", kPreChain);
  raw += fmt::format("-A {} -m set --match-set {} dst,dst -j {}\n", kPreChain, n.services_gso,
                     kQueueGsoChain);
  raw += fmt::format("-A {} -m set --match-set {} dst,dst -j {}\n", kPreChain, n.services,
                     kQueueChain);
  for (const auto& t : targets) {
    const auto& s = t.service;
    if (s.family != family) continue;
    const char* chain = t.nat_only ? kQueueGsoChain : kQueueChain;
    if (s.is_fwmark()) {
      mangle += fmt::format("-A {} -m mark --mark 0x{:x} {}\n", kMarkChain, s.fwmark,
                            t.nat_only ? nat_q : plain_q);
      continue;
    }
    const std::string proto = proto_name(s.protocol);
    if (s.port == 0)
      raw +=
          fmt::format("-A {} -d {} -p {} -j {}\n", kPreChain, host_prefix(s.address), proto, chain);
    for (const auto& d : t.nat_dests)
      if (d.family() == family && d.port == 0)
        raw += fmt::format("-A {} -s {} -p {} {} -j {}\n", kPreChain, host_prefix(d.address), proto,
                           nonlocal, kQueueGsoChain);
  }
  for (const auto& m : icmp_error_matches(family))
    raw += fmt::format("-A {} {} -m set --match-set {} dst -j {}\n", kPreChain, m, n.vips,
                       kQueueChain);
  raw += fmt::format("-A {} -m set --match-set {} src,src {} -j {}\n", kPreChain, n.nat_realservers,
                     nonlocal, kQueueGsoChain);
  for (const auto& m : icmp_error_matches(family))
    raw += fmt::format("-A {} {} -m set --match-set {} src {} -j {}\n", kPreChain, m,
                       n.nat_realserver_addresses, nonlocal, kQueueChain);
  return raw + "COMMIT\n" + mangle + "COMMIT\n";
}

Steering::Steering(std::string iptables, std::string ip6tables, std::string ipset)
    : iptables_(std::move(iptables)), ip6tables_(std::move(ip6tables)), ipset_(std::move(ipset)) {}

std::error_code Steering::run(const std::vector<std::string>& argv, const std::string& input,
                              std::string& detail) {
  ++commands_run_;
  return util::run_command(argv, input, detail);
}

std::error_code Steering::run_restore(const std::string& command, const std::string& input,
                                      std::string& detail) {
  return run({command + "-restore", "-w", "5", "--noflush"}, input, detail);
}

std::error_code Steering::ensure_jumps(const std::string& command, std::string& detail) {
  struct Jump {
    const char* table;
    const char* chain;
    const char* verb;  // -I: first in raw (before anything untracks or drops), -A: last in mangle
  };
  for (const Jump& j : {Jump{"raw", kPreChain, "-I"}, Jump{"mangle", kMarkChain, "-A"}}) {
    std::string ignored;
    std::vector<std::string> check = {command,  "-w",         "5",    "-t",      j.table,
                                      "-C",     "PREROUTING", "-m",   "comment", "--comment",
                                      kComment, "-j",         j.chain};
    if (!run(check, "", ignored)) continue;
    check[5] = j.verb;
    if (auto ec = run(check, "", detail)) return ec;
  }
  return {};
}

std::error_code Steering::write_rules(Family family, const std::string& cmd,
                                      const std::string& rules, std::string& detail) {
  const std::size_t fi = family == Family::inet ? 0 : 1;
  rules_[fi].clear();  // unknown until both steps succeed
  if (auto ec = run_restore(cmd, rules, detail)) {
    detail = fmt::format("{}-restore: {}", cmd, detail);
    return ec;
  }
  if (auto ec = ensure_jumps(cmd, detail)) {
    detail = fmt::format("{}: {}", cmd, detail);
    return ec;
  }
  rules_[fi] = rules;
  return {};
}

std::error_code Steering::install(const std::vector<SteeringTarget>& targets, SteeringQueues queues,
                                  std::string& detail) {
  installed_ = false;
  members_.clear();
  for (const auto& t : targets)
    members_.add(t);
  members_.take_changes();  // all of them go in by the refill below
  for (auto [family, cmd] : {std::pair{Family::inet, &iptables_}, {Family::inet6, &ip6tables_}}) {
    const std::size_t fi = family == Family::inet ? 0 : 1;
    // The sets first: the rules refer to them by name.
    if (auto ec = run({ipset_, "-exist", "restore"}, steering_refill(family, members_), detail)) {
      detail = fmt::format("{} restore: {}", ipset_, detail);
      return ec;
    }
    for (std::size_t s = 0; s < SteeringMembers::kSets; ++s)
      maxelem_[fi][s] =
          maxelem_for(members_.members(family, static_cast<SteeringMembers::Set>(s)).size());
    if (auto ec = write_rules(family, *cmd, steering_ruleset(family, targets, queues), detail))
      return ec;
  }
  installed_ = true;
  return {};
}

std::error_code Steering::update(const std::vector<SteeringTarget>& targets,
                                 const std::vector<SteeringChange>& changes, SteeringQueues queues,
                                 std::string& detail) {
  if (!installed_) return install(targets, queues, detail);
  for (const auto& c : changes) {
    if (c.before) members_.remove(*c.before);
    if (c.after) members_.add(*c.after);
  }
  // A set created for fewer members than it now needs refuses adds ("set is
  // full"): refill, which sizes it again.
  for (Family family : {Family::inet, Family::inet6}) {
    const std::size_t fi = family == Family::inet ? 0 : 1;
    for (std::size_t s = 0; s < SteeringMembers::kSets; ++s)
      if (members_.members(family, static_cast<SteeringMembers::Set>(s)).size() > maxelem_[fi][s])
        return install(targets, queues, detail);
  }
  installed_ = false;  // until every step below succeeded
  if (const std::string lines = members_.take_changes(); !lines.empty()) {
    if (auto ec = run({ipset_, "-exist", "restore"}, lines, detail)) {
      detail = fmt::format("{} restore: {}", ipset_, detail);
      return ec;
    }
  }
  for (auto [family, cmd] : {std::pair{Family::inet, &iptables_}, {Family::inet6, &ip6tables_}}) {
    const std::size_t fi = family == Family::inet ? 0 : 1;
    std::string rules = steering_ruleset(family, targets, queues);
    if (rules == rules_[fi]) continue;
    if (auto ec = write_rules(family, *cmd, rules, detail)) return ec;
  }
  installed_ = true;
  return {};
}

std::error_code Steering::remove(std::string& detail) {
  installed_ = false;
  members_.clear();
  rules_ = {};
  std::error_code first;
  auto failed = [&](std::string what) {
    if (first) return;
    first = std::make_error_code(std::errc::device_or_resource_busy);
    detail = std::move(what);
  };
  for (const std::string* cmd : {&iptables_, &ip6tables_}) {
    std::string d;
    // Delete every jump lvsd added (a crashed run and this one may have left
    // more than one), then empty every chain (LVSD-PRE jumps to the queue
    // chains) and only then delete them.
    for (auto [table, chain] : {std::pair{"raw", kPreChain}, {"mangle", kMarkChain}}) {
      for (int i = 0; i < 16; ++i) {
        std::vector<std::string> del = {*cmd,     "-w",         "5",  "-t",      table,
                                        "-D",     "PREROUTING", "-m", "comment", "--comment",
                                        kComment, "-j",         chain};
        if (util::run_command(del, "", d)) break;
      }
    }
    std::vector<std::pair<const char*, std::string>> chains;
    for (const auto& c : steering_chain_names())
      chains.emplace_back("raw", c);
    chains.emplace_back("mangle", kMarkChain);
    for (const auto& [table, chain] : chains)
      util::run_command({*cmd, "-w", "5", "-t", table, "-F", chain}, "", d);
    for (const auto& [table, chain] : chains) {
      util::run_command({*cmd, "-w", "5", "-t", table, "-X", chain}, "", d);
      std::string check;
      if (!util::run_command({*cmd, "-w", "5", "-t", table, "-S", chain}, "", check))
        failed(fmt::format("{} -t {}: chain {} still present", *cmd, table, chain));
    }
  }
  // The sets, once no rule refers to them (a set in use cannot be destroyed).
  for (Family f : {Family::inet, Family::inet6}) {
    const SteeringSetNames n = steering_set_names(f);
    for (const std::string* name :
         {&n.services_gso, &n.services, &n.vips, &n.nat_realservers, &n.nat_realserver_addresses}) {
      for (const std::string& set : {*name + "-NEW", *name}) {
        std::string d;
        if (util::run_command({ipset_, "list", "-name", set}, "", d)) continue;  // not there
        if (util::run_command({ipset_, "destroy", set}, "", d))
          failed(fmt::format("{} destroy {}: {}", ipset_, set, d));
      }
    }
  }
  return first;
}

}  // namespace lvsd::forwarding::userspace
