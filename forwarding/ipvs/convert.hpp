// Pure conversions between the forwarding domain model (forwarding/model.hpp,
// forwarding/backend.hpp) and the IPVS wire structs (wire.hpp). No I/O.
//
// To the wire: what lvsd sends for NEW/SET/DEL SERVICE and DEST, SET_CONFIG
// and NEW_DAEMON. From the wire: what the kernel's dumps mean in the model.
// The two directions round-trip: a plan converted to the wire and read back
// from what the kernel stores compares equal to the plan, because the read-back
// direction ignores what only the kernel sets (IP_VS_SVC_F_HASHED, the netmask
// and timeout of a service that is not persistent, the tunnel attributes of a
// dest that is not a tunnel, the ADDR_FAMILY the kernel always reports).
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "forwarding/backend.hpp"
#include "forwarding/ipvs/result.hpp"
#include "forwarding/ipvs/wire.hpp"
#include "forwarding/model.hpp"

namespace lvsd::forwarding::ipvs {

// Service flag bits (IP_VS_SVC_F_*).
inline constexpr std::uint32_t kSvcPersistent = 0x1;
inline constexpr std::uint32_t kSvcHashed = 0x2;  // kernel-only
inline constexpr std::uint32_t kSvcOnePacket = 0x4;
inline constexpr std::uint32_t kSvcSched1 = 0x8;   // sh/mh fallback
inline constexpr std::uint32_t kSvcSched2 = 0x10;  // sh/mh port
inline constexpr std::uint32_t kSvcSched3 = 0x20;  // unused by sh/mh; not modelled
// The mask lvsd sends with FLAGS: every bit (as ipvsadm does), so the plan
// is authoritative for all of them; the kernel adds HASHED itself.
inline constexpr std::uint32_t kSvcFlagsMask = 0xffffffffU;

// Forwarding methods (IPVS_DEST_ATTR_FWD_METHOD).
inline constexpr std::uint32_t kFwdMasq = 0;
inline constexpr std::uint32_t kFwdLocalNode = 1;
inline constexpr std::uint32_t kFwdTunnel = 2;
inline constexpr std::uint32_t kFwdDirectRoute = 3;
inline constexpr std::uint32_t kFwdBypass = 4;

int af_of(Family f);                 // AF_INET / AF_INET6
std::uint16_t proto_of(Protocol p);  // IPPROTO_TCP / UDP / SCTP
Addr addr_of(const Address& a);      // 16 bytes, IPv4 in the first 4

// ---- Services ------------------------------------------------------------
// The key attributes only (DEL_SERVICE, GET_DEST, and the service part of the
// dest commands).
SvcAttrs to_wire_key(const ServiceKey& key);
// The full attribute set (NEW_SERVICE, SET_SERVICE). Not persistent: timeout
// 0 and the default netmask (0xffffffff for IPv4, 128 for IPv6, which the
// kernel requires to be 1..128 even then).
SvcAttrs to_wire(const VirtualService& s);
// A kernel service -> the model. Errors (kUnexpected): unknown AF or protocol.
Result<VirtualService> from_wire(const SvcAttrs& s);

// ---- Destinations -----------------------------------------------------------
// The dest's key (DEL_DEST): addr, port, and addr_family when the dest's
// family differs from the service's.
DestAttrs to_wire_key(const DestKey& key, Family service_family);
// The full dest (NEW_DEST, SET_DEST). Tunnel attributes are sent only with
// Method::tun.
DestAttrs to_wire(const RealServer& d, Family service_family);
// A kernel dest -> the model. The address family is ADDR_FAMILY when present,
// else the service's. Errors (kUnexpected): unknown AF, a forwarding method
// lvsd does not model (LOCALNODE: the kernel's choice for a local address;
// BYPASS), an unknown tunnel type.
Result<RealServer> from_wire(const DestAttrs& d, Family service_family);

// ---- Counters -------------------------------------------------------------------
forwarding::Stats from_wire(const Stats& s);
DestStatus status_from_wire(const DestAttrs& d);

// ---- Timeouts -------------------------------------------------------------------
// All three are sent; 0 keeps the kernel's current value (as SET_CONFIG does).
ipvs::Timeouts to_wire(const forwarding::Timeouts& t);
// Absent attributes (a kernel without that protocol) read as 0.
forwarding::Timeouts from_wire(const ipvs::Timeouts& t);

// ---- Sync daemon -------------------------------------------------------------------
// maxlen 0 is not sent (the kernel picks it from the MTU).
DaemonAttrs to_wire(const SyncDaemonConfig& c);
// Errors (kUnexpected): a state other than master or backup.
Result<SyncDaemonConfig> from_wire(const DaemonAttrs& d);

// ---- Info -------------------------------------------------------------------------
std::string version_string(std::uint32_t version);  // 0x010201 -> "1.2.1"
BackendInfo from_wire(const Info& i);

// ---- Errors -------------------------------------------------------------------------
// A wire-layer error as Backend reports it (backend.hpp): the kernel's errno
// for kKernel; kIo's errno (else EIO); ETIMEDOUT for kTimeout; EINVAL for a
// value the wire cannot carry; ENOPROTOOPT when the family is missing; EPROTO
// for a malformed or unexpected reply.
std::error_code to_error_code(const Error& e);

}  // namespace lvsd::forwarding::ipvs
