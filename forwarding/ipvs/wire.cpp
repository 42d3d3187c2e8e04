#include "forwarding/ipvs/wire.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "forwarding/ipvs/result.hpp"

namespace lvsd::forwarding::ipvs {

const char* to_string(Error::Kind kind) {
  switch (kind) {
    case Error::Kind::kTruncated:
      return "truncated";
    case Error::Kind::kBadLength:
      return "bad length";
    case Error::Kind::kMissingAttribute:
      return "missing attribute";
    case Error::Kind::kUnexpected:
      return "unexpected message";
    case Error::Kind::kKernel:
      return "kernel error";
    case Error::Kind::kInvalidArgument:
      return "invalid argument";
    case Error::Kind::kNoFamily:
      return "no IPVS family";
    case Error::Kind::kIo:
      return "I/O error";
    case Error::Kind::kTimeout:
      return "timeout";
  }
  return "unknown";
}

std::optional<Addr> make_addr(int af, std::string_view text) {
  if (af != AF_INET && af != AF_INET6) return std::nullopt;
  const std::string s(text);
  Addr out{};
  if (inet_pton(af, s.c_str(), out.data()) != 1) return std::nullopt;
  return out;
}

std::string format_addr(int af, const Addr& addr) {
  if (af != AF_INET && af != AF_INET6) return "?";
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(af, addr.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

std::uint32_t netmask_v4(int prefix_len) {
  if (prefix_len <= 0) return 0;
  if (prefix_len >= 32) return 0xffffffffU;
  return htonl(~((1U << (32 - prefix_len)) - 1U));
}

}  // namespace lvsd::forwarding::ipvs
