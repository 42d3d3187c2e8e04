// In-place rewrites of parsed packets for the userspace engine's forwarding
// methods, and the packets it builds itself:
//
//   NAT      nat_in / nat_out: destination or source address and port, with
//            the IPv4 header checksum and the TCP/UDP checksum (including its
//            pseudo-header) updated incrementally (RFC 1624), SCTP's CRC32c
//            recomputed (it covers the ports and has no incremental form).
//   ICMP     icmp_error_rewrite: an ICMP/ICMPv6 error relating to a NAT
//            connection, outer and quoted headers (ip_vs_nat_icmp()).
//   TUN      build_tunnel_header / encapsulate: IP-in-IP (ip_vs_tunnel_xmit()),
//            tunnel_mtu_check, and the ICMP errors sent back to the client
//            (build_icmp4_error / build_icmp6_error).
//   TTL      decrement_ttl, as ip_forward() / ip_vs's decrement_ttl().
//
// Every function is noexcept, allocates nothing and touches only the caller's
// buffers. The ParsedPacket must come from parse() of the same bytes; the
// rewrites keep it describing them (tuple fields are updated).
//
// csum_not_ready (NFQUEUE's NFQA_SKB_CSUMNOTREADY, i.e. the skb is
// CHECKSUM_PARTIAL: locally generated, or from a veth/virtio peer with
// checksum offload): the TCP/UDP checksum field then holds only the folded
// pseudo-header sum (__tcp_v4_send_check(): th->check = ~tcp_v4_check(len, s, d, 0)),
// to be completed by the NIC. When the verdict carries a modified payload,
// nfqnl_mangle() marks the skb CHECKSUM_NONE, so nothing would complete it:
// with csum_not_ready the rewrite therefore computes the FULL L4 checksum in
// software over the whole segment and the new pseudo-header (not an
// incremental update of a field that is not a checksum yet). Fragments cannot
// be in that state (fragmentation completes checksums first); they are
// refused (kFragmentNeedsFullChecksum). The IPv4 header checksum is always
// complete, whatever the flag says, and is updated incrementally.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "forwarding/userspace/checksum.hpp"
#include "forwarding/userspace/packet.hpp"

namespace lvsd::forwarding::userspace {

enum class RewriteStatus : uint8_t {
  kOk = 0,
  kNotParsed,                  // the ParsedPacket's status is not kOk
  kFamilyMismatch,             // a new address of the other family (no NAT64 here)
  kNoPorts,                    // not TCP/UDP/SCTP, or a non-first fragment
  kFragmentNeedsFullChecksum,  // a fragment, and SCTP / csum_not_ready / ICMP needs every byte
  kNotIcmpError,               // icmp_error_rewrite of a packet that is not an ICMP error
  kIcmpInnerNoPorts,           // the quoted packet is not TCP/UDP/SCTP with ports
  kCount
};
const char* to_string(RewriteStatus s) noexcept;

// ---------------------------------------------------------------------------
// NAT

namespace detail {

// Full TCP/UDP checksum over pkt[p.l4_off..] and the packet's pseudo-header
// (used for csum_not_ready); UDP's computed 0 is sent as 0xffff.
void set_full_l4_checksum(std::span<uint8_t> pkt, const ParsedPacket& p) noexcept;
// SCTP CRC32c over the whole SCTP packet, stored as sctp_compute_cksum() does.
void set_sctp_checksum(std::span<uint8_t> pkt, const ParsedPacket& p) noexcept;

// Address bytes of `which` (source or destination) in the IP header.
inline uint8_t* addr_field(uint8_t* ip, uint8_t family, bool source) noexcept {
  return ip + (family == 4 ? (source ? 12 : 16) : (source ? 8 : 24));
}
inline const uint8_t* addr_bytes(const IpAddr& a, uint8_t family) noexcept {
  return family == 4 ? a.v4_bytes() : a.b.data();
}

inline RewriteStatus nat_rewrite(std::span<uint8_t> pkt, ParsedPacket& p, bool source,
                                 const IpAddr& addr, uint16_t port, bool csum_not_ready) noexcept {
  if (!p.ok()) return RewriteStatus::kNotParsed;
  if (addr.is_v4() != (p.family == 4)) return RewriteStatus::kFamilyMismatch;
  if (!p.has_ports()) return RewriteStatus::kNoPorts;
  const uint8_t proto = p.tuple.protocol;
  if (p.is_fragment() && (csum_not_ready || proto == kProtoSctp))
    return RewriteStatus::kFragmentNeedsFullChecksum;

  uint8_t* const b = pkt.data();
  const std::size_t alen = p.family == 4 ? 4 : 16;
  uint8_t* const a = addr_field(b, p.family, source);
  const uint8_t* const na = addr_bytes(addr, p.family);
  uint8_t* const l4 = b + p.l4_off;
  uint8_t* const pf = l4 + (source ? 0 : 2);
  const uint16_t old_port = csum::load_raw16(pf);
  const uint16_t new_port = csum::raw16(port);

  csum::Delta d;
  d.add_bytes(a, na, alen);
  if (p.family == 4) csum::store_raw16(b + 10, d.apply(csum::load_raw16(b + 10)));
  d.add16(old_port, new_port);  // the L4 checksum covers the pseudo-header and the port
  std::memcpy(a, na, alen);
  csum::store_raw16(pf, new_port);
  if (source) {
    p.tuple.saddr = addr;
    p.tuple.sport = port;
  } else {
    p.tuple.daddr = addr;
    p.tuple.dport = port;
  }

  if (proto == kProtoSctp) {
    set_sctp_checksum(pkt, p);
  } else if (csum_not_ready) {
    set_full_l4_checksum(pkt, p);
  } else if (proto == kProtoTcp) {
    csum::store_raw16(l4 + 16, d.apply(csum::load_raw16(l4 + 16)));
  } else {
    // UDP: 0 means the sender computed none (RFC 768); leave it so. IPv6
    // too: RFC 6935/6936 allow it for tunnel protocols, and the receiver
    // decides (Linux drops it unless the socket accepts zero checksums).
    const uint16_t c = csum::load_raw16(l4 + 6);
    if (c != 0) csum::store_raw16(l4 + 6, d.apply_udp(c));
  }
  return RewriteStatus::kOk;
}

}  // namespace detail

// client -> VIP:vport becomes client -> rs:rport (ip_vs_nat_xmit() with the
// protocol's dnat_handler). `rs` must be of the packet's family.
inline RewriteStatus nat_in(std::span<uint8_t> pkt, ParsedPacket& p, const IpAddr& rs,
                            uint16_t rport, bool csum_not_ready) noexcept {
  return detail::nat_rewrite(pkt, p, false, rs, rport, csum_not_ready);
}

// rs:rport -> client becomes VIP:vport -> client (ip_vs_out's snat_handler).
inline RewriteStatus nat_out(std::span<uint8_t> pkt, ParsedPacket& p, const IpAddr& vip,
                             uint16_t vport, bool csum_not_ready) noexcept {
  return detail::nat_rewrite(pkt, p, true, vip, vport, csum_not_ready);
}

// ---------------------------------------------------------------------------
// ICMP errors relating to a NAT connection (ip_vs_nat_icmp(), ip_vs_nat_icmp_v6())

enum class Side : uint8_t { kSource, kDestination };

// Which address of the outer header, and which address and port of the
// quoted packet, take which new values.
struct IcmpErrorMapping {
  Side outer_side = Side::kSource;
  IpAddr outer_addr;
  Side inner_side = Side::kDestination;
  IpAddr inner_addr;
  uint16_t inner_port = 0;  // host order
};

// Rewrites an ICMP/ICMPv6 error in place: the outer address (IPv4 header
// checksum updated incrementally), the quoted packet's address and port, the
// quoted IPv4 header's checksum (recomputed, as ip_send_check(ciph)), the
// quoted TCP/UDP checksum when the quote holds it (updated incrementally for
// the address and port change, as netfilter's NAT does; a UDP 0 stays 0; a
// quoted SCTP CRC cannot be recomputed from a truncated quote and is left),
// and the ICMP checksum recomputed over the whole message (ICMPv6 with its
// pseudo-header, RFC 4443 section 2.3). The message must not be fragmented.
RewriteStatus icmp_error_rewrite(std::span<uint8_t> pkt, ParsedPacket& p,
                                 const IcmpErrorMapping& m) noexcept;

// Outbound: an error from the realserver side (the realserver, or a router
// between it and the director) about a client -> rs:rport packet, on its way
// to the client. Outer source := VIP, quoted destination := VIP:vport
// (ip_vs_nat_icmp() with inout = 1: the client then recognises its own packet).
inline RewriteStatus icmp_error_nat_out(std::span<uint8_t> pkt, ParsedPacket& p, const IpAddr& vip,
                                        uint16_t vport) noexcept {
  return icmp_error_rewrite(pkt, p, {Side::kSource, vip, Side::kDestination, vip, vport});
}

// Inbound: an error from the client side (the client, or a router on the
// way, e.g. fragmentation-needed) about a VIP:vport -> client packet, sent to
// the VIP. Outer destination := rs, quoted source := rs:rport
// (ip_vs_nat_icmp() with inout = 0), so the realserver recognises its packet.
inline RewriteStatus icmp_error_nat_in(std::span<uint8_t> pkt, ParsedPacket& p, const IpAddr& rs,
                                       uint16_t rport) noexcept {
  return icmp_error_rewrite(pkt, p, {Side::kDestination, rs, Side::kSource, rs, rport});
}

// ---------------------------------------------------------------------------
// TTL

// Decrements the TTL / hop limit (IPv4 checksum updated incrementally, as
// ip_decrease_ttl()). Returns false and leaves the packet alone when it is
// already <= 1: the caller then drops it (and may send time-exceeded with
// build_icmp4_error(type 11 code 0) / build_icmp6_error(type 3 code 0)).
inline bool decrement_ttl(std::span<uint8_t> pkt, ParsedPacket& p) noexcept {
  if (p.ttl <= 1 || p.family == 0) return false;
  uint8_t* b = pkt.data();
  if (p.family == 4) {
    const uint16_t old_word = csum::load_raw16(b + 8);  // TTL, protocol
    b[8] = static_cast<uint8_t>(p.ttl - 1);
    csum::store_raw16(b + 10,
                      csum::update16(csum::load_raw16(b + 10), old_word, csum::load_raw16(b + 8)));
  } else {
    b[7] = static_cast<uint8_t>(p.ttl - 1);
  }
  --p.ttl;
  return true;
}

// ---------------------------------------------------------------------------
// TUN: IP-in-IP (ip_vs_tunnel_xmit(), ip_vs_tunnel_xmit_v6())

struct TunnelParams {
  IpAddr saddr;        // outer source: the director's address toward the realserver
  IpAddr daddr;        // outer destination: the realserver; its family picks the outer header
  uint16_t ip_id = 0;  // IPv4 outer identification (the caller's counter, cf. ip_select_ident)
  // IPv4 inner: outer DF := inner DF (ip_vs_prepare_tunneled_skb() with the
  // pmtu_disc sysctl on). Pass false when tunnel_mtu_check() said
  // kFragmentOuter: ip_vs sets skb->ignore_df instead, which userspace cannot,
  // so the outer packet must not carry DF if it is to be fragmented.
  bool copy_df = true;
  // IPv6 outer flow label (ip_vs leaves it 0; a hash of the inner flow lets
  // routers spread tunnels over ECMP paths, RFC 6438).
  uint32_t flow_label = 0;
};

inline constexpr std::size_t kIpv4HeaderLen = 20;
inline constexpr std::size_t kIpv6HeaderLen = 40;

inline std::size_t tunnel_overhead(const IpAddr& outer_daddr) noexcept {
  return outer_daddr.is_v4() ? kIpv4HeaderLen : kIpv6HeaderLen;
}

// Writes the outer header for an inner packet of inner_len bytes (parsed as
// `inner`) into hdr[0..tunnel_overhead()). Outer protocol 4 (IPIP) for an
// IPv4 inner packet, 41 for IPv6, any combination of families. TTL / hop
// limit := the inner one; DSCP copied and ECN per INET_ECN_encapsulate()
// (RFC 6040 normal mode: CE becomes ECT(0)); IPv4 outer: DF as copy_df
// says (never for an IPv6 inner packet), MF/offset 0, checksum. Returns the
// header length, or 0 when hdr is too small, the inner packet was not parsed
// or the outer length would exceed 65535.
std::size_t build_tunnel_header(std::span<uint8_t> hdr, const ParsedPacket& inner,
                                std::size_t inner_len, const TunnelParams& t) noexcept;

// Outer header followed by the inner packet, into out. The inner bytes are
// moved with memmove, so they may already sit at out + tunnel_overhead().
// Returns the total length, or 0 (as above, or out too small).
std::size_t encapsulate(std::span<uint8_t> out, std::span<const uint8_t> inner,
                        const ParsedPacket& p, const TunnelParams& t) noexcept;

enum class MtuVerdict : uint8_t {
  kFits,             // send as is
  kFragmentOuter,    // IPv4 outer may be fragmented: send with copy_df = false
  kSendTooBig,       // drop, send fragmentation-needed / packet-too-big with .mtu
  kDropTooBig,       // drop silently (ICMP error, or a non-first IPv6 fragment)
  kPathMtuTooSmall,  // the tunnel leaves < 68 (IPv4 outer) / < 1280 (IPv6 outer) bytes
};
struct MtuCheck {
  MtuVerdict verdict = MtuVerdict::kFits;
  uint32_t mtu = 0;  // the MTU left for the inner packet: the value to report
};

// Does inner (inner_len bytes) fit the tunnel when the route to the
// realserver has path_mtu? Follows __ip_vs_get_out_rt() (mtu = dst_mtu -
// outer header; < 68 is refused) and ensure_mtu_is_adequate(): an IPv4
// packet with DF that is too big gets fragmentation-needed unless it is an
// ICMP error, without DF (or with pmtu_disc off) the outer packet is
// fragmented; an IPv6 packet that is too big gets packet-too-big, only for a
// first fragment and not for an ICMP error. One step further than ip_vs for
// IPv6 inner over an IPv4 outer path with mtu < 1280: RFC 2473 section 7.1
// has the tunnel fragment the outer packet up to 1280 inner bytes, and the
// MTU reported is never below 1280 (RFC 8200 section 5).
// A GSO packet (NFQUEUE opened with NFQA_CFG_F_GSO, NFQA_SKB_GSO set) is
// longer than any MTU and is segmented later: ip_vs skips this check for
// it (skb_is_gso()), and so must the caller.
MtuCheck tunnel_mtu_check(const ParsedPacket& inner, std::size_t inner_len,
                          const IpAddr& outer_daddr, uint32_t path_mtu,
                          bool pmtu_disc = true) noexcept;

// ---------------------------------------------------------------------------
// ICMP errors built by the engine

// RFC 1122 section 3.2.2 / RFC 4443 section 2.4(e): no error about an
// unparsed packet, an ICMP error (or an ICMPv4 redirect), a non-first
// fragment, or a packet whose source does not name one host (IPv4 0/8,
// 224/4 multicast, 240/4 class E and broadcast; IPv6 :: and ff00::/8); for
// IPv4 also not about a packet sent to a multicast or the limited broadcast
// address. (IPv6 multicast destinations: build_icmp6_error refuses them
// except for packet-too-big, as RFC 4443 section 2.4(e.3) allows.)
bool icmp_error_allowed(const ParsedPacket& orig) noexcept;

// An ICMPv4 error (type, code, the 32-bit rest-of-header in host order) in
// an IPv4 packet from `src` to the original's source, quoting the original
// packet: its IP header and at least 8 bytes of data (RFC 792), as much as
// keeps the error within 576 bytes (RFC 1812 section 4.3.2.3). TOS 0xc0
// (internetwork control, as icmp_send()), TTL 64, DF clear, ID ip_id.
// Returns the length written to out, or 0 when the original is not a parsed
// IPv4 packet, icmp_error_allowed() says no, src is not IPv4, or out cannot
// hold even the minimal quote. Quote the packet as the client sent it
// (before any NAT rewrite) so the client's stack recognises it.
std::size_t build_icmp4_error(std::span<uint8_t> out, std::span<const uint8_t> orig,
                              const ParsedPacket& op, uint8_t type, uint8_t code,
                              uint32_t rest_of_header, const IpAddr& src, uint16_t ip_id) noexcept;

// RFC 1191 section 4: destination unreachable, fragmentation needed and DF
// set (type 3 code 4), next-hop MTU in the low 16 bits. For TUN: src = the
// VIP (the address the client sent to), next_hop_mtu = tunnel_mtu_check().mtu.
inline std::size_t build_icmp4_frag_needed(std::span<uint8_t> out, std::span<const uint8_t> orig,
                                           const ParsedPacket& op, uint16_t next_hop_mtu,
                                           const IpAddr& src, uint16_t ip_id) noexcept {
  return build_icmp4_error(out, orig, op, 3, 4, next_hop_mtu, src, ip_id);
}

// An ICMPv6 error (RFC 4443 section 2.4(c)) from `src` to the original's
// source, quoting as much of the original as keeps the packet within 1280
// bytes (the IPv6 minimum MTU); hop limit 64, checksum over the pseudo-header
// and message. Returns the length, or 0 as for build_icmp4_error (out must
// hold at least the IPv6 header of the original plus 8 bytes, or all of it).
std::size_t build_icmp6_error(std::span<uint8_t> out, std::span<const uint8_t> orig,
                              const ParsedPacket& op, uint8_t type, uint8_t code, uint32_t param,
                              const IpAddr& src) noexcept;

// RFC 4443 section 3.2: packet too big (type 2 code 0) with the MTU.
inline std::size_t build_icmp6_packet_too_big(std::span<uint8_t> out, std::span<const uint8_t> orig,
                                              const ParsedPacket& op, uint32_t mtu,
                                              const IpAddr& src) noexcept {
  return build_icmp6_error(out, orig, op, 2, 0, mtu, src);
}

// Largest ICMP error packets the builders produce (size the buffer with these).
inline constexpr std::size_t kIcmp4ErrorMax = 576;
inline constexpr std::size_t kIcmp6ErrorMax = 1280;

}  // namespace lvsd::forwarding::userspace
