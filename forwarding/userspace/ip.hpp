// Addresses and tuples of the userspace dataplane's hot path: fixed-size
// values (no allocation, trivially copyable, hashable), IPv4 kept as an
// IPv4-mapped IPv6 address (::ffff:a.b.c.d) so one type holds both families.
// Conversions to the model's boost address are for the control side only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <boost/asio/ip/address.hpp>

namespace lvsd::forwarding::userspace {

struct IpAddr {
  std::array<uint8_t, 16> b{};  // network byte order

  static IpAddr v4(const uint8_t* p) {  // p: 4 bytes, network order
    IpAddr a;
    a.b[10] = 0xff;
    a.b[11] = 0xff;
    std::memcpy(a.b.data() + 12, p, 4);
    return a;
  }
  static IpAddr v6(const uint8_t* p) {  // p: 16 bytes
    IpAddr a;
    std::memcpy(a.b.data(), p, 16);
    return a;
  }
  static IpAddr from(const boost::asio::ip::address& addr) {
    if (addr.is_v4()) {
      auto bytes = addr.to_v4().to_bytes();
      return v4(bytes.data());
    }
    auto bytes = addr.to_v6().to_bytes();
    return v6(bytes.data());
  }

  bool is_v4() const {
    static constexpr uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(b.data(), prefix, 12) == 0;
  }
  const uint8_t* v4_bytes() const { return b.data() + 12; }
  uint32_t v4_be() const {  // network-order u32 as stored in an IPv4 header
    uint32_t v;
    std::memcpy(&v, b.data() + 12, 4);
    return v;
  }

  boost::asio::ip::address to_address() const {
    if (is_v4()) {
      boost::asio::ip::address_v4::bytes_type v;
      std::memcpy(v.data(), b.data() + 12, 4);
      return boost::asio::ip::address_v4(v);
    }
    boost::asio::ip::address_v6::bytes_type v;
    std::memcpy(v.data(), b.data(), 16);
    return boost::asio::ip::address_v6(v);
  }

  // Keeps the first `bits` bits of the address (for IPv4, of the 32-bit
  // address: bits 0..32), zeroes the rest: persistence granularity.
  IpAddr masked(unsigned bits) const {
    IpAddr out = *this;
    unsigned total = is_v4() ? 96 + (bits > 32 ? 32 : bits) : (bits > 128 ? 128 : bits);
    for (unsigned i = 0; i < 16; ++i) {
      unsigned lo = i * 8;
      if (lo + 8 <= total) continue;
      out.b[i] = lo >= total ? 0 : static_cast<uint8_t>(out.b[i] & (0xff << (8 - (total - lo))));
    }
    return out;
  }

  bool operator==(const IpAddr&) const = default;
  auto operator<=>(const IpAddr&) const = default;
};

// IPPROTO_* numbers.
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoIpip = 4;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIpv6 = 41;
inline constexpr uint8_t kProtoIcmpv6 = 58;
inline constexpr uint8_t kProtoSctp = 132;

// One direction of a flow, as seen in a packet's headers. Ports in host order.
struct FiveTuple {
  IpAddr saddr;
  IpAddr daddr;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t protocol = 0;

  FiveTuple reversed() const { return FiveTuple{daddr, saddr, dport, sport, protocol}; }
  bool operator==(const FiveTuple&) const = default;
};

}  // namespace lvsd::forwarding::userspace
