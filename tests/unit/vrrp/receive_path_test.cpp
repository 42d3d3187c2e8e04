// The receive path as the driver runs it on every datagram: raw bytes (an IPv4
// datagram with its header, or an IPv6 payload with its ancillary data) in,
// an accepted advert or exactly one drop reason out.
#include "vrrp/receive_path.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lvsd::vrrp {
namespace {

using boost::asio::ip::make_address;

Bytes hex(const std::string& s) {
  Bytes out;
  int hi = -1;
  for (char c : s) {
    if (c == ' ') continue;
    const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(std::byte(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

// An IPv4 datagram as a raw socket returns it (RFC 791 header, no options).
Bytes ipv4(const char* src, const char* dst, std::uint8_t ttl, const Bytes& payload,
           std::uint8_t protocol = kIpProtocol, std::uint16_t frag = 0) {
  const auto total = static_cast<std::uint16_t>(20 + payload.size());
  Bytes d = {std::byte{0x45}, std::byte{0},        std::byte(total >> 8), std::byte(total & 0xff),
             std::byte{0x12}, std::byte{0x34},     std::byte(frag >> 8),  std::byte(frag & 0xff),
             std::byte{ttl},  std::byte{protocol}, std::byte{0},          std::byte{0}};
  for (auto b : make_address(src).to_v4().to_bytes())
    d.push_back(std::byte{b});
  for (auto b : make_address(dst).to_v4().to_bytes())
    d.push_back(std::byte{b});
  d.insert(d.end(), payload.begin(), payload.end());
  return d;
}

RawDatagram v4(Bytes bytes) {
  RawDatagram d;
  d.family = Family::inet;
  d.bytes = std::move(bytes);
  return d;
}

// keepalived 2.2.7's advert for `vrrp_instance V2_PASS` (version 2, vrid 51,
// priority 150, advert_int 1, auth PASS "secret", 192.0.2.10-11) as captured
// (see advert_codec_test.cpp), from 10.0.0.1 to 224.0.0.18.
const Bytes kV2Pass = hex("21 33 96 02 01 01 8766 c000020a c000020b 7365637265740000");

RxInstance v2_pass_instance() {
  RxInstance r;
  r.expect.version = 2;
  r.expect.vrid = 51;
  r.expect.auth_type = AuthType::simple_text;
  r.expect.auth_data = simple_password("secret");
  r.expect.adver_int = 1;
  r.expect.addresses = {make_address("192.0.2.10"), make_address("192.0.2.11")};
  return r;
}

RxLookup only(const RxInstance& inst) {
  return [&inst](std::uint8_t vrid) { return vrid == inst.expect.vrid ? &inst : nullptr; };
}

TEST(VrrpReceivePath, AcceptsACapturedKeepalivedAdvertWithItsIpHeader) {
  const RxInstance inst = v2_pass_instance();
  const auto r = receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass)), only(inst));
  ASSERT_TRUE(r.accepted()) << to_string(*r.drop);
  EXPECT_EQ(r.instance, &inst);
  EXPECT_EQ(r.source, make_address("10.0.0.1"));
  EXPECT_EQ(r.destination, make_address("224.0.0.18"));
  EXPECT_EQ(r.advert.priority, 150);
  EXPECT_EQ(r.advert.vrid, 51);
  EXPECT_FALSE(r.address_list_mismatch);
}

TEST(VrrpReceivePath, TtlNot255IsDroppedEvenForAnUnknownVrid) {
  const RxInstance inst = v2_pass_instance();
  auto r = receive(v4(ipv4("10.0.0.1", "224.0.0.18", 254, kV2Pass)), only(inst));
  EXPECT_EQ(r.drop, RxDrop::bad_ttl);
  EXPECT_EQ(r.instance, &inst);  // counted on the instance
  r = receive(v4(ipv4("10.0.0.1", "224.0.0.18", 64, kV2Pass)), RxLookup{});
  EXPECT_EQ(r.drop, RxDrop::bad_ttl);
  EXPECT_EQ(r.instance, nullptr);
  EXPECT_EQ(r.vrid, 51);
}

TEST(VrrpReceivePath, MalformedIpv4Headers) {
  const RxInstance inst = v2_pass_instance();
  const Bytes good = ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass);
  // Shorter than a header.
  EXPECT_EQ(receive(v4(Bytes(good.begin(), good.begin() + 19)), only(inst)).drop,
            RxDrop::ip_header);
  // Version 6 in an IPv4 socket's datagram.
  Bytes bad = good;
  bad[0] = std::byte{0x65};
  EXPECT_EQ(receive(v4(bad), only(inst)).drop, RxDrop::ip_header);
  // IHL beyond the datagram.
  bad = good;
  bad[0] = std::byte{0x4f};
  EXPECT_EQ(receive(v4(Bytes(bad.begin(), bad.begin() + 40)), only(inst)).drop, RxDrop::ip_header);
  // Total length beyond what arrived.
  bad = good;
  bad[3] = std::byte{0xff};
  EXPECT_EQ(receive(v4(bad), only(inst)).drop, RxDrop::ip_header);
  // Another protocol, fragments.
  EXPECT_EQ(receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass, 6)), only(inst)).drop,
            RxDrop::not_vrrp);
  EXPECT_EQ(
      receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass, kIpProtocol, 0x2000)), only(inst))
          .drop,
      RxDrop::fragment);
  EXPECT_EQ(
      receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass, kIpProtocol, 0x0001)), only(inst))
          .drop,
      RxDrop::fragment);
  // DF alone is fine.
  EXPECT_TRUE(
      receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass, kIpProtocol, 0x4000)), only(inst))
          .accepted());
}

TEST(VrrpReceivePath, TotalLengthBoundsThePayload) {
  // Link-layer padding after the datagram (short Ethernet frames) is not part
  // of the advert.
  const RxInstance inst = v2_pass_instance();
  Bytes padded = ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass);
  padded.resize(padded.size() + 6, std::byte{0});
  EXPECT_TRUE(receive(v4(padded), only(inst)).accepted());
}

TEST(VrrpReceivePath, CodecErrorsBecomeDropReasons) {
  const RxInstance inst = v2_pass_instance();
  Bytes bad = kV2Pass;
  bad[6] = std::byte{0x00};  // checksum
  EXPECT_EQ(receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, bad)), only(inst)).drop,
            RxDrop::bad_checksum);
  EXPECT_EQ(
      receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, Bytes(kV2Pass.begin(), kV2Pass.begin() + 7))),
              only(inst))
          .drop,
      RxDrop::too_short);
  bad = kV2Pass;
  bad[0] = std::byte{0x41};  // version 4
  EXPECT_EQ(receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, bad)), only(inst)).drop,
            RxDrop::bad_version);
}

TEST(VrrpReceivePath, UnknownVrid) {
  RxInstance other = v2_pass_instance();
  other.expect.vrid = 52;
  const auto r = receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass)), only(other));
  EXPECT_EQ(r.drop, RxDrop::unknown_vrid);
  EXPECT_EQ(r.instance, nullptr);
}

TEST(VrrpReceivePath, InstanceChecks) {
  RxInstance inst = v2_pass_instance();
  inst.expect.version = 3;
  EXPECT_EQ(receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass)), only(inst)).drop,
            RxDrop::wrong_version);
  inst = v2_pass_instance();
  inst.expect.auth_data = simple_password("secreT");
  EXPECT_EQ(receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass)), only(inst)).drop,
            RxDrop::auth_mismatch);
  inst = v2_pass_instance();
  inst.expect.auth_type = AuthType::none;
  EXPECT_EQ(receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass)), only(inst)).drop,
            RxDrop::auth_mismatch);
  inst = v2_pass_instance();
  inst.expect.adver_int = 2;
  EXPECT_EQ(receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass)), only(inst)).drop,
            RxDrop::interval_mismatch);
}

TEST(VrrpReceivePath, AddressListMismatchIsLoggedAndDropsOnlyForTheOwner) {
  RxInstance inst = v2_pass_instance();
  inst.expect.addresses = {make_address("192.0.2.10")};
  auto r = receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass)), only(inst));
  EXPECT_TRUE(r.accepted());
  EXPECT_TRUE(r.address_list_mismatch);
  inst.expect.owner = true;
  r = receive(v4(ipv4("10.0.0.1", "224.0.0.18", 255, kV2Pass)), only(inst));
  EXPECT_EQ(r.drop, RxDrop::address_list_mismatch);
}

// v3 over IPv6: the header fields come from recvmsg's ancillary data.
TEST(VrrpReceivePath, Ipv6HopLimitFromAncillaryData) {
  // keepalived's V3_V6 capture: vrid 53, priority 254, 1 s,
  // 2001:db8::53-54, from fe80::ff:fe00:a to ff02::12.
  const Bytes payload =
      hex("31 35 fe 02 0064 7712"
          "20010db8000000000000000000000053"
          "20010db8000000000000000000000054");
  RxInstance inst;
  inst.expect.version = 3;
  inst.expect.vrid = 53;
  inst.expect.addresses = {make_address("2001:db8::53"), make_address("2001:db8::54")};
  RawDatagram d;
  d.family = Family::inet6;
  d.bytes = payload;
  d.source = make_address("fe80::ff:fe00:a");
  d.destination = make_address("ff02::12");
  d.hop_limit = 255;
  auto r = receive(d, only(inst));
  ASSERT_TRUE(r.accepted()) << to_string(*r.drop);
  EXPECT_EQ(r.advert.max_adver_int, 100);
  d.hop_limit = 1;
  EXPECT_EQ(receive(d, only(inst)).drop, RxDrop::bad_ttl);
  d.hop_limit = -1;  // IPV6_HOPLIMIT missing: cannot be trusted
  EXPECT_EQ(receive(d, only(inst)).drop, RxDrop::bad_ttl);
  d.hop_limit = 255;
  d.destination = make_address("ff02::1");  // the pseudo-header no longer matches
  EXPECT_EQ(receive(d, only(inst)).drop, RxDrop::bad_checksum);
  d.destination = boost::asio::ip::address();
  EXPECT_EQ(receive(d, only(inst)).drop, RxDrop::bad_context);
}

TEST(VrrpReceivePath, V3Ipv4ChecksumWithoutPseudoHeaderPerInstance) {
  Advert a;
  a.version = 3;
  a.vrid = 9;
  a.priority = 100;
  a.max_adver_int = 100;
  a.addresses = {make_address("192.0.2.200")};
  ChecksumContext ctx;
  ctx.source = make_address("192.0.2.12");
  ctx.destination = make_address("224.0.0.18");
  ctx.v3_checksum_pseudo_header = false;
  const Bytes payload = encode(a, ctx);
  RxInstance inst;
  inst.expect.version = 3;
  inst.expect.vrid = 9;
  inst.expect.addresses = a.addresses;
  const Bytes dgram = ipv4("192.0.2.12", "224.0.0.18", 255, payload);
  EXPECT_EQ(receive(v4(dgram), only(inst)).drop, RxDrop::bad_checksum);
  inst.v3_checksum_pseudo_header = false;
  EXPECT_TRUE(receive(v4(dgram), only(inst)).accepted());
}

TEST(VrrpReceivePath, DropCountersByName) {
  DropCounters c;
  c.add(RxDrop::bad_ttl);
  c.add(RxDrop::bad_ttl);
  c.add(RxDrop::unknown_vrid);
  EXPECT_EQ(c[RxDrop::bad_ttl], 2u);
  EXPECT_EQ(c.total(), 3u);
  EXPECT_EQ(to_string(RxDrop::interval_mismatch), "interval_mismatch");
  // Every reason has its own name.
  for (std::size_t i = 0; i < kRxDropCount; ++i) {
    for (std::size_t j = i + 1; j < kRxDropCount; ++j) {
      EXPECT_NE(to_string(static_cast<RxDrop>(i)), to_string(static_cast<RxDrop>(j)));
    }
  }
}

}  // namespace
}  // namespace lvsd::vrrp
