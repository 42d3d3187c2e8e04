// icmp: one echo request, success on the matching echo reply (RFC 792,
// RFC 4443 §4). Prefers an ICMP datagram ("ping") socket, which needs the
// process's gid inside net.ipv4.ping_group_range (the kernel then owns the
// identifier and the checksum, and hands us only our own replies); falls back
// to a raw socket, which needs CAP_NET_RAW and sees every ICMP packet, so
// replies are matched on source, type, identifier, sequence and a random
// payload cookie. The target's port is not used.
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "checkers/probes/probe_io.hpp"
#include "checkers/probes/probes.hpp"

namespace lvsd::checkers {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kIcmpHeader = 8;
constexpr std::size_t kCookie = 16;

uint16_t checksum(const uint8_t* p, std::size_t n) {
  uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
  if (n % 2) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

class IcmpAttempt : public probe_io::ProbeAttempt {
 public:
  IcmpAttempt(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : ProbeAttempt(io), check_(check), target_(target), fd_(io) {}

  void start(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) {
    begin(timeout, std::move(done));
    v6_ = target_.address.is_v6();
    if (auto err = open_socket(); !err.empty()) return post_fail(err);
    if (auto err = probe_io::prepare_socket(fd_.native_handle(), check_, target_.address);
        !err.empty()) {
      return post_fail(err);
    }
    std::random_device rd;
    std::mt19937 gen(rd());
    id_ = static_cast<uint16_t>(gen());
    seq_ = static_cast<uint16_t>(gen());
    for (auto& b : cookie_)
      b = static_cast<uint8_t>(gen());

    std::array<uint8_t, kIcmpHeader + kCookie> pkt{};
    pkt[0] = v6_ ? uint8_t{ICMP6_ECHO_REQUEST} : uint8_t{ICMP_ECHO};
    pkt[4] = static_cast<uint8_t>(id_ >> 8);
    pkt[5] = static_cast<uint8_t>(id_ & 0xff);
    pkt[6] = static_cast<uint8_t>(seq_ >> 8);
    pkt[7] = static_cast<uint8_t>(seq_ & 0xff);
    std::memcpy(pkt.data() + kIcmpHeader, cookie_.data(), kCookie);
    if (!v6_) {  // ICMPv6 checksums are always the kernel's (pseudo-header)
      const uint16_t sum = checksum(pkt.data(), pkt.size());
      pkt[2] = static_cast<uint8_t>(sum >> 8);
      pkt[3] = static_cast<uint8_t>(sum & 0xff);
    }
    sockaddr_storage ss{};
    socklen_t len = to_sockaddr(ss);
    if (::sendto(fd_.native_handle(), pkt.data(), pkt.size(), 0,
                 reinterpret_cast<const sockaddr*>(&ss), len) < 0) {
      return post_fail(std::string("send: ") + std::strerror(errno));
    }
    wait();
  }

 protected:
  void close_io() override {
    boost::system::error_code ignored;
    fd_.close(ignored);
  }

 private:
  std::string open_socket() {
    const int family = v6_ ? AF_INET6 : AF_INET;
    const int proto = v6_ ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
    int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd >= 0) {
      raw_ = false;
    } else {
      const int dgram_errno = errno;
      fd = ::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
      if (fd < 0) {
        return std::string("no ICMP socket: datagram: ") + std::strerror(dgram_errno) + " (gid " +
               std::to_string(::getegid()) +
               " not in net.ipv4.ping_group_range?), raw: " + std::strerror(errno) +
               " (needs CAP_NET_RAW)";
      }
      raw_ = true;
      if (!v6_) {
        // Only echo replies reach this socket (linux/icmp.h ICMP_FILTER: a
        // bit set drops that type).
        constexpr int kIcmpFilter = 1;
        const uint32_t filter = ~(1u << ICMP_ECHOREPLY);
        ::setsockopt(fd, SOL_RAW, kIcmpFilter, &filter, sizeof filter);
      } else {
        icmp6_filter filter;
        ICMP6_FILTER_SETBLOCKALL(&filter);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
        ::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
      }
    }
    fd_.assign(fd);
    return {};
  }

  socklen_t to_sockaddr(sockaddr_storage& ss) const {
    if (!v6_) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      const auto b = target_.address.to_v4().to_bytes();
      std::memcpy(&sin->sin_addr, b.data(), b.size());
      return sizeof(sockaddr_in);
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    const auto a = target_.address.to_v6();
    const auto b = a.to_bytes();
    std::memcpy(&sin6->sin6_addr, b.data(), b.size());
    sin6->sin6_scope_id = static_cast<uint32_t>(a.scope_id());
    return sizeof(sockaddr_in6);
  }

  void wait() {
    auto self = std::static_pointer_cast<IcmpAttempt>(shared_from_this());
    fd_.async_wait(asio::posix::descriptor_base::wait_read,
                   [self](const boost::system::error_code& ec) {
                     if (self->finished()) return;
                     if (ec) return self->fail(ec.message());
                     self->drain();
                   });
  }

  void drain() {
    for (;;) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      const ssize_t n = ::recvfrom(fd_.native_handle(), buffer_.data(), buffer_.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return wait();
        if (errno == EINTR) continue;
        return fail(std::string("receive: ") + std::strerror(errno));
      }
      if (matches(static_cast<std::size_t>(n), from)) {
        ProbeResult r;
        r.ok = true;
        r.reason = std::string("echo reply (") + (raw_ ? "raw" : "datagram") + " socket)";
        return finish(std::move(r));
      }
    }
  }

  bool matches(std::size_t n, const sockaddr_storage& from) const {
    const uint8_t* p = buffer_.data();
    if (raw_ && !v6_) {  // a raw IPv4 socket returns the IP header too
      if (n < 20) return false;
      const std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0f) * 4;
      if (ihl < 20 || n < ihl) return false;
      p += ihl;
      n -= ihl;
    }
    if (n < kIcmpHeader + kCookie) return false;
    const uint8_t reply_type = v6_ ? uint8_t{ICMP6_ECHO_REPLY} : uint8_t{ICMP_ECHOREPLY};
    if (p[0] != reply_type || p[1] != 0) return false;
    // A datagram socket's identifier is the kernel's (it only delivers ours).
    if (raw_ && ((p[4] << 8) | p[5]) != id_) return false;
    if (((p[6] << 8) | p[7]) != seq_) return false;
    if (std::memcmp(p + kIcmpHeader, cookie_.data(), kCookie) != 0) return false;
    if (!v6_) {
      if (from.ss_family != AF_INET) return false;
      const auto* sin = reinterpret_cast<const sockaddr_in*>(&from);
      const auto b = target_.address.to_v4().to_bytes();
      return std::memcmp(&sin->sin_addr, b.data(), b.size()) == 0;
    }
    if (from.ss_family != AF_INET6) return false;
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&from);
    const auto b = target_.address.to_v6().to_bytes();
    return std::memcmp(&sin6->sin6_addr, b.data(), b.size()) == 0;
  }

  config::Check check_;
  ProbeTarget target_;
  asio::posix::stream_descriptor fd_;
  bool v6_ = false;
  bool raw_ = false;
  uint16_t id_ = 0;
  uint16_t seq_ = 0;
  std::array<uint8_t, kCookie> cookie_{};
  std::array<uint8_t, 65536> buffer_{};
};

}  // namespace

std::unique_ptr<Probe> make_icmp_probe(asio::io_context& io, const config::Check& check,
                                       const ProbeTarget& target) {
  return std::make_unique<probe_io::AttemptProbe<IcmpAttempt>>(io, check, target);
}

}  // namespace lvsd::checkers
