#include "forwarding/userspace/rewrite.hpp"

#include <algorithm>

namespace lvsd::forwarding::userspace {

namespace {

void put16(uint8_t* p, uint16_t host) noexcept {
  p[0] = static_cast<uint8_t>(host >> 8);
  p[1] = static_cast<uint8_t>(host);
}
void put32(uint8_t* p, uint32_t host) noexcept {
  p[0] = static_cast<uint8_t>(host >> 24);
  p[1] = static_cast<uint8_t>(host >> 16);
  p[2] = static_cast<uint8_t>(host >> 8);
  p[3] = static_cast<uint8_t>(host);
}

}  // namespace

const char* to_string(RewriteStatus s) noexcept {
  switch (s) {
    case RewriteStatus::kOk:
      return "ok";
    case RewriteStatus::kNotParsed:
      return "not_parsed";
    case RewriteStatus::kFamilyMismatch:
      return "family_mismatch";
    case RewriteStatus::kNoPorts:
      return "no_ports";
    case RewriteStatus::kFragmentNeedsFullChecksum:
      return "fragment_needs_full_checksum";
    case RewriteStatus::kNotIcmpError:
      return "not_icmp_error";
    case RewriteStatus::kIcmpInnerNoPorts:
      return "icmp_inner_no_ports";
    case RewriteStatus::kCount:
      break;
  }
  return "unknown";
}

namespace detail {

void set_full_l4_checksum(std::span<uint8_t> pkt, const ParsedPacket& p) noexcept {
  uint8_t* b = pkt.data();
  uint8_t* l4 = b + p.l4_off;
  uint8_t* field = l4 + (p.tuple.protocol == kProtoTcp ? 16 : 6);
  csum::store_raw16(field, 0);
  uint64_t s = p.family == 4 ? csum::pseudo_v4(b + 12, b + 16, p.tuple.protocol,
                                               static_cast<uint16_t>(p.l4_len))
                             : csum::pseudo_v6(b + 8, b + 24, p.tuple.protocol, p.l4_len);
  s = csum::sum(l4, p.l4_len, s);
  uint16_t c = csum::finish(s);
  if (p.tuple.protocol == kProtoUdp && c == 0) c = 0xffff;  // RFC 768
  csum::store_raw16(field, c);
}

void set_sctp_checksum(std::span<uint8_t> pkt, const ParsedPacket& p) noexcept {
  // sctp_compute_cksum(): CRC32c of the SCTP packet with the field zeroed,
  // stored as cpu_to_le32() of the value (RFC 9260 appendix A bit order).
  uint8_t* l4 = pkt.data() + p.l4_off;
  std::memset(l4 + 8, 0, 4);
  const uint32_t crc = csum::crc32c(l4, p.l4_len);
  l4[8] = static_cast<uint8_t>(crc);
  l4[9] = static_cast<uint8_t>(crc >> 8);
  l4[10] = static_cast<uint8_t>(crc >> 16);
  l4[11] = static_cast<uint8_t>(crc >> 24);
}

}  // namespace detail

RewriteStatus icmp_error_rewrite(std::span<uint8_t> pkt, ParsedPacket& p,
                                 const IcmpErrorMapping& m) noexcept {
  if (!p.ok()) return RewriteStatus::kNotParsed;
  if (!p.icmp_error) return RewriteStatus::kNotIcmpError;
  if (p.is_fragment()) return RewriteStatus::kFragmentNeedsFullChecksum;
  const bool v4 = p.family == 4;
  if (m.outer_addr.is_v4() != v4 || m.inner_addr.is_v4() != v4)
    return RewriteStatus::kFamilyMismatch;
  if (!p.inner.has_ports) return RewriteStatus::kIcmpInnerNoPorts;

  uint8_t* const b = pkt.data();
  const std::size_t alen = v4 ? 4 : 16;

  // Outer header.
  const bool outer_src = m.outer_side == Side::kSource;
  uint8_t* oa = detail::addr_field(b, p.family, outer_src);
  const uint8_t* ona = detail::addr_bytes(m.outer_addr, p.family);
  if (v4) {
    csum::Delta d;
    d.add_bytes(oa, ona, 4);
    csum::store_raw16(b + 10, d.apply(csum::load_raw16(b + 10)));
  }
  std::memcpy(oa, ona, alen);
  (outer_src ? p.tuple.saddr : p.tuple.daddr) = m.outer_addr;

  // Quoted packet: address, port, its L4 checksum when quoted.
  const bool inner_src = m.inner_side == Side::kSource;
  uint8_t* q = b + p.inner.ip_off;
  uint8_t* ia = detail::addr_field(q, p.family, inner_src);
  const uint8_t* ina = detail::addr_bytes(m.inner_addr, p.family);
  uint8_t* il4 = b + p.inner.l4_off;
  uint8_t* ipf = il4 + (inner_src ? 0 : 2);
  const uint16_t new_port = csum::raw16(m.inner_port);
  csum::Delta d;
  d.add_bytes(ia, ina, alen);
  d.add16(csum::load_raw16(ipf), new_port);
  std::memcpy(ia, ina, alen);
  csum::store_raw16(ipf, new_port);
  if (v4) csum::store_raw16(q + 10, csum::ipv4_header_checksum(q, (q[0] & 0x0fu) * 4));
  const uint32_t l4_quoted = p.inner.len - (p.inner.l4_off - p.inner.ip_off);
  if (p.inner.tuple.protocol == kProtoTcp && l4_quoted >= 18) {
    csum::store_raw16(il4 + 16, d.apply(csum::load_raw16(il4 + 16)));
  } else if (p.inner.tuple.protocol == kProtoUdp && l4_quoted >= 8) {
    const uint16_t c = csum::load_raw16(il4 + 6);
    if (c != 0) csum::store_raw16(il4 + 6, d.apply_udp(c));
  }
  if (inner_src) {
    p.inner.tuple.saddr = m.inner_addr;
    p.inner.tuple.sport = m.inner_port;
  } else {
    p.inner.tuple.daddr = m.inner_addr;
    p.inner.tuple.dport = m.inner_port;
  }

  // The ICMP checksum over the whole message (ip_vs_nat_icmp() recomputes it
  // with ip_compute_csum(); ICMPv6 covers the pseudo-header too).
  uint8_t* icmp = b + p.l4_off;
  csum::store_raw16(icmp + 2, 0);
  uint64_t s = v4 ? 0 : csum::pseudo_v6(b + 8, b + 24, kProtoIcmpv6, p.l4_len);
  s = csum::sum(icmp, p.l4_len, s);
  csum::store_raw16(icmp + 2, csum::finish(s));
  return RewriteStatus::kOk;
}

// ---------------------------------------------------------------------------
// TUN

std::size_t build_tunnel_header(std::span<uint8_t> hdr, const ParsedPacket& inner,
                                std::size_t inner_len, const TunnelParams& t) noexcept {
  if (!inner.ok()) return 0;
  const bool v4 = t.daddr.is_v4();
  if (t.saddr.is_v4() != v4) return 0;
  const std::size_t hl = v4 ? kIpv4HeaderLen : kIpv6HeaderLen;
  if (hdr.size() < hl) return 0;
  if (v4 ? inner_len + hl > 65535 : inner_len > 65535) return 0;  // the length fields
  const uint8_t proto = inner.family == 4 ? kProtoIpip : kProtoIpv6;
  // INET_ECN_encapsulate(): DSCP copied; ECN copied unless CE, which becomes
  // ECT(0) so a congested outer path cannot be hidden (RFC 6040 section 4.1).
  const uint8_t ecn = inner.dsfield & 0x03;
  const uint8_t ds = static_cast<uint8_t>((inner.dsfield & 0xfc) | (ecn == 0x03 ? 0x02 : ecn));
  uint8_t* h = hdr.data();
  if (v4) {
    h[0] = 0x45;
    h[1] = ds;
    put16(h + 2, static_cast<uint16_t>(hl + inner_len));
    put16(h + 4, t.ip_id);
    // Copy DF, reset fragment offset and MF (ip_vs_prepare_tunneled_skb()).
    put16(h + 6, (t.copy_df && inner.family == 4 && inner.df) ? 0x4000 : 0);
    h[8] = inner.ttl;
    h[9] = proto;
    h[10] = h[11] = 0;
    std::memcpy(h + 12, t.saddr.v4_bytes(), 4);
    std::memcpy(h + 16, t.daddr.v4_bytes(), 4);
    csum::store_raw16(h + 10, csum::ipv4_header_checksum(h, kIpv4HeaderLen));
  } else {
    const uint32_t fl = t.flow_label & 0xfffff;
    h[0] = static_cast<uint8_t>(0x60 | (ds >> 4));
    h[1] = static_cast<uint8_t>((ds << 4) | (fl >> 16));
    h[2] = static_cast<uint8_t>(fl >> 8);
    h[3] = static_cast<uint8_t>(fl);
    put16(h + 4, static_cast<uint16_t>(inner_len));
    h[6] = proto;
    h[7] = inner.ttl;
    std::memcpy(h + 8, t.saddr.b.data(), 16);
    std::memcpy(h + 24, t.daddr.b.data(), 16);
  }
  return hl;
}

std::size_t encapsulate(std::span<uint8_t> out, std::span<const uint8_t> inner,
                        const ParsedPacket& p, const TunnelParams& t) noexcept {
  uint8_t hdr[kIpv6HeaderLen];
  const std::size_t hl = build_tunnel_header(hdr, p, inner.size(), t);
  if (hl == 0 || out.size() < hl + inner.size()) return 0;
  // Header built aside first: out may overlap the inner bytes.
  std::memmove(out.data() + hl, inner.data(), inner.size());
  std::memcpy(out.data(), hdr, hl);
  return hl + inner.size();
}

MtuCheck tunnel_mtu_check(const ParsedPacket& inner, std::size_t inner_len,
                          const IpAddr& outer_daddr, uint32_t path_mtu, bool pmtu_disc) noexcept {
  const bool outer_v4 = outer_daddr.is_v4();
  const uint32_t oh = static_cast<uint32_t>(tunnel_overhead(outer_daddr));
  if (path_mtu < oh + (outer_v4 ? 68u : 1280u)) return {MtuVerdict::kPathMtuTooSmall, 0};
  const uint32_t mtu = path_mtu - oh;
  if (inner_len <= mtu) return {MtuVerdict::kFits, mtu};
  if (inner.family == 6) {
    const uint32_t report = std::max<uint32_t>(mtu, 1280);
    if (inner_len <= report) return {MtuVerdict::kFragmentOuter, report};
    if (inner.frag_offset == 0 && !inner.icmp_error) return {MtuVerdict::kSendTooBig, report};
    return {MtuVerdict::kDropTooBig, report};
  }
  if (pmtu_disc && inner.df && !inner.icmp_error) return {MtuVerdict::kSendTooBig, mtu};
  return {MtuVerdict::kFragmentOuter, mtu};
}

// ---------------------------------------------------------------------------
// ICMP errors

bool icmp_error_allowed(const ParsedPacket& o) noexcept {
  if (!o.ok() || o.icmp_error || o.frag_offset != 0) return false;
  if (o.family == 4) {
    if (o.has_l4 && o.tuple.protocol == kProtoIcmp && o.icmp_type == 5) return false;  // redirect
    const uint8_t* s = o.tuple.saddr.v4_bytes();
    const uint8_t* d = o.tuple.daddr.v4_bytes();
    if (s[0] == 0 || s[0] >= 224) return false;
    if ((d[0] >= 224 && d[0] < 240) || o.tuple.daddr.v4_be() == 0xffffffffu) return false;
    return true;
  }
  // RFC 4443 section 2.4(e.1): no error about an error (types 0..127).
  if (o.has_l4 && o.tuple.protocol == kProtoIcmpv6 && o.icmp_type < 128) return false;
  if (o.tuple.saddr == IpAddr{} || o.tuple.saddr.b[0] == 0xff) return false;
  return true;
}

std::size_t build_icmp4_error(std::span<uint8_t> out, std::span<const uint8_t> orig,
                              const ParsedPacket& op, uint8_t type, uint8_t code,
                              uint32_t rest_of_header, const IpAddr& src, uint16_t ip_id) noexcept {
  if (op.family != 4 || !src.is_v4() || !icmp_error_allowed(op)) return 0;
  constexpr std::size_t kHdr = kIpv4HeaderLen + 8;
  const std::size_t min_quote = std::min<std::size_t>(orig.size(), op.l4_off + 8);
  if (out.size() < kHdr + min_quote) return 0;
  const std::size_t quote = std::min({orig.size(), kIcmp4ErrorMax - kHdr, out.size() - kHdr});
  const std::size_t total = kHdr + quote;
  uint8_t* h = out.data();
  // The quote first (memmove): orig may share the buffer.
  std::memmove(h + kHdr, orig.data(), quote);
  h[0] = 0x45;
  h[1] = 0xc0;  // IPTOS_PREC_INTERNETCONTROL, as icmp_send()
  put16(h + 2, static_cast<uint16_t>(total));
  put16(h + 4, ip_id);
  put16(h + 6, 0);
  h[8] = 64;
  h[9] = kProtoIcmp;
  h[10] = h[11] = 0;
  std::memcpy(h + 12, src.v4_bytes(), 4);
  std::memcpy(h + 16, h + kHdr + 12, 4);  // to the original's source
  csum::store_raw16(h + 10, csum::ipv4_header_checksum(h, kIpv4HeaderLen));
  uint8_t* icmp = h + kIpv4HeaderLen;
  icmp[0] = type;
  icmp[1] = code;
  icmp[2] = icmp[3] = 0;
  put32(icmp + 4, rest_of_header);
  csum::store_raw16(icmp + 2, csum::finish(csum::sum(icmp, 8 + quote)));
  return total;
}

std::size_t build_icmp6_error(std::span<uint8_t> out, std::span<const uint8_t> orig,
                              const ParsedPacket& op, uint8_t type, uint8_t code, uint32_t param,
                              const IpAddr& src) noexcept {
  if (op.family != 6 || src.is_v4() || !icmp_error_allowed(op)) return 0;
  const bool pmtu_exception = type == 2 || (type == 4 && code == 2);
  if (op.tuple.daddr.b[0] == 0xff && !pmtu_exception) return 0;
  constexpr std::size_t kHdr = kIpv6HeaderLen + 8;
  const std::size_t min_quote = std::min<std::size_t>(orig.size(), op.l4_off + 8);
  if (out.size() < kHdr + min_quote) return 0;
  const std::size_t quote = std::min({orig.size(), kIcmp6ErrorMax - kHdr, out.size() - kHdr});
  const std::size_t icmp_len = 8 + quote;
  uint8_t* h = out.data();
  std::memmove(h + kHdr, orig.data(), quote);
  h[0] = 0x60;
  h[1] = h[2] = h[3] = 0;
  put16(h + 4, static_cast<uint16_t>(icmp_len));
  h[6] = kProtoIcmpv6;
  h[7] = 64;
  std::memcpy(h + 8, src.b.data(), 16);
  std::memcpy(h + 24, h + kHdr + 8, 16);  // to the original's source
  uint8_t* icmp = h + kIpv6HeaderLen;
  icmp[0] = type;
  icmp[1] = code;
  icmp[2] = icmp[3] = 0;
  put32(icmp + 4, param);
  uint64_t s = csum::pseudo_v6(h + 8, h + 24, kProtoIcmpv6, static_cast<uint32_t>(icmp_len));
  csum::store_raw16(icmp + 2, csum::finish(csum::sum(icmp, icmp_len, s)));
  return kHdr + quote;
}

}  // namespace lvsd::forwarding::userspace
