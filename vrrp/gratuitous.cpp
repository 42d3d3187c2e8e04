#include "vrrp/gratuitous.hpp"

namespace lvsd::vrrp {

namespace {
void put(Bytes& out, std::uint8_t b) {
  out.push_back(std::byte{b});
}
void put16(Bytes& out, std::uint16_t v) {
  put(out, static_cast<std::uint8_t>(v >> 8));
  put(out, static_cast<std::uint8_t>(v & 0xff));
}
template <class Range>
void put_all(Bytes& out, const Range& r) {
  for (auto b : r)
    put(out, static_cast<std::uint8_t>(b));
}
}  // namespace

Bytes arp_announcement(const MacAddress& mac, const boost::asio::ip::address_v4& vip) {
  Bytes f;
  f.reserve(kArpFrameSize);
  // Ethernet II.
  for (int i = 0; i < 6; ++i)
    put(f, 0xff);
  put_all(f, mac);
  put16(f, kEtherTypeArp);
  // RFC 826: htype Ethernet, ptype IPv4, hlen 6, plen 4, op request.
  put16(f, 1);
  put16(f, 0x0800);
  put(f, 6);
  put(f, 4);
  put16(f, 1);
  put_all(f, mac);             // sender hardware address
  put_all(f, vip.to_bytes());  // sender protocol address
  for (int i = 0; i < 6; ++i)  // target hardware address: zero (RFC 5227 §2.3)
    put(f, 0);
  put_all(f, vip.to_bytes());  // target protocol address
  return f;
}

Bytes unsolicited_neighbour_advert(const MacAddress& mac, const boost::asio::ip::address_v6& vip) {
  Bytes m;
  m.reserve(kNeighbourAdvertSize);
  put(m, kIcmpv6NeighbourAdvert);
  put(m, 0);     // code
  put16(m, 0);   // checksum: the kernel's
  put(m, 0x20);  // R=0 S=0 O=1, then reserved
  put(m, 0);
  put16(m, 0);
  put_all(m, vip.to_bytes());
  put(m, 2);  // option: target link-layer address
  put(m, 1);  // length in units of 8 octets
  put_all(m, mac);
  return m;
}

}  // namespace lvsd::vrrp
