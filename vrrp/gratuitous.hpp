// The packets that tell a LAN the VIPs moved to the new master (RFC 5798
// §6.4.1 (2)/(3), §8.1.2, §8.2.2): pure builders, sent by the AddressManager.
//
// IPv4: a gratuitous ARP *request* (RFC 5227 §3 "ARP Announcement": sender
// and target protocol address both the VIP, target hardware address zero),
// broadcast. Linux receivers treat it as "garp" (net/ipv4/arp.c
// arp_is_garp(): sip == tip for a request) and override an existing
// neighbour entry whatever its age (no locktime).
//
// IPv6: an unsolicited neighbour advertisement (RFC 4861 §4.4, §7.2.6) to
// ff02::1, Override set, Solicited and Router clear, with the target
// link-layer address option; sent with hop limit 255 (receivers drop others,
// §7.1.2). The ICMPv6 checksum is left 0: an ICMPv6 raw socket has the kernel
// compute it (RFC 3542 §3.1).
#pragma once

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include "vrrp/advert_codec.hpp"

namespace lvsd::vrrp {

inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::size_t kArpFrameSize = 42;  // Ethernet header + ARP for IPv4
inline constexpr std::uint8_t kIcmpv6NeighbourAdvert = 136;
inline constexpr std::size_t kNeighbourAdvertSize = 32;  // header + target + TLLA option

// A whole Ethernet frame: destination ff:ff:ff:ff:ff:ff, source `mac`.
Bytes arp_announcement(const MacAddress& mac, const boost::asio::ip::address_v4& vip);
// The ICMPv6 message (checksum 0).
Bytes unsolicited_neighbour_advert(const MacAddress& mac, const boost::asio::ip::address_v6& vip);

}  // namespace lvsd::vrrp
