#include "forwarding/userspace/packet.hpp"

namespace lvsd::forwarding::userspace {

namespace {

inline uint16_t be16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

constexpr uint8_t kExtHopByHop = 0;
constexpr uint8_t kExtRouting = 43;
constexpr uint8_t kExtFragment = 44;
constexpr uint8_t kExtAh = 51;
constexpr uint8_t kExtDestOpts = 60;
constexpr uint8_t kExtMobility = 135;
constexpr uint8_t kExtHip = 139;
constexpr uint8_t kExtShim6 = 140;
constexpr uint8_t kExtExp1 = 253;
constexpr uint8_t kExtExp2 = 254;

bool ports_protocol(uint8_t proto) noexcept {
  return proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp;
}

// RFC 792 / RFC 4884: the ICMPv4 messages that quote the offending packet
// and relate to a flow (dest-unreach, source-quench, time-exceeded,
// param-problem; ip_vs_out_icmp() handles the first three).
bool icmp4_is_error(uint8_t type) noexcept {
  return type == 3 || type == 4 || type == 11 || type == 12;
}
// RFC 4443 section 2.1: error messages are types 0..127; 1-4 are defined.
bool icmp6_is_error(uint8_t type) noexcept {
  return type >= 1 && type <= 4;
}

enum class Walk : uint8_t { kOk, kTruncated, kBadChain, kTooLong };

struct V6Chain {
  uint8_t proto = 0;
  uint32_t l4_off = 40;
  uint32_t frag_hdr_off = 0;
  uint32_t frag_offset = 0;
  uint32_t frag_id = 0;
  bool more = false;
};

// RFC 8200 section 4 (and RFC 7045 for the generic format of the headers
// standardised later), bounded. p[0..n) is the IPv6 packet from its fixed
// header on; the walk stops at the first upper-layer protocol, or after the
// fragment header of a non-first fragment (what follows is not a header).
Walk walk_v6(const uint8_t* p, std::size_t n, V6Chain& c) noexcept {
  uint8_t nh = p[6];
  uint32_t off = 40;
  for (int count = 0;; ++count) {
    uint32_t len;
    switch (nh) {
      case kExtHopByHop:
        if (off != 40) return Walk::kBadChain;
        [[fallthrough]];
      case kExtRouting:
      case kExtDestOpts:
      case kExtMobility:
      case kExtHip:
      case kExtShim6:
      case kExtExp1:
      case kExtExp2:
        if (off + 2 > n) return Walk::kTruncated;
        len = (uint32_t{p[off + 1]} + 1) * 8;
        break;
      case kExtAh:  // RFC 4302 section 2.2: length in 4-octet units minus 2
        if (off + 2 > n) return Walk::kTruncated;
        len = (uint32_t{p[off + 1]} + 2) * 4;
        break;
      case kExtFragment:
        if (c.frag_hdr_off != 0) return Walk::kBadChain;
        len = 8;
        break;
      default:
        c.proto = nh;
        c.l4_off = off;
        return Walk::kOk;
    }
    if (count >= kMaxExtHeaders) return Walk::kTooLong;
    if (off + len > n) return Walk::kTruncated;
    if (nh == kExtFragment) {
      const uint16_t fo = be16(p + off + 2);
      c.frag_hdr_off = off;
      c.frag_offset = fo & 0xfff8u;
      c.more = (fo & 1) != 0;
      c.frag_id = be32(p + off + 4);
      if (c.frag_offset != 0) {  // non-first fragment: the rest is payload
        c.proto = p[off];
        c.l4_off = off + 8;
        return Walk::kOk;
      }
    }
    nh = p[off];
    off += len;
  }
}

// The quoted packet of an ICMP(v6) error at b[off..n).
ParseStatus parse_inner(const uint8_t* b, std::size_t n, uint32_t off, uint8_t family,
                        IcmpInner& in) noexcept {
  const uint8_t* q = b + off;
  const std::size_t avail = n - off;
  in.ip_off = static_cast<uint16_t>(off);
  in.len = static_cast<uint32_t>(avail);
  uint32_t l4 = 0;
  bool first = true;
  if (family == 4) {
    if (avail < 20) return ParseStatus::kIcmpInnerTruncated;
    if ((q[0] >> 4) != 4) return ParseStatus::kIcmpInnerBadVersion;
    const uint32_t ihl = (q[0] & 0x0fu) * 4;
    if (ihl < 20) return ParseStatus::kIcmpInnerBadIhl;
    if (ihl > avail) return ParseStatus::kIcmpInnerTruncated;
    in.tuple.saddr = IpAddr::v4(q + 12);
    in.tuple.daddr = IpAddr::v4(q + 16);
    in.tuple.protocol = q[9];
    first = (be16(q + 6) & 0x1fff) == 0;
    l4 = ihl;
  } else {
    if (avail < 40) return ParseStatus::kIcmpInnerTruncated;
    if ((q[0] >> 4) != 6) return ParseStatus::kIcmpInnerBadVersion;
    in.tuple.saddr = IpAddr::v6(q + 8);
    in.tuple.daddr = IpAddr::v6(q + 24);
    V6Chain c;
    switch (walk_v6(q, avail, c)) {
      case Walk::kOk:
        break;
      case Walk::kTruncated:
        return ParseStatus::kIcmpInnerTruncated;
      case Walk::kBadChain:
      case Walk::kTooLong:
        return ParseStatus::kIcmpInnerBadExtHeaderChain;
    }
    in.tuple.protocol = c.proto;
    first = c.frag_offset == 0;
    l4 = c.l4_off;
  }
  in.l4_off = static_cast<uint16_t>(off + l4);
  if (first && ports_protocol(in.tuple.protocol)) {
    // ip_vs_out_icmp() reads just the two ports; RFC 792 promises 8 bytes.
    if (l4 + 4 > avail) return ParseStatus::kIcmpInnerTruncated;
    in.tuple.sport = be16(q + l4);
    in.tuple.dport = be16(q + l4 + 2);
    in.has_ports = true;
  }
  return ParseStatus::kOk;
}

// L4 header at r.l4_off (first fragment or unfragmented).
ParseStatus parse_l4(const uint8_t* b, std::size_t n, ParsedPacket& r) noexcept {
  const uint8_t* l4 = b + r.l4_off;
  const uint32_t len = r.l4_len;
  const uint8_t proto = r.tuple.protocol;
  uint32_t hlen;
  switch (proto) {
    case kProtoTcp: {
      if (len < 20) return ParseStatus::kTruncatedL4;
      hlen = (l4[12] >> 4) * 4u;
      if (hlen < 20 || hlen > len) return ParseStatus::kBadTcpDataOffset;
      r.tcp_flags = l4[13];
      break;
    }
    case kProtoUdp: {
      if (len < 8) return ParseStatus::kTruncatedL4;
      // RFC 768: the length covers header and data; in a first fragment it
      // covers the whole datagram, so it can only be larger.
      const uint16_t ulen = be16(l4 + 4);
      if (r.is_fragment() ? ulen < len : ulen != len) return ParseStatus::kBadUdpLength;
      hlen = 8;
      break;
    }
    case kProtoSctp:
      if (len < 12) return ParseStatus::kTruncatedL4;
      hlen = 12;
      break;
    case kProtoIcmp:
    case kProtoIcmpv6: {
      if ((proto == kProtoIcmp) != (r.family == 4)) return ParseStatus::kOk;  // not L4 here
      if (len < 8) return ParseStatus::kTruncatedL4;
      hlen = 8;
      r.icmp_type = l4[0];
      r.icmp_code = l4[1];
      r.has_l4 = true;
      r.payload_off = r.l4_off + 8;
      r.payload_len = len - 8;
      if (proto == kProtoIcmp ? icmp4_is_error(l4[0]) : icmp6_is_error(l4[0])) {
        r.icmp_error = true;
        return parse_inner(b, n, r.l4_off + 8, r.family, r.inner);
      }
      return ParseStatus::kOk;
    }
    default:
      return ParseStatus::kOk;  // other upper layers: no ports (has_l4 stays false)
  }
  r.tuple.sport = be16(l4);
  r.tuple.dport = be16(l4 + 2);
  r.has_l4 = true;
  r.payload_off = static_cast<uint16_t>(r.l4_off + hlen);
  r.payload_len = len - hlen;
  return ParseStatus::kOk;
}

ParseStatus parse_v4(const uint8_t* b, std::size_t n, ParsedPacket& r) noexcept {
  if (n < 20) return ParseStatus::kTruncatedIpHeader;
  const uint32_t ihl = (b[0] & 0x0fu) * 4;
  if (ihl < 20) return ParseStatus::kBadIhl;
  if (ihl > n) return ParseStatus::kTruncatedIpHeader;
  r.dsfield = b[1];
  r.ttl = b[8];
  r.frag_id = be16(b + 4);
  r.tuple.protocol = b[9];
  r.tuple.saddr = IpAddr::v4(b + 12);
  r.tuple.daddr = IpAddr::v4(b + 16);
  if (be16(b + 2) != n) return ParseStatus::kTotalLengthMismatch;
  const uint16_t frag = be16(b + 6);
  r.df = (frag & 0x4000) != 0;
  r.more_fragments = (frag & 0x2000) != 0;
  r.frag_offset = (frag & 0x1fffu) * 8;
  r.l4_off = static_cast<uint16_t>(ihl);
  r.l4_len = static_cast<uint32_t>(n) - ihl;
  // RFC 791: a datagram is at most 65535 bytes; a fragment reaching past that
  // is the "ping of death" (the kernel's ip_frag_queue() drops it too).
  if (r.frag_offset + r.l4_len > 65535) return ParseStatus::kBadFragment;
  if (r.frag_offset != 0) return ParseStatus::kOk;
  return parse_l4(b, n, r);
}

ParseStatus parse_v6(const uint8_t* b, std::size_t n, ParsedPacket& r) noexcept {
  if (n < 40) return ParseStatus::kTruncatedIpHeader;
  r.dsfield = static_cast<uint8_t>(((b[0] & 0x0f) << 4) | (b[1] >> 4));
  r.ttl = b[7];
  r.tuple.saddr = IpAddr::v6(b + 8);
  r.tuple.daddr = IpAddr::v6(b + 24);
  if (be16(b + 4) + 40u != n) return ParseStatus::kPayloadLengthMismatch;
  V6Chain c;
  switch (walk_v6(b, n, c)) {
    case Walk::kOk:
      break;
    case Walk::kTruncated:
      return ParseStatus::kExtHeaderTruncated;
    case Walk::kBadChain:
      return ParseStatus::kBadExtHeaderChain;
    case Walk::kTooLong:
      return ParseStatus::kExtHeaderChainTooLong;
  }
  r.tuple.protocol = c.proto;
  r.l4_off = static_cast<uint16_t>(c.l4_off);
  r.l4_len = static_cast<uint32_t>(n) - c.l4_off;
  r.frag_hdr_off = static_cast<uint16_t>(c.frag_hdr_off);
  if (c.frag_hdr_off != 0) {
    r.frag_offset = static_cast<uint16_t>(c.frag_offset);
    r.more_fragments = c.more;
    r.frag_id = c.frag_id;
    // RFC 8200 section 4.5: fragments other than the last are multiples of 8
    // bytes long, and the reassembled packet fits 65535 bytes.
    const uint32_t fraglen = static_cast<uint32_t>(n) - (c.frag_hdr_off + 8);
    if ((c.more && fraglen % 8 != 0) || c.frag_offset + fraglen > 65535)
      return ParseStatus::kBadFragment;
    if (c.frag_offset != 0) return ParseStatus::kOk;
  }
  return parse_l4(b, n, r);
}

}  // namespace

const char* to_string(ParseStatus s) noexcept {
  switch (s) {
    case ParseStatus::kOk:
      return "ok";
    case ParseStatus::kTruncatedIpHeader:
      return "truncated_ip_header";
    case ParseStatus::kBadVersion:
      return "bad_version";
    case ParseStatus::kBadIhl:
      return "bad_ihl";
    case ParseStatus::kTotalLengthMismatch:
      return "total_length_mismatch";
    case ParseStatus::kPayloadLengthMismatch:
      return "payload_length_mismatch";
    case ParseStatus::kBadFragment:
      return "bad_fragment";
    case ParseStatus::kExtHeaderTruncated:
      return "ext_header_truncated";
    case ParseStatus::kBadExtHeaderChain:
      return "bad_ext_header_chain";
    case ParseStatus::kExtHeaderChainTooLong:
      return "ext_header_chain_too_long";
    case ParseStatus::kTruncatedL4:
      return "truncated_l4";
    case ParseStatus::kBadTcpDataOffset:
      return "bad_tcp_data_offset";
    case ParseStatus::kBadUdpLength:
      return "bad_udp_length";
    case ParseStatus::kIcmpInnerTruncated:
      return "icmp_inner_truncated";
    case ParseStatus::kIcmpInnerBadVersion:
      return "icmp_inner_bad_version";
    case ParseStatus::kIcmpInnerBadIhl:
      return "icmp_inner_bad_ihl";
    case ParseStatus::kIcmpInnerBadExtHeaderChain:
      return "icmp_inner_bad_ext_header_chain";
    case ParseStatus::kCount:
      break;
  }
  return "unknown";
}

ParsedPacket parse(std::span<const uint8_t> pkt) noexcept {
  ParsedPacket r;
  const uint8_t* b = pkt.data();
  const std::size_t n = pkt.size();
  if (n == 0) {
    r.status = ParseStatus::kTruncatedIpHeader;
    return r;
  }
  switch (b[0] >> 4) {
    case 4:
      r.family = 4;
      r.status = parse_v4(b, n, r);
      break;
    case 6:
      r.family = 6;
      r.status = parse_v6(b, n, r);
      break;
    default:
      r.status = ParseStatus::kBadVersion;
      break;
  }
  return r;
}

}  // namespace lvsd::forwarding::userspace
