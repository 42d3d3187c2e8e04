// GenlSocket: the real I/O to the kernel's "IPVS" generic-netlink family.
//
// Thin on purpose: it connects, resolves the family id, sends bytes built by
// messages.hpp and returns the raw reply bytes (every message of this
// request's sequence number, up to the ack, the error or NLMSG_DONE) for the
// parsers in messages.hpp. Blocking, with a receive timeout; meant for the
// backend's own thread or short calls at start-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "forwarding/ipvs/messages.hpp"
#include "forwarding/ipvs/result.hpp"

struct nl_sock;

namespace lvsd::forwarding::ipvs {

// The message lvsd gives when the kernel has no IPVS genl family.
inline constexpr const char* kNoIpvsMessage =
    "the kernel has no ip_vs: modprobe ip_vs (and ip_vs_<scheduler>)";

class GenlSocket {
 public:
  // Connects a NETLINK_GENERIC socket and resolves `family_name` ("IPVS";
  // a parameter only so tests can ask for a family that does not exist).
  // Errors: kIo when the socket cannot be opened, kNoFamily with
  // kNoIpvsMessage when the family is absent.
  static Result<GenlSocket> open(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                 const char* family_name = "IPVS");

  GenlSocket(GenlSocket&&) noexcept;
  GenlSocket& operator=(GenlSocket&&) noexcept;
  ~GenlSocket();

  std::uint16_t family() const { return family_; }

  // A header for the next request: this socket's family, a fresh sequence
  // number and its port id; `flags` as for MsgHeader.
  MsgHeader next_header(std::uint16_t flags = NLM_F_REQUEST | NLM_F_ACK);

  // Sends one complete request (from a build_* function) and collects the
  // reply: every message carrying the request's sequence number until
  // NLMSG_ERROR (ack or error), NLMSG_DONE (dumps), or the first data message
  // when the request asked for neither an ack nor a dump. Stale messages
  // (other sequence numbers) are dropped. Returns the concatenated raw
  // messages; kernel errnos are left inside for the parsers to report.
  Result<Bytes> transact(ByteView request);

 private:
  GenlSocket(nl_sock* sock, std::uint16_t family, std::chrono::milliseconds timeout);

  struct SockFree {
    void operator()(nl_sock* s) const;
  };
  std::unique_ptr<nl_sock, SockFree> sock_;
  std::uint16_t family_ = 0;
  std::chrono::milliseconds timeout_;
};

}  // namespace lvsd::forwarding::ipvs
