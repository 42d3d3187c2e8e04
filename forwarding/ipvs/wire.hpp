// Plain structs mirroring the kernel's IPVS generic-netlink attribute sets
// (<linux/ip_vs.h>; facts in shared/specs/wire.md §2). They are the wire's
// view, not the domain model: conversions to and from forwarding/model.hpp
// live elsewhere. Integers are host order in these structs unless a field's
// comment says otherwise; the builders and parsers in messages.hpp do the
// byte-order work the kernel expects on the wire.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lvsd::forwarding::ipvs {

// union nf_inet_addr: an IPv4 address uses the first 4 bytes, the rest zero.
using Addr = std::array<std::uint8_t, 16>;

// IPv4 or IPv6 text -> Addr (af = AF_INET or AF_INET6); nullopt when invalid.
std::optional<Addr> make_addr(int af, std::string_view text);
// Addr -> text for af; "?" for an unknown af.
std::string format_addr(int af, const Addr& addr);

// Every counter widened to u64. Read from *_STATS64 when the kernel sent it,
// else from the older *_STATS (u32 counters and rates, u64 bytes).
struct Stats {
  std::uint64_t conns = 0;
  std::uint64_t inpkts = 0;
  std::uint64_t outpkts = 0;
  std::uint64_t inbytes = 0;
  std::uint64_t outbytes = 0;
  std::uint64_t cps = 0;
  std::uint64_t inpps = 0;
  std::uint64_t outpps = 0;
  std::uint64_t inbps = 0;
  std::uint64_t outbps = 0;
  bool operator==(const Stats&) const = default;
};

// IPVS_CMD_ATTR_SERVICE. The key is af + fwmark when fwmark != 0, else
// af + protocol + addr + port. The "full" set adds sched_name, flags+mask,
// timeout and netmask (and pe_name when non-empty).
struct SvcAttrs {
  std::uint16_t af = 0;        // AF_INET / AF_INET6
  std::uint16_t protocol = 0;  // IPPROTO_TCP / UDP / SCTP (0 with fwmark)
  Addr addr{};
  std::uint16_t port = 0;  // host order here, network order on the wire
  std::uint32_t fwmark = 0;
  std::string sched_name;        // <= 15 chars ("rr", "wlc", "sh", "mh", ...)
  std::uint32_t flags = 0;       // IP_VS_SVC_F_*
  std::uint32_t flags_mask = 0;  // which flags bits the kernel applies
  std::uint32_t timeout = 0;     // persistence, seconds (0 = not persistent)
  // Raw kernel value: IPv4 = the mask in network order (e.g. /24 is
  // htonl(0xffffff00)); IPv6 = the prefix length 1..128. See netmask_v4().
  std::uint32_t netmask = 0;
  std::string pe_name;         // persistence engine ("sip"); empty = none
  std::optional<Stats> stats;  // only in kernel replies
  bool operator==(const SvcAttrs&) const = default;
};

// The kernel's IPv4 netmask value for a prefix length 0..32 (network order).
std::uint32_t netmask_v4(int prefix_len);

// IPVS_CMD_ATTR_DEST.
struct DestAttrs {
  Addr addr{};
  std::uint16_t port = 0;        // host order here, network order on the wire
  std::uint32_t fwd_method = 0;  // IP_VS_CONN_F_MASQ/LOCALNODE/TUNNEL/DROUTE/BYPASS
  std::uint32_t weight = 0;
  std::uint32_t u_thresh = 0;
  std::uint32_t l_thresh = 0;
  std::uint32_t active_conns = 0;            // read only
  std::uint32_t inact_conns = 0;             // read only
  std::uint32_t persist_conns = 0;           // read only
  std::optional<std::uint16_t> addr_family;  // absent = the service's family
  std::optional<std::uint8_t> tun_type;      // IP_VS_CONN_F_TUNNEL_TYPE_*
  std::optional<std::uint16_t> tun_port;     // host order here, network order on the wire
  std::optional<std::uint16_t> tun_flags;    // IP_VS_TUNNEL_ENCAP_FLAG_*
  std::optional<Stats> stats;                // only in kernel replies
  bool operator==(const DestAttrs&) const = default;
};

// IPVS_CMD_ATTR_DAEMON.
struct DaemonAttrs {
  std::uint32_t state = 0;  // IP_VS_STATE_MASTER 1 / IP_VS_STATE_BACKUP 2
  std::string mcast_ifn;    // interface name, <= 15 chars
  std::uint32_t sync_id = 0;
  std::optional<std::uint16_t> sync_maxlen;
  std::optional<std::array<std::uint8_t, 4>> mcast_group;    // IPv4, network order bytes
  std::optional<std::array<std::uint8_t, 16>> mcast_group6;  // IPv6
  std::optional<std::uint16_t> mcast_port;  // host order here AND on the wire (kernel quirk)
  std::optional<std::uint8_t> mcast_ttl;
  bool operator==(const DaemonAttrs&) const = default;
};

// SET_CONFIG / GET_CONFIG timeouts in seconds. Absent (or 0) = unchanged.
struct Timeouts {
  std::optional<std::uint32_t> tcp;
  std::optional<std::uint32_t> tcp_fin;
  std::optional<std::uint32_t> udp;
  bool operator==(const Timeouts&) const = default;
};

// GET_INFO reply.
struct Info {
  std::uint32_t version = 0;  // e.g. 0x010201 = 1.2.1
  std::uint32_t conn_tab_size = 0;
  bool operator==(const Info&) const = default;
};

}  // namespace lvsd::forwarding::ipvs
