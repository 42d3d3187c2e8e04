// RawTransport: the real Transport. One raw IP socket of protocol 112 per
// (interface, family), on the Driver's io_context:
//   - SO_BINDTODEVICE: only that interface's packets arrive, and two
//     interfaces with instances of the same VRID never mix.
//   - TTL / hop limit 255 for unicast and multicast (IP_TTL, IP_MULTICAST_TTL,
//     IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS); multicast loopback off.
//   - Source address per message through IP_PKTINFO / IPV6_PKTINFO, so
//     instances with different unicast_source share one socket.
//   - Receive: IPv4 raw sockets deliver the IP header, which carries the TTL;
//     IPv6 raw sockets do not, so IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO give
//     the hop limit and the destination (for the v3 pseudo-header).
//   - The checksum is the codec's (IPV6_CHECKSUM stays off: the kernel would
//     otherwise overwrite the field at the ICMPv6 offset, not VRRP's).
// Needs CAP_NET_RAW.
#pragma once

#include <boost/asio/io_context.hpp>

#include "vrrp/transport.hpp"

namespace lvsd::vrrp {

class RawTransport final : public Transport {
 public:
  explicit RawTransport(boost::asio::io_context& io) : io_(io) {}
  Result<std::unique_ptr<Channel>, std::string> open(const std::string& interface, Family family,
                                                     Receiver receiver) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace lvsd::vrrp
