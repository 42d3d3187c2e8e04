#include "vrrp/raw_transport.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/posix/stream_descriptor.hpp>

namespace lvsd::vrrp {

namespace asio = boost::asio;
namespace ip = boost::asio::ip;

namespace {

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

// The largest advert: v3 over IPv6 with 255 addresses is 8 + 255 * 16 bytes;
// plus an IPv4 header with options. Anything longer is truncated and then
// fails decode (bad_length / address_count_mismatch).
constexpr std::size_t kMaxDatagram = 8192;

class RawChannel final : public Channel {
 public:
  struct State {
    explicit State(asio::io_context& io) : fd(io) {}
    asio::posix::stream_descriptor fd;
    Family family = Family::inet;
    int ifindex = 0;
    Transport::Receiver receiver;
    bool closed = false;
  };

  explicit RawChannel(std::shared_ptr<State> s) : s_(std::move(s)) { wait(s_); }

  ~RawChannel() override {
    s_->closed = true;
    boost::system::error_code ignored;
    s_->fd.close(ignored);
  }

  std::error_code send(const ip::address& source, const ip::address& destination,
                       std::span<const std::byte> payload) override {
    const int fd = s_->fd.native_handle();
    iovec iov{const_cast<std::byte*>(payload.data()), payload.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(in6_pktinfo))]{};
    msg.msg_control = control;
    sockaddr_in to4{};
    sockaddr_in6 to6{};
    if (s_->family == Family::inet) {
      if (!source.is_v4() || !destination.is_v4())
        return std::make_error_code(std::errc::invalid_argument);
      to4.sin_family = AF_INET;
      to4.sin_addr.s_addr = htonl(destination.to_v4().to_uint());
      msg.msg_name = &to4;
      msg.msg_namelen = sizeof to4;
      // ipi_spec_dst is the source address (ip(7), IP_PKTINFO on sendmsg).
      msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo pi{};
      pi.ipi_ifindex = s_->ifindex;
      pi.ipi_spec_dst.s_addr = htonl(source.to_v4().to_uint());
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    } else {
      if (!source.is_v6() || !destination.is_v6())
        return std::make_error_code(std::errc::invalid_argument);
      to6.sin6_family = AF_INET6;
      const auto b = destination.to_v6().to_bytes();
      std::memcpy(&to6.sin6_addr, b.data(), 16);
      to6.sin6_scope_id = static_cast<uint32_t>(s_->ifindex);
      msg.msg_name = &to6;
      msg.msg_namelen = sizeof to6;
      msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo pi{};
      const auto sb = source.to_v6().to_bytes();
      std::memcpy(&pi.ipi6_addr, sb.data(), 16);
      pi.ipi6_ifindex = static_cast<unsigned>(s_->ifindex);
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
    const ssize_t n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) return {errno, std::generic_category()};
    if (static_cast<std::size_t>(n) != payload.size())
      return std::make_error_code(std::errc::message_size);
    return {};
  }

  std::error_code join() override { return membership(true); }
  std::error_code leave() override { return membership(false); }

 private:
  std::error_code membership(bool add) {
    const int fd = s_->fd.native_handle();
    int rc = 0;
    if (s_->family == Family::inet) {
      ip_mreqn m{};
      m.imr_multiaddr.s_addr = htonl(multicast_group_v4().to_uint());
      m.imr_ifindex = s_->ifindex;
      rc = ::setsockopt(fd, IPPROTO_IP, add ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof m);
    } else {
      ipv6_mreq m{};
      const auto b = multicast_group_v6().to_bytes();
      std::memcpy(&m.ipv6mr_multiaddr, b.data(), 16);
      m.ipv6mr_interface = static_cast<unsigned>(s_->ifindex);
      rc = ::setsockopt(fd, IPPROTO_IPV6, add ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP, &m,
                        sizeof m);
    }
    // Joining twice (EADDRINUSE) or leaving what was not joined is not an error here.
    if (rc != 0 && !((add && errno == EADDRINUSE) || (!add && errno == EADDRNOTAVAIL)))
      return {errno, std::generic_category()};
    return {};
  }

  static void wait(const std::shared_ptr<State>& s) {
    s->fd.async_wait(asio::posix::descriptor_base::wait_read,
                     [s](const boost::system::error_code& ec) {
                       if (ec || s->closed) return;
                       drain(*s);
                       if (!s->closed) wait(s);
                     });
  }

  // Reads every queued datagram (bounded, so one busy socket cannot starve
  // the timers of the loop).
  static void drain(State& s) {
    for (int i = 0; i < 64 && !s.closed; ++i) {
      RawDatagram d;
      d.family = s.family;
      d.bytes.resize(kMaxDatagram);
      iovec iov{d.bytes.data(), d.bytes.size()};
      sockaddr_storage from{};
      alignas(cmsghdr) unsigned char control[256];
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t n = ::recvmsg(s.fd.native_handle(), &msg, MSG_DONTWAIT);
      if (n < 0) return;  // EAGAIN (or an error the next wake-up reports again)
      d.bytes.resize(static_cast<std::size_t>(n));
      if (s.family == Family::inet6) {
        if (from.ss_family == AF_INET6) {
          const auto& f = reinterpret_cast<const sockaddr_in6&>(from);
          ip::address_v6::bytes_type b;
          std::memcpy(b.data(), &f.sin6_addr, 16);
          // Without the scope id: it is not on the wire, and the FSM compares
          // sources with configured addresses.
          d.source = ip::address_v6(b);
        }
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level != IPPROTO_IPV6) continue;
          if (c->cmsg_type == IPV6_HOPLIMIT) {
            int hops = -1;
            std::memcpy(&hops, CMSG_DATA(c), sizeof hops);
            d.hop_limit = hops;
          } else if (c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo pi{};
            std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
            ip::address_v6::bytes_type b;
            std::memcpy(b.data(), &pi.ipi6_addr, 16);
            d.destination = ip::address_v6(b);
          }
        }
      }
      if (s.receiver) s.receiver(d);
    }
  }

  std::shared_ptr<State> s_;
};

}  // namespace

Result<std::unique_ptr<Channel>, std::string> RawTransport::open(const std::string& interface,
                                                                 Family family, Receiver receiver) {
  using R = Result<std::unique_ptr<Channel>, std::string>;
  const unsigned ifindex = ::if_nametoindex(interface.c_str());
  if (ifindex == 0) return R::failure(errno_text("interface " + interface, errno));
  const int af = family == Family::inet ? AF_INET : AF_INET6;
  const int fd = ::socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kIpProtocol);
  if (fd < 0) {
    return R::failure(errno_text(
        std::string("socket(") + (af == AF_INET ? "AF_INET" : "AF_INET6") + ", SOCK_RAW, 112)",
        errno));
  }
  auto fail = [&](const std::string& what) {
    const int e = errno;
    ::close(fd);
    return R::failure(errno_text(what, e));
  };
  if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(),
                   static_cast<socklen_t>(interface.size())) != 0)
    return fail("SO_BINDTODEVICE " + interface);
  const int ttl = kTtl;
  const int off = 0;
  const int on = 1;
  if (family == Family::inet) {
    if (::setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) != 0) return fail("IP_TTL");
    const unsigned char mttl = kTtl;
    const unsigned char loop = 0;
    if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &mttl, sizeof mttl) != 0)
      return fail("IP_MULTICAST_TTL");
    if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0)
      return fail("IP_MULTICAST_LOOP");
    ip_mreqn m{};
    m.imr_ifindex = static_cast<int>(ifindex);
    if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) != 0)
      return fail("IP_MULTICAST_IF");
  } else {
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) != 0)
      return fail("IPV6_UNICAST_HOPS");
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl) != 0)
      return fail("IPV6_MULTICAST_HOPS");
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof off) != 0)
      return fail("IPV6_MULTICAST_LOOP");
    const int idx = static_cast<int>(ifindex);
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) != 0)
      return fail("IPV6_MULTICAST_IF");
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) != 0)
      return fail("IPV6_RECVHOPLIMIT");
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) != 0)
      return fail("IPV6_RECVPKTINFO");
  }
  auto state = std::make_shared<RawChannel::State>(io_);
  state->family = family;
  state->ifindex = static_cast<int>(ifindex);
  state->receiver = std::move(receiver);
  boost::system::error_code ec;
  state->fd.assign(fd, ec);
  if (ec) {
    ::close(fd);
    return R::failure("assign: " + ec.message());
  }
  std::unique_ptr<Channel> ch = std::make_unique<RawChannel>(std::move(state));
  return R(std::move(ch));
}

}  // namespace lvsd::vrrp
