#include "forwarding/userspace/packet.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>

#include "forwarding/userspace/rewrite.hpp"
#include "unit/forwarding/userspace/packet_helpers.hpp"

namespace lvsd::forwarding::userspace {
namespace {

using namespace testing;

ParsedPacket parse_bytes(const Bytes& b) {
  return parse(std::span<const uint8_t>(b.data(), b.size()));
}

TEST(UserspacePacket, Ipv4Tcp) {
  Spec s;
  s.saddr = "198.51.100.7";
  s.daddr = "192.0.2.100";
  s.sport = 51000;
  s.dport = 443;
  s.tcp_flags = kTcpSyn;
  s.tcp_options = 12;
  s.ttl = 61;
  s.tos = 0x2a;
  s.payload.assign(10, 'x');
  const Bytes p = build(s);
  const ParsedPacket r = parse_bytes(p);
  ASSERT_TRUE(r.ok()) << to_string(r.status);
  EXPECT_EQ(r.family, 4);
  EXPECT_EQ(r.tuple.saddr, addr("198.51.100.7"));
  EXPECT_EQ(r.tuple.daddr, addr("192.0.2.100"));
  EXPECT_EQ(r.tuple.sport, 51000);
  EXPECT_EQ(r.tuple.dport, 443);
  EXPECT_EQ(r.tuple.protocol, kProtoTcp);
  EXPECT_EQ(r.tcp_flags, kTcpSyn);
  EXPECT_EQ(r.ttl, 61);
  EXPECT_EQ(r.dsfield, 0x2a);
  EXPECT_TRUE(r.df);
  EXPECT_FALSE(r.is_fragment());
  EXPECT_TRUE(r.has_l4);
  EXPECT_TRUE(r.has_ports());
  EXPECT_EQ(r.l4_off, 20u);
  EXPECT_EQ(r.l4_len, 32u + 10u);
  EXPECT_EQ(r.payload_off, 52u);
  EXPECT_EQ(r.payload_len, 10u);
  EXPECT_EQ(r.frag_id, 0x1234u);
  EXPECT_FALSE(r.icmp_error);
}

TEST(UserspacePacket, Ipv4OptionsUdpSctpAndOtherProtocols) {
  Spec s;
  s.ip_options = 8;
  s.proto = kProtoUdp;
  s.sport = 5353;
  s.dport = 53;
  s.payload.assign(3, 1);
  ParsedPacket r = parse_bytes(build(s));
  ASSERT_TRUE(r.ok()) << to_string(r.status);
  EXPECT_EQ(r.l4_off, 28u);
  EXPECT_EQ(r.payload_off, 36u);
  EXPECT_EQ(r.payload_len, 3u);
  EXPECT_EQ(r.tuple.sport, 5353);
  EXPECT_EQ(r.tuple.dport, 53);

  s.proto = kProtoSctp;
  s.ip_options = 0;
  r = parse_bytes(build(s));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.has_ports());
  EXPECT_EQ(r.payload_off, 32u);
  EXPECT_EQ(r.tuple.protocol, kProtoSctp);

  s.proto = 47;  // GRE: no ports, not an error
  r = parse_bytes(build(s));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.has_l4);
  EXPECT_FALSE(r.has_ports());
  EXPECT_EQ(r.tuple.protocol, 47);
  EXPECT_EQ(r.tuple.sport, 0);

  s.proto = kProtoIcmp;  // echo request: L4 but no ports
  s.icmp_type = 8;
  r = parse_bytes(build(s));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.has_l4);
  EXPECT_FALSE(r.has_ports());
  EXPECT_FALSE(r.icmp_error);
  EXPECT_EQ(r.icmp_type, 8);
}

TEST(UserspacePacket, Ipv6ExtensionHeaderWalk) {
  Spec s;
  s.saddr = "2001:db8::1";
  s.daddr = "2001:db8::100";
  s.ext = {{0, 8}, {60, 16}, {43, 24}, {51, 12}, {44, 8}, {60, 8}};
  s.tos = 0xb8;
  s.flow_label = 0x12345;
  s.ttl = 7;
  s.payload.assign(5, 'y');
  const Bytes p = build(s);
  const ParsedPacket r = parse_bytes(p);
  ASSERT_TRUE(r.ok()) << to_string(r.status);
  EXPECT_EQ(r.family, 6);
  EXPECT_EQ(r.tuple.protocol, kProtoTcp);
  EXPECT_EQ(r.l4_off, 40u + 8 + 16 + 24 + 12 + 8 + 8);
  EXPECT_EQ(r.tuple.dport, 80);
  EXPECT_EQ(r.dsfield, 0xb8);
  EXPECT_EQ(r.ttl, 7);
  EXPECT_EQ(r.frag_hdr_off, 40u + 8 + 16 + 24 + 12);
  EXPECT_EQ(r.frag_id, 0xcafebabeu);
  EXPECT_FALSE(r.is_fragment());  // atomic fragment (offset 0, M 0)
  EXPECT_EQ(r.payload_len, 5u);
}

TEST(UserspacePacket, Ipv6ChainBounds) {
  Spec s;
  s.saddr = "2001:db8::1";
  s.daddr = "2001:db8::100";
  s.ext.assign(kMaxExtHeaders, Ext{60, 8});
  EXPECT_TRUE(parse_bytes(build(s)).ok());
  s.ext.push_back({60, 8});
  EXPECT_EQ(parse_bytes(build(s)).status, ParseStatus::kExtHeaderChainTooLong);
  s.ext = {{60, 8}, {0, 8}};
  EXPECT_EQ(parse_bytes(build(s)).status, ParseStatus::kBadExtHeaderChain);
  s.ext = {{44, 8}, {44, 8}};
  EXPECT_EQ(parse_bytes(build(s)).status, ParseStatus::kBadExtHeaderChain);
  s.ext.clear();
  s.proto = 59;  // "no next header": nothing to parse, not an error
  const ParsedPacket r = parse_bytes(build(s));
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.has_l4);
}

TEST(UserspacePacket, Ipv4Fragments) {
  Spec s;
  s.proto = kProtoUdp;
  s.payload.assign(100, 0);
  Bytes p = build(s);
  // First fragment: MF, offset 0, the UDP length names the whole datagram.
  set16(p, 6, 0x2000);
  set16(p, 20 + 4, 3000);
  ref_fix_ip4(p);
  ParsedPacket r = parse_bytes(p);
  ASSERT_TRUE(r.ok()) << to_string(r.status);
  EXPECT_TRUE(r.is_fragment());
  EXPECT_TRUE(r.more_fragments);
  EXPECT_TRUE(r.has_ports());
  EXPECT_EQ(r.tuple.dport, 80);
  // ... but not one that is shorter than the bytes present.
  set16(p, 20 + 4, 50);
  EXPECT_EQ(parse_bytes(p).status, ParseStatus::kBadUdpLength);
  // Non-first fragment: no L4 header to read.
  set16(p, 6, 0x2000 | 100);
  r = parse_bytes(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.frag_offset, 800u);
  EXPECT_FALSE(r.has_l4);
  EXPECT_EQ(r.tuple.sport, 0);
  EXPECT_EQ(r.tuple.protocol, kProtoUdp);
  // Ping of death: offset + length past 65535.
  set16(p, 6, 0x1fff);
  EXPECT_EQ(parse_bytes(p).status, ParseStatus::kBadFragment);
}

TEST(UserspacePacket, Ipv6Fragments) {
  Spec s;
  s.saddr = "2001:db8::1";
  s.daddr = "2001:db8::100";
  s.proto = kProtoUdp;
  s.ext = {{44, 8}};
  s.payload.assign(16, 0);
  Bytes p = build(s);
  p[40 + 3] = 1;  // M = 1, offset 0
  set16(p, 48 + 4, 4000);
  ParsedPacket r = parse_bytes(p);
  ASSERT_TRUE(r.ok()) << to_string(r.status);
  EXPECT_TRUE(r.more_fragments);
  EXPECT_TRUE(r.has_ports());
  set16(p, 40 + 2, static_cast<uint16_t>((64 << 3) | 1));  // offset 512 bytes, M
  r = parse_bytes(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.frag_offset, 512u);
  EXPECT_FALSE(r.has_l4);
  EXPECT_EQ(r.l4_off, 48u);
  EXPECT_EQ(r.tuple.protocol, kProtoUdp);
  // Non-last fragment of a length that is not a multiple of 8.
  p.push_back(0);
  set16(p, 4, static_cast<uint16_t>(p.size() - 40));
  EXPECT_EQ(parse_bytes(p).status, ParseStatus::kBadFragment);
}

TEST(UserspacePacket, Icmp4ErrorQuotesInnerPacket) {
  Spec inner;
  inner.saddr = "198.51.100.7";
  inner.daddr = "10.0.0.2";
  inner.sport = 40000;
  inner.dport = 8080;
  inner.ip_options = 4;
  const Bytes in = build(inner);
  const Bytes p = build_icmp_error("10.0.0.2", "198.51.100.7", 3, 3, prefix(in, 24 + 8));
  const ParsedPacket r = parse_bytes(p);
  ASSERT_TRUE(r.ok()) << to_string(r.status);
  EXPECT_TRUE(r.icmp_error);
  EXPECT_EQ(r.icmp_type, 3);
  EXPECT_EQ(r.icmp_code, 3);
  EXPECT_EQ(r.inner.ip_off, 28u);
  EXPECT_EQ(r.inner.l4_off, 28u + 24);
  EXPECT_EQ(r.inner.len, 32u);
  EXPECT_TRUE(r.inner.has_ports);
  EXPECT_EQ(r.inner.tuple.saddr, addr("198.51.100.7"));
  EXPECT_EQ(r.inner.tuple.daddr, addr("10.0.0.2"));
  EXPECT_EQ(r.inner.tuple.sport, 40000);
  EXPECT_EQ(r.inner.tuple.dport, 8080);
  EXPECT_EQ(r.inner.tuple.protocol, kProtoTcp);
  EXPECT_EQ(r.tuple.protocol, kProtoIcmp);

  // Every error type with a quote; not echo / redirect.
  for (uint8_t t : {3, 4, 11, 12})
    EXPECT_TRUE(parse_bytes(build_icmp_error("10.0.0.2", "198.51.100.7", t, 0, in)).icmp_error);
  for (uint8_t t : {0, 5, 8, 13})
    EXPECT_FALSE(parse_bytes(build_icmp_error("10.0.0.2", "198.51.100.7", t, 0, in)).icmp_error);
}

TEST(UserspacePacket, Icmp6ErrorWithInnerExtensionHeaders) {
  Spec inner;
  inner.saddr = "2001:db8::10";
  inner.daddr = "2001:db8:1::7";
  inner.proto = kProtoUdp;
  inner.sport = 53;
  inner.dport = 33000;
  inner.ext = {{60, 8}, {44, 8}};
  inner.payload.assign(1400, 0);
  const Bytes in = build(inner);
  const Bytes p = build_icmp_error("2001:db8:2::1", "2001:db8::10", 2, 0, prefix(in, 1232), 1400);
  const ParsedPacket r = parse_bytes(p);
  ASSERT_TRUE(r.ok()) << to_string(r.status);
  EXPECT_TRUE(r.icmp_error);
  EXPECT_EQ(r.tuple.protocol, kProtoIcmpv6);
  EXPECT_EQ(r.inner.ip_off, 48u);
  EXPECT_EQ(r.inner.l4_off, 48u + 56);
  EXPECT_EQ(r.inner.tuple.sport, 53);
  EXPECT_EQ(r.inner.tuple.dport, 33000);
  EXPECT_EQ(r.inner.tuple.daddr, addr("2001:db8:1::7"));

  // A quoted non-first fragment has no ports.
  Bytes frag = in;
  set16(frag, 48 + 2, 8 << 3);
  const ParsedPacket r2 =
      parse_bytes(build_icmp_error("2001:db8:2::1", "2001:db8::10", 1, 0, prefix(frag, 100)));
  ASSERT_TRUE(r2.ok()) << to_string(r2.status);
  EXPECT_FALSE(r2.inner.has_ports);
}

TEST(UserspacePacket, CapturedPacketsParse) {
  ParsedPacket r = parse_bytes(from_hex(captured::kV4Syn));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.tuple.sport, 40906);
  EXPECT_EQ(r.tuple.dport, 8080);
  EXPECT_EQ(r.tcp_flags, kTcpSyn);
  EXPECT_EQ(r.payload_len, 0u);
  r = parse_bytes(from_hex(captured::kV4Get));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.payload_len, 18u);
  EXPECT_EQ(r.tcp_flags, kTcpPsh | kTcpAck);
  r = parse_bytes(from_hex(captured::kV4Rst));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.tcp_flags, kTcpRst | kTcpAck);
  r = parse_bytes(from_hex(captured::kV4PortUnreach));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.icmp_error);
  EXPECT_EQ(r.inner.tuple.sport, 54970);
  EXPECT_EQ(r.inner.tuple.dport, 5353);
  EXPECT_EQ(r.inner.tuple.protocol, kProtoUdp);
  r = parse_bytes(from_hex(captured::kV6Syn));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.tuple.saddr, addr("::1"));
  EXPECT_EQ(r.tuple.sport, 41644);
  r = parse_bytes(from_hex(captured::kV6PortUnreach));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.icmp_type, 1);
  EXPECT_EQ(r.icmp_code, 4);
  EXPECT_EQ(r.inner.tuple.sport, 52888);
  EXPECT_EQ(r.inner.tuple.dport, 5353);
}

// One malformed packet per reason; together they cover every ParseStatus.
TEST(UserspacePacket, EveryMalformationHasItsReason) {
  std::set<ParseStatus> seen;
  auto expect = [&](const Bytes& b, ParseStatus want, const char* what) {
    const ParsedPacket r = parse_bytes(b);
    EXPECT_EQ(r.status, want) << what << ": got " << to_string(r.status);
    seen.insert(r.status);
  };
  Spec v4;
  Spec v6;
  v6.saddr = "2001:db8::1";
  v6.daddr = "2001:db8::2";
  const Bytes tcp4 = build(v4), tcp6 = build(v6);

  expect(tcp4, ParseStatus::kOk, "ok");
  expect({}, ParseStatus::kTruncatedIpHeader, "empty");
  expect(prefix(tcp4, 19), ParseStatus::kTruncatedIpHeader, "19 bytes");
  expect(prefix(tcp6, 39), ParseStatus::kTruncatedIpHeader, "v6 39 bytes");
  {
    Bytes b = tcp4;
    b[0] = 0x55;
    expect(b, ParseStatus::kBadVersion, "version 5");
    b[0] = 0x44;
    expect(b, ParseStatus::kBadIhl, "ihl 4");
    b[0] = 0x4f;
    expect(b, ParseStatus::kTruncatedIpHeader, "ihl 15 in a 40-byte packet");
  }
  {
    Bytes b = tcp4;
    b.push_back(0);
    expect(b, ParseStatus::kTotalLengthMismatch, "trailing byte");
    expect(prefix(tcp4, 39), ParseStatus::kTotalLengthMismatch, "cut");
  }
  {
    Bytes b = tcp6;
    set16(b, 4, 0);  // a jumbogram's payload length
    expect(b, ParseStatus::kPayloadLengthMismatch, "v6 payload length");
  }
  {
    Bytes b = tcp4;
    set16(b, 6, 0x1fff);
    ref_fix_ip4(b);
    expect(b, ParseStatus::kBadFragment, "ping of death");
  }
  {
    Spec s = v6;
    s.ext = {{60, 16}};
    Bytes b = build(s);
    b[41] = 200;  // dest-opts length far past the packet
    expect(b, ParseStatus::kExtHeaderTruncated, "ext length");
    s.ext = {{60, 8}, {0, 8}};
    expect(build(s), ParseStatus::kBadExtHeaderChain, "hop-by-hop second");
    s.ext.assign(kMaxExtHeaders + 1, Ext{60, 8});
    expect(build(s), ParseStatus::kExtHeaderChainTooLong, "chain too long");
  }
  {
    Spec s = v4;
    s.proto = kProtoTcp;
    Bytes b = build(s);
    b.resize(20 + 19);
    set16(b, 2, 39);
    ref_fix_ip4(b);
    expect(b, ParseStatus::kTruncatedL4, "tcp 19 bytes");
    b = build(s);
    b[20 + 12] = 0x40;  // data offset 4
    expect(b, ParseStatus::kBadTcpDataOffset, "doff 4");
    b[20 + 12] = 0x60;  // 24 > 20 present
    expect(b, ParseStatus::kBadTcpDataOffset, "doff past the end");
    s.proto = kProtoUdp;
    b = build(s);
    set16(b, 24, 9);
    expect(b, ParseStatus::kBadUdpLength, "udp length");
  }
  {
    Spec in = v4;
    const Bytes inner = build(in);
    expect(build_icmp_error("10.0.0.1", "10.0.0.2", 3, 1, prefix(inner, 19)),
           ParseStatus::kIcmpInnerTruncated, "quote < ip header");
    expect(build_icmp_error("10.0.0.1", "10.0.0.2", 3, 1, prefix(inner, 23)),
           ParseStatus::kIcmpInnerTruncated, "quote without ports");
    Bytes bad = prefix(inner, 28);
    bad[0] = 0x65;
    expect(build_icmp_error("10.0.0.1", "10.0.0.2", 3, 1, bad), ParseStatus::kIcmpInnerBadVersion,
           "quoted v6 in icmpv4");
    bad[0] = 0x43;
    expect(build_icmp_error("10.0.0.1", "10.0.0.2", 3, 1, bad), ParseStatus::kIcmpInnerBadIhl,
           "quoted ihl 3");
    Spec in6 = v6;
    in6.ext = {{60, 8}, {0, 8}};
    expect(build_icmp_error("2001:db8::9", "2001:db8::1", 1, 0, build(in6)),
           ParseStatus::kIcmpInnerBadExtHeaderChain, "quoted hbh second");
  }
  for (int i = 0; i < static_cast<int>(ParseStatus::kCount); ++i)
    EXPECT_TRUE(seen.count(static_cast<ParseStatus>(i)))
        << "no case for " << to_string(static_cast<ParseStatus>(i));
  std::set<std::string> names;
  for (int i = 0; i < static_cast<int>(ParseStatus::kCount); ++i)
    names.insert(to_string(static_cast<ParseStatus>(i)));
  EXPECT_EQ(names.size(), static_cast<std::size_t>(ParseStatus::kCount));
  EXPECT_EQ(names.count("unknown"), 0u);
}

// Every parse and rewrite of every prefix of a set of packets, each prefix
// in an exactly-sized heap buffer (so ASan sees any read past it), both
// as cut (lengths then disagree) and with the IP length fields patched to the
// cut size (so the parse goes deep into truncated L4 headers and quotes).
std::vector<Bytes> truncation_corpus() {
  std::vector<Bytes> c;
  for (auto h : {captured::kV4Syn, captured::kV4Get, captured::kV4Rst, captured::kV4PortUnreach,
                 captured::kV6Syn, captured::kV6Get, captured::kV6PortUnreach})
    c.push_back(from_hex(h));
  for (bool v4 : {true, false}) {
    for (uint8_t proto : {kProtoTcp, kProtoUdp, kProtoSctp}) {
      Spec s;
      if (!v4) {
        s.saddr = "2001:db8::1";
        s.daddr = "2001:db8::2";
        s.ext = {{0, 8}, {43, 16}, {44, 8}, {51, 16}, {60, 8}};
      } else {
        s.ip_options = 12;
      }
      s.proto = proto;
      s.tcp_options = 8;
      s.payload.assign(9, 7);
      const Bytes in = build(s);
      c.push_back(in);
      c.push_back(v4 ? build_icmp_error("10.0.0.1", "10.0.0.2", 3, 4, in, 1400)
                     : build_icmp_error("2001:db8::9", "2001:db8::1", 2, 0, in, 1280));
    }
  }
  return c;
}

void exercise(Bytes b) {
  const Bytes orig = b;
  ParsedPacket p = parse(std::span<const uint8_t>(b.data(), b.size()));
  if (!p.ok()) return;
  const IpAddr a = p.family == 4 ? addr("10.9.8.7") : addr("2001:db8::77");
  const std::span<uint8_t> sp(b.data(), b.size());
  ParsedPacket q = p;
  nat_in(sp, q, a, 1234, false);
  b = orig;
  q = p;
  nat_out(sp, q, a, 1234, true);
  b = orig;
  q = p;
  icmp_error_nat_out(sp, q, a, 80);
  b = orig;
  q = p;
  icmp_error_nat_in(sp, q, a, 80);
  b = orig;
  q = p;
  decrement_ttl(sp, q);
  uint8_t out[2000];
  TunnelParams t;
  t.saddr = addr("192.0.2.1");
  t.daddr = addr("192.0.2.2");
  encapsulate(out, std::span<const uint8_t>(orig.data(), orig.size()), p, t);
  build_icmp4_error(out, std::span<const uint8_t>(orig.data(), orig.size()), p, 3, 4, 1400,
                    addr("192.0.2.1"), 1);
  build_icmp6_error(out, std::span<const uint8_t>(orig.data(), orig.size()), p, 2, 0, 1280,
                    addr("2001:db8::1"));
}

TEST(UserspacePacket, TruncationAtEveryOffsetNeverReadsOutside) {
  int parsed_ok = 0, total = 0;
  for (const Bytes& full : truncation_corpus()) {
    for (std::size_t n = 0; n < full.size(); ++n) {
      Bytes cut = prefix(full, n);
      const ParsedPacket r = parse(std::span<const uint8_t>(cut.data(), cut.size()));
      ++total;
      EXPECT_FALSE(r.ok()) << "prefix " << n << " of " << to_hex(full);
      exercise(cut);
      // Same prefix with consistent IP lengths.
      if (n >= 20 && (full[0] >> 4) == 4) {
        set16(cut, 2, static_cast<uint16_t>(n));
        if ((cut[0] & 15) * 4u <= n) ref_fix_ip4(cut);
      } else if (n >= 40 && (full[0] >> 4) == 6) {
        set16(cut, 4, static_cast<uint16_t>(n - 40));
      }
      if (parse(std::span<const uint8_t>(cut.data(), cut.size())).ok()) ++parsed_ok;
      exercise(cut);
    }
    exercise(full);
  }
  // Consistent-length prefixes reach deep into the L4 / quote parsing: some
  // parse (short quotes, unknown payload ends), most are refused.
  EXPECT_GT(parsed_ok, 0);
  EXPECT_GT(total, 1500);
}

TEST(UserspacePacket, RandomBytesNeverCrash) {
  std::mt19937_64 rng(11);
  const auto corpus = truncation_corpus();
  for (int i = 0; i < 20000; ++i) {
    Bytes b;
    if (i % 2 == 0) {
      b.resize(rng() % 120);
      for (auto& x : b)
        x = static_cast<uint8_t>(rng());
      if (!b.empty()) b[0] = static_cast<uint8_t>((i % 4 == 0 ? 0x40 : 0x60) | (b[0] & 0x0f));
    } else {
      // Mutate a valid packet: flip a few bytes (lengths stay roughly sane).
      b = corpus[rng() % corpus.size()];
      for (int k = 0; k < 3; ++k)
        b[rng() % b.size()] = static_cast<uint8_t>(rng());
    }
    exercise(b);
  }
}

}  // namespace
}  // namespace lvsd::forwarding::userspace
