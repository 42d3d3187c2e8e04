#include "vrrp/netlink_address_manager.hpp"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "vrrp/gratuitous.hpp"

namespace lvsd::vrrp {

namespace asio = boost::asio;
namespace ip = boost::asio::ip;

namespace {

std::error_code err(int e) {
  return {e, std::generic_category()};
}

struct SockFree {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
using SockPtr = std::unique_ptr<nl_sock, SockFree>;
struct AddrFree {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
using AddrPtr = std::unique_ptr<nl_addr, AddrFree>;

SockPtr connect_route(bool events) {
  SockPtr s(nl_socket_alloc());
  if (!s) throw std::runtime_error("netlink: cannot allocate a socket");
  if (events) nl_socket_disable_seq_check(s.get());
  if (int rc = nl_connect(s.get(), NETLINK_ROUTE); rc < 0)
    throw std::runtime_error(std::string("netlink: connect: ") + nl_geterror(rc));
  if (!events) {
    // Bound every request: a kernel that never answers must not wedge the
    // VRRP thread (local round trips take microseconds).
    timeval tv{1, 0};
    ::setsockopt(nl_socket_get_fd(s.get()), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  return s;
}

AddrPtr build_addr(const ip::address& a, unsigned prefix) {
  AddrPtr p;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    p.reset(nl_addr_build(AF_INET, b.data(), b.size()));
  } else {
    const auto b = a.to_v6().to_bytes();
    p.reset(nl_addr_build(AF_INET6, b.data(), b.size()));
  }
  if (p) nl_addr_set_prefixlen(p.get(), static_cast<int>(prefix));
  return p;
}

std::uint8_t rt_scope(Scope s) {
  switch (s) {
    case Scope::global:
      return RT_SCOPE_UNIVERSE;
    case Scope::site:
      return RT_SCOPE_SITE;
    case Scope::link:
      return RT_SCOPE_LINK;
    case Scope::host:
      return RT_SCOPE_HOST;
  }
  return RT_SCOPE_UNIVERSE;
}

// One entry of an RTM_GETADDR dump.
struct AddrEntry {
  int ifindex = 0;
  ip::address address;
  unsigned prefix = 0;
  std::uint32_t flags = 0;
  std::uint8_t scope = 0;
  std::uint8_t proto = 0;
};

// /proc/sys/<path>: the integer it holds, or nullopt (absent, unreadable).
std::optional<int> read_sysctl(const std::string& path) {
  const std::string file = "/proc/sys/" + path;
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[32] = {};
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  char* end = nullptr;
  const long v = std::strtol(buf, &end, 10);
  if (end == buf) return std::nullopt;
  return static_cast<int>(v);
}

// 0 or an errno.
int write_sysctl(const std::string& path, int value) {
  const std::string file = "/proc/sys/" + path;
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const std::string text = std::to_string(value) + "\n";
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int e = n < 0 ? errno : 0;
  ::close(fd);
  return n == static_cast<ssize_t>(text.size()) ? 0 : (e ? e : EIO);
}

// Interface names under /proc/sys/net/ipv4/conf (all, default and every device).
std::vector<std::string> ipv4_conf_names() {
  std::vector<std::string> out;
  if (DIR* d = ::opendir("/proc/sys/net/ipv4/conf")) {
    while (dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  return out;
}

}  // namespace

struct NetlinkAddressManager::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(asio::io_context& io) : io(io), events_fd(io) {}

  asio::io_context& io;
  SockPtr sock;
  SockPtr events;
  asio::posix::stream_descriptor events_fd;
  std::vector<std::function<void()>> watchers;
  bool notify_pending = false;
  bool closed = false;
  int arp_fd = -1;
  int na_fd = -1;
  // Sysctls changed for vmacs: the value each path had before lvsd wrote it
  // (first write wins), and which vmacs need them (keyed by what they
  // restore: a base interface, or "rp_filter" for the `all` arrangement).
  std::map<std::string, int> saved_sysctls;
  std::map<std::string, std::vector<std::string>> saved_for;  // owner -> paths
  std::map<std::string, std::set<std::string>> owners;        // owner -> vmac names

  // Writes `settings`, remembering the old values under `owner` when asked.
  std::string apply_sysctls(const std::vector<SysctlSetting>& settings, const std::string& owner,
                            bool save) {
    for (const auto& st : settings) {
      const auto old = read_sysctl(st.path);
      if (old && *old == st.value) continue;
      if (save && old && !saved_sysctls.count(st.path)) {
        saved_sysctls[st.path] = *old;
        saved_for[owner].push_back(st.path);
      }
      if (const int e = write_sysctl(st.path, st.value)) {
        return "sysctl " + st.path + "=" + std::to_string(st.value) + ": " + std::strerror(e);
      }
    }
    return {};
  }

  // The vmac `name` no longer needs `owner`; the last one restores its sysctls.
  void release_owner(const std::string& owner, const std::string& name) {
    auto it = owners.find(owner);
    if (it == owners.end()) return;
    it->second.erase(name);
    if (!it->second.empty()) return;
    owners.erase(it);
    // Restore in reverse order (rp_filter: `all` first, back to its old value).
    auto& paths = saved_for[owner];
    for (auto p = paths.rbegin(); p != paths.rend(); ++p) {
      auto v = saved_sysctls.find(*p);
      if (v == saved_sysctls.end()) continue;
      if (const int e = write_sysctl(*p, v->second)) {
        spdlog::warn("event=vrrp_vmac_sysctl_restore path={} value={} error=\"{}\"", *p, v->second,
                     std::strerror(e));
      }
      saved_sysctls.erase(v);
    }
    saved_for.erase(owner);
  }

  struct Facts {
    int index = 0;
    LinkFacts link;
  };
  std::optional<Facts> link_facts(const std::string& name) {
    rtnl_link* l = nullptr;
    if (rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &l) < 0 || !l) return std::nullopt;
    Facts f;
    f.index = rtnl_link_get_ifindex(l);
    if (const char* t = rtnl_link_get_type(l)) f.link.kind = t;
    if (nl_addr* a = rtnl_link_get_addr(l); a && nl_addr_get_len(a) == 6)
      std::memcpy(f.link.mac.data(), nl_addr_get_binary_addr(a), 6);
    f.link.link_index = rtnl_link_get_link(l);
    if (f.link.kind == "macvlan") f.link.mode = rtnl_link_macvlan_get_mode(l);
    rtnl_link_put(l);
    return f;
  }

  int delete_link(int index) {
    nl_msg* msg = nlmsg_alloc_simple(RTM_DELLINK, 0);
    if (!msg) return ENOMEM;
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = index;
    if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) {
      nlmsg_free(msg);
      return ENOMEM;
    }
    return transact(msg);
  }

  int set_up(int index) {
    nl_msg* msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
    if (!msg) return ENOMEM;
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = index;
    ifi.ifi_flags = IFF_UP;
    ifi.ifi_change = IFF_UP;
    if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) {
      nlmsg_free(msg);
      return ENOMEM;
    }
    return transact(msg);
  }

  int create_macvlan(const VmacSpec& spec, int base_index) {
    std::unique_ptr<rtnl_link, void (*)(rtnl_link*)> l(rtnl_link_macvlan_alloc(), rtnl_link_put);
    if (!l) return ENOMEM;
    rtnl_link_set_name(l.get(), spec.name.c_str());
    rtnl_link_set_link(l.get(), base_index);
    std::unique_ptr<nl_addr, void (*)(nl_addr*)> mac(
        nl_addr_build(AF_LLC, spec.mac.data(), spec.mac.size()), nl_addr_put);
    if (!mac) return ENOMEM;
    rtnl_link_set_addr(l.get(), mac.get());
    if (rtnl_link_macvlan_set_mode(l.get(), kMacvlanModePrivate) < 0) return EINVAL;
    nl_msg* msg = nullptr;
    if (rtnl_link_build_add_request(l.get(), NLM_F_CREATE | NLM_F_EXCL, &msg) < 0) return EINVAL;
    return transact(msg);
  }

  // Sends `msg` (consumed) and waits for the kernel's ack: 0 or an errno.
  int transact(nl_msg* msg) {
    struct Ack {
      int error = 0;
      bool done = false;
    } ack;
    int rc = nl_send_auto(sock.get(), msg);
    nlmsg_free(msg);
    if (rc < 0) return EIO;
    std::unique_ptr<nl_cb, void (*)(nl_cb*)> cb(nl_cb_alloc(NL_CB_DEFAULT), nl_cb_put);
    nl_cb_err(
        cb.get(), NL_CB_CUSTOM,
        [](sockaddr_nl*, nlmsgerr* e, void* arg) {
          auto* a = static_cast<Ack*>(arg);
          a->error = -e->error;
          a->done = true;
          return static_cast<int>(NL_STOP);
        },
        &ack);
    nl_cb_set(
        cb.get(), NL_CB_ACK, NL_CB_CUSTOM,
        [](nl_msg*, void* arg) {
          static_cast<Ack*>(arg)->done = true;
          return static_cast<int>(NL_STOP);
        },
        &ack);
    for (int i = 0; i < 16 && !ack.done; ++i) {
      rc = nl_recvmsgs(sock.get(), cb.get());
      if (rc < 0 && !ack.done) return rc == -NLE_AGAIN ? ETIMEDOUT : EIO;
    }
    return ack.done ? ack.error : ETIMEDOUT;
  }

  std::vector<AddrEntry> dump_addresses(int family) {
    std::vector<AddrEntry> out;
    nl_msg* msg = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
    if (!msg) return out;
    ifaddrmsg req{};
    req.ifa_family = static_cast<unsigned char>(family);
    if (nlmsg_append(msg, &req, sizeof req, NLMSG_ALIGNTO) < 0) {
      nlmsg_free(msg);
      return out;
    }
    const int rc = nl_send_auto(sock.get(), msg);
    nlmsg_free(msg);
    if (rc < 0) return out;
    struct Ctx {
      std::vector<AddrEntry>* out;
      bool done = false;
    } ctx{&out};
    std::unique_ptr<nl_cb, void (*)(nl_cb*)> cb(nl_cb_alloc(NL_CB_DEFAULT), nl_cb_put);
    nl_cb_set(
        cb.get(), NL_CB_VALID, NL_CB_CUSTOM,
        [](nl_msg* m, void* arg) {
          auto* c = static_cast<Ctx*>(arg);
          nlmsghdr* h = nlmsg_hdr(m);
          if (h->nlmsg_type != RTM_NEWADDR) return static_cast<int>(NL_OK);
          auto* ifa = static_cast<ifaddrmsg*>(nlmsg_data(h));
          nlattr* tb[IFA_MAX + 1] = {};
          if (nlmsg_parse(h, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0)
            return static_cast<int>(NL_OK);
          AddrEntry e;
          e.ifindex = static_cast<int>(ifa->ifa_index);
          e.prefix = ifa->ifa_prefixlen;
          e.flags = ifa->ifa_flags;
          e.scope = ifa->ifa_scope;
          if (tb[IFA_FLAGS] && nla_len(tb[IFA_FLAGS]) >= 4) e.flags = nla_get_u32(tb[IFA_FLAGS]);
          if (tb[IFA_PROTO] && nla_len(tb[IFA_PROTO]) >= 1) e.proto = nla_get_u8(tb[IFA_PROTO]);
          // IPv4: IFA_LOCAL is the address (IFA_ADDRESS the peer on p2p links);
          // IPv6: IFA_ADDRESS.
          nlattr* a = ifa->ifa_family == AF_INET && tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
          if (!a) return static_cast<int>(NL_OK);
          if (ifa->ifa_family == AF_INET && nla_len(a) == 4) {
            ip::address_v4::bytes_type b;
            std::memcpy(b.data(), nla_data(a), 4);
            e.address = ip::address_v4(b);
          } else if (ifa->ifa_family == AF_INET6 && nla_len(a) == 16) {
            ip::address_v6::bytes_type b;
            std::memcpy(b.data(), nla_data(a), 16);
            e.address = ip::address_v6(b);
          } else {
            return static_cast<int>(NL_OK);
          }
          c->out->push_back(e);
          return static_cast<int>(NL_OK);
        },
        &ctx);
    nl_cb_set(
        cb.get(), NL_CB_FINISH, NL_CB_CUSTOM,
        [](nl_msg*, void* arg) {
          static_cast<Ctx*>(arg)->done = true;
          return static_cast<int>(NL_STOP);
        },
        &ctx);
    for (int i = 0; i < 1024 && !ctx.done; ++i) {
      if (nl_recvmsgs(sock.get(), cb.get()) < 0) break;
    }
    return out;
  }

  struct Link {
    int index = 0;
    unsigned flags = 0;
    MacAddress mac{};
  };
  std::optional<Link> link(const std::string& name) {
    rtnl_link* l = nullptr;
    if (rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &l) < 0 || !l) return std::nullopt;
    Link out;
    out.index = rtnl_link_get_ifindex(l);
    out.flags = rtnl_link_get_flags(l);
    if (nl_addr* a = rtnl_link_get_addr(l); a && nl_addr_get_len(a) == 6)
      std::memcpy(out.mac.data(), nl_addr_get_binary_addr(a), 6);
    rtnl_link_put(l);
    return out;
  }

  int ifindex(const std::string& name) {
    const unsigned i = ::if_nametoindex(name.c_str());
    return static_cast<int>(i);
  }

  std::error_code address_request(const Vip& vip, bool add) {
    const int idx = ifindex(vip.device);
    if (idx == 0) return err(ENODEV);
    std::unique_ptr<rtnl_addr, void (*)(rtnl_addr*)> a(rtnl_addr_alloc(), rtnl_addr_put);
    AddrPtr local = build_addr(vip.address, vip.prefix);
    if (!a || !local) return err(ENOMEM);
    rtnl_addr_set_ifindex(a.get(), idx);
    rtnl_addr_set_local(a.get(), local.get());
    rtnl_addr_set_prefixlen(a.get(), static_cast<int>(vip.prefix));
    nl_msg* msg = nullptr;
    if (add) {
      rtnl_addr_set_scope(a.get(), rt_scope(vip.scope));
      if (vip.address.is_v4() && !vip.label.empty())
        rtnl_addr_set_label(a.get(), vip.label.c_str());
      if (vip.address.is_v6()) rtnl_addr_set_flags(a.get(), IFA_F_NODAD);
      if (rtnl_addr_build_add_request(a.get(), NLM_F_CREATE | NLM_F_EXCL, &msg) < 0)
        return err(EINVAL);
      // The ownership mark (Linux >= 6.1 stores it; older kernels ignore an
      // attribute beyond their IFA_MAX).
      nla_put_u8(msg, IFA_PROTO, kAddressProtocol);
    } else {
      if (rtnl_addr_build_delete_request(a.get(), 0, &msg) < 0) return err(EINVAL);
    }
    const int e = transact(msg);
    return e ? err(e) : std::error_code{};
  }

  std::error_code route_request(const VirtualRoute& r, bool add) {
    std::unique_ptr<rtnl_route, void (*)(rtnl_route*)> rt(rtnl_route_alloc(), rtnl_route_put);
    AddrPtr dst = build_addr(r.to, r.prefix);
    if (!rt || !dst) return err(ENOMEM);
    rtnl_route_set_family(rt.get(), static_cast<std::uint8_t>(r.to.is_v4() ? AF_INET : AF_INET6));
    rtnl_route_set_dst(rt.get(), dst.get());
    rtnl_route_set_table(rt.get(), r.table ? r.table : RT_TABLE_MAIN);
    rtnl_route_set_protocol(rt.get(), kRouteProtocol);
    rtnl_route_set_type(rt.get(), RTN_UNICAST);
    rtnl_route_set_scope(rt.get(), r.via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    if (!nh) return err(ENOMEM);
    AddrPtr gw;
    if (!r.device.empty()) {
      const int idx = ifindex(r.device);
      if (idx == 0) {
        rtnl_route_nh_free(nh);
        return err(ENODEV);
      }
      rtnl_route_nh_set_ifindex(nh, idx);
    }
    if (r.via) {
      gw = build_addr(*r.via, r.via->is_v4() ? 32 : 128);
      rtnl_route_nh_set_gateway(nh, gw.get());
    }
    rtnl_route_add_nexthop(rt.get(), nh);  // the route owns it from here
    nl_msg* msg = nullptr;
    const int rc = add ? rtnl_route_build_add_request(rt.get(), NLM_F_CREATE | NLM_F_EXCL, &msg)
                       : rtnl_route_build_del_request(rt.get(), 0, &msg);
    if (rc < 0) return err(EINVAL);
    const int e = transact(msg);
    return e ? err(e) : std::error_code{};
  }

  void arm_events() {
    auto self = shared_from_this();
    events_fd.async_wait(
        asio::posix::descriptor_base::wait_read, [self](const boost::system::error_code& ec) {
          if (ec || self->closed) return;
          // Nothing to parse: any message (or an overrun,
          // ENOBUFS) means "re-read what you need".
          char buf[16384];
          for (int i = 0; i < 256; ++i) {
            const ssize_t n =
                ::recv(self->events_fd.native_handle(), buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0 && errno != ENOBUFS) break;
          }
          if (!self->notify_pending) {
            self->notify_pending = true;
            asio::post(self->io, [self] {
              self->notify_pending = false;
              if (self->closed) return;
              for (auto& w : self->watchers)
                w();
            });
          }
          self->arm_events();
        });
  }
};

NetlinkAddressManager::NetlinkAddressManager(asio::io_context& io)
    : impl_(std::make_shared<Impl>(io)) {
  impl_->sock = connect_route(false);
  impl_->events = connect_route(true);
  if (int rc = nl_socket_add_memberships(impl_->events.get(), RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
                                         RTNLGRP_IPV6_IFADDR, 0);
      rc < 0)
    throw std::runtime_error(std::string("netlink: join groups: ") + nl_geterror(rc));
  nl_socket_set_nonblocking(impl_->events.get());
  impl_->events_fd.assign(nl_socket_get_fd(impl_->events.get()));
}

NetlinkAddressManager::~NetlinkAddressManager() {
  impl_->closed = true;
  boost::system::error_code ignored;
  impl_->events_fd.cancel(ignored);
  // The descriptor belongs to the libnl socket, which closes it.
  impl_->events_fd.release();
  if (impl_->arp_fd >= 0) ::close(impl_->arp_fd);
  if (impl_->na_fd >= 0) ::close(impl_->na_fd);
}

std::optional<InterfaceInfo> NetlinkAddressManager::interface(const std::string& name) {
  auto l = impl_->link(name);
  if (!l) return std::nullopt;
  InterfaceInfo info;
  info.name = name;
  info.index = l->index;
  info.mac = l->mac;
  info.up = (l->flags & IFF_UP) != 0;
  info.running = (l->flags & IFF_RUNNING) != 0;
  std::vector<ip::address_v4> secondary;
  for (const auto& e : impl_->dump_addresses(AF_INET)) {
    if (e.ifindex != l->index) continue;
    if (e.flags & IFA_F_SECONDARY) {
      secondary.push_back(e.address.to_v4());
    } else {
      info.ipv4.push_back(e.address.to_v4());
    }
  }
  info.ipv4.insert(info.ipv4.end(), secondary.begin(), secondary.end());
  for (const auto& e : impl_->dump_addresses(AF_INET6)) {
    if (e.ifindex != l->index || !e.address.to_v6().is_link_local()) continue;
    if (e.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) continue;
    info.ipv6_link_local.push_back(e.address.to_v6());
  }
  return info;
}

void NetlinkAddressManager::watch(std::function<void()> changed) {
  const bool first = impl_->watchers.empty();
  impl_->watchers.push_back(std::move(changed));
  if (first) impl_->arm_events();
}

std::error_code NetlinkAddressManager::add_address(const Vip& vip) {
  return impl_->address_request(vip, true);
}

std::error_code NetlinkAddressManager::remove_address(const Vip& vip) {
  return impl_->address_request(vip, false);
}

bool NetlinkAddressManager::marked(const Vip& vip) {
  const int idx = impl_->ifindex(vip.device);
  if (idx == 0) return false;
  for (const auto& e : impl_->dump_addresses(vip.address.is_v4() ? AF_INET : AF_INET6)) {
    if (e.ifindex == idx && e.address == vip.address && e.prefix == vip.prefix)
      return e.proto == kAddressProtocol;
  }
  return false;
}

std::error_code NetlinkAddressManager::add_route(const VirtualRoute& route) {
  return impl_->route_request(route, true);
}

std::error_code NetlinkAddressManager::remove_route(const VirtualRoute& route) {
  return impl_->route_request(route, false);
}

std::error_code NetlinkAddressManager::announce(const std::string& device,
                                                const ip::address& address) {
  auto l = impl_->link(device);
  if (!l) return err(ENODEV);
  if (address.is_v4()) {
    if (impl_->arp_fd < 0) {
      // Protocol 0: a send-only packet socket, nothing is queued to it.
      impl_->arp_fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
      if (impl_->arp_fd < 0) return err(errno);
    }
    const Bytes frame = arp_announcement(l->mac, address.to_v4());
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_ARP);
    to.sll_ifindex = l->index;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    if (::sendto(impl_->arp_fd, frame.data(), frame.size(), MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0)
      return err(errno);
    return {};
  }
  if (impl_->na_fd < 0) {
    const int fd = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) return err(errno);
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    const int hops = 255;
    if (::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0 ||
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0 ||
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops) != 0) {
      const int e = errno;
      ::close(fd);
      return err(e);
    }
    impl_->na_fd = fd;
  }
  const Bytes na = unsolicited_neighbour_advert(l->mac, address.to_v6());
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_scope_id = static_cast<uint32_t>(l->index);
  const auto all_nodes = ip::make_address_v6("ff02::1").to_bytes();
  std::memcpy(&to.sin6_addr, all_nodes.data(), 16);
  iovec iov{const_cast<std::byte*>(na.data()), na.size()};
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(in6_pktinfo))]{};
  msghdr msg{};
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  in6_pktinfo pi{};
  const auto src = address.to_v6().to_bytes();
  std::memcpy(&pi.ipi6_addr, src.data(), 16);
  pi.ipi6_ifindex = static_cast<unsigned>(l->index);
  std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  if (::sendmsg(impl_->na_fd, &msg, MSG_DONTWAIT) < 0) return err(errno);
  return {};
}

Result<bool, std::string> NetlinkAddressManager::ensure_vmac(const VmacSpec& spec) {
  using R = Result<bool, std::string>;
  Impl& im = *impl_;
  const auto base = im.link_facts(spec.base);
  if (!base) return R::failure("interface " + spec.base + " not found");
  bool created = false;
  auto found = im.link_facts(spec.name);
  if (found) {
    switch (classify_link(found->link, spec, base->index)) {
      case VmacMatch::foreign:
        return R::failure(fmt::format(
            "interface {} exists and is not lvsd's vmac (kind {}, MAC {})", spec.name,
            found->link.kind.empty() ? "?" : found->link.kind, mac_string(found->link.mac)));
      case VmacMatch::recreate:
        spdlog::info("event=vrrp_vmac_recreate vmac={} reason=\"another base or mode\"", spec.name);
        if (const int e = im.delete_link(found->index))
          return R::failure("delete " + spec.name + ": " + std::strerror(e));
        found.reset();
        break;
      case VmacMatch::adopt:
        break;
    }
  }
  // The base's sysctls before the macvlan exists: it must never answer ARP
  // for the VIPs with its own MAC.
  if (spec.family == Family::inet) {
    if (auto e = im.apply_sysctls(base_sysctls(spec.base), "base:" + spec.base, true); !e.empty())
      return R::failure(e);
    im.owners["base:" + spec.base].insert(spec.name);
  }
  if (!found) {
    if (const int e = im.create_macvlan(spec, base->index))
      return R::failure("create macvlan " + spec.name + " on " + spec.base + ": " +
                        std::strerror(e));
    created = true;
    found = im.link_facts(spec.name);
    if (!found) return R::failure("macvlan " + spec.name + " vanished after its creation");
  }
  for (const auto& st : vmac_sysctls(spec)) {
    const int e = write_sysctl(st.path, st.value);
    // Without IPv6 in the kernel an IPv4 vmac has nothing to disable.
    if (e == ENOENT && spec.family == Family::inet && st.path.rfind("net/ipv6/", 0) == 0) continue;
    if (e)
      return R::failure("sysctl " + st.path + "=" + std::to_string(st.value) + ": " +
                        std::strerror(e));
  }
  if (spec.family == Family::inet) {
    // keepalived's rp_filter arrangement (vmac.hpp): effective 0 on the vmacs,
    // unchanged elsewhere.
    const int all = read_sysctl("net/ipv4/conf/all/rp_filter").value_or(0);
    if (all > 0) {
      std::vector<std::pair<std::string, int>> own;
      std::vector<std::string> vmacs;
      for (const auto& o : im.owners)
        for (const auto& n : o.second)
          vmacs.push_back(n);
      vmacs.push_back(spec.name);
      for (const auto& n : ipv4_conf_names())
        own.emplace_back(n, read_sysctl("net/ipv4/conf/" + n + "/rp_filter").value_or(0));
      const int def = read_sysctl("net/ipv4/conf/default/rp_filter").value_or(0);
      spdlog::info(
          "event=vrrp_vmac_rp_filter all={} action=\"all=0, each interface max(own, all)\"", all);
      if (auto e = im.apply_sysctls(rp_filter_plan(all, def, own, vmacs), "rp_filter", true);
          !e.empty())
        return R::failure(e);
    }
    im.owners["rp_filter"].insert(spec.name);
  }
  if (spec.family == Family::inet6) {
    // The adverts' source: the base's link-local address, also on the vmac
    // (keepalived does the same), without DAD (it is the base's own).
    InterfaceInfo bi;
    if (auto info = interface(spec.base)) bi = *info;
    for (const auto& ll : bi.ipv6_link_local) {
      Vip v;
      v.address = ll;
      v.prefix = 64;
      v.device = spec.name;
      v.scope = Scope::link;
      auto ec = im.address_request(v, true);
      if (ec && ec.value() != EEXIST)
        return R::failure("add " + ll.to_string() + " to " + spec.name + ": " + ec.message());
      break;
    }
  }
  if (const int e = im.set_up(found->index))
    return R::failure("set " + spec.name + " up: " + std::strerror(e));
  return R(created);
}

std::error_code NetlinkAddressManager::remove_vmac(const VmacSpec& spec) {
  Impl& im = *impl_;
  const auto found = im.link_facts(spec.name);
  std::error_code out;
  if (found) {
    const auto base = im.link_facts(spec.base);
    if (classify_link(found->link, spec, base ? base->index : 0) == VmacMatch::foreign) {
      out = err(EPERM);
    } else if (const int e = im.delete_link(found->index)) {
      out = err(e);
    }
  }
  if (!out) {
    im.release_owner("base:" + spec.base, spec.name);
    im.release_owner("rp_filter", spec.name);
  }
  return out;
}

}  // namespace lvsd::vrrp
