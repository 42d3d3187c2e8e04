#include "forwarding/userspace/l2_resolver.hpp"

#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/neighbour.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <sys/socket.h>
#include <chrono>

#include <cstring>

#include <fmt/format.h>
#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

namespace lvsd::forwarding::userspace {
namespace {

nl_addr* to_nl(const Address& a) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    return nl_addr_build(AF_INET, b.data(), b.size());
  }
  auto b = a.to_v6().to_bytes();
  return nl_addr_build(AF_INET6, b.data(), b.size());
}

Address from_nl(nl_addr* a) {
  if (a == nullptr) return {};
  if (nl_addr_get_family(a) == AF_INET && nl_addr_get_len(a) == 4) {
    boost::asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), nl_addr_get_binary_addr(a), 4);
    return boost::asio::ip::address_v4(b);
  }
  if (nl_addr_get_family(a) == AF_INET6 && nl_addr_get_len(a) == 16) {
    boost::asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), nl_addr_get_binary_addr(a), 16);
    return boost::asio::ip::address_v6(b);
  }
  return {};
}

}  // namespace

std::string format_mac(const std::array<uint8_t, 6>& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

L2Resolver::L2Resolver() {
  sock_ = nl_socket_alloc();
  if (sock_ != nullptr && nl_connect(sock_, NETLINK_ROUTE) < 0) {
    nl_socket_free(sock_);
    sock_ = nullptr;
  }
}

L2Resolver::~L2Resolver() {
  if (sock_ != nullptr) nl_socket_free(sock_);
}

L2Info L2Resolver::resolve(const Address& address, bool want_mac) {
  L2Info info;
  if (sock_ == nullptr) {
    info.error = "no rtnetlink socket";
    return info;
  }
  nl_addr* dst = to_nl(address);
  rtnl_route* route = nullptr;
  int rc = rtnl_route_lookup(sock_, dst, &route);
  if (rc < 0 || route == nullptr) {
    info.error = fmt::format("no route: {}", nl_geterror(rc));
    nl_addr_put(dst);
    return info;
  }
  info.route_ok = true;
  info.source = from_nl(rtnl_route_get_pref_src(route));
  rtnl_nexthop* nh = rtnl_route_nexthop_n(route, 0);
  if (nh != nullptr) {
    info.ifindex = rtnl_route_nh_get_ifindex(nh);
    info.onlink = rtnl_route_nh_get_gateway(nh) == nullptr;
  }
  rtnl_route_put(route);

  char name[IF_NAMESIZE] = {};
  if (info.ifindex > 0 && if_indextoname(static_cast<unsigned>(info.ifindex), name) != nullptr)
    info.ifname = name;
  rtnl_link* link = nullptr;
  if (info.ifindex > 0 && rtnl_link_get_kernel(sock_, info.ifindex, nullptr, &link) >= 0) {
    info.mtu = rtnl_link_get_mtu(link);
    rtnl_link_put(link);
  }

  if (want_mac) {
    if (!info.onlink) {
      info.error = "not on a directly connected network (direct routing needs one)";
    } else {
      nl_cache* cache = nullptr;
      if (rtnl_neigh_alloc_cache(sock_, &cache) >= 0) {
        rtnl_neigh* n = rtnl_neigh_get(cache, info.ifindex, dst);
        if (n != nullptr) {
          int state = rtnl_neigh_get_state(n);
          nl_addr* ll = rtnl_neigh_get_lladdr(n);
          if ((state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT |
                        NUD_NOARP)) != 0 &&
              ll != nullptr && nl_addr_get_len(ll) == 6) {
            std::memcpy(info.mac.data(), nl_addr_get_binary_addr(ll), 6);
            info.mac_ok = true;
          }
          rtnl_neigh_put(n);
        }
        nl_cache_free(cache);
      }
      if (!info.mac_ok) {
        // Ask the kernel to resolve it (neigh_add with NTF_USE runs
        // neigh_event_send): the answer is there at the next refresh.
        rtnl_neigh* req = rtnl_neigh_alloc();
        rtnl_neigh_set_ifindex(req, info.ifindex);
        rtnl_neigh_set_dst(req, dst);
        rtnl_neigh_set_flags(req, NTF_USE);
        rtnl_neigh_add(sock_, req, NLM_F_CREATE);
        rtnl_neigh_put(req);
        info.error = "neighbour not resolved yet";
      }
    }
  }
  nl_addr_put(dst);
  return info;
}

bool realserver_answers_arp(int ifindex, const std::array<uint8_t, 6>& rs_mac,
                            const Address& source, const Address& vip, int timeout_ms) {
  if (!source.is_v4() || !vip.is_v4() || ifindex <= 0) return false;
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));
  if (fd < 0) return false;
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ARP);
  sll.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    close(fd);
    return false;
  }
  // Our MAC for the sender hardware address.
  ifreq ifr{};
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(static_cast<unsigned>(ifindex), name) == nullptr) {
    close(fd);
    return false;
  }
  std::memcpy(ifr.ifr_name, name, strnlen(name, IF_NAMESIZE - 1));
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
    close(fd);
    return false;
  }
  // RFC 826 request: who has `vip`? tell `source`.
  uint8_t req[28] = {0, 1, 8, 0, 6, 4, 0, 1};
  std::memcpy(req + 8, ifr.ifr_hwaddr.sa_data, 6);
  auto src = source.to_v4().to_bytes();
  auto tgt = vip.to_v4().to_bytes();
  std::memcpy(req + 14, src.data(), 4);
  std::memcpy(req + 24, tgt.data(), 4);
  sockaddr_ll to = sll;
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, rs_mac.data(), 6);
  bool answered = false;
  if (sendto(fd, req, sizeof req, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == sizeof req) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!answered) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      uint8_t buf[64];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, 0)) >= 28) {
        // A reply (op 2) from the realserver's MAC claiming the VIP.
        if (buf[6] == 0 && buf[7] == 2 && std::memcmp(buf + 8, rs_mac.data(), 6) == 0 &&
            std::memcmp(buf + 14, tgt.data(), 4) == 0)
          answered = true;
      }
    }
  }
  close(fd);
  return answered;
}

}  // namespace lvsd::forwarding::userspace
