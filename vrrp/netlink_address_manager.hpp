// NetlinkAddressManager: the real AddressManager.
//   - Requests (links, address dumps, RTM_NEWADDR/DELADDR, RTM_NEWROUTE/
//     DELROUTE) on a NETLINK_ROUTE socket through libnl-route, each waiting
//     for the kernel's ack (local round trips, a 1 s receive timeout bounds a
//     kernel that does not answer). Addresses are built with
//     rtnl_addr_build_add_request() plus an IFA_PROTO attribute (libnl 3.7
//     does not know it); dumps are parsed here for the same reason.
//   - Change events: a second NETLINK_ROUTE socket in RTNLGRP_LINK,
//     RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR, watched on the io_context;
//     a burst of messages gives one `changed` call.
//   - Virtual MAC interfaces (vmac.hpp): macvlans created with
//     rtnl_link_macvlan_*, sysctls written under /proc/sys (of the thread's
//     network namespace), the values they replaced kept to be restored when
//     the last vmac that needed them goes.
//   - Gratuitous ARP on an AF_PACKET socket (protocol 0: send only, nothing
//     queued for receive); unsolicited NA on an ICMPv6 raw socket with every
//     type filtered on receive (ICMP6_FILTER), hop limit 255.
// Needs CAP_NET_ADMIN (addresses, routes) and CAP_NET_RAW (announcements).
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "vrrp/address_manager.hpp"

namespace lvsd::vrrp {

class NetlinkAddressManager final : public AddressManager {
 public:
  // Throws std::runtime_error when the netlink sockets cannot be opened.
  explicit NetlinkAddressManager(boost::asio::io_context& io);
  ~NetlinkAddressManager() override;

  std::optional<InterfaceInfo> interface(const std::string& name) override;
  void watch(std::function<void()> changed) override;
  std::error_code add_address(const Vip& vip) override;
  std::error_code remove_address(const Vip& vip) override;
  bool marked(const Vip& vip) override;
  std::error_code add_route(const VirtualRoute& route) override;
  std::error_code remove_route(const VirtualRoute& route) override;
  std::error_code announce(const std::string& device,
                           const boost::asio::ip::address& address) override;
  Result<bool, std::string> ensure_vmac(const VmacSpec& spec) override;
  std::error_code remove_vmac(const VmacSpec& spec) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace lvsd::vrrp
