// Test-side packet construction and checksum verification for the userspace
// packet layer. Deliberately independent of forwarding/userspace/checksum.*:
// the plain RFC 1071 loop over big-endian 16-bit words, a bitwise CRC32c,
// explicit byte layouts. Expected packets are built here with full
// checksums; the code under test must produce the same bytes.
#pragma once

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "forwarding/userspace/ip.hpp"

namespace lvsd::forwarding::userspace::testing {

using Bytes = std::vector<uint8_t>;

inline Bytes from_hex(std::string_view h) {
  Bytes out;
  auto nib = [](char c) -> int { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(nib(h[i]) * 16 + nib(h[i + 1])));
  return out;
}

inline std::string to_hex(const Bytes& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

inline IpAddr addr(const std::string& s) {
  return IpAddr::from(boost::asio::ip::make_address(s));
}

// --- Reference checksums ----------------------------------------------------

inline uint32_t ref_sum(const uint8_t* p, std::size_t n, uint32_t s = 0) {
  for (std::size_t i = 0; i < n; i += 2) {
    s += static_cast<uint32_t>(p[i]) << 8;
    if (i + 1 < n) s += p[i + 1];
    if (s & 0x80000000u) s = (s & 0xffff) + (s >> 16);
  }
  return s;
}
inline uint16_t ref_fold(uint32_t s) {
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}
inline uint16_t ref_cksum(const uint8_t* p, std::size_t n, uint32_t init = 0) {
  return static_cast<uint16_t>(~ref_fold(ref_sum(p, n, init)));
}
inline uint16_t get16(const Bytes& b, std::size_t off) {
  return static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
}
inline void set16(Bytes& b, std::size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}
// Pseudo-header sum taken from the packet's own addresses (RFC 793, RFC 8200 8.1).
inline uint32_t ref_pseudo(const Bytes& pkt, uint8_t proto, uint32_t l4_len) {
  const bool v4 = (pkt[0] >> 4) == 4;
  uint32_t s = v4 ? ref_sum(pkt.data() + 12, 8) : ref_sum(pkt.data() + 8, 32);
  return s + proto + (l4_len >> 16) + (l4_len & 0xffff);
}
inline uint32_t ref_crc32c(const uint8_t* p, std::size_t n) {
  uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k)
      c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
  }
  return ~c;
}

// Offset of the checksum field in an L4 header.
inline std::size_t check_field(uint8_t proto) {
  switch (proto) {
    case kProtoTcp:
      return 16;
    case kProtoUdp:
      return 6;
    case kProtoSctp:
      return 8;
    default:
      return 2;  // ICMP, ICMPv6
  }
}

// Sets the IPv4 header checksum from scratch.
inline void ref_fix_ip4(Bytes& p, std::size_t ip_off = 0) {
  const std::size_t ihl = (p[ip_off] & 15) * 4u;
  set16(p, ip_off + 10, 0);
  set16(p, ip_off + 10, ref_cksum(p.data() + ip_off, ihl));
}

enum class L4Csum { kFull, kPartial, kZero };

// Sets the L4 checksum of the (whole, unfragmented) packet from scratch.
// kPartial: the folded pseudo-header sum only, as a CHECKSUM_PARTIAL skb
// carries it (__tcp_v4_send_check / udp4_hwcsum).
inline void ref_fix_l4(Bytes& p, std::size_t l4_off, uint8_t proto, L4Csum mode = L4Csum::kFull) {
  const std::size_t len = p.size() - l4_off;
  const std::size_t f = l4_off + check_field(proto);
  if (proto == kProtoSctp) {
    p[f] = p[f + 1] = p[f + 2] = p[f + 3] = 0;
    const uint32_t crc = ref_crc32c(p.data() + l4_off, len);
    for (int i = 0; i < 4; ++i)
      p[f + i] = static_cast<uint8_t>(crc >> (8 * i));  // little-endian, as the kernel
    return;
  }
  set16(p, f, 0);
  if (mode == L4Csum::kZero) return;
  const bool icmp4 = proto == kProtoIcmp;
  const uint32_t ps = icmp4 ? 0 : ref_pseudo(p, proto, static_cast<uint32_t>(len));
  if (mode == L4Csum::kPartial) {
    set16(p, f, ref_fold(ps));
    return;
  }
  uint16_t c = ref_cksum(p.data() + l4_off, len, ps);
  if (proto == kProtoUdp && c == 0) c = 0xffff;
  set16(p, f, c);
}

// True when the IPv4 header checksum verifies (sum over the header == 0xffff).
inline bool ref_ip4_ok(const Bytes& p, std::size_t ip_off = 0) {
  return ref_fold(ref_sum(p.data() + ip_off, (p[ip_off] & 15) * 4u)) == 0xffff;
}
// True when the L4 checksum verifies over the packet and its pseudo-header.
inline bool ref_l4_ok(const Bytes& p, std::size_t l4_off, uint8_t proto) {
  const std::size_t len = p.size() - l4_off;
  if (proto == kProtoSctp) {
    Bytes c(p.begin() + static_cast<long>(l4_off), p.end());
    const uint32_t stored = c[8] | (c[9] << 8) | (c[10] << 16) | (uint32_t{c[11]} << 24);
    c[8] = c[9] = c[10] = c[11] = 0;
    return ref_crc32c(c.data(), c.size()) == stored;
  }
  const uint32_t ps = proto == kProtoIcmp ? 0 : ref_pseudo(p, proto, static_cast<uint32_t>(len));
  return ref_fold(ref_sum(p.data() + l4_off, len, ps)) == 0xffff;
}

// --- Packet builder -----------------------------------------------------------

struct Ext {  // an IPv6 extension header, zero-filled options (Pad1s)
  uint8_t type;
  std::size_t len;  // multiple of 8 (AH: of 4, >= 12)
};

struct Spec {
  std::string saddr = "192.0.2.1";
  std::string daddr = "192.0.2.100";
  uint8_t proto = kProtoTcp;
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  bool df = true;
  uint16_t ip_id = 0x1234;
  std::size_t ip_options = 0;  // IPv4 option bytes (NOPs), multiple of 4
  std::vector<Ext> ext;        // IPv6 extension headers, in order
  uint32_t flow_label = 0;
  uint8_t tcp_flags = 0x18;
  std::size_t tcp_options = 0;  // multiple of 4 (NOPs)
  Bytes payload;
  L4Csum csum = L4Csum::kFull;
  uint8_t icmp_type = 8;  // ICMP(v6) echo-like header when proto is ICMP
  uint8_t icmp_code = 0;
};

inline bool is_v4(const Spec& s) {
  return addr(s.saddr).is_v4();
}

// Offset of the L4 header in build(s).
inline std::size_t l4_offset(const Spec& s) {
  if (is_v4(s)) return 20 + s.ip_options;
  std::size_t off = 40;
  for (const Ext& e : s.ext)
    off += e.len;
  return off;
}

inline Bytes build(const Spec& s) {
  const bool v4 = is_v4(s);
  Bytes l4;
  switch (s.proto) {
    case kProtoTcp:
      l4.assign(20 + s.tcp_options, 0);
      l4[4] = 0x11, l4[5] = 0x22, l4[6] = 0x33, l4[7] = 0x44;  // seq
      l4[12] = static_cast<uint8_t>(((20 + s.tcp_options) / 4) << 4);
      l4[13] = s.tcp_flags;
      l4[14] = 0xff, l4[15] = 0xff;  // window
      for (std::size_t i = 20; i < l4.size(); ++i)
        l4[i] = 1;  // NOP
      break;
    case kProtoUdp:
      l4.assign(8, 0);
      break;
    case kProtoSctp:
      l4.assign(12, 0);
      l4[4] = 0xde, l4[5] = 0xad, l4[6] = 0xbe, l4[7] = 0xef;  // verification tag
      break;
    default:
      l4.assign(8, 0);
      l4[0] = s.icmp_type;
      l4[1] = s.icmp_code;
      l4[4] = 0x12, l4[5] = 0x34, l4[7] = 1;
      break;
  }
  if (s.proto == kProtoTcp || s.proto == kProtoUdp || s.proto == kProtoSctp) {
    l4[0] = static_cast<uint8_t>(s.sport >> 8), l4[1] = static_cast<uint8_t>(s.sport);
    l4[2] = static_cast<uint8_t>(s.dport >> 8), l4[3] = static_cast<uint8_t>(s.dport);
  }
  l4.insert(l4.end(), s.payload.begin(), s.payload.end());
  if (s.proto == kProtoUdp) {
    l4[4] = static_cast<uint8_t>(l4.size() >> 8);
    l4[5] = static_cast<uint8_t>(l4.size());
  }
  Bytes p;
  const auto sa = addr(s.saddr), da = addr(s.daddr);
  if (v4) {
    const std::size_t ihl = 20 + s.ip_options;
    p.assign(ihl, 0);
    p[0] = static_cast<uint8_t>(0x40 | (ihl / 4));
    p[1] = s.tos;
    set16(p, 2, static_cast<uint16_t>(ihl + l4.size()));
    set16(p, 4, s.ip_id);
    set16(p, 6, s.df ? 0x4000 : 0);
    p[8] = s.ttl;
    p[9] = s.proto;
    std::copy(sa.v4_bytes(), sa.v4_bytes() + 4, p.begin() + 12);
    std::copy(da.v4_bytes(), da.v4_bytes() + 4, p.begin() + 16);
    for (std::size_t i = 20; i < ihl; ++i)
      p[i] = 1;  // NOP option
    ref_fix_ip4(p);
  } else {
    p.assign(40, 0);
    p[0] = static_cast<uint8_t>(0x60 | (s.tos >> 4));
    p[1] = static_cast<uint8_t>((s.tos << 4) | ((s.flow_label >> 16) & 15));
    p[2] = static_cast<uint8_t>(s.flow_label >> 8);
    p[3] = static_cast<uint8_t>(s.flow_label);
    p[6] = s.ext.empty() ? s.proto : s.ext[0].type;
    p[7] = s.ttl;
    std::copy(sa.b.begin(), sa.b.end(), p.begin() + 8);
    std::copy(da.b.begin(), da.b.end(), p.begin() + 24);
    for (std::size_t i = 0; i < s.ext.size(); ++i) {
      const Ext& e = s.ext[i];
      Bytes h(e.len, 0);
      h[0] = i + 1 < s.ext.size() ? s.ext[i + 1].type : s.proto;
      if (e.type == 51)
        h[1] = static_cast<uint8_t>(e.len / 4 - 2);
      else if (e.type != 44)
        h[1] = static_cast<uint8_t>(e.len / 8 - 1);
      else
        h[4] = 0xca, h[5] = 0xfe, h[6] = 0xba, h[7] = 0xbe;  // identification, offset 0, M 0
      p.insert(p.end(), h.begin(), h.end());
    }
    set16(p, 4, static_cast<uint16_t>(p.size() - 40 + l4.size()));
  }
  const std::size_t l4_off = p.size();
  p.insert(p.end(), l4.begin(), l4.end());
  ref_fix_l4(p, l4_off, s.proto, s.csum);
  return p;
}

// An ICMP(v6) error from src to dst quoting `quote` (already truncated as
// wanted), with reference checksums. mtu_or_param goes into bytes 4..7.
inline Bytes build_icmp_error(const std::string& src, const std::string& dst, uint8_t type,
                              uint8_t code, const Bytes& quote, uint32_t rest = 0) {
  Spec s;
  s.saddr = src;
  s.daddr = dst;
  s.proto = is_v4(s) ? kProtoIcmp : kProtoIcmpv6;
  s.icmp_type = type;
  s.icmp_code = code;
  s.df = false;
  s.payload = quote;
  Bytes p = build(s);
  const std::size_t off = l4_offset(s);
  p[off + 4] = static_cast<uint8_t>(rest >> 24), p[off + 5] = static_cast<uint8_t>(rest >> 16);
  p[off + 6] = static_cast<uint8_t>(rest >> 8), p[off + 7] = static_cast<uint8_t>(rest);
  ref_fix_l4(p, off, s.proto);
  return p;
}

inline Bytes prefix(const Bytes& b, std::size_t n) {
  return Bytes(b.begin(), b.begin() + static_cast<long>(std::min(n, b.size())));
}

inline std::string random_addr(std::mt19937_64& rng, bool v4) {
  if (v4) {
    const uint32_t a = static_cast<uint32_t>(rng());
    return boost::asio::ip::address_v4(a | 0x01000000u).to_string();  // never 0/8
  }
  boost::asio::ip::address_v6::bytes_type b;
  for (auto& x : b)
    x = static_cast<uint8_t>(rng());
  b[0] = 0x20;  // global unicast, never :: or ff00::/8
  return boost::asio::ip::address_v6(b).to_string();
}

// --- Captured packets ---------------------------------------------------------
// Real packets captured with tcpdump on the loopback interface of a private
// network namespace (Linux 6.x, Debian 12), produced by Python sockets: an
// HTTP exchange on 127.0.0.1:8080 / [::1]:8080, a connect to a closed port
// 8081, a UDP datagram to a closed port 5353. The 14-byte all-zero Ethernet
// header of the lo capture is stripped. Loopback is CHECKSUM_PARTIAL for
// TCP/UDP: those packets carry only the folded pseudo-header sum in their
// checksum field (tshark flags them bad), exactly what NFQUEUE hands over
// with NFQA_SKB_CSUMNOTREADY. The kernel-made TCP RST (tcp_v4_send_reset)
// and ICMP errors carry complete checksums.
namespace captured {
// 127.0.0.1:40906 -> 127.0.0.1:8080 SYN (MSS, SACK, TS, WS options), partial csum 0xfe30.
inline constexpr std::string_view kV4Syn =
    "4500003ccfa9400040066d107f0000017f0000019fca1f904dda35ee00000000a002ffd7fe3000000204ffd704"
    "02080ab74fc3bd000000000103030a";
// The request segment "GET / HTTP/1.0\r\n\r\n", PSH|ACK, partial csum.
inline constexpr std::string_view kV4Get =
    "45000046cfab400040066d047f0000017f0000019fca1f904dda35ef27b6ac8f80180040fe3a00000101080ab7"
    "4fc3bd98f0c197474554202f20485454502f312e300d0a0d0a";
// 127.0.0.1:8081 -> 127.0.0.1:39098 RST|ACK, complete checksum 0xc330.
inline constexpr std::string_view kV4Rst =
    "450000280000400040063cce7f0000017f0000011f9198ba00000000da065c4b50140000c3300000";
// ICMP port unreachable (type 3 code 3) quoting 127.0.0.1:54970 -> 127.0.0.1:5353 UDP
// "dns-ish query" (whose quoted UDP checksum 0xfe28 is the partial one).
inline constexpr std::string_view kV4PortUnreach =
    "45c0004525d40000400156227f0000017f00000103031a03000000004500002984c940004011b7f87f00000"
    "17f000001d6ba14e90015fe28646e732d697368207175657279";
// [::1]:41644 -> [::1]:8080 SYN, flow label 0xbd723, partial csum 0x0030.
inline constexpr std::string_view kV6Syn =
    "600bd723002806400000000000000000000000000000000100000000000000000000000000000001a2ac1f904"
    "2c997cf00000000a002ffc4003000000204ffc40402080a33c19ef1000000000103030a";
// The IPv6 request segment, partial csum.
inline constexpr std::string_view kV6Get =
    "600bd723003206400000000000000000000000000000000100000000000000000000000000000001a2ac1f904"
    "2c997d003faaca080180040003a00000101080a33c19ef1c89d4ec4474554202f20485454502f312e300d0a0d"
    "0a";
// ICMPv6 port unreachable (type 1 code 4) quoting [::1]:52888 -> [::1]:5353 UDP.
inline constexpr std::string_view kV6PortUnreach =
    "6001a02a00453a40000000000000000000000000000000010000000000000000000000000000000101042acb00"
    "00000060098578001511400000000000000000000000000000000100000000000000000000000000000001ce"
    "9814e900150028646e732d697368207175657279";
}  // namespace captured

}  // namespace lvsd::forwarding::userspace::testing
