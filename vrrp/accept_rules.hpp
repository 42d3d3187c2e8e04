// Accept_Mode = False (RFC 5798 §6.1, §6.4.3): a master that is not the
// address owner (priority < 255) "MUST NOT accept packets addressed to the
// IPvX address(es) associated with the virtual router", but must still
// answer ARP (not IP: never filtered here) and Neighbor Solicitations for
// them. keepalived enforces it with firewall rules (vrrp_strict / no_accept);
// lvsd too, in a chain of its own:
//
//   filter LVSD-VRRP-ACCEPT, jumped to from INPUT by the first rule
//   (`-m comment --comment lvsd-vrrp`), iptables and ip6tables:
//     -d VIP -p 112 -j RETURN                 (VRRP itself)
//     -d VIP -p ipv6-icmp --icmpv6-type 135/136 -j RETURN   (IPv6: NS / NA)
//     -d VIP -j DROP
//
// Only packets for local delivery pass filter INPUT, so traffic routed
// through the director is untouched. Written with iptables-restore --noflush
// (declaring the chain flushes it: one atomic replace); removed by deleting
// the jump and the chain. Rules of others are never read or changed; a start
// removes what a killed lvsd left.
//
// Interaction with forwarding (docs/vrrp.md): the userspace engine takes a
// service's packets in raw PREROUTING (before filter INPUT) and forwards or
// rewrites them, so its services keep working; the kernel's ip_vs schedules
// in LOCAL_IN at priority NF_IP_PRI_NAT_SRC - 1 (net/netfilter/ipvs/
// ip_vs_core.c ip_vs_ops4), after filter INPUT (NF_IP_PRI_FILTER = 0): these
// rules would drop the service's packets before ip_vs sees them.
#pragma once

#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "vrrp/advert_codec.hpp"

namespace lvsd::vrrp {

inline constexpr const char* kAcceptChain = "LVSD-VRRP-ACCEPT";
inline constexpr const char* kAcceptJumpComment = "lvsd-vrrp";

// The iptables-restore input (table filter) for the VIPs of `family` in
// `vips` (others are skipped). Pure: tested as text.
std::string accept_ruleset(Family family, const std::vector<boost::asio::ip::address>& vips);

class AcceptRules {
 public:
  // `iptables` / `ip6tables` are the command names (tests may pass others).
  explicit AcceptRules(std::string iptables = "iptables", std::string ip6tables = "ip6tables");

  // Installs exactly the rules for `vips` (both families; a family without
  // VIPs gets an empty chain). Errors carry the command's stderr.
  std::error_code install(const std::vector<boost::asio::ip::address>& vips, std::string& detail);
  // Removes the jumps and the chains of both families (idempotent).
  std::error_code remove(std::string& detail);

 private:
  std::string iptables_;
  std::string ip6tables_;
};

}  // namespace lvsd::vrrp
