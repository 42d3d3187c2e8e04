#include "vrrp/vmac.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace lvsd::vrrp {

bool valid_interface_name(std::string_view name) noexcept {
  // net/core/dev.c dev_valid_name().
  if (name.empty() || name.size() > kMaxInterfaceName) return false;
  if (name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
        c == '\f' || c == '\0')
      return false;
  }
  return true;
}

std::string mac_string(const MacAddress& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

VmacSpec make_vmac_spec(std::string name, std::string base, Family family, std::uint8_t vrid) {
  VmacSpec s;
  s.name = std::move(name);
  s.base = std::move(base);
  s.family = family;
  s.vrid = vrid;
  s.mac = virtual_mac(family, vrid);
  return s;
}

std::vector<std::string> assign_vmac_names(const std::vector<VmacRequest>& requests) {
  std::set<std::string> taken;
  for (const auto& r : requests)
    if (!r.name.empty()) taken.insert(r.name);
  std::vector<std::string> out;
  out.reserve(requests.size());
  for (const auto& r : requests) {
    if (!r.name.empty()) {
      out.push_back(r.name);
      continue;
    }
    // keepalived (vrrp_parser.c): vrrp.<vrid>; for IPv6 vrrp6.<vrid> next;
    // then vrrp1, vrrp2, ... (skipping 6). Bounded: at most 256 requests.
    std::string name = fmt::format("vrrp.{}", r.vrid);
    unsigned num = 0;
    for (int guard = 0; taken.count(name) && guard < 300; ++guard) {
      if (r.family == Family::inet6) {
        if (num == 0)
          num = 6;
        else if (num == 6)
          num = 1;
        else if (++num == 6)
          ++num;
      } else if (++num == 6) {
        ++num;
      }
      name = fmt::format("vrrp{}.{}", num, r.vrid);
    }
    taken.insert(name);
    out.push_back(name);
  }
  return out;
}

VmacMatch classify_link(const LinkFacts& found, const VmacSpec& want, int base_index) noexcept {
  // Ours = a macvlan carrying this virtual MAC: nobody else has a reason to
  // create one (and keepalived, which would, uses the same layout).
  if (found.kind != "macvlan" || found.mac != want.mac) return VmacMatch::foreign;
  if (found.link_index != base_index || found.mode != kMacvlanModePrivate)
    return VmacMatch::recreate;
  return VmacMatch::adopt;
}

std::vector<SysctlSetting> vmac_sysctls(const VmacSpec& spec) {
  const std::string v4 = "net/ipv4/conf/" + spec.name + "/";
  const std::string v6 = "net/ipv6/conf/" + spec.name + "/";
  if (spec.family == Family::inet) {
    return {{v4 + "arp_ignore", 1},
            {v4 + "accept_local", 1},
            {v4 + "rp_filter", 0},
            {v4 + "promote_secondaries", 1},
            {v6 + "disable_ipv6", 1}};
  }
  // IN6_ADDR_GEN_MODE_NONE = 1.
  return {{v4 + "arp_ignore", 1},
          {v6 + "disable_ipv6", 0},
          {v6 + "addr_gen_mode", 1},
          {v6 + "accept_ra", 0},
          {v6 + "accept_dad", 0}};
}

std::vector<SysctlSetting> base_sysctls(const std::string& base) {
  const std::string v4 = "net/ipv4/conf/" + base + "/";
  return {{v4 + "arp_ignore", 1}, {v4 + "arp_filter", 1}};
}

std::vector<SysctlSetting> rp_filter_plan(int all, int def,
                                          const std::vector<std::pair<std::string, int>>& own,
                                          const std::vector<std::string>& exclude) {
  std::vector<SysctlSetting> out;
  if (all <= 0) return out;
  for (const auto& [name, value] : own) {
    if (name == "all" || name == "default") continue;
    if (std::find(exclude.begin(), exclude.end(), name) != exclude.end()) continue;
    if (value < all) out.push_back({"net/ipv4/conf/" + name + "/rp_filter", all});
  }
  if (def < all) out.push_back({"net/ipv4/conf/default/rp_filter", all});
  out.push_back({"net/ipv4/conf/all/rp_filter", 0});
  return out;
}

}  // namespace lvsd::vrrp
