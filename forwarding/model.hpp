// The forwarding domain model: what a virtual service and a realserver are,
// independent of the backend that programs them (kernel ip_vs or lvsd's own
// userspace engine). Plain values: `operator==` defaulted, no I/O, no kernel
// wire types (those stay in forwarding/ipvs/).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace lvsd::forwarding {

using Address = boost::asio::ip::address;

enum class Family : uint8_t { inet, inet6 };
enum class Protocol : uint8_t { tcp, udp, sctp };
// ip_vs forwarding methods: MASQ, DROUTE, TUNNEL.
enum class Method : uint8_t { nat, dr, tun };
// ip_vs tunnel types (IPVS_DEST_ATTR_TUN_TYPE): IPIP 0, GUE 1, GRE 2.
enum class TunnelType : uint8_t { ipip, gue, gre };
// ip_vs tunnel encapsulation flags (IPVS_DEST_ATTR_TUN_FLAGS): none = NOCSUM,
// local = CSUM (full checksum), remote = REMCSUM (remote checksum offload).
enum class TunnelChecksum : uint8_t { none, local, remote };

Family family_of(const Address& a);

std::string_view to_string(Family f);          // "inet", "inet6"
std::string_view to_string(Protocol p);        // "tcp", "udp", "sctp"
std::string_view to_string(Method m);          // "nat", "dr", "tun"
std::string_view to_string(TunnelType t);      // "ipip", "gue", "gre"
std::string_view to_string(TunnelChecksum c);  // "none", "local", "remote"

// "192.0.2.21:80", "[2001:db8::21]:80"
std::string format_endpoint(const Address& a, uint16_t port);

// Identity of a virtual service: AF + (fwmark) or (protocol + address + port),
// as in ip_vs. Build it with `inet()`/`fwmark()` so the fields that are not
// part of the key have their canonical values (for a fwmark service: protocol
// tcp, the unspecified address of the family, port 0; for an address service:
// fwmark 0 and the family of the address) and `==`/`<` compare keys only.
struct ServiceKey {
  Family family = Family::inet;
  Protocol protocol = Protocol::tcp;
  Address address;
  uint16_t port = 0;
  uint32_t fwmark = 0;  // 0 = an address service

  static ServiceKey inet(Protocol protocol, const Address& address, uint16_t port);
  static ServiceKey mark(uint32_t fwmark, Family family = Family::inet);

  bool is_fwmark() const { return fwmark != 0; }
  // "TCP 192.0.2.200:80", "UDP [2001:db8::1]:53", "SCTP 192.0.2.1:9", "FWM 7", "FWM 7 IPv6"
  // (the ipvsadm -Ln spelling).
  std::string to_string() const;

  bool operator==(const ServiceKey&) const = default;
  // By family, then address services before fwmark ones, then fwmark,
  // protocol, address, port.
  friend bool operator<(const ServiceKey& a, const ServiceKey& b);
};

// Identity of a destination within its service: address + port (the address
// carries the family, which may differ from the service's only with tun).
struct DestKey {
  Address address;
  uint16_t port = 0;

  Family family() const { return family_of(address); }
  std::string to_string() const;  // "192.0.2.21:80", "[2001:db8::21]:80"

  bool operator==(const DestKey&) const = default;
  friend bool operator<(const DestKey& a, const DestKey& b);
};

// sh and mh scheduler flags (IP_VS_SVC_F_SCHED1 = fallback, SCHED2 = port).
struct SchedulerFlags {
  bool fallback = false;  // pick another server when the hashed one is unavailable
  bool port = false;      // include the source port in the hash
  bool operator==(const SchedulerFlags&) const = default;
};

struct Persistence {
  uint32_t timeout = 300;  // seconds
  // Client granularity. Only the one of the service's family is meaningful;
  // leave the other at its default so plans compare equal.
  boost::asio::ip::address_v4 netmask = boost::asio::ip::address_v4::broadcast();  // inet
  uint8_t prefix = 128;  // inet6: 1..128 (ip_vs: EINVAL otherwise)
  bool operator==(const Persistence&) const = default;
};

struct VirtualService {
  ServiceKey key;
  std::string scheduler = "wlc";  // ip_vs scheduler name, at most 15 chars
  SchedulerFlags scheduler_flags;
  bool one_packet = false;                 // IP_VS_SVC_F_ONEPACKET (UDP only in effect)
  std::optional<Persistence> persistence;  // none = not persistent
  std::string pe_name;                     // persistence engine ("sip"); "" = none

  bool operator==(const VirtualService&) const = default;
};

struct Tunnel {
  TunnelType type = TunnelType::ipip;
  uint16_t port = 0;  // gue only (ip_vs: EINVAL if 0 with gue)
  TunnelChecksum checksum = TunnelChecksum::none;
  bool operator==(const Tunnel&) const = default;
};

struct RealServer {
  Address address;
  uint16_t port = 0;
  uint32_t weight = 1;  // ip_vs accepts 0..INT_MAX (ERANGE above)
  Method method = Method::nat;
  Tunnel tunnel;                 // meaningful only with tun; leave default otherwise
  uint32_t upper_threshold = 0;  // 0 = no limit
  uint32_t lower_threshold = 0;  // ip_vs: ERANGE if lower > upper (even when upper is 0)

  DestKey key() const { return DestKey{address, port}; }
  // May differ from the service's family only with Method::tun.
  Family family() const { return family_of(address); }

  bool operator==(const RealServer&) const = default;
};

// Connection timeouts of the whole table, in seconds (ip_vs SET_CONFIG;
// 0 there means "leave unchanged").
struct Timeouts {
  uint32_t tcp = 900;
  uint32_t tcp_fin = 120;
  uint32_t udp = 300;
  bool operator==(const Timeouts&) const = default;
};

// Printing (logs, test failure messages): ServiceKey and DestKey as their
// to_string(); VirtualService and RealServer as key plus key=value attributes.
std::ostream& operator<<(std::ostream& os, const ServiceKey& k);
std::ostream& operator<<(std::ostream& os, const DestKey& k);
std::ostream& operator<<(std::ostream& os, const VirtualService& s);
std::ostream& operator<<(std::ostream& os, const RealServer& d);

}  // namespace lvsd::forwarding
