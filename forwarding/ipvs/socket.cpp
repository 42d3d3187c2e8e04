#include "forwarding/ipvs/socket.hpp"

#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace lvsd::forwarding::ipvs {
namespace {

constexpr int kSocketBuffer = 1 << 20;  // dumps of large tables arrive in bursts

Error io_error(const std::string& what, int errnum) {
  return Error{Error::Kind::kIo, errnum, what + ": " + std::strerror(errnum)};
}

std::uint32_t load32(const std::byte* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
std::uint16_t load16(const std::byte* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

void GenlSocket::SockFree::operator()(nl_sock* s) const {
  nl_socket_free(s);
}

GenlSocket::GenlSocket(nl_sock* sock, std::uint16_t family, std::chrono::milliseconds timeout)
    : sock_(sock), family_(family), timeout_(timeout) {}
GenlSocket::GenlSocket(GenlSocket&&) noexcept = default;
GenlSocket& GenlSocket::operator=(GenlSocket&&) noexcept = default;
GenlSocket::~GenlSocket() = default;

Result<GenlSocket> GenlSocket::open(std::chrono::milliseconds timeout, const char* family_name) {
  std::unique_ptr<nl_sock, SockFree> sk(nl_socket_alloc());
  if (!sk) return Error{Error::Kind::kIo, ENOMEM, "cannot allocate a netlink socket"};
  if (int rc = genl_connect(sk.get()); rc < 0) {
    return Error{Error::Kind::kIo, 0,
                 std::string("cannot open a generic netlink socket: ") + nl_geterror(rc)};
  }
  // Best effort: bigger buffers for dumps, short acks, and the kernel's
  // extended-ack text in errors.
  nl_socket_set_buffer_size(sk.get(), kSocketBuffer, kSocketBuffer);
  const int fd = nl_socket_get_fd(sk.get());
  const int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);

  const int id = genl_ctrl_resolve(sk.get(), family_name);
  if (id < 0) {
    if (id == -NLE_OBJ_NOTFOUND) {
      const bool ipvs = std::strcmp(family_name, IPVS_GENL_NAME) == 0;
      return Error{
          Error::Kind::kNoFamily, ENOENT,
          ipvs ? std::string(kNoIpvsMessage)
               : std::string("the kernel has no generic netlink family \"") + family_name + "\""};
    }
    return Error{Error::Kind::kIo, 0,
                 std::string("resolving the generic netlink family \"") + family_name +
                     "\" failed: " + nl_geterror(id)};
  }
  return GenlSocket(sk.release(), static_cast<std::uint16_t>(id), timeout);
}

MsgHeader GenlSocket::next_header(std::uint16_t flags) {
  MsgHeader h;
  h.family = family_;
  h.seq = nl_socket_use_seq(sock_.get());
  h.port = nl_socket_get_local_port(sock_.get());
  h.flags = flags;
  return h;
}

Result<Bytes> GenlSocket::transact(ByteView request) {
  if (request.size() < sizeof(nlmsghdr)) {
    return Error{Error::Kind::kInvalidArgument, 0, "request shorter than a netlink header"};
  }
  const std::uint16_t req_flags = load16(request.data() + 6);
  const std::uint32_t req_seq = load32(request.data() + 8);
  const bool dump = (req_flags & NLM_F_DUMP) == NLM_F_DUMP;
  const bool ack = (req_flags & NLM_F_ACK) != 0;

  for (;;) {
    const int rc = nl_sendto(sock_.get(), const_cast<std::byte*>(request.data()), request.size());
    if (rc >= 0) break;
    if (rc == -NLE_INTR || rc == -NLE_AGAIN) continue;
    return Error{Error::Kind::kIo, 0, std::string("netlink send failed: ") + nl_geterror(rc)};
  }

  const int fd = nl_socket_get_fd(sock_.get());
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  Bytes out;
  Bytes buf;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Error{
          Error::Kind::kTimeout, ETIMEDOUT,
          "no complete reply from the kernel within " + std::to_string(timeout_.count()) + " ms"};
    }
    pollfd pfd{fd, POLLIN, 0};
    const int pr = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (pr < 0) {
      if (errno == EINTR) continue;
      return io_error("poll on the netlink socket", errno);
    }
    if (pr == 0) continue;  // the deadline check above reports it

    // Size the datagram first so a big dump chunk is never truncated.
    const ssize_t want = ::recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (want < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == ENOBUFS) {
        return Error{Error::Kind::kIo, ENOBUFS,
                     "netlink receive buffer overrun (ENOBUFS): part of the reply was lost; "
                     "retry the request"};
      }
      return io_error("netlink receive", errno);
    }
    buf.resize(static_cast<std::size_t>(want));
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == ENOBUFS) {
        return Error{Error::Kind::kIo, ENOBUFS,
                     "netlink receive buffer overrun (ENOBUFS): part of the reply was lost; "
                     "retry the request"};
      }
      return io_error("netlink receive", errno);
    }
    if (from.nl_pid != 0) continue;  // not from the kernel

    bool finished = false;
    std::size_t off = 0;
    const auto size = static_cast<std::size_t>(n);
    while (off < size) {
      const std::size_t remain = size - off;
      const std::byte* p = buf.data() + off;
      if (remain < sizeof(nlmsghdr)) {
        return Error{Error::Kind::kTruncated, 0, "malformed netlink datagram from the kernel"};
      }
      const std::uint32_t len = load32(p);
      if (len < sizeof(nlmsghdr) || len > remain) {
        return Error{Error::Kind::kTruncated, 0, "malformed netlink datagram from the kernel"};
      }
      const std::uint16_t type = load16(p + 4);
      const std::uint16_t flags = load16(p + 6);
      const std::uint32_t seq = load32(p + 8);
      off += std::min<std::size_t>(NLMSG_ALIGN(len), remain);
      if (seq != req_seq) continue;  // a late answer to an earlier request
      out.insert(out.end(), p, p + std::min<std::size_t>(NLMSG_ALIGN(len), remain));
      if (type == NLMSG_ERROR || type == NLMSG_DONE || type == NLMSG_OVERRUN) finished = true;
      if (type >= NLMSG_MIN_TYPE && !dump && !ack && (flags & NLM_F_MULTI) == 0) finished = true;
    }
    if (finished) return out;
  }
}

}  // namespace lvsd::forwarding::ipvs
