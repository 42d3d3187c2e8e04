#include "vrrp/accept_rules.hpp"

#include <fmt/format.h>

#include "util/run_command.hpp"

namespace lvsd::vrrp {
namespace {

std::vector<std::string> jump_args(const std::string& cmd, const char* verb) {
  return {cmd,         "-w", "5",       "-t",        "filter",           verb,
          "INPUT",     "-m", "comment", "--comment", kAcceptJumpComment, "-j",
          kAcceptChain};
}

}  // namespace

std::string accept_ruleset(Family family, const std::vector<boost::asio::ip::address>& vips) {
  std::string out = fmt::format("*filter\n:{} - [0:0]\n", kAcceptChain);
  for (const auto& v : vips) {
    if (v.is_v4() != (family == Family::inet)) continue;
    const std::string d = v.is_v4() ? v.to_string() + "/32" : v.to_string() + "/128";
    // VRRP itself (RFC 5798 §6.4.3 concerns the traffic the virtual router
    // forwards or terminates, not the protocol).
    out += fmt::format("-A {} -d {} -p 112 -j RETURN\n", kAcceptChain, d);
    if (family == Family::inet6) {
      // §6.4.3 (620): a master MUST answer Neighbor Solicitations for its
      // VIPs (and NUD probes are addressed to the VIP itself).
      out += fmt::format("-A {} -d {} -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j RETURN\n",
                         kAcceptChain, d);
      out += fmt::format("-A {} -d {} -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j RETURN\n",
                         kAcceptChain, d);
    }
    out += fmt::format("-A {} -d {} -j DROP\n", kAcceptChain, d);
  }
  return out + "COMMIT\n";
}

AcceptRules::AcceptRules(std::string iptables, std::string ip6tables)
    : iptables_(std::move(iptables)), ip6tables_(std::move(ip6tables)) {}

std::error_code AcceptRules::install(const std::vector<boost::asio::ip::address>& vips,
                                     std::string& detail) {
  for (auto [family, cmd] : {std::pair{Family::inet, &iptables_}, {Family::inet6, &ip6tables_}}) {
    if (auto ec = util::run_command({*cmd + "-restore", "-w", "5", "--noflush"},
                                    accept_ruleset(family, vips), detail)) {
      detail = fmt::format("{}-restore: {}", *cmd, detail);
      return ec;
    }
    std::string ignored;
    if (!util::run_command(jump_args(*cmd, "-C"), "", ignored)) continue;  // the jump is there
    // First in INPUT: an operator's earlier ACCEPT must not bypass Accept_Mode.
    if (auto ec = util::run_command(jump_args(*cmd, "-I"), "", detail)) {
      detail = fmt::format("{}: {}", *cmd, detail);
      return ec;
    }
  }
  return {};
}

std::error_code AcceptRules::remove(std::string& detail) {
  std::error_code first;
  for (const std::string* cmd : {&iptables_, &ip6tables_}) {
    std::string d;
    // Every jump lvsd added (a killed run and this one may have left more
    // than one; bounded), then the chain.
    for (int i = 0; i < 16; ++i) {
      if (util::run_command(jump_args(*cmd, "-D"), "", d)) break;
    }
    util::run_command({*cmd, "-w", "5", "-t", "filter", "-F", kAcceptChain}, "", d);
    util::run_command({*cmd, "-w", "5", "-t", "filter", "-X", kAcceptChain}, "", d);
    std::string check;
    if (!util::run_command({*cmd, "-w", "5", "-t", "filter", "-S", kAcceptChain}, "", check) &&
        !first) {
      first = std::make_error_code(std::errc::device_or_resource_busy);
      detail = fmt::format("{}: chain {} still present", *cmd, kAcceptChain);
    }
  }
  return first;
}

}  // namespace lvsd::vrrp
