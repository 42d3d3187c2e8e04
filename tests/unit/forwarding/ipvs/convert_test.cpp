// Conversions between the forwarding model and the IPVS wire structs, both
// directions, table-driven. The wire values are the ones the kernel stores and
// reports (checked against ip_vs in tests/integration/ipvs_backend_vm_test.sh).
#include "forwarding/ipvs/convert.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <vector>

namespace lvsd::forwarding::ipvs {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::make_address_v4;

Addr a4(const char* s) {
  return *make_addr(AF_INET, s);
}
Addr a6(const char* s) {
  return *make_addr(AF_INET6, s);
}

VirtualService vs(ServiceKey key, std::string sched = "wlc") {
  VirtualService v;
  v.key = std::move(key);
  v.scheduler = std::move(sched);
  return v;
}

SvcAttrs svc_key(std::uint16_t af, std::uint16_t proto, Addr addr, std::uint16_t port) {
  SvcAttrs s;
  s.af = af;
  s.protocol = proto;
  s.addr = addr;
  s.port = port;
  return s;
}
SvcAttrs svc_mark(std::uint16_t af, std::uint32_t mark) {
  SvcAttrs s;
  s.af = af;
  s.fwmark = mark;
  return s;
}
SvcAttrs full(SvcAttrs s, std::string sched, std::uint32_t flags, std::uint32_t timeout,
              std::uint32_t netmask, std::string pe = "") {
  s.sched_name = std::move(sched);
  s.flags = flags;
  s.flags_mask = 0xffffffffU;
  s.timeout = timeout;
  s.netmask = netmask;
  s.pe_name = std::move(pe);
  return s;
}

struct SvcCase {
  const char* name;
  VirtualService model;
  SvcAttrs wire;
};

std::vector<SvcCase> service_cases() {
  std::vector<SvcCase> c;
  const auto tcp4 = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.200"), 80);
  c.push_back(
      {"tcp4 wlc", vs(tcp4),
       full(svc_key(AF_INET, IPPROTO_TCP, a4("192.0.2.200"), 80), "wlc", 0, 0, 0xffffffffU)});
  {
    VirtualService v = vs(ServiceKey::inet(Protocol::udp, make_address("192.0.2.53"), 53), "rr");
    v.one_packet = true;
    c.push_back(
        {"udp4 one-packet", v,
         full(svc_key(AF_INET, IPPROTO_UDP, a4("192.0.2.53"), 53), "rr", 0x4, 0, 0xffffffffU)});
  }
  c.push_back({"sctp4", vs(ServiceKey::inet(Protocol::sctp, make_address("192.0.2.9"), 9), "rr"),
               full(svc_key(AF_INET, IPPROTO_SCTP, a4("192.0.2.9"), 9), "rr", 0, 0, 0xffffffffU)});
  c.push_back({"tcp6", vs(ServiceKey::inet(Protocol::tcp, make_address("2001:db8::1"), 443), "wrr"),
               full(svc_key(AF_INET6, IPPROTO_TCP, a6("2001:db8::1"), 443), "wrr", 0, 0, 128)});
  c.push_back({"fwmark ipv4", vs(ServiceKey::mark(7), "rr"),
               full(svc_mark(AF_INET, 7), "rr", 0, 0, 0xffffffffU)});
  c.push_back({"fwmark ipv6", vs(ServiceKey::mark(0xfffffffe, Family::inet6), "rr"),
               full(svc_mark(AF_INET6, 0xfffffffe), "rr", 0, 0, 128)});
  {
    VirtualService v = vs(tcp4);
    v.persistence = Persistence{600, make_address_v4("255.255.255.0"), 128};
    c.push_back({"persistent ipv4 /24", v,
                 full(svc_key(AF_INET, IPPROTO_TCP, a4("192.0.2.200"), 80), "wlc", 0x1, 600,
                      htonl(0xffffff00U))});
  }
  {
    VirtualService v = vs(tcp4);
    v.persistence = Persistence{};  // 300 s, /32
    c.push_back(
        {"persistent ipv4 defaults", v,
         full(svc_key(AF_INET, IPPROTO_TCP, a4("192.0.2.200"), 80), "wlc", 0x1, 300, 0xffffffffU)});
  }
  {
    VirtualService v = vs(ServiceKey::inet(Protocol::tcp, make_address("2001:db8::1"), 80), "sh");
    Persistence p;
    p.timeout = 1800;
    p.prefix = 64;
    v.persistence = p;
    c.push_back({"persistent ipv6 /64", v,
                 full(svc_key(AF_INET6, IPPROTO_TCP, a6("2001:db8::1"), 80), "sh", 0x1, 1800, 64)});
  }
  {
    VirtualService v = vs(ServiceKey::mark(9, Family::inet6), "sh");
    Persistence p;
    p.prefix = 48;
    v.persistence = p;
    c.push_back({"persistent fwmark ipv6 /48", v, full(svc_mark(AF_INET6, 9), "sh", 0x1, 300, 48)});
  }
  {
    VirtualService v = vs(tcp4, "sh");
    v.scheduler_flags = {true, true};
    c.push_back(
        {"sh fallback+port", v,
         full(svc_key(AF_INET, IPPROTO_TCP, a4("192.0.2.200"), 80), "sh", 0x18, 0, 0xffffffffU)});
  }
  {
    VirtualService v = vs(ServiceKey::mark(3), "mh");
    v.scheduler_flags.fallback = true;
    c.push_back({"mh fallback", v, full(svc_mark(AF_INET, 3), "mh", 0x8, 0, 0xffffffffU)});
  }
  {
    VirtualService v = vs(ServiceKey::mark(3), "mh");
    v.scheduler_flags.port = true;
    c.push_back({"mh port", v, full(svc_mark(AF_INET, 3), "mh", 0x10, 0, 0xffffffffU)});
  }
  {
    VirtualService v = vs(ServiceKey::inet(Protocol::udp, make_address("192.0.2.5"), 5060), "rr");
    v.persistence = Persistence{60, make_address_v4("255.255.0.0"), 128};
    v.pe_name = "sip";
    v.one_packet = true;
    c.push_back({"pe sip, persistent /16, one-packet", v,
                 full(svc_key(AF_INET, IPPROTO_UDP, a4("192.0.2.5"), 5060), "rr", 0x5, 60,
                      htonl(0xffff0000U), "sip")});
  }
  return c;
}

TEST(IpvsConvert, ServiceToWire) {
  for (const auto& c : service_cases()) {
    EXPECT_EQ(to_wire(c.model), c.wire) << c.name;
  }
}

TEST(IpvsConvert, ServiceFromWireIgnoresHashed) {
  for (const auto& c : service_cases()) {
    for (std::uint32_t extra : {0U, kSvcHashed}) {
      SvcAttrs w = c.wire;
      w.flags |= extra;
      w.flags_mask = 0;  // the kernel does not report a meaningful mask
      w.stats = Stats{};
      auto v = from_wire(w);
      ASSERT_TRUE(v.has_value()) << c.name << ": " << v.error().message;
      EXPECT_EQ(*v, c.model) << c.name << " hashed=" << extra;
    }
  }
}

TEST(IpvsConvert, ServiceKeyToWireCarriesTheKeyOnly) {
  for (const auto& c : service_cases()) {
    SvcAttrs k = to_wire_key(c.model.key);
    SvcAttrs want = c.wire;
    want.sched_name.clear();
    want.pe_name.clear();
    want.flags = want.flags_mask = want.timeout = want.netmask = 0;
    EXPECT_EQ(k, want) << c.name;
  }
}

TEST(IpvsConvert, NotPersistentIgnoresTimeoutAndNetmaskOnReadBack) {
  SvcAttrs w = full(svc_key(AF_INET, IPPROTO_TCP, a4("192.0.2.1"), 80), "rr", kSvcHashed, 77,
                    htonl(0xffffff00U));
  auto v = from_wire(w);
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(v->persistence.has_value());
  EXPECT_EQ(*v, vs(ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 80), "rr"));
}

TEST(IpvsConvert, FwmarkServiceReadBackHasTheCanonicalKey) {
  // The kernel reports FWMARK only (no protocol, address or port).
  auto v = from_wire(full(svc_mark(AF_INET6, 5), "rr", kSvcHashed, 0, 128));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->key, ServiceKey::mark(5, Family::inet6));
  EXPECT_EQ(v->key.to_string(), "FWM 5 IPv6");
}

TEST(IpvsConvert, UnknownServiceFamilyOrProtocolIsAnError) {
  auto bad_af = from_wire(full(svc_key(AF_UNIX, IPPROTO_TCP, {}, 80), "rr", 0, 0, 0));
  ASSERT_FALSE(bad_af.has_value());
  EXPECT_EQ(bad_af.error().kind, Error::Kind::kUnexpected);
  auto bad_proto =
      from_wire(full(svc_key(AF_INET, IPPROTO_ICMP, a4("192.0.2.1"), 0), "rr", 0, 0, 0));
  ASSERT_FALSE(bad_proto.has_value());
  EXPECT_EQ(bad_proto.error().kind, Error::Kind::kUnexpected);
  EXPECT_NE(bad_proto.error().message.find("protocol 1"), std::string::npos);
}

// ---- Destinations -----------------------------------------------------------

RealServer rs(const char* addr, std::uint16_t port, std::uint32_t weight, Method m) {
  RealServer r;
  r.address = make_address(addr);
  r.port = port;
  r.weight = weight;
  r.method = m;
  return r;
}

DestAttrs da(Addr addr, std::uint16_t port, std::uint32_t fwd, std::uint32_t weight) {
  DestAttrs d;
  d.addr = addr;
  d.port = port;
  d.fwd_method = fwd;
  d.weight = weight;
  return d;
}

struct DestCase {
  const char* name;
  Family service_family;
  RealServer model;
  DestAttrs wire;  // what lvsd sends
};

std::vector<DestCase> dest_cases() {
  std::vector<DestCase> c;
  c.push_back({"nat v4", Family::inet, rs("10.0.0.1", 8080, 3, Method::nat),
               da(a4("10.0.0.1"), 8080, 0, 3)});
  c.push_back({"dr v4 weight 0", Family::inet, rs("192.0.2.11", 53, 0, Method::dr),
               da(a4("192.0.2.11"), 53, 3, 0)});
  {
    RealServer r = rs("10.0.0.2", 80, 0x7fffffff, Method::nat);
    r.upper_threshold = 100;
    r.lower_threshold = 10;
    DestAttrs d = da(a4("10.0.0.2"), 80, 0, 0x7fffffff);
    d.u_thresh = 100;
    d.l_thresh = 10;
    c.push_back({"thresholds, INT_MAX weight", Family::inet, r, d});
  }
  c.push_back({"nat v6", Family::inet6, rs("2001:db8::1", 80, 2, Method::nat),
               da(a6("2001:db8::1"), 80, 0, 2)});
  c.push_back({"dr v6 fwmark port 0", Family::inet6, rs("2001:db8::5", 0, 1, Method::dr),
               da(a6("2001:db8::5"), 0, 3, 1)});
  {
    RealServer r = rs("10.0.1.1", 443, 1, Method::tun);
    DestAttrs d = da(a4("10.0.1.1"), 443, 2, 1);
    d.tun_type = 0;
    d.tun_port = 0;
    d.tun_flags = 0;
    c.push_back({"tun ipip", Family::inet, r, d});
  }
  {
    RealServer r = rs("10.0.1.2", 443, 2, Method::tun);
    r.tunnel = Tunnel{TunnelType::gue, 6080, TunnelChecksum::remote};
    DestAttrs d = da(a4("10.0.1.2"), 443, 2, 2);
    d.tun_type = 1;
    d.tun_port = 6080;
    d.tun_flags = 2;
    c.push_back({"tun gue remcsum", Family::inet, r, d});
  }
  {
    RealServer r = rs("10.0.1.3", 443, 3, Method::tun);
    r.tunnel = Tunnel{TunnelType::gre, 0, TunnelChecksum::local};
    DestAttrs d = da(a4("10.0.1.3"), 443, 2, 3);
    d.tun_type = 2;
    d.tun_port = 0;
    d.tun_flags = 1;
    c.push_back({"tun gre csum", Family::inet, r, d});
  }
  {
    RealServer r = rs("2001:db8::9", 80, 1, Method::tun);
    DestAttrs d = da(a6("2001:db8::9"), 80, 2, 1);
    d.addr_family = AF_INET6;
    d.tun_type = 0;
    d.tun_port = 0;
    d.tun_flags = 0;
    c.push_back({"mixed family: v6 tun dest of a v4 service", Family::inet, r, d});
  }
  {
    RealServer r = rs("192.0.2.9", 80, 1, Method::tun);
    r.tunnel = Tunnel{TunnelType::gue, 5555, TunnelChecksum::none};
    DestAttrs d = da(a4("192.0.2.9"), 80, 2, 1);
    d.addr_family = AF_INET;
    d.tun_type = 1;
    d.tun_port = 5555;
    d.tun_flags = 0;
    c.push_back({"mixed family: v4 gue dest of a v6 service", Family::inet6, r, d});
  }
  return c;
}

TEST(IpvsConvert, DestToWire) {
  for (const auto& c : dest_cases()) {
    EXPECT_EQ(to_wire(c.model, c.service_family), c.wire) << c.name;
  }
}

TEST(IpvsConvert, DestFromWireAsTheKernelReportsIt) {
  for (const auto& c : dest_cases()) {
    // The kernel always reports ADDR_FAMILY and the tunnel attributes (zero
    // for a dest that is not a tunnel), plus counters.
    DestAttrs w = c.wire;
    if (!w.addr_family) w.addr_family = static_cast<std::uint16_t>(af_of(c.model.family()));
    if (!w.tun_type) {
      w.tun_type = 0;
      w.tun_port = 0;
      w.tun_flags = 0;
    }
    w.active_conns = 4;
    w.stats = Stats{};
    auto r = from_wire(w, c.service_family);
    ASSERT_TRUE(r.has_value()) << c.name << ": " << r.error().message;
    EXPECT_EQ(*r, c.model) << c.name;
    // And without the optional attributes (an older kernel).
    auto bare = from_wire(c.wire, c.service_family);
    ASSERT_TRUE(bare.has_value()) << c.name;
    EXPECT_EQ(*bare, c.model) << c.name;
  }
}

TEST(IpvsConvert, DestKeyCarriesTheFamilyOnlyWhenMixed) {
  DestAttrs same = to_wire_key(DestKey{make_address("10.0.0.1"), 80}, Family::inet);
  EXPECT_EQ(same.addr, a4("10.0.0.1"));
  EXPECT_EQ(same.port, 80);
  EXPECT_FALSE(same.addr_family.has_value());
  EXPECT_FALSE(same.tun_type.has_value());
  DestAttrs mixed = to_wire_key(DestKey{make_address("2001:db8::9"), 80}, Family::inet);
  EXPECT_EQ(mixed.addr, a6("2001:db8::9"));
  EXPECT_EQ(mixed.addr_family, std::optional<std::uint16_t>(AF_INET6));
}

TEST(IpvsConvert, TunnelAttributesOfANonTunnelDestAreIgnored) {
  DestAttrs w = da(a4("10.0.0.1"), 80, kFwdDirectRoute, 1);
  w.tun_type = 1;
  w.tun_port = 6080;
  w.tun_flags = 1;
  auto r = from_wire(w, Family::inet);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, rs("10.0.0.1", 80, 1, Method::dr));
}

TEST(IpvsConvert, UnmodelledDestsAreErrors) {
  struct Bad {
    const char* name;
    DestAttrs d;
    const char* needle;
  };
  DestAttrs tun_bad = da(a4("10.0.0.1"), 80, kFwdTunnel, 1);
  tun_bad.tun_type = 7;
  DestAttrs af_bad = da(a4("10.0.0.1"), 80, kFwdMasq, 1);
  af_bad.addr_family = 99;
  const std::vector<Bad> bad = {
      {"localnode", da(a4("10.0.0.1"), 80, kFwdLocalNode, 1), "Local"},
      {"bypass", da(a4("10.0.0.1"), 80, kFwdBypass, 1), "Bypass"},
      {"method 6", da(a4("10.0.0.1"), 80, 6, 1), "forwarding method 6"},
      {"tunnel type 7", tun_bad, "tunnel type 7"},
      {"address family 99", af_bad, "address family 99"},
  };
  for (const auto& b : bad) {
    auto r = from_wire(b.d, Family::inet);
    ASSERT_FALSE(r.has_value()) << b.name;
    EXPECT_EQ(r.error().kind, Error::Kind::kUnexpected) << b.name;
    EXPECT_NE(r.error().message.find(b.needle), std::string::npos) << r.error().message;
  }
}

// ---- Counters, timeouts, daemons, info, errors ------------------------------------

TEST(IpvsConvert, StatsAndDestStatus) {
  const Stats w{1, 2, 3, 4, 5, 6, 7, 8, 9, 0xffffffffffULL};
  const forwarding::Stats m{1, 2, 3, 4, 5, 6, 7, 8, 9, 0xffffffffffULL};
  EXPECT_EQ(from_wire(w), m);
  DestAttrs d = da(a4("10.0.0.1"), 80, 0, 1);
  d.active_conns = 10;
  d.inact_conns = 20;
  d.persist_conns = 30;
  d.stats = w;
  EXPECT_EQ(status_from_wire(d), (DestStatus{m, 10, 20, 30}));
  d.stats.reset();
  EXPECT_EQ(status_from_wire(d), (DestStatus{{}, 10, 20, 30}));
}

TEST(IpvsConvert, Timeouts) {
  const forwarding::Timeouts m{100, 20, 30};
  const ipvs::Timeouts w{100, 20, 30};
  EXPECT_EQ(to_wire(m), w);
  EXPECT_EQ(from_wire(w), m);
  // 0 is sent as is (the kernel leaves that timeout unchanged).
  EXPECT_EQ(to_wire(forwarding::Timeouts{0, 25, 0}), (ipvs::Timeouts{0, 25, 0}));
  // A kernel without UDP reports no UDP timeout.
  EXPECT_EQ(from_wire(ipvs::Timeouts{900, 120, std::nullopt}), (forwarding::Timeouts{900, 120, 0}));
}

TEST(IpvsConvert, SyncDaemon) {
  SyncDaemonConfig c;
  c.state = SyncState::backup;
  c.interface = "eth1";
  c.syncid = 5;
  c.maxlen = 1472;
  c.group = make_address("224.0.0.82");
  c.port = 8849;
  c.ttl = 3;
  DaemonAttrs w;
  w.state = 2;
  w.mcast_ifn = "eth1";
  w.sync_id = 5;
  w.sync_maxlen = 1472;
  w.mcast_group = std::array<std::uint8_t, 4>{224, 0, 0, 82};
  w.mcast_port = 8849;
  w.mcast_ttl = 3;
  EXPECT_EQ(to_wire(c), w);
  auto back = from_wire(w);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, c);

  // maxlen 0 is left to the kernel; an IPv6 group goes in MCAST_GROUP6.
  SyncDaemonConfig v6;
  v6.interface = "sync0";
  v6.group = make_address("ff02::81");
  DaemonAttrs w6 = to_wire(v6);
  EXPECT_EQ(w6.state, 1U);
  EXPECT_FALSE(w6.sync_maxlen.has_value());
  EXPECT_FALSE(w6.mcast_group.has_value());
  ASSERT_TRUE(w6.mcast_group6.has_value());
  EXPECT_EQ(Addr(*w6.mcast_group6), a6("ff02::81"));
  EXPECT_EQ(w6.mcast_port, std::optional<std::uint16_t>(8848));
  w6.sync_maxlen = 1452;  // what the kernel reports back
  auto back6 = from_wire(w6);
  ASSERT_TRUE(back6.has_value());
  SyncDaemonConfig want6 = v6;
  want6.maxlen = 1452;
  EXPECT_EQ(*back6, want6);

  DaemonAttrs bad = w;
  bad.state = 3;
  EXPECT_FALSE(from_wire(bad).has_value());
  bad = w;
  bad.sync_id = 256;
  EXPECT_FALSE(from_wire(bad).has_value());
}

TEST(IpvsConvert, Info) {
  EXPECT_EQ(version_string(0x010201), "1.2.1");
  EXPECT_EQ(version_string(0x0a0b0c), "10.11.12");
  EXPECT_EQ(from_wire(Info{0x010201, 4096}), (BackendInfo{"1.2.1", 4096}));
}

TEST(IpvsConvert, ErrorCodes) {
  struct Case {
    Error e;
    int want;
  };
  const std::vector<Case> cases = {
      {{Error::Kind::kKernel, EEXIST, ""}, EEXIST},
      {{Error::Kind::kKernel, ESRCH, ""}, ESRCH},
      {{Error::Kind::kKernel, 0, ""}, EIO},
      {{Error::Kind::kIo, ENOBUFS, ""}, ENOBUFS},
      {{Error::Kind::kIo, 0, ""}, EIO},
      {{Error::Kind::kTimeout, ETIMEDOUT, ""}, ETIMEDOUT},
      {{Error::Kind::kInvalidArgument, 0, ""}, EINVAL},
      {{Error::Kind::kNoFamily, ENOENT, ""}, ENOPROTOOPT},
      {{Error::Kind::kTruncated, 0, ""}, EPROTO},
      {{Error::Kind::kBadLength, 0, ""}, EPROTO},
      {{Error::Kind::kMissingAttribute, 0, ""}, EPROTO},
      {{Error::Kind::kUnexpected, 0, ""}, EPROTO},
  };
  for (const auto& c : cases) {
    const std::error_code ec = to_error_code(c.e);
    EXPECT_EQ(ec.value(), c.want) << to_string(c.e.kind);
    EXPECT_EQ(ec.category(), std::generic_category());
  }
}

}  // namespace
}  // namespace lvsd::forwarding::ipvs
