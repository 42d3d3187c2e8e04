// The receive validation of VRRP adverts (RFC 5798 §7.1, RFC 3768 §7.1), from
// the bytes a raw socket returned to an advert the InstanceFsm may be fed, or
// a drop reason to count. Pure: the real socket path (RawTransport -> Driver)
// and the unit tests call the same receive() with the same bytes.
//
// Order of the checks (the first failure is the reason counted):
//   1. IPv4 header (raw IPv4 sockets deliver it): well formed, protocol 112,
//      not a fragment (an advert is never fragmented; the kernel reassembles
//      before a raw socket sees a datagram anyway).
//   2. TTL / hop limit 255 (§7.1: a router that forwarded it is not on our
//      link), counted even when the VRID is unknown.
//   3. The message: decode() (length, version range, type, checksum with the
//      instance's pseudo-header choice, v2 auth type).
//   4. The VRID belongs to an instance on this interface and family, else
//      unknown_vrid.
//   5. validate(): the instance's version, auth (v2), Adver Int (v2), and the
//      address list (a drop only for the address owner; otherwise logged).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "vrrp/advert_codec.hpp"

namespace lvsd::vrrp {

// One datagram as a raw protocol-112 socket returns it.
struct RawDatagram {
  Family family = Family::inet;
  // inet: the whole IPv4 datagram, header included (raw IPv4 sockets keep it).
  // inet6: the VRRP message only (raw IPv6 sockets strip the header); the
  // header fields come from the ancillary data below.
  Bytes bytes;
  boost::asio::ip::address source;       // inet6: msg_name
  boost::asio::ip::address destination;  // inet6: IPV6_PKTINFO
  int hop_limit = -1;                    // inet6: IPV6_HOPLIMIT (-1: not received)
};

// Every reason an advert is dropped, one counter each.
enum class RxDrop : std::uint8_t {
  ip_header,  // truncated or malformed IPv4 header or total length
  not_vrrp,   // IPv4 protocol is not 112
  fragment,   // IPv4 fragment
  bad_ttl,    // TTL / hop limit not 255
  too_short,  // decode(): DecodeError of the same name ...
  bad_version,
  bad_type,
  bad_length,
  address_count_mismatch,
  bad_checksum,
  bad_auth_type,
  bad_context,
  unknown_vrid,           // no instance with this VRID on the interface and family
  wrong_version,          // validate(): DropReason of the same name ...
  auth_mismatch,          // v2: auth type or password differs
  interval_mismatch,      // v2: Adver Int differs from ours
  address_list_mismatch,  // we are the address owner and the list differs
};
inline constexpr std::size_t kRxDropCount =
    static_cast<std::size_t>(RxDrop::address_list_mismatch) + 1;

// Stable snake_case name for counters: "bad_ttl", ...
std::string_view to_string(RxDrop d) noexcept;
RxDrop to_rx_drop(DecodeError e) noexcept;
RxDrop to_rx_drop(DropReason r) noexcept;

struct DropCounters {
  std::array<std::uint64_t, kRxDropCount> by_reason{};
  void add(RxDrop d) { ++by_reason[static_cast<std::size_t>(d)]; }
  std::uint64_t operator[](RxDrop d) const { return by_reason[static_cast<std::size_t>(d)]; }
  std::uint64_t total() const;
};

// What receive() needs to know about the instance a VRID maps to.
struct RxInstance {
  InstanceExpectations expect;
  bool v3_checksum_pseudo_header = true;
};

struct RxResult {
  std::optional<RxDrop> drop;            // set: dropped for this reason
  std::optional<std::uint8_t> vrid;      // the packet's VRID, when it had one
  const RxInstance* instance = nullptr;  // the instance the VRID maps to, if any
  boost::asio::ip::address source;       // IP source, when the header was usable
  boost::asio::ip::address destination;
  std::uint8_t ttl = 0;
  Advert advert;  // accepted: the decoded advert
  // The address list differs from ours (RFC 5798 §7.1 "SHOULD log"); also set
  // when that was not a reason to drop.
  bool address_list_mismatch = false;
  bool accepted() const noexcept { return !drop.has_value(); }
};

// The channel's instances by VRID (nullptr: none).
using RxLookup = std::function<const RxInstance*(std::uint8_t vrid)>;

// The fields of an IPv4 header receive() uses, or why it is unusable.
struct Ipv4Header {
  boost::asio::ip::address_v4 source;
  boost::asio::ip::address_v4 destination;
  std::uint8_t ttl = 0;
  std::uint8_t protocol = 0;
  std::span<const std::byte> payload;  // within the datagram, total length honoured
};
Result<Ipv4Header, RxDrop> parse_ipv4(std::span<const std::byte> datagram);

RxResult receive(const RawDatagram& datagram, const RxLookup& lookup);

}  // namespace lvsd::vrrp
