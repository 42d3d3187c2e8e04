// The virtual MAC (RFC 5798 §7.3, keepalived's use_vmac): a macvlan on the
// instance's interface whose MAC is the virtual router MAC,
// 00-00-5E-00-01-{VRID} (IPv4) / 00-00-5E-00-02-{VRID} (IPv6). The VIPs live
// on it and the master's adverts and gratuitous ARPs / NAs leave from it, so
// the LAN learns one MAC for the virtual router that moves with it: a client
// keeps its neighbour entry across a failover.
//
// What keepalived does and lvsd copies (keepalived/vrrp/vrrp_vmac.c,
// vrrp_if_config.c), all pure here and applied by the AddressManager:
//   - macvlan mode private: frames between macvlans of one lower device are
//     not bridged, and a multicast frame whose source MAC is one of ours
//     (the peer's advert from the same virtual MAC) is handed to that macvlan
//     only (drivers/net/macvlan.c macvlan_handle_frame, "forward to original
//     port") — so the VRRP socket must be on the macvlan, not on the base.
//   - created at start and kept up in every state; its name defaults to
//     vrrp.<vrid> (keepalived's), see assign_vmac_names().
//   - on the macvlan (IPv4): arp_ignore=1 (answer ARP only for its own
//     addresses: not for the base's), accept_local=1, rp_filter=0 (adverts
//     arrive on an interface without addresses; __fib_validate_source drops
//     them under any rp_filter mode), promote_secondaries=1; IPv6 disabled
//     (no MLD / DAD / router solicitations from the virtual MAC by a backup).
//   - on the macvlan (IPv6): addr_gen_mode none (no EUI-64 link-local from
//     the virtual MAC, RFC 5798 §7.4), accept_ra 0 (no router solicitation),
//     and the base's link-local address added (nodad) as the adverts' source.
//   - on the base interface: arp_ignore=1 and arp_filter=1, or the base would
//     answer ARP for the VIPs (on the macvlan) with its own MAC; the previous
//     values are restored when its last macvlan goes.
//   - net.ipv4.conf.all.rp_filter: the effective value is max(all, device),
//     so keepalived lowers `all` to 0 and raises every interface's (and
//     `default`'s) own value to the old `all` — the same filtering everywhere
//     else — and restores them at the end. lvsd does the same.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vrrp/advert_codec.hpp"

namespace lvsd::vrrp {

// The kernel's limit: IFNAMSIZ (16) including the terminating NUL.
inline constexpr std::size_t kMaxInterfaceName = 15;

// A name the kernel accepts for a new link (dev_valid_name(): 1..15 bytes,
// not "." or "..", no '/', ':' or whitespace).
bool valid_interface_name(std::string_view name) noexcept;

// "00:00:5e:00:01:33".
std::string mac_string(const MacAddress& mac);

struct VmacSpec {
  std::string name;  // the macvlan
  std::string base;  // the instance's interface (its lower device)
  Family family = Family::inet;
  std::uint8_t vrid = 0;
  MacAddress mac{};  // virtual_mac(family, vrid)
  bool operator==(const VmacSpec&) const = default;
};

VmacSpec make_vmac_spec(std::string name, std::string base, Family family, std::uint8_t vrid);

// An instance asking for a vmac; `name` empty = pick the default.
struct VmacRequest {
  std::string name;
  Family family = Family::inet;
  std::uint8_t vrid = 0;
};

// The names, in request order. Explicit names are kept; the others get
// keepalived's default vrrp.<vrid>, or when another request already has it,
// vrrp6.<vrid> for IPv6, then vrrp1.<vrid>, vrrp2.<vrid>, ... (keepalived
// skips 6 for IPv4 too) — deterministic from the configuration alone, so a
// restarted lvsd finds the macvlans its predecessor made.
std::vector<std::string> assign_vmac_names(const std::vector<VmacRequest>& requests);

// What is found under a vmac's name, and what to do with it.
struct LinkFacts {
  std::string kind;  // IFLA_INFO_KIND: "macvlan", "veth", ... ("" = none)
  MacAddress mac{};
  int link_index = 0;      // IFLA_LINK: the lower device
  std::uint32_t mode = 0;  // IFLA_MACVLAN_MODE
};
enum class VmacMatch {
  adopt,     // ours, as wanted: keep it (a reload, or a restart after a crash)
  recreate,  // ours (a macvlan with this virtual MAC) but another base or mode: delete, create
  foreign,   // anything else: never touched, the instance cannot run
};
inline constexpr std::uint32_t kMacvlanModePrivate = 1;  // MACVLAN_MODE_PRIVATE
VmacMatch classify_link(const LinkFacts& found, const VmacSpec& want, int base_index) noexcept;

// One sysctl under /proc/sys.
struct SysctlSetting {
  std::string path;  // "net/ipv4/conf/vrrp.51/arp_ignore"
  int value = 0;
  bool operator==(const SysctlSetting&) const = default;
};
// What the macvlan needs, set after it is created (or adopted) and before it
// comes up.
std::vector<SysctlSetting> vmac_sysctls(const VmacSpec& spec);
// What the base interface needs while it carries a vmac of an IPv4 instance
// (saved first, restored by the caller when its last vmac goes).
std::vector<SysctlSetting> base_sysctls(const std::string& base);

// keepalived's rp_filter arrangement for IPv4 vmacs: given `all`, `default`
// and each interface's own rp_filter value, the writes that make the
// effective value 0 on the vmacs and leave every other interface's effective
// value unchanged: each interface (and default) gets max(own, all), then all
// gets 0. Nothing when all is already 0. Interfaces in `exclude` (the vmacs)
// are left out.
std::vector<SysctlSetting> rp_filter_plan(int all, int def,
                                          const std::vector<std::pair<std::string, int>>& own,
                                          const std::vector<std::string>& exclude);

}  // namespace lvsd::vrrp
