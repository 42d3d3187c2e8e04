// The kernel seam of the VRRP driver: interfaces, virtual addresses, virtual
// routes and the gratuitous ARP / unsolicited NA that announce a new master.
// NetlinkAddressManager (netlink_address_manager.hpp) is the real one, over
// libnl-route, AF_PACKET and ICMPv6 raw sockets; FakeAddressManager
// (fake_address_manager.hpp) keeps the same state in memory and returns the
// errors the kernel returns (EEXIST on adding a present address or route,
// EADDRNOTAVAIL on deleting an absent address, ESRCH on an absent route).
//
// Ownership: whatever lvsd adds carries a mark — IFA_PROTO kAddressProtocol
// on addresses (Linux >= 6.1; older kernels ignore the attribute and then an
// address left by a killed lvsd is not recognised), rtm_protocol
// kRouteProtocol on routes — so that an lvsd restarted after a crash can tell
// the addresses its predecessor left from an operator's. VipSet
// (vip_set.hpp) never removes an address it did not add or adopt.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include "vrrp/advert_codec.hpp"
#include "vrrp/vmac.hpp"

namespace lvsd::vrrp {

// Picked from the unassigned range of both fields (iproute2's rt_protos lists
// 0..19 and 42..99, 186..192; ifa_proto 0..3 are the kernel's).
inline constexpr std::uint8_t kAddressProtocol = 112;
inline constexpr std::uint8_t kRouteProtocol = 112;

enum class Scope : std::uint8_t { global, site, link, host };
std::string_view to_string(Scope s) noexcept;
// "global" / "site" / "link" / "host"; nullopt otherwise.
std::optional<Scope> scope_from_string(std::string_view s) noexcept;

// One virtual address as `ip address add ADDRESS/PREFIX dev DEVICE label LABEL
// scope SCOPE` would add it (IPv6 ones with nodad, as keepalived does: a VIP
// must answer at once, and a backup that still holds it is not a duplicate to
// wait for).
struct Vip {
  boost::asio::ip::address address;
  unsigned prefix = 32;
  std::string device;
  std::string label;  // IPv4 only
  Scope scope = Scope::global;
  bool operator==(const Vip&) const = default;
  std::string str() const;  // "192.0.2.200/24 dev eth0"
};

// `ip route add TO via VIA dev DEVICE table TABLE proto 112`.
struct VirtualRoute {
  boost::asio::ip::address to;
  unsigned prefix = 32;
  std::optional<boost::asio::ip::address> via;
  std::string device;       // "" = the kernel picks by `via`
  std::uint32_t table = 0;  // 0 = main
  bool operator==(const VirtualRoute&) const = default;
  std::string str() const;  // "198.51.100.0/24 via 192.0.2.1 table 0"
};

struct InterfaceInfo {
  std::string name;
  int index = 0;
  MacAddress mac{};
  bool up = false;       // IFF_UP (administratively up)
  bool running = false;  // IFF_RUNNING (operationally up: carrier)
  // Primary (not IFA_F_SECONDARY) IPv4 addresses first, then secondary ones.
  std::vector<boost::asio::ip::address_v4> ipv4;
  std::vector<boost::asio::ip::address_v6> ipv6_link_local;
  bool operator==(const InterfaceInfo&) const = default;
};

class AddressManager {
 public:
  virtual ~AddressManager() = default;

  virtual std::optional<InterfaceInfo> interface(const std::string& name) = 0;
  // `changed` is called (on the caller's io_context) after links or addresses
  // changed anywhere; the caller re-reads what it needs.
  virtual void watch(std::function<void()> changed) = 0;

  // EEXIST when the address is already on the device.
  virtual std::error_code add_address(const Vip& vip) = 0;
  // EADDRNOTAVAIL when it is not.
  virtual std::error_code remove_address(const Vip& vip) = 0;
  // Whether the address is on its device with lvsd's mark (kAddressProtocol).
  virtual bool marked(const Vip& vip) = 0;

  // Routes carry kRouteProtocol; remove_route() deletes only a route with that
  // mark (the kernel matches rtm_protocol on delete): ESRCH otherwise.
  virtual std::error_code add_route(const VirtualRoute& route) = 0;
  virtual std::error_code remove_route(const VirtualRoute& route) = 0;

  // One gratuitous ARP request (IPv4) or unsolicited neighbour advertisement
  // (IPv6) for `address` out of `device`.
  virtual std::error_code announce(const std::string& device,
                                   const boost::asio::ip::address& address) = 0;

  // The virtual MAC interface (vmac.hpp): creates the macvlan, or adopts the
  // one found under its name when it is ours (classify_link), applies the
  // sysctls keepalived applies, gives an IPv6 one the base's link-local
  // address, and brings it up. Idempotent. Returns whether it was created;
  // the error is a sentence ("interface vrrp.51 exists and is not a vmac").
  virtual Result<bool, std::string> ensure_vmac(const VmacSpec& spec) = 0;
  // Deletes the macvlan when it is ours (never anything else: EPERM) and,
  // with the last vmac of its base, restores the sysctls changed for it.
  // Absent: success.
  virtual std::error_code remove_vmac(const VmacSpec& spec) = 0;
};

}  // namespace lvsd::vrrp
