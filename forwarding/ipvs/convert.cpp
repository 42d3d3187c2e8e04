#include "forwarding/ipvs/convert.hpp"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace lvsd::forwarding::ipvs {
namespace {

using boost::asio::ip::address_v4;
using boost::asio::ip::address_v6;

Error unexpected(std::string message) {
  return Error{Error::Kind::kUnexpected, 0, std::move(message)};
}

Result<Family> family_from(std::uint16_t af, const char* what) {
  if (af == AF_INET) return Family::inet;
  if (af == AF_INET6) return Family::inet6;
  return unexpected(std::string(what) + ": unknown address family " + std::to_string(af));
}

Address address_from(Family f, const Addr& a) {
  if (f == Family::inet) {
    address_v4::bytes_type b;
    std::memcpy(b.data(), a.data(), b.size());
    return address_v4(b);
  }
  address_v6::bytes_type b;
  std::memcpy(b.data(), a.data(), b.size());
  return address_v6(b);
}

std::uint32_t netmask_value(const address_v4& mask) {
  const auto b = mask.to_bytes();
  std::uint32_t v;
  std::memcpy(&v, b.data(), sizeof v);  // network order, as the kernel keeps it
  return v;
}

address_v4 netmask_from(std::uint32_t v) {
  address_v4::bytes_type b;
  std::memcpy(b.data(), &v, sizeof v);
  return address_v4(b);
}

}  // namespace

int af_of(Family f) {
  return f == Family::inet6 ? AF_INET6 : AF_INET;
}

std::uint16_t proto_of(Protocol p) {
  switch (p) {
    case Protocol::tcp:
      return IPPROTO_TCP;
    case Protocol::udp:
      return IPPROTO_UDP;
    case Protocol::sctp:
      return IPPROTO_SCTP;
  }
  return IPPROTO_TCP;
}

Addr addr_of(const Address& a) {
  Addr out{};
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::memcpy(out.data(), b.data(), b.size());
  } else {
    const auto b = a.to_v6().to_bytes();
    std::memcpy(out.data(), b.data(), b.size());
  }
  return out;
}

// ---- Services ------------------------------------------------------------

SvcAttrs to_wire_key(const ServiceKey& key) {
  SvcAttrs s;
  s.af = static_cast<std::uint16_t>(af_of(key.family));
  if (key.is_fwmark()) {
    s.fwmark = key.fwmark;
  } else {
    s.protocol = proto_of(key.protocol);
    s.addr = addr_of(key.address);
    s.port = key.port;
  }
  return s;
}

SvcAttrs to_wire(const VirtualService& v) {
  SvcAttrs s = to_wire_key(v.key);
  s.sched_name = v.scheduler;
  s.pe_name = v.pe_name;
  std::uint32_t flags = 0;
  if (v.persistence) flags |= kSvcPersistent;
  if (v.one_packet) flags |= kSvcOnePacket;
  if (v.scheduler_flags.fallback) flags |= kSvcSched1;
  if (v.scheduler_flags.port) flags |= kSvcSched2;
  s.flags = flags;
  s.flags_mask = kSvcFlagsMask;
  const bool v6 = v.key.family == Family::inet6;
  if (v.persistence) {
    s.timeout = v.persistence->timeout;
    s.netmask = v6 ? v.persistence->prefix : netmask_value(v.persistence->netmask);
  } else {
    s.timeout = 0;
    s.netmask = v6 ? 128U : 0xffffffffU;
  }
  return s;
}

Result<VirtualService> from_wire(const SvcAttrs& s) {
  auto fam = family_from(s.af, "service");
  if (!fam) return fam.error();
  VirtualService v;
  if (s.fwmark != 0) {
    v.key = ServiceKey::mark(s.fwmark, *fam);
  } else {
    Protocol p;
    switch (s.protocol) {
      case IPPROTO_TCP:
        p = Protocol::tcp;
        break;
      case IPPROTO_UDP:
        p = Protocol::udp;
        break;
      case IPPROTO_SCTP:
        p = Protocol::sctp;
        break;
      default:
        return unexpected("service " + format_endpoint(address_from(*fam, s.addr), s.port) +
                          ": unknown protocol " + std::to_string(s.protocol));
    }
    v.key = ServiceKey::inet(p, address_from(*fam, s.addr), s.port);
  }
  v.scheduler = s.sched_name;
  v.pe_name = s.pe_name;
  v.one_packet = (s.flags & kSvcOnePacket) != 0;
  v.scheduler_flags.fallback = (s.flags & kSvcSched1) != 0;
  v.scheduler_flags.port = (s.flags & kSvcSched2) != 0;
  if ((s.flags & kSvcPersistent) != 0) {
    Persistence p;
    p.timeout = s.timeout;
    if (*fam == Family::inet6) {
      p.prefix = static_cast<std::uint8_t>(s.netmask > 255 ? 255 : s.netmask);
    } else {
      p.netmask = netmask_from(s.netmask);
    }
    v.persistence = p;
  }
  // HASHED (and SCHED3, which lvsd never sets) are ignored.
  return v;
}

// ---- Destinations -----------------------------------------------------------

DestAttrs to_wire_key(const DestKey& key, Family service_family) {
  DestAttrs d;
  d.addr = addr_of(key.address);
  d.port = key.port;
  if (key.family() != service_family) {
    d.addr_family = static_cast<std::uint16_t>(af_of(key.family()));
  }
  return d;
}

DestAttrs to_wire(const RealServer& r, Family service_family) {
  DestAttrs d = to_wire_key(r.key(), service_family);
  switch (r.method) {
    case Method::nat:
      d.fwd_method = kFwdMasq;
      break;
    case Method::dr:
      d.fwd_method = kFwdDirectRoute;
      break;
    case Method::tun:
      d.fwd_method = kFwdTunnel;
      break;
  }
  d.weight = r.weight;
  d.u_thresh = r.upper_threshold;
  d.l_thresh = r.lower_threshold;
  if (r.method == Method::tun) {
    switch (r.tunnel.type) {
      case TunnelType::ipip:
        d.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_IPIP;
        break;
      case TunnelType::gue:
        d.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GUE;
        break;
      case TunnelType::gre:
        d.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GRE;
        break;
    }
    d.tun_port = r.tunnel.port;
    switch (r.tunnel.checksum) {
      case TunnelChecksum::none:
        d.tun_flags = IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM;
        break;
      case TunnelChecksum::local:
        d.tun_flags = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
        break;
      case TunnelChecksum::remote:
        d.tun_flags = IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
        break;
    }
  }
  return d;
}

Result<RealServer> from_wire(const DestAttrs& d, Family service_family) {
  Family fam = service_family;
  if (d.addr_family) {
    auto f = family_from(*d.addr_family, "destination");
    if (!f) return f.error();
    fam = *f;
  }
  RealServer r;
  r.address = address_from(fam, d.addr);
  r.port = d.port;
  const std::string where = "destination " + format_endpoint(r.address, r.port);
  switch (d.fwd_method) {
    case kFwdMasq:
      r.method = Method::nat;
      break;
    case kFwdDirectRoute:
      r.method = Method::dr;
      break;
    case kFwdTunnel:
      r.method = Method::tun;
      break;
    case kFwdLocalNode:
      return unexpected(where + ": forwarding method Local (a local address) is not modelled");
    case kFwdBypass:
      return unexpected(where + ": forwarding method Bypass is not modelled");
    default:
      return unexpected(where + ": unknown forwarding method " + std::to_string(d.fwd_method));
  }
  r.weight = d.weight;
  r.upper_threshold = d.u_thresh;
  r.lower_threshold = d.l_thresh;
  if (r.method == Method::tun) {
    switch (d.tun_type.value_or(IP_VS_CONN_F_TUNNEL_TYPE_IPIP)) {
      case IP_VS_CONN_F_TUNNEL_TYPE_IPIP:
        r.tunnel.type = TunnelType::ipip;
        break;
      case IP_VS_CONN_F_TUNNEL_TYPE_GUE:
        r.tunnel.type = TunnelType::gue;
        break;
      case IP_VS_CONN_F_TUNNEL_TYPE_GRE:
        r.tunnel.type = TunnelType::gre;
        break;
      default:
        return unexpected(where + ": unknown tunnel type " + std::to_string(*d.tun_type));
    }
    r.tunnel.port = d.tun_port.value_or(0);
    const std::uint16_t f = d.tun_flags.value_or(0);
    if ((f & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM) != 0) {
      r.tunnel.checksum = TunnelChecksum::remote;
    } else if ((f & IP_VS_TUNNEL_ENCAP_FLAG_CSUM) != 0) {
      r.tunnel.checksum = TunnelChecksum::local;
    } else {
      r.tunnel.checksum = TunnelChecksum::none;
    }
  }
  return r;
}

// ---- Counters -------------------------------------------------------------------

forwarding::Stats from_wire(const Stats& s) {
  forwarding::Stats o;
  o.conns = s.conns;
  o.inpkts = s.inpkts;
  o.outpkts = s.outpkts;
  o.inbytes = s.inbytes;
  o.outbytes = s.outbytes;
  o.cps = s.cps;
  o.inpps = s.inpps;
  o.outpps = s.outpps;
  o.inbps = s.inbps;
  o.outbps = s.outbps;
  return o;
}

DestStatus status_from_wire(const DestAttrs& d) {
  DestStatus st;
  if (d.stats) st.stats = from_wire(*d.stats);
  st.active_conns = d.active_conns;
  st.inactive_conns = d.inact_conns;
  st.persistent_conns = d.persist_conns;
  return st;
}

// ---- Timeouts -------------------------------------------------------------------

ipvs::Timeouts to_wire(const forwarding::Timeouts& t) {
  ipvs::Timeouts w;
  w.tcp = t.tcp;
  w.tcp_fin = t.tcp_fin;
  w.udp = t.udp;
  return w;
}

forwarding::Timeouts from_wire(const ipvs::Timeouts& t) {
  forwarding::Timeouts o;
  o.tcp = t.tcp.value_or(0);
  o.tcp_fin = t.tcp_fin.value_or(0);
  o.udp = t.udp.value_or(0);
  return o;
}

// ---- Sync daemon -------------------------------------------------------------------

DaemonAttrs to_wire(const SyncDaemonConfig& c) {
  DaemonAttrs d;
  d.state = static_cast<std::uint32_t>(c.state);
  d.mcast_ifn = c.interface;
  d.sync_id = c.syncid;
  if (c.maxlen != 0) d.sync_maxlen = c.maxlen;
  if (c.group.is_v4()) {
    d.mcast_group = c.group.to_v4().to_bytes();
  } else {
    d.mcast_group6 = c.group.to_v6().to_bytes();
  }
  d.mcast_port = c.port;
  d.mcast_ttl = c.ttl;
  return d;
}

Result<SyncDaemonConfig> from_wire(const DaemonAttrs& d) {
  SyncDaemonConfig c;
  if (d.state == IP_VS_STATE_MASTER) {
    c.state = SyncState::master;
  } else if (d.state == IP_VS_STATE_BACKUP) {
    c.state = SyncState::backup;
  } else {
    return unexpected("sync daemon: unknown state " + std::to_string(d.state));
  }
  c.interface = d.mcast_ifn;
  if (d.sync_id > 255) {
    return unexpected("sync daemon: syncid " + std::to_string(d.sync_id) + " is above 255");
  }
  c.syncid = static_cast<std::uint8_t>(d.sync_id);
  c.maxlen = d.sync_maxlen.value_or(0);
  if (d.mcast_group6) {
    c.group = address_v6(*d.mcast_group6);
  } else if (d.mcast_group) {
    c.group = address_v4(*d.mcast_group);
  }
  if (d.mcast_port) c.port = *d.mcast_port;
  if (d.mcast_ttl) c.ttl = *d.mcast_ttl;
  return c;
}

// ---- Info -------------------------------------------------------------------------

std::string version_string(std::uint32_t v) {
  return std::to_string((v >> 16) & 0xff) + "." + std::to_string((v >> 8) & 0xff) + "." +
         std::to_string(v & 0xff);
}

BackendInfo from_wire(const Info& i) {
  return BackendInfo{version_string(i.version), i.conn_tab_size};
}

// ---- Errors -------------------------------------------------------------------------

std::error_code to_error_code(const Error& e) {
  auto ec = [](int v) { return std::error_code(v, std::generic_category()); };
  switch (e.kind) {
    case Error::Kind::kKernel:
      return ec(e.kernel_errno > 0 ? e.kernel_errno : EIO);
    case Error::Kind::kIo:
      return ec(e.kernel_errno > 0 ? e.kernel_errno : EIO);
    case Error::Kind::kTimeout:
      return ec(ETIMEDOUT);
    case Error::Kind::kInvalidArgument:
      return ec(EINVAL);
    case Error::Kind::kNoFamily:
      return ec(ENOPROTOOPT);
    case Error::Kind::kTruncated:
    case Error::Kind::kBadLength:
    case Error::Kind::kMissingAttribute:
    case Error::Kind::kUnexpected:
      return ec(EPROTO);
  }
  return ec(EPROTO);
}

}  // namespace lvsd::forwarding::ipvs
