// L2Resolver: what the dataplane needs to reach a realserver by itself, found
// through the kernel (rtnetlink via libnl-route), on the control thread:
//  - DR: the egress interface and the realserver's MAC (the kernel's
//    neighbour table; a missing entry is resolved by asking the kernel to
//    resolve it, NTF_USE, and is looked up again on the next refresh);
//  - TUN: the interface MTU and the preferred source address toward it
//    (the outer header's source).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "forwarding/model.hpp"

struct nl_sock;

namespace lvsd::forwarding::userspace {

struct L2Info {
  bool route_ok = false;  // a route to the address exists
  bool onlink = false;    // no gateway on the route (DR needs it)
  int ifindex = 0;
  std::string ifname;
  uint32_t mtu = 0;
  Address source;  // preferred source toward the address (unspecified if none)
  bool mac_ok = false;
  std::array<uint8_t, 6> mac{};
  std::string error;  // why route_ok or mac_ok is false
  bool operator==(const L2Info&) const = default;
};

class L2Resolver {
 public:
  L2Resolver();
  ~L2Resolver();
  L2Resolver(const L2Resolver&) = delete;
  L2Resolver& operator=(const L2Resolver&) = delete;

  // `want_mac`: look the neighbour up (and trigger its resolution if absent).
  L2Info resolve(const Address& address, bool want_mac);

 private:
  nl_sock* sock_ = nullptr;
};

std::string format_mac(const std::array<uint8_t, 6>& mac);

// The classic "ARP problem" of DR/TUN: asks the realserver (by unicast ARP
// to its MAC, from `source` on `ifindex`) who has `vip`, and says whether it
// answered within `timeout_ms` (it must not: arp_ignore/arp_announce).
// Returns false as well when the probe cannot be sent.
bool realserver_answers_arp(int ifindex, const std::array<uint8_t, 6>& rs_mac,
                            const Address& source, const Address& vip, int timeout_ms);

}  // namespace lvsd::forwarding::userspace
