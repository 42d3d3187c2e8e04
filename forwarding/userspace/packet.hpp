// Parsing of one whole IP packet as NFQUEUE delivers it (starting at the IPv4
// or IPv6 header, no link layer): addresses, protocol, ports, TCP flags,
// fragment information, the IPv6 extension-header chain and, for ICMP and
// ICMPv6 errors, the packet they quote. Pure, allocation-free, never reads
// outside the span; every malformation has its own ParseStatus so the engine
// can count drops per reason (DESIGN.md: "every dropped packet has a reason
// counter").
//
// What is checked, and why no more: the kernel has already validated the
// IPv4 header checksum and trimmed the buffer to the IP length before the
// PREROUTING hook (ip_rcv_core()), so the buffer must be exactly the IP
// length here; the L4 checksum is not verified (the realserver or the client
// does that, as with ip_vs, which forwards what it is given).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "forwarding/userspace/ip.hpp"

namespace lvsd::forwarding::userspace {

enum class ParseStatus : uint8_t {
  kOk = 0,
  kTruncatedIpHeader,      // shorter than 20/40 bytes, or than the IPv4 IHL
  kBadVersion,             // version nibble neither 4 nor 6
  kBadIhl,                 // IPv4 IHL < 5
  kTotalLengthMismatch,    // IPv4 total length != buffer length
  kPayloadLengthMismatch,  // IPv6 payload length + 40 != buffer length (jumbograms too)
  kBadFragment,            // fragment beyond 65535 bytes, or a non-last IPv6 fragment
                           // whose length is not a multiple of 8 (RFC 8200 section 4.5)
  kExtHeaderTruncated,     // an IPv6 extension header runs past the packet
  kBadExtHeaderChain,      // hop-by-hop not first (RFC 8200 section 4.1), or two fragment headers
  kExtHeaderChainTooLong,  // more than kMaxExtHeaders extension headers
  kTruncatedL4,            // TCP < 20, UDP < 8, SCTP < 12, ICMP/ICMPv6 < 8 bytes
  kBadTcpDataOffset,       // TCP data offset < 5 or past the packet
  kBadUdpLength,           // UDP length field != the UDP bytes present (unfragmented)
  kIcmpInnerTruncated,     // an ICMP error quotes less than an IP header (+ 4 port bytes)
  kIcmpInnerBadVersion,    // the quoted packet is not of the ICMP message's family
  kIcmpInnerBadIhl,        // the quoted IPv4 header has IHL < 5
  kIcmpInnerBadExtHeaderChain,  // the quoted IPv6 packet's extension headers are invalid
  kCount
};

// Stable snake_case name for counters and logs ("truncated_ip_header").
const char* to_string(ParseStatus s) noexcept;

// A bound on the IPv6 extension-header walk (RFC 8504 section 5.3 lets a
// node limit it; real traffic carries 0-3).
inline constexpr int kMaxExtHeaders = 8;

// The packet an ICMP or ICMPv6 error quotes (RFC 792, RFC 4443 section 2.4).
// Its tuple is as the quoted packet was sent: for an error about a packet the
// client sent, tuple.saddr is the client.
struct IcmpInner {
  FiveTuple tuple;
  uint16_t ip_off = 0;     // offset of the quoted IP header in the buffer
  uint16_t l4_off = 0;     // offset of its L4 header (meaningful when has_ports)
  uint32_t len = 0;        // quoted bytes present, from ip_off to the end of the buffer
  bool has_ports = false;  // TCP/UDP/SCTP, first fragment, ports quoted
};

// Offsets are 16-bit (ParsedPacket stays under 128 bytes, which keeps its
// zeroing out of `rep stos` and parse() at half the cost): an IPv4 header
// ends by byte 60, and the bounded IPv6 walk passes at most kMaxExtHeaders
// headers of at most 2048 bytes each, for the packet and for a quote in it.
static_assert(2 * (40 + kMaxExtHeaders * 2048 + 8) + 8 + 60 < 65536);

struct ParsedPacket {
  ParseStatus status = ParseStatus::kOk;
  uint8_t family = 0;   // 4 or 6; 0 when the version could not be read
  uint8_t ttl = 0;      // TTL or hop limit
  uint8_t dsfield = 0;  // TOS or traffic class (DSCP + ECN)
  uint8_t tcp_flags = 0;
  bool df = false;              // IPv4 don't-fragment
  bool more_fragments = false;  // IPv4 MF or the IPv6 fragment header's M
  bool has_l4 = false;          // the L4 header is here and was parsed (TCP/UDP/SCTP/ICMP/ICMPv6)
  bool icmp_error = false;      // ICMP(v6) error carrying a quoted packet (see inner)
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint16_t frag_offset = 0;   // in bytes
  uint16_t frag_hdr_off = 0;  // IPv6 fragment header offset, 0 when there is none
  uint16_t l4_off = 0;        // IP header length including options / extension headers
  uint16_t payload_off = 0;   // after the TCP/UDP/SCTP/ICMP header (when has_l4)
  uint32_t frag_id = 0;       // IPv4 identification or IPv6 fragment identification
  uint32_t l4_len = 0;        // bytes from l4_off to the end of the packet
  uint32_t payload_len = 0;
  FiveTuple tuple;  // protocol is the upper-layer protocol after extension headers
  IcmpInner inner;

  bool ok() const noexcept { return status == ParseStatus::kOk; }
  bool is_fragment() const noexcept { return more_fragments || frag_offset != 0; }
  // TCP, UDP or SCTP with its ports present (the protocols ip_vs schedules).
  bool has_ports() const noexcept {
    return has_l4 && (tuple.protocol == kProtoTcp || tuple.protocol == kProtoUdp ||
                      tuple.protocol == kProtoSctp);
  }
};

// TCP flag bits (RFC 9293 section 3.1).
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

// Parses pkt. On error, status says why and the fields parsed so far are
// set (family, tuple addresses when the fixed header was there). A
// std::span<uint8_t> converts implicitly.
ParsedPacket parse(std::span<const uint8_t> pkt) noexcept;

}  // namespace lvsd::forwarding::userspace
