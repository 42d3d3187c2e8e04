// The announcement packets, byte by byte against RFC 826/5227 and RFC 4861.
#include "vrrp/gratuitous.hpp"

#include <gtest/gtest.h>

namespace lvsd::vrrp {
namespace {

using boost::asio::ip::make_address_v4;
using boost::asio::ip::make_address_v6;

std::vector<int> ints(const Bytes& b) {
  std::vector<int> v;
  for (auto x : b)
    v.push_back(std::to_integer<int>(x));
  return v;
}

constexpr MacAddress kMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};

TEST(VrrpGratuitous, ArpAnnouncementFrame) {
  const Bytes f = arp_announcement(kMac, make_address_v4("192.0.2.200"));
  ASSERT_EQ(f.size(), kArpFrameSize);
  const std::vector<int> want = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // broadcast
      0x02, 0x00, 0x00, 0x00, 0x00, 0x0b,  // our MAC
      0x08, 0x06,                          // ARP
      0x00, 0x01, 0x08, 0x00, 6,    4,     // Ethernet / IPv4
      0x00, 0x01,                          // request
      0x02, 0x00, 0x00, 0x00, 0x00, 0x0b,  // sender MAC
      192,  0,    2,    200,               // sender IP = VIP
      0,    0,    0,    0,    0,    0,     // target MAC zero
      192,  0,    2,    200,               // target IP = VIP
  };
  EXPECT_EQ(ints(f), want);
}

TEST(VrrpGratuitous, UnsolicitedNeighbourAdvert) {
  const Bytes m = unsolicited_neighbour_advert(kMac, make_address_v6("2001:db8::200"));
  ASSERT_EQ(m.size(), kNeighbourAdvertSize);
  const std::vector<int> want = {
      136,  0,    0,    0,  // type, code, checksum (kernel's)
      0x20, 0,    0,    0,  // O=1, S=0, R=0
      0x20, 0x01, 0x0d, 0xb8, 0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00,  // target
      2,    1,  // target link-layer address option
      0x02, 0x00, 0x00, 0x00, 0x00, 0x0b,
  };
  EXPECT_EQ(ints(m), want);
}

}  // namespace
}  // namespace lvsd::vrrp
