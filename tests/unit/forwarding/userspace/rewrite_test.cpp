#include "forwarding/userspace/rewrite.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "unit/forwarding/userspace/packet_helpers.hpp"

namespace lvsd::forwarding::userspace {
namespace {

using namespace testing;

std::span<uint8_t> sp(Bytes& b) {
  return {b.data(), b.size()};
}
std::span<const uint8_t> csp(const Bytes& b) {
  return {b.data(), b.size()};
}
ParsedPacket parse_bytes(const Bytes& b) {
  return parse(csp(b));
}

// Every checksum of an IPv4/IPv6 + TCP/UDP/SCTP/ICMP packet verifies with
// the reference (a UDP 0 counts as "none").
::testing::AssertionResult all_checksums_ok(const Bytes& p) {
  const ParsedPacket r = parse_bytes(p);
  if (!r.ok()) return ::testing::AssertionFailure() << "parse: " << to_string(r.status);
  if (r.family == 4 && !ref_ip4_ok(p)) return ::testing::AssertionFailure() << "ip checksum";
  if (!r.has_l4) return ::testing::AssertionSuccess();
  if (r.tuple.protocol == kProtoUdp && get16(p, r.l4_off + 6) == 0)
    return ::testing::AssertionSuccess();
  if (!ref_l4_ok(p, r.l4_off, r.tuple.protocol))
    return ::testing::AssertionFailure() << "l4 checksum of " << to_hex(p);
  if (r.icmp_error && r.family == 4 && !ref_ip4_ok(p, r.inner.ip_off))
    return ::testing::AssertionFailure() << "quoted ip checksum";
  return ::testing::AssertionSuccess();
}

// --- Captured packets in, bytes out -------------------------------------------
// Expected outputs were computed with an ad-hoc Python script (struct +
// RFC 1071 byte loop, RFC 1624 eqn. 3 for the quoted UDP checksum), not with
// the code under test; each is also verified with the reference checksums.

TEST(UserspaceRewrite, CapturedV4SynCsumNotReadyNatIn) {
  Bytes p = from_hex(captured::kV4Syn);
  // The capture is CHECKSUM_PARTIAL: the field is the folded pseudo-header.
  ASSERT_EQ(get16(p, 36), ref_fold(ref_pseudo(p, kProtoTcp, 40)));
  ParsedPacket r = parse_bytes(p);
  ASSERT_EQ(nat_in(sp(p), r, addr("10.0.0.2"), 8081, true), RewriteStatus::kOk);
  EXPECT_EQ(to_hex(p),
            "4500003ccfa940004006e20f7f0000010a0000029fca1f914dda35ee00000000a002ffd706cd0000020"
            "4ffd70402080ab74fc3bd000000000103030a");
  EXPECT_TRUE(all_checksums_ok(p));
  EXPECT_EQ(r.tuple.daddr, addr("10.0.0.2"));
  EXPECT_EQ(r.tuple.dport, 8081);
}

TEST(UserspaceRewrite, CapturedV4RstNatOutIncremental) {
  Bytes p = from_hex(captured::kV4Rst);
  ASSERT_TRUE(all_checksums_ok(p));
  ParsedPacket r = parse_bytes(p);
  ASSERT_EQ(nat_out(sp(p), r, addr("192.0.2.10"), 80, false), RewriteStatus::kOk);
  EXPECT_EQ(to_hex(p),
            "45000028000040004006f9c4c000020a7f000001005098ba00000000da065c4b501400009f680000");
  EXPECT_TRUE(all_checksums_ok(p));
}

TEST(UserspaceRewrite, CapturedV4PortUnreachableTranslatedToClient) {
  // The "realserver" 127.0.0.1 answered a client's UDP to :5353 with port
  // unreachable; the client must see it from VIP 192.0.2.10 about its
  // packet to 192.0.2.10:53.
  Bytes p = from_hex(captured::kV4PortUnreach);
  ParsedPacket r = parse_bytes(p);
  ASSERT_EQ(icmp_error_nat_out(sp(p), r, addr("192.0.2.10"), 53), RewriteStatus::kOk);
  EXPECT_EQ(to_hex(p),
            "45c0004525d4000040011319c000020a7f00000103035d0c000000004500002984c94000401174ef7f0"
            "00001c000020ad6ba00350015cfd3646e732d697368207175657279");
  EXPECT_TRUE(all_checksums_ok(p));
  EXPECT_EQ(r.tuple.saddr, addr("192.0.2.10"));
  EXPECT_EQ(r.inner.tuple.daddr, addr("192.0.2.10"));
  EXPECT_EQ(r.inner.tuple.dport, 53);
}

TEST(UserspaceRewrite, CapturedV6SynCsumNotReadyNatIn) {
  Bytes p = from_hex(captured::kV6Syn);
  ASSERT_EQ(get16(p, 56), ref_fold(ref_pseudo(p, kProtoTcp, 40)));
  ParsedPacket r = parse_bytes(p);
  ASSERT_EQ(nat_in(sp(p), r, addr("2001:db8::2"), 8081, true), RewriteStatus::kOk);
  EXPECT_EQ(to_hex(p),
            "600bd723002806400000000000000000000000000000000120010db8000000000000000000000002a2a"
            "c1f9142c997cf00000000a002ffc4b0e200000204ffc40402080a33c19ef1000000000103030a");
  EXPECT_TRUE(all_checksums_ok(p));
}

TEST(UserspaceRewrite, CapturedV6PortUnreachableTranslatedToClient) {
  Bytes p = from_hex(captured::kV6PortUnreach);
  ASSERT_TRUE(all_checksums_ok(p));
  ParsedPacket r = parse_bytes(p);
  ASSERT_EQ(icmp_error_nat_out(sp(p), r, addr("2001:db8::10"), 53), RewriteStatus::kOk);
  EXPECT_EQ(to_hex(p),
            "6001a02a00453a4020010db8000000000000000000000010000000000000000000000000000000010104"
            "fd020000000060098578001511400000000000000000000000000000000120010db800000000000000000"
            "0000010ce9800350015e713646e732d697368207175657279");
  EXPECT_TRUE(all_checksums_ok(p));
}

TEST(UserspaceRewrite, CapturedTunnelEncapsulation) {
  const Bytes v4 = from_hex(captured::kV4Syn);
  TunnelParams t;
  t.saddr = addr("192.0.2.1");
  t.daddr = addr("192.0.2.21");
  t.ip_id = 1;
  Bytes out(200);
  std::size_t n = encapsulate(sp(out), csp(v4), parse_bytes(v4), t);
  out.resize(n);
  EXPECT_EQ(to_hex(out),
            "45000050000140004004b692c0000201c00002154500003ccfa9400040066d107f0000017f0000019fc"
            "a1f904dda35ee00000000a002ffd7fe3000000204ffd70402080ab74fc3bd000000000103030a");
  EXPECT_TRUE(ref_ip4_ok(out));

  const Bytes v6 = from_hex(captured::kV6Syn);
  t.saddr = addr("2001:db8::1");
  t.daddr = addr("2001:db8::21");
  out.assign(200, 0);
  n = encapsulate(sp(out), csp(v6), parse_bytes(v6), t);
  out.resize(n);
  EXPECT_EQ(to_hex(out),
            "600000000050294020010db800000000000000000000000120010db800000000000000000000002160"
            "0bd723002806400000000000000000000000000000000100000000000000000000000000000001a2ac1"
            "f9042c997cf00000000a002ffc4003000000204ffc40402080a33c19ef1000000000103030a");
}

TEST(UserspaceRewrite, CapturedFragNeededAndPacketTooBig) {
  const Bytes v4 = from_hex(captured::kV4Get);
  Bytes out(kIcmp4ErrorMax);
  std::size_t n =
      build_icmp4_frag_needed(sp(out), csp(v4), parse_bytes(v4), 1480, addr("127.0.0.1"), 2);
  out.resize(n);
  EXPECT_EQ(to_hex(out),
            "45c000620002000040017bd77f0000017f0000010304a3f5000005c845000046cfab400040066d047f0"
            "000017f0000019fca1f904dda35ef27b6ac8f80180040fe3a00000101080ab74fc3bd98f0c197474554"
            "202f20485454502f312e300d0a0d0a");
  EXPECT_TRUE(all_checksums_ok(out));

  const Bytes v6 = from_hex(captured::kV6Get);
  out.assign(kIcmp6ErrorMax, 0);
  n = build_icmp6_packet_too_big(sp(out), csp(v6), parse_bytes(v6), 1280, addr("::1"));
  out.resize(n);
  EXPECT_EQ(to_hex(out),
            "6000000000623a40000000000000000000000000000000010000000000000000000000000000000102"
            "001afb00000500600bd723003206400000000000000000000000000000000100000000000000000000"
            "000000000001a2ac1f9042c997d003faaca080180040003a00000101080a33c19ef1c89d4ec44745542"
            "02f20485454502f312e300d0a0d0a");
  EXPECT_TRUE(all_checksums_ok(out));
}

// --- NAT: every family x protocol x checksum state, expected built from scratch

struct NatCase {
  bool v4;
  uint8_t proto;
  L4Csum csum;
  bool in;
};

// In: client -> VIP:80. Out: rs:8080 -> client.
Spec nat_spec(const NatCase& c) {
  Spec s;
  const std::string client = c.v4 ? "198.51.100.7" : "2001:db8:c::7";
  const std::string vip = c.v4 ? "192.0.2.100" : "2001:db8:5::100";
  const std::string rs = c.v4 ? "10.0.0.2" : "2001:db8:1::2";
  s.saddr = c.in ? client : rs;
  s.daddr = c.in ? vip : client;
  if (!c.v4) s.ext = {{60, 8}};
  s.proto = c.proto;
  s.sport = c.in ? 40001 : 8080;
  s.dport = c.in ? 80 : 40001;
  s.payload.assign(33, 0x5c);  // odd length
  s.csum = c.csum;
  return s;
}

TEST(UserspaceRewrite, NatEveryFamilyProtocolAndChecksumState) {
  int cases = 0;
  for (bool v4 : {true, false})
    for (uint8_t proto : {kProtoTcp, kProtoUdp, kProtoSctp})
      for (L4Csum cs : {L4Csum::kFull, L4Csum::kPartial, L4Csum::kZero})
        for (bool in : {true, false}) {
          if (cs == L4Csum::kZero && proto != kProtoUdp) continue;
          const NatCase c{v4, proto, cs, in};
          const Spec s = nat_spec(c);
          Bytes p = build(s);
          ParsedPacket r = parse_bytes(p);
          ASSERT_TRUE(r.ok());
          const IpAddr to = addr(v4 ? (in ? "10.0.0.2" : "192.0.2.100")
                                    : (in ? "2001:db8:1::2" : "2001:db8:5::100"));
          const uint16_t port = in ? 8080 : 80;
          Spec want = s;
          if (in) {
            want.daddr = to.to_address().to_string();
            want.dport = port;
          } else {
            want.saddr = to.to_address().to_string();
            want.sport = port;
          }
          // A partial checksum comes out complete; a UDP "none" stays none.
          want.csum = cs == L4Csum::kZero ? L4Csum::kZero : L4Csum::kFull;
          const bool not_ready = cs == L4Csum::kPartial;
          const RewriteStatus st =
              in ? nat_in(sp(p), r, to, port, not_ready) : nat_out(sp(p), r, to, port, not_ready);
          ASSERT_EQ(st, RewriteStatus::kOk);
          EXPECT_EQ(to_hex(p), to_hex(build(want)))
              << "v4 " << v4 << " proto " << int(proto) << " csum " << int(cs) << " in " << in;
          ++cases;
        }
  EXPECT_EQ(cases, 2 * (2 * 2 + 3 * 2 + 2 * 2));
}

TEST(UserspaceRewrite, NatRefusals) {
  Spec s;
  Bytes p = build(s);
  ParsedPacket r = parse_bytes(p);
  EXPECT_EQ(nat_in(sp(p), r, addr("2001:db8::1"), 80, false), RewriteStatus::kFamilyMismatch);
  ParsedPacket bad = r;
  bad.status = ParseStatus::kTruncatedL4;
  EXPECT_EQ(nat_in(sp(p), bad, addr("10.0.0.1"), 80, false), RewriteStatus::kNotParsed);

  s.proto = kProtoIcmp;
  p = build(s);
  r = parse_bytes(p);
  EXPECT_EQ(nat_in(sp(p), r, addr("10.0.0.1"), 80, false), RewriteStatus::kNoPorts);

  // First fragment: incremental works (the change commutes with the missing
  // bytes); a full checksum (csum_not_ready) or SCTP's CRC cannot be done.
  s.proto = kProtoTcp;
  p = build(s);
  set16(p, 6, 0x2000);
  ref_fix_ip4(p);
  r = parse_bytes(p);
  ASSERT_TRUE(r.ok());
  Bytes q = p;
  ParsedPacket rq = r;
  EXPECT_EQ(nat_in(sp(q), rq, addr("10.0.0.1"), 80, true),
            RewriteStatus::kFragmentNeedsFullChecksum);
  EXPECT_EQ(q, p);  // untouched
  EXPECT_EQ(nat_in(sp(q), rq, addr("10.0.0.1"), 81, false), RewriteStatus::kOk);
  Spec w = s;
  w.daddr = "10.0.0.1";
  w.dport = 81;
  Bytes want = build(w);
  set16(want, 6, 0x2000);
  ref_fix_ip4(want);
  EXPECT_EQ(to_hex(q), to_hex(want));
  s.proto = kProtoSctp;
  p = build(s);
  set16(p, 6, 0x2000);
  r = parse_bytes(p);
  EXPECT_EQ(nat_in(sp(p), r, addr("10.0.0.1"), 80, false),
            RewriteStatus::kFragmentNeedsFullChecksum);
  // Non-first fragment: no ports at all.
  set16(p, 6, 0x2001);
  r = parse_bytes(p);
  EXPECT_EQ(nat_in(sp(p), r, addr("10.0.0.1"), 80, false), RewriteStatus::kNoPorts);
}

// Randomised: random families, protocols, addresses, ports, option and
// extension-header layouts, payload lengths (odd and even, up to 1500) and
// checksum states, in both directions; the rewritten packet equals the packet
// built from scratch with the new address and port.
TEST(UserspaceRewrite, RandomIncrementalEqualsFullRecompute) {
  std::mt19937_64 rng(2024);
  const uint8_t protos[] = {kProtoTcp, kProtoUdp, kProtoSctp};
  for (int iter = 0; iter < 4000; ++iter) {
    const bool v4 = rng() % 2 == 0;
    Spec s;
    s.saddr = random_addr(rng, v4);
    s.daddr = random_addr(rng, v4);
    s.proto = protos[rng() % 3];
    s.sport = static_cast<uint16_t>(rng());
    s.dport = static_cast<uint16_t>(rng());
    s.ttl = static_cast<uint8_t>(rng());
    s.tos = static_cast<uint8_t>(rng());
    s.ip_id = static_cast<uint16_t>(rng());
    s.df = rng() % 2;
    if (v4)
      s.ip_options = 4 * (rng() % 4);
    else
      for (int k = static_cast<int>(rng() % 3); k > 0; --k)
        s.ext.push_back({static_cast<uint8_t>(k == 1 ? 60 : 43), 8 * (1 + rng() % 3)});
    s.tcp_options = 4 * (rng() % 3);
    s.payload.resize(rng() % 1501);
    for (auto& x : s.payload)
      x = static_cast<uint8_t>(rng());
    const int mode = static_cast<int>(rng() % 4);
    s.csum = mode == 0 ? L4Csum::kPartial
                       : (mode == 1 && s.proto == kProtoUdp ? L4Csum::kZero : L4Csum::kFull);
    const bool not_ready = s.csum == L4Csum::kPartial;
    Bytes p = build(s);
    ParsedPacket r = parse_bytes(p);
    ASSERT_TRUE(r.ok()) << to_string(r.status);
    const bool in = rng() % 2 == 0;
    const std::string to = random_addr(rng, v4);
    const uint16_t port = static_cast<uint16_t>(rng());
    Spec want = s;
    (in ? want.daddr : want.saddr) = to;
    (in ? want.dport : want.sport) = port;
    want.csum = s.csum == L4Csum::kZero ? L4Csum::kZero : L4Csum::kFull;
    const RewriteStatus st = in ? nat_in(sp(p), r, addr(to), port, not_ready)
                                : nat_out(sp(p), r, addr(to), port, not_ready);
    ASSERT_EQ(st, RewriteStatus::kOk);
    const Bytes expected = build(want);
    ASSERT_EQ(p, expected) << "iter " << iter << "\n got " << to_hex(p) << "\nwant "
                           << to_hex(expected);
    ASSERT_EQ(r.tuple, parse_bytes(expected).tuple);
  }
}

// --- ICMP errors relating to a NAT connection ---------------------------------

struct IcmpCase {
  bool v4;
  uint8_t proto;
  std::size_t quote_l4;  // L4 bytes quoted
  bool out;              // icmp_error_nat_out (else _in)
};

// A quoted SCTP CRC is left as it was (a quote is usually truncated, so no
// CRC over it would mean anything); the expected quote keeps the old one.
Bytes keep_sctp_crc(Bytes want, const Bytes& old, const Spec& in) {
  const std::size_t f = l4_offset(in) + 8;
  if (in.proto == kProtoSctp)
    for (std::size_t i = f; i < f + 4 && i < want.size(); ++i)
      want[i] = old[i];
  return want;
}

TEST(UserspaceRewrite, IcmpErrorsBothDirectionsBothFamilies) {
  int n = 0;
  for (bool v4 : {true, false})
    for (uint8_t proto : {kProtoTcp, kProtoUdp, kProtoSctp})
      for (std::size_t ql : {std::size_t{8}, std::size_t{1000}})
        for (bool out : {true, false}) {
          const std::string client = v4 ? "198.51.100.7" : "2001:db8:c::7";
          const std::string vip = v4 ? "192.0.2.100" : "2001:db8:5::100";
          const std::string rs = v4 ? "10.0.0.2" : "2001:db8:1::2";
          const std::string router = v4 ? "203.0.113.1" : "2001:db8:99::1";
          Spec in;  // the quoted packet as it travelled
          in.proto = proto;
          in.payload.assign(40, 0x33);
          in.ip_options = v4 ? 4 : 0;
          Spec want_in = in;
          Bytes pkt, want;
          if (out) {
            // RS -> client (after DNAT the quoted packet is client -> rs:8080).
            in.saddr = client, in.daddr = rs, in.sport = 40001, in.dport = 8080;
            want_in = in;
            want_in.daddr = vip, want_in.dport = 80;
            const Bytes q = prefix(build(in), l4_offset(in) + ql);
            const Bytes wq = keep_sctp_crc(prefix(build(want_in), l4_offset(in) + ql), q, in);
            pkt = build_icmp_error(rs, client, v4 ? 3 : 1, v4 ? 3 : 4, q);
            want = build_icmp_error(vip, client, v4 ? 3 : 1, v4 ? 3 : 4, wq);
          } else {
            // A router on the client's side about a VIP:80 -> client packet,
            // sent to the VIP: goes to the RS about rs:8080 -> client.
            in.saddr = vip, in.daddr = client, in.sport = 80, in.dport = 40001;
            want_in = in;
            want_in.saddr = rs, want_in.sport = 8080;
            const Bytes q = prefix(build(in), l4_offset(in) + ql);
            const Bytes wq = keep_sctp_crc(prefix(build(want_in), l4_offset(in) + ql), q, in);
            pkt = build_icmp_error(router, vip, v4 ? 3 : 2, v4 ? 4 : 0, q, 1400);
            want = build_icmp_error(router, rs, v4 ? 3 : 2, v4 ? 4 : 0, wq, 1400);
          }
          ParsedPacket r = parse_bytes(pkt);
          ASSERT_TRUE(r.ok()) << to_string(r.status);
          const RewriteStatus st = out ? icmp_error_nat_out(sp(pkt), r, addr(vip), 80)
                                       : icmp_error_nat_in(sp(pkt), r, addr(rs), 8080);
          ASSERT_EQ(st, RewriteStatus::kOk);
          EXPECT_EQ(to_hex(pkt), to_hex(want))
              << "v4 " << v4 << " proto " << int(proto) << " quote " << ql << " out " << out;
          EXPECT_TRUE(all_checksums_ok(pkt));
          ++n;
        }
  EXPECT_EQ(n, 24);
}

TEST(UserspaceRewrite, IcmpErrorRefusals) {
  Spec s;
  Bytes p = build(s);
  ParsedPacket r = parse_bytes(p);
  EXPECT_EQ(icmp_error_nat_out(sp(p), r, addr("10.0.0.1"), 80), RewriteStatus::kNotIcmpError);
  Spec in;
  in.proto = kProtoIcmp;  // an error about an echo: no ports
  p = build_icmp_error("10.0.0.2", "192.0.2.1", 3, 1, build(in));
  r = parse_bytes(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(icmp_error_nat_out(sp(p), r, addr("10.0.0.1"), 80), RewriteStatus::kIcmpInnerNoPorts);
  in.proto = kProtoTcp;
  p = build_icmp_error("10.0.0.2", "192.0.2.1", 3, 1, build(in));
  r = parse_bytes(p);
  EXPECT_EQ(icmp_error_nat_out(sp(p), r, addr("2001:db8::1"), 80), RewriteStatus::kFamilyMismatch);
  set16(p, 6, 0x2000);  // an ICMP message in fragments: its checksum needs all of it
  r = parse_bytes(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(icmp_error_nat_out(sp(p), r, addr("10.0.0.1"), 80),
            RewriteStatus::kFragmentNeedsFullChecksum);
  std::set<std::string> names;
  for (int i = 0; i < static_cast<int>(RewriteStatus::kCount); ++i)
    names.insert(to_string(static_cast<RewriteStatus>(i)));
  EXPECT_EQ(names.size(), static_cast<std::size_t>(RewriteStatus::kCount));
}

// --- TTL -----------------------------------------------------------------------

TEST(UserspaceRewrite, DecrementTtl) {
  for (bool v4 : {true, false}) {
    Spec s;
    if (!v4) s.saddr = "2001:db8::1", s.daddr = "2001:db8::2";
    s.ttl = 2;
    Bytes p = build(s);
    ParsedPacket r = parse_bytes(p);
    ASSERT_TRUE(decrement_ttl(sp(p), r));
    s.ttl = 1;
    EXPECT_EQ(to_hex(p), to_hex(build(s)));
    EXPECT_EQ(r.ttl, 1);
    EXPECT_FALSE(decrement_ttl(sp(p), r));
    EXPECT_EQ(to_hex(p), to_hex(build(s)));
  }
}

// --- TUN -----------------------------------------------------------------------

TEST(UserspaceRewrite, TunnelHeadersAllFamilyCombinations) {
  for (bool inner_v4 : {true, false})
    for (bool outer_v4 : {true, false}) {
      Spec s;
      if (!inner_v4) s.saddr = "2001:db8:c::7", s.daddr = "2001:db8:5::100";
      s.ttl = 17;
      s.tos = 0xb8 | 0x03;  // EF, ECN CE
      s.df = true;
      s.payload.assign(100, 1);
      const Bytes inner = build(s);
      TunnelParams t;
      t.saddr = addr(outer_v4 ? "192.0.2.1" : "2001:db8::1");
      t.daddr = addr(outer_v4 ? "192.0.2.21" : "2001:db8::21");
      t.ip_id = 0x4242;
      t.flow_label = 0xabcde;
      Bytes out(2000, 0xee);
      const std::size_t n = encapsulate(sp(out), csp(inner), parse_bytes(inner), t);
      const std::size_t hl = outer_v4 ? 20 : 40;
      ASSERT_EQ(n, hl + inner.size());
      out.resize(n);
      EXPECT_TRUE(std::equal(inner.begin(), inner.end(), out.begin() + static_cast<long>(hl)));
      const uint8_t next = inner_v4 ? 4 : 41;
      if (outer_v4) {
        EXPECT_EQ(out[0], 0x45);
        EXPECT_EQ(out[1], 0xb8 | 0x02);  // CE -> ECT(0), DSCP kept
        EXPECT_EQ(get16(out, 2), n);
        EXPECT_EQ(get16(out, 4), 0x4242);
        EXPECT_EQ(get16(out, 6), inner_v4 ? 0x4000 : 0);  // DF copied from an IPv4 inner only
        EXPECT_EQ(out[8], 17);
        EXPECT_EQ(out[9], next);
        EXPECT_TRUE(ref_ip4_ok(out));
      } else {
        EXPECT_EQ(out[0], 0x6b);  // version 6, DS high nibble
        EXPECT_EQ(out[1], 0xaa);  // DS low nibble (0xa) | flow label bits 19..16 (0xa)
        EXPECT_EQ(get16(out, 2), 0xbcde);
        EXPECT_EQ(get16(out, 4), inner.size());
        EXPECT_EQ(out[6], next);
        EXPECT_EQ(out[7], 17);
      }
      const ParsedPacket o = parse_bytes(out);
      ASSERT_TRUE(o.ok()) << to_string(o.status);
      EXPECT_EQ(o.tuple.protocol, next);
      EXPECT_EQ(o.tuple.daddr, t.daddr);
    }
}

TEST(UserspaceRewrite, TunnelDfCopyInPlaceAndLimits) {
  Spec s;
  s.df = true;
  const Bytes inner = build(s);
  const ParsedPacket r = parse_bytes(inner);
  TunnelParams t;
  t.saddr = addr("192.0.2.1");
  t.daddr = addr("192.0.2.21");
  t.copy_df = false;
  Bytes hdr(20);
  ASSERT_EQ(build_tunnel_header(sp(hdr), r, inner.size(), t), 20u);
  EXPECT_EQ(get16(hdr, 6), 0);
  t.copy_df = true;
  ASSERT_EQ(build_tunnel_header(sp(hdr), r, inner.size(), t), 20u);
  EXPECT_EQ(get16(hdr, 6), 0x4000);
  Bytes small(19);
  EXPECT_EQ(build_tunnel_header(sp(small), r, inner.size(), t), 0u);
  EXPECT_EQ(build_tunnel_header(sp(hdr), r, 65516, t), 0u);
  EXPECT_EQ(build_tunnel_header(sp(hdr), r, 65515, t), 20u);
  TunnelParams mixed = t;
  mixed.saddr = addr("2001:db8::1");
  EXPECT_EQ(build_tunnel_header(sp(hdr), r, inner.size(), mixed), 0u);

  // In place: the inner packet already sits after room for the header.
  Bytes buf(20 + inner.size());
  std::copy(inner.begin(), inner.end(), buf.begin() + 20);
  const std::size_t n =
      encapsulate(sp(buf), std::span<const uint8_t>(buf.data() + 20, inner.size()), r, t);
  ASSERT_EQ(n, buf.size());
  EXPECT_TRUE(std::equal(inner.begin(), inner.end(), buf.begin() + 20));
  EXPECT_TRUE(ref_ip4_ok(buf));
  Bytes tiny(20 + inner.size() - 1);
  EXPECT_EQ(encapsulate(sp(tiny), csp(inner), r, t), 0u);
}

TEST(UserspaceRewrite, TunnelMtuCheck) {
  const IpAddr rs4 = addr("192.0.2.21"), rs6 = addr("2001:db8::21");
  Spec s;
  s.payload.assign(1480 - 40, 0);
  s.df = true;
  Bytes p = build(s);  // 1480 bytes
  ParsedPacket r = parse_bytes(p);
  EXPECT_EQ(tunnel_mtu_check(r, p.size(), rs4, 1500).verdict, MtuVerdict::kFits);
  MtuCheck c = tunnel_mtu_check(r, p.size(), rs4, 1499);
  EXPECT_EQ(c.verdict, MtuVerdict::kSendTooBig);
  EXPECT_EQ(c.mtu, 1479u);
  EXPECT_EQ(tunnel_mtu_check(r, p.size(), rs4, 1499, false).verdict, MtuVerdict::kFragmentOuter);
  c = tunnel_mtu_check(r, p.size(), rs6, 1500);
  EXPECT_EQ(c.verdict, MtuVerdict::kSendTooBig);
  EXPECT_EQ(c.mtu, 1460u);
  EXPECT_EQ(tunnel_mtu_check(r, p.size(), rs4, 87).verdict, MtuVerdict::kPathMtuTooSmall);
  EXPECT_EQ(tunnel_mtu_check(r, p.size(), rs4, 88).verdict, MtuVerdict::kSendTooBig);
  EXPECT_EQ(tunnel_mtu_check(r, p.size(), rs6, 1319).verdict, MtuVerdict::kPathMtuTooSmall);
  s.df = false;
  p = build(s);
  r = parse_bytes(p);
  EXPECT_EQ(tunnel_mtu_check(r, p.size(), rs4, 1400).verdict, MtuVerdict::kFragmentOuter);
  // An ICMP error with DF is fragmented, never answered with another error.
  Bytes e = build_icmp_error("10.0.0.1", "198.51.100.7", 3, 1, Bytes(1400, 0x45));
  r = parse_bytes(e);
  e[6] = 0x40;
  r.df = true;
  EXPECT_EQ(tunnel_mtu_check(r, e.size(), rs4, 1400).verdict, MtuVerdict::kFragmentOuter);

  Spec s6;
  s6.saddr = "2001:db8:c::7";
  s6.daddr = "2001:db8:5::100";
  s6.payload.assign(1401, 0);  // 1461 bytes
  p = build(s6);
  r = parse_bytes(p);
  c = tunnel_mtu_check(r, p.size(), rs6, 1500);
  EXPECT_EQ(c.verdict, MtuVerdict::kSendTooBig);
  EXPECT_EQ(c.mtu, 1460u);
  EXPECT_EQ(tunnel_mtu_check(r, p.size(), rs6, 1500 + 20).verdict, MtuVerdict::kFits);
  r.frag_offset = 8;  // a non-first fragment: dropped without an error
  EXPECT_EQ(tunnel_mtu_check(r, p.size(), rs6, 1400).verdict, MtuVerdict::kDropTooBig);
  // IPv6 inside IPv4 on a path below 1280 + 20: the outer is fragmented up
  // to 1280 inner bytes; above that, packet-too-big reports 1280.
  s6.payload.assign(1000, 0);
  p = build(s6);
  r = parse_bytes(p);
  c = tunnel_mtu_check(r, p.size(), rs4, 1000);
  EXPECT_EQ(c.verdict, MtuVerdict::kFragmentOuter);
  s6.payload.assign(1300, 0);
  p = build(s6);
  r = parse_bytes(p);
  c = tunnel_mtu_check(r, p.size(), rs4, 1000);
  EXPECT_EQ(c.verdict, MtuVerdict::kSendTooBig);
  EXPECT_EQ(c.mtu, 1280u);
}

// --- ICMP errors built by the engine --------------------------------------------

TEST(UserspaceRewrite, FragNeededQuotesUpTo576Bytes) {
  Spec s;
  s.payload.assign(1400, 0x61);
  const Bytes orig = build(s);
  ParsedPacket r = parse_bytes(orig);
  Bytes out(2000);
  std::size_t n = build_icmp4_frag_needed(sp(out), csp(orig), r, 1476, addr("192.0.2.100"), 7);
  ASSERT_EQ(n, 576u);
  out.resize(n);
  EXPECT_TRUE(all_checksums_ok(out));
  EXPECT_EQ(out[20], 3);
  EXPECT_EQ(out[21], 4);
  EXPECT_EQ(get16(out, 24), 0);
  EXPECT_EQ(get16(out, 26), 1476);
  EXPECT_TRUE(std::equal(out.begin() + 28, out.end(), orig.begin()));
  const ParsedPacket e = parse_bytes(out);
  EXPECT_EQ(e.tuple.saddr, addr("192.0.2.100"));
  EXPECT_EQ(e.tuple.daddr, addr("192.0.2.1"));
  EXPECT_TRUE(e.icmp_error);
  EXPECT_EQ(e.inner.tuple, r.tuple);
  // A smaller buffer gets a shorter quote, down to IP header + 8 bytes.
  out.assign(28 + 28, 0);
  n = build_icmp4_frag_needed(sp(out), csp(orig), r, 1476, addr("192.0.2.100"), 7);
  EXPECT_EQ(n, 56u);
  EXPECT_TRUE(all_checksums_ok(out));
  out.assign(28 + 27, 0);
  EXPECT_EQ(build_icmp4_frag_needed(sp(out), csp(orig), r, 1476, addr("192.0.2.100"), 7), 0u);
}

TEST(UserspaceRewrite, PacketTooBigQuotesUpTo1280Bytes) {
  Spec s;
  s.saddr = "2001:db8:c::7";
  s.daddr = "2001:db8:5::100";
  s.proto = kProtoUdp;
  s.payload.assign(1452, 0x62);
  const Bytes orig = build(s);
  ParsedPacket r = parse_bytes(orig);
  Bytes out(2000);
  const std::size_t n =
      build_icmp6_packet_too_big(sp(out), csp(orig), r, 1460, addr("2001:db8:5::100"));
  ASSERT_EQ(n, 1280u);
  out.resize(n);
  EXPECT_TRUE(all_checksums_ok(out));
  EXPECT_EQ(out[40], 2);
  EXPECT_EQ(out[41], 0);
  EXPECT_EQ((uint32_t{get16(out, 44)} << 16) | get16(out, 46), 1460u);
  const ParsedPacket e = parse_bytes(out);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e.tuple.daddr, addr("2001:db8:c::7"));
  EXPECT_EQ(e.inner.tuple, r.tuple);
  Bytes small(47 + 48);
  EXPECT_EQ(build_icmp6_packet_too_big(sp(small), csp(orig), r, 1460, addr("2001:db8:5::100")), 0u);
}

TEST(UserspaceRewrite, NoIcmpErrorWhereRfc1122AndRfc4443ForbidIt) {
  Bytes out(1280);
  const IpAddr vip4 = addr("192.0.2.100"), vip6 = addr("2001:db8:5::100");
  auto v4 = [&](const Bytes& o) {
    return build_icmp4_frag_needed(sp(out), csp(o), parse_bytes(o), 1400, vip4, 1);
  };
  auto v6 = [&](const Bytes& o, uint8_t type) {
    return build_icmp6_error(sp(out), csp(o), parse_bytes(o), type, 0, 1280, vip6);
  };
  Spec s;
  EXPECT_GT(v4(build(s)), 0u);
  EXPECT_EQ(v4(build_icmp_error("10.0.0.1", "192.0.2.1", 3, 1, build(s))), 0u);  // error
  Spec redirect = s;
  redirect.proto = kProtoIcmp;
  redirect.icmp_type = 5;
  EXPECT_EQ(v4(build(redirect)), 0u);
  redirect.icmp_type = 8;  // echo is fine
  EXPECT_GT(v4(build(redirect)), 0u);
  Bytes frag = build(s);
  set16(frag, 6, 0x0010);
  EXPECT_EQ(v4(frag), 0u);  // non-first fragment
  for (const char* src : {"0.0.0.0", "224.0.0.5", "255.255.255.255", "240.0.0.1"}) {
    Spec b = s;
    b.saddr = src;
    EXPECT_EQ(v4(build(b)), 0u) << src;
  }
  for (const char* dst : {"239.1.1.1", "255.255.255.255"}) {
    Spec b = s;
    b.daddr = dst;
    EXPECT_EQ(v4(build(b)), 0u) << dst;
  }
  Spec s6;
  s6.saddr = "2001:db8:c::7";
  s6.daddr = "2001:db8:5::100";
  EXPECT_EQ(build_icmp4_frag_needed(sp(out), csp(build(s6)), parse_bytes(build(s6)), 1400, vip4, 1),
            0u);
  EXPECT_GT(v6(build(s6), 1), 0u);
  Spec m6 = s6;
  m6.daddr = "ff0e::1";
  EXPECT_EQ(v6(build(m6), 1), 0u);  // multicast destination ...
  EXPECT_GT(v6(build(m6), 2), 0u);  // ... except for packet too big
  m6 = s6;
  m6.saddr = "::";
  EXPECT_EQ(v6(build(m6), 2), 0u);
  m6.saddr = "ff02::1";
  EXPECT_EQ(v6(build(m6), 2), 0u);
  EXPECT_EQ(v6(build_icmp_error("2001:db8::9", "2001:db8:c::7", 1, 0, build(s6)), 2), 0u);
  Spec info6 = s6;
  info6.proto = kProtoIcmpv6;
  info6.icmp_type = 128;  // echo request: fine
  EXPECT_GT(v6(build(info6), 2), 0u);
}

}  // namespace
}  // namespace lvsd::forwarding::userspace
