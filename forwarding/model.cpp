#include "forwarding/model.hpp"

#include <ostream>
#include <tuple>

namespace lvsd::forwarding {

Family family_of(const Address& a) {
  return a.is_v6() ? Family::inet6 : Family::inet;
}

std::string_view to_string(Family f) {
  return f == Family::inet6 ? "inet6" : "inet";
}

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::tcp:
      return "tcp";
    case Protocol::udp:
      return "udp";
    case Protocol::sctp:
      return "sctp";
  }
  return "?";
}

std::string_view to_string(Method m) {
  switch (m) {
    case Method::nat:
      return "nat";
    case Method::dr:
      return "dr";
    case Method::tun:
      return "tun";
  }
  return "?";
}

std::string_view to_string(TunnelType t) {
  switch (t) {
    case TunnelType::ipip:
      return "ipip";
    case TunnelType::gue:
      return "gue";
    case TunnelType::gre:
      return "gre";
  }
  return "?";
}

std::string_view to_string(TunnelChecksum c) {
  switch (c) {
    case TunnelChecksum::none:
      return "none";
    case TunnelChecksum::local:
      return "local";
    case TunnelChecksum::remote:
      return "remote";
  }
  return "?";
}

std::string format_endpoint(const Address& a, uint16_t port) {
  if (a.is_v6()) return "[" + a.to_string() + "]:" + std::to_string(port);
  return a.to_string() + ":" + std::to_string(port);
}

ServiceKey ServiceKey::inet(Protocol protocol, const Address& address, uint16_t port) {
  ServiceKey k;
  k.family = family_of(address);
  k.protocol = protocol;
  k.address = address;
  k.port = port;
  k.fwmark = 0;
  return k;
}

ServiceKey ServiceKey::mark(uint32_t fwmark, Family family) {
  ServiceKey k;
  k.family = family;
  k.protocol = Protocol::tcp;  // what ip_vs stores for fwmark services
  k.address = family == Family::inet6 ? Address(boost::asio::ip::address_v6())
                                      : Address(boost::asio::ip::address_v4());
  k.port = 0;
  k.fwmark = fwmark;
  return k;
}

std::string ServiceKey::to_string() const {
  if (is_fwmark()) {
    std::string s = "FWM " + std::to_string(fwmark);
    if (family == Family::inet6) s += " IPv6";
    return s;
  }
  std::string proto;
  switch (protocol) {
    case Protocol::tcp:
      proto = "TCP";
      break;
    case Protocol::udp:
      proto = "UDP";
      break;
    case Protocol::sctp:
      proto = "SCTP";
      break;
  }
  return proto + " " + format_endpoint(address, port);
}

bool operator<(const ServiceKey& a, const ServiceKey& b) {
  return std::tie(a.family, a.fwmark, a.protocol, a.address, a.port) <
         std::tie(b.family, b.fwmark, b.protocol, b.address, b.port);
}

std::string DestKey::to_string() const {
  return format_endpoint(address, port);
}

bool operator<(const DestKey& a, const DestKey& b) {
  return std::tie(a.address, a.port) < std::tie(b.address, b.port);
}

std::ostream& operator<<(std::ostream& os, const ServiceKey& k) {
  return os << k.to_string();
}
std::ostream& operator<<(std::ostream& os, const DestKey& k) {
  return os << k.to_string();
}

std::ostream& operator<<(std::ostream& os, const VirtualService& s) {
  os << s.key.to_string() << " scheduler=" << s.scheduler;
  if (s.scheduler_flags.fallback) os << " fallback";
  if (s.scheduler_flags.port) os << " port";
  if (s.one_packet) os << " one_packet";
  if (s.persistence) {
    os << " persistence=" << s.persistence->timeout << "s netmask=" << s.persistence->netmask
       << " prefix=" << unsigned{s.persistence->prefix};
  }
  if (!s.pe_name.empty()) os << " pe=" << s.pe_name;
  return os;
}

std::ostream& operator<<(std::ostream& os, const RealServer& d) {
  os << d.key().to_string() << " weight=" << d.weight << " method=" << to_string(d.method);
  if (d.method == Method::tun || d.tunnel != Tunnel{}) {
    os << " tunnel=" << to_string(d.tunnel.type) << "/" << d.tunnel.port << "/"
       << to_string(d.tunnel.checksum);
  }
  return os << " thresholds=" << d.lower_threshold << ".." << d.upper_threshold;
}

}  // namespace lvsd::forwarding
