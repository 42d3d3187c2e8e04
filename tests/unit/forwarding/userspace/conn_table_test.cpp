// The userspace connection table: lookups both ways (IPv4, IPv6), the ip_vs
// state transitions and activity accounting, timeouts on a fake clock, the
// expiry budget, persistence templates, the entry limit with embryonic
// eviction, sync inserts, iteration, and a randomized model test against a
// std::map reference.
#include "forwarding/userspace/conn_table.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "daemon/config/config.hpp"

namespace lvsd::forwarding::userspace {
namespace {

using namespace tcp_flag;

constexpr uint64_t kT0 = 5'000'000;  // an arbitrary start of the fake clock, ms
constexpr uint64_t kTick = ConnTable::kWheelTickMs;

IpAddr ip(const char* s) {
  return IpAddr::from(boost::asio::ip::make_address(s));
}

ConnTableOptions opts(uint32_t max = 100'000) {
  ConnTableOptions o;
  o.max_connections = max;
  o.hash_seed = 42;
  return o;
}

FiveTuple client(const char* caddr, uint16_t cport, const char* vaddr = "192.0.2.200",
                 uint16_t vport = 80, uint8_t proto = kProtoTcp) {
  return FiveTuple{ip(caddr), ip(vaddr), cport, vport, proto};
}

ConnSpec spec(const FiveTuple& t, const char* rs = "10.0.0.21", uint16_t rport = 8080,
              FwdMethod m = FwdMethod::nat, uint32_t dest = 1) {
  return ConnSpec::from_packet(t, ip(rs), rport, m, /*service=*/7, dest);
}

// Runs expire() until it is done; everything it removed.
std::vector<Removed> expire_all(ConnTable& t, uint64_t now, std::size_t budget = 64) {
  std::vector<Removed> all;
  std::vector<Removed> buf(budget);
  for (int guard = 0; guard < 100000; ++guard) {
    const ExpireResult r = t.expire(now, buf);
    all.insert(all.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.removed));
    if (r.done) return all;
  }
  ADD_FAILURE() << "expire() never finished";
  return all;
}

// A TCP connection that went through the handshake (NAT or DR).
ConnId established(ConnTable& t, const FiveTuple& c, FwdMethod m, uint64_t now, uint32_t dest = 1) {
  const ConnId id = t.insert(spec(c, "10.0.0.21", 8080, m, dest), now).id;
  t.on_tcp_packet(id, PacketDir::from_client, kSyn, now);
  if (m == FwdMethod::nat) t.on_tcp_packet(id, PacketDir::from_server, kSyn | kAck, now);
  t.on_tcp_packet(id, PacketDir::from_client, kAck, now);
  return id;
}

TEST(UserspaceConnTable, EntryIs96Bytes) {
  EXPECT_EQ(sizeof(Conn), 96u);
}

TEST(UserspaceConnTable, LookupBothDirectionsIpv4) {
  ConnTable t(opts());
  const FiveTuple c = client("198.51.100.7", 40000);
  const ConnId id = t.insert(spec(c), kT0).id;
  ASSERT_NE(id, kNoConn);
  EXPECT_EQ(t.lookup_in(c), id);
  const FiveTuple reply{ip("10.0.0.21"), ip("198.51.100.7"), 8080, 40000, kProtoTcp};
  EXPECT_EQ(t.lookup_out(reply), id);
  EXPECT_EQ(t.conn(id).out_tuple(), reply);
  EXPECT_EQ(t.conn(id).in_tuple(), c);
  // Any other field differs: no match.
  EXPECT_EQ(t.lookup_in(client("198.51.100.7", 40001)), kNoConn);
  EXPECT_EQ(t.lookup_in(client("198.51.100.8", 40000)), kNoConn);
  EXPECT_EQ(t.lookup_in(client("198.51.100.7", 40000, "192.0.2.201")), kNoConn);
  EXPECT_EQ(t.lookup_in(client("198.51.100.7", 40000, "192.0.2.200", 443)), kNoConn);
  EXPECT_EQ(t.lookup_in(client("198.51.100.7", 40000, "192.0.2.200", 80, kProtoUdp)), kNoConn);
  EXPECT_EQ(t.lookup_out(FiveTuple{ip("10.0.0.21"), ip("198.51.100.7"), 8081, 40000, kProtoTcp}),
            kNoConn);
  // The reply tuple is not a client tuple.
  EXPECT_EQ(t.lookup_in(reply), kNoConn);
  // A reply that still carries the VIP (no NAT) is not found either.
  EXPECT_EQ(t.lookup_out(FiveTuple{ip("192.0.2.200"), ip("198.51.100.7"), 80, 40000, kProtoTcp}),
            kNoConn);
}

TEST(UserspaceConnTable, LookupBothDirectionsIpv6) {
  ConnTable t(opts());
  const FiveTuple c = client("2001:db8:5::7", 50000, "2001:db8::200", 443);
  const ConnId id = t.insert(spec(c, "2001:db8:1::21", 8443), kT0).id;
  EXPECT_EQ(t.lookup_in(c), id);
  EXPECT_EQ(
      t.lookup_out(FiveTuple{ip("2001:db8:1::21"), ip("2001:db8:5::7"), 8443, 50000, kProtoTcp}),
      id);
  EXPECT_EQ(t.lookup_in(client("2001:db8:5::8", 50000, "2001:db8::200", 443)), kNoConn);
  // An IPv4 client whose mapped form differs is another key.
  EXPECT_EQ(t.lookup_in(client("0.0.0.7", 50000, "2001:db8::200", 443)), kNoConn);
}

TEST(UserspaceConnTable, OnlyNatConnectionsAreFoundByReply) {
  ConnTable t(opts());
  const FiveTuple dr = client("198.51.100.7", 40000);
  const FiveTuple tun = client("198.51.100.8", 40000);
  const ConnId a = t.insert(spec(dr, "10.0.0.21", 80, FwdMethod::dr), kT0).id;
  const ConnId b = t.insert(spec(tun, "10.0.0.22", 80, FwdMethod::tun), kT0).id;
  EXPECT_EQ(t.lookup_in(dr), a);
  EXPECT_EQ(t.lookup_in(tun), b);
  EXPECT_EQ(t.lookup_out(FiveTuple{ip("10.0.0.21"), ip("198.51.100.7"), 80, 40000, kProtoTcp}),
            kNoConn);
  EXPECT_EQ(t.lookup_out(FiveTuple{ip("10.0.0.22"), ip("198.51.100.8"), 80, 40000, kProtoTcp}),
            kNoConn);
}

TEST(UserspaceConnTable, NewConnectionIsInactiveAndNoOutputUnlessNat) {
  ConnTable t(opts());
  const ConnId n = t.insert(spec(client("198.51.100.1", 1)), kT0).id;
  const ConnId d =
      t.insert(spec(client("198.51.100.2", 1), "10.0.0.21", 80, FwdMethod::dr), kT0).id;
  const ConnId u =
      t.insert(spec(client("198.51.100.3", 1), "10.0.0.21", 80, FwdMethod::tun), kT0).id;
  for (ConnId id : {n, d, u}) {
    EXPECT_TRUE(t.conn(id).inactive());
    EXPECT_FALSE(t.conn(id).active());
    EXPECT_EQ(t.conn(id).tcp_state(), TcpState::none);
    EXPECT_EQ(t.conn(id).service(), 7u);
    EXPECT_EQ(t.conn(id).dest(), 1u);
  }
  EXPECT_FALSE(t.conn(n).no_output());
  EXPECT_TRUE(t.conn(d).no_output());
  EXPECT_TRUE(t.conn(u).no_output());
  EXPECT_EQ(t.conn(d).method(), FwdMethod::dr);
  EXPECT_EQ(t.conn(u).method(), FwdMethod::tun);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.counters().inserts, 3u);
}

TEST(UserspaceConnTable, NatHandshakeAndCloseReportActivity) {
  ConnTable t(opts());
  const ConnId id = t.insert(spec(client("198.51.100.7", 40000)), kT0).id;
  StateChange ch = t.on_tcp_packet(id, PacketDir::from_client, kSyn, kT0);
  EXPECT_EQ(ch.from, uint8_t(TcpState::none));
  EXPECT_EQ(ch.to, uint8_t(TcpState::syn_recv));
  EXPECT_TRUE(ch.activated());  // SYN_RECV counts as active (tcp_state_active_table)
  ch = t.on_tcp_packet(id, PacketDir::from_server, kSyn | kAck, kT0);
  EXPECT_FALSE(ch.state_changed());
  EXPECT_FALSE(ch.activated() || ch.deactivated());
  ch = t.on_tcp_packet(id, PacketDir::from_client, kAck, kT0);
  EXPECT_EQ(ch.to, uint8_t(TcpState::established));
  EXPECT_TRUE(ch.was_active && ch.is_active);
  ch = t.on_tcp_packet(id, PacketDir::from_client, kFin | kAck, kT0);
  EXPECT_EQ(ch.to, uint8_t(TcpState::close_wait));
  EXPECT_TRUE(ch.deactivated());
  EXPECT_TRUE(t.conn(id).inactive());
  ch = t.on_tcp_packet(id, PacketDir::from_server, kFin | kAck, kT0);
  EXPECT_EQ(ch.to, uint8_t(TcpState::time_wait));
  EXPECT_FALSE(ch.activated() || ch.deactivated());
  // Port reuse: a new SYN on TIME_WAIT makes it SYN_RECV, active again.
  ch = t.on_tcp_packet(id, PacketDir::from_client, kSyn, kT0);
  EXPECT_EQ(ch.to, uint8_t(TcpState::syn_recv));
  EXPECT_TRUE(ch.activated());
}

TEST(UserspaceConnTable, DrConnectionUsesInputOnlyRows) {
  ConnTable t(opts());
  const ConnId dr = established(t, client("198.51.100.7", 40000), FwdMethod::dr, kT0);
  const ConnId nat = established(t, client("198.51.100.8", 40000), FwdMethod::nat, kT0);
  EXPECT_EQ(t.conn(dr).tcp_state(), TcpState::established);
  EXPECT_EQ(t.conn(nat).tcp_state(), TcpState::established);
  t.on_tcp_packet(dr, PacketDir::from_client, kFin | kAck, kT0);
  t.on_tcp_packet(nat, PacketDir::from_client, kFin | kAck, kT0);
  EXPECT_EQ(t.conn(dr).tcp_state(), TcpState::fin_wait);     // INPUT_ONLY
  EXPECT_EQ(t.conn(nat).tcp_state(), TcpState::close_wait);  // INPUT
  EXPECT_TRUE(t.conn(dr).no_output());
  // A reply seen through the director clears NOOUTPUT (set_tcp_state()).
  t.on_tcp_packet(dr, PacketDir::from_server, kAck, kT0);
  EXPECT_FALSE(t.conn(dr).no_output());
}

TEST(UserspaceConnTable, ClientRstClosesEstablishedButNotHalfOpen) {
  ConnTable t(opts());
  const ConnId est = established(t, client("198.51.100.7", 40000), FwdMethod::nat, kT0);
  StateChange ch = t.on_tcp_packet(est, PacketDir::from_client, kRst | kAck, kT0);
  EXPECT_EQ(ch.to, uint8_t(TcpState::close));
  EXPECT_TRUE(ch.deactivated());

  const ConnId half = t.insert(spec(client("198.51.100.8", 40000)), kT0).id;
  t.on_tcp_packet(half, PacketDir::from_client, kSyn, kT0);
  ch = t.on_tcp_packet(half, PacketDir::from_client, kRst, kT0);
  EXPECT_FALSE(ch.state_changed());
  EXPECT_EQ(t.conn(half).tcp_state(), TcpState::syn_recv);
  // The realserver's RST closes it.
  ch = t.on_tcp_packet(half, PacketDir::from_server, kRst, kT0);
  EXPECT_EQ(ch.to, uint8_t(TcpState::close));
  EXPECT_TRUE(ch.deactivated());

  // CLOSE lasts 10 s although ESTABLISHED had armed 900 s.
  EXPECT_TRUE(expire_all(t, kT0 + 10'000 - 1).empty());
  const auto gone = expire_all(t, kT0 + 10'000 + kTick);
  EXPECT_EQ(gone.size(), 2u);
  for (const Removed& r : gone) {
    EXPECT_FALSE(r.conn.active());
    EXPECT_EQ(r.reason, RemoveReason::expired);
  }
}

struct TimeoutCase {
  const char* name;
  FwdMethod method;
  uint8_t proto;
  std::vector<std::pair<PacketDir, uint8_t>> packets;
  TcpState state;
  uint32_t timeout_ms;
  bool exact;  // embryonic FIFO: exact; wheel: up to one tick late
};

TEST(UserspaceConnTable, TimeoutPerStateOnAFakeClock) {
  const auto C = PacketDir::from_client;
  const auto S = PacketDir::from_server;
  const std::vector<TimeoutCase> cases = {
      {"NONE", FwdMethod::nat, kProtoTcp, {}, TcpState::none, 2'000, true},
      {"SYN_RECV", FwdMethod::nat, kProtoTcp, {{C, kSyn}}, TcpState::syn_recv, 10'000, true},
      {"SYN_SENT", FwdMethod::nat, kProtoTcp, {{S, kSyn}}, TcpState::syn_sent, 120'000, true},
      {"ESTABLISHED",
       FwdMethod::nat,
       kProtoTcp,
       {{C, kSyn}, {S, kSyn | kAck}, {C, kAck}},
       TcpState::established,
       900'000,
       false},
      {"FIN_WAIT (DR)",
       FwdMethod::dr,
       kProtoTcp,
       {{C, kSyn}, {C, kAck}, {C, kFin | kAck}},
       TcpState::fin_wait,
       120'000,
       false},
      {"CLOSE_WAIT",
       FwdMethod::nat,
       kProtoTcp,
       {{C, kSyn}, {C, kAck}, {C, kFin}},
       TcpState::close_wait,
       60'000,
       false},
      {"TIME_WAIT",
       FwdMethod::nat,
       kProtoTcp,
       {{C, kSyn}, {C, kAck}, {C, kFin}, {S, kFin}},
       TcpState::time_wait,
       120'000,
       false},
      {"CLOSE",
       FwdMethod::nat,
       kProtoTcp,
       {{C, kSyn}, {C, kAck}, {C, kRst}},
       TcpState::close,
       10'000,
       false},
      {"UDP", FwdMethod::nat, kProtoUdp, {{C, 0}}, TcpState::none, 300'000, false},
  };
  for (const TimeoutCase& tc : cases) {
    SCOPED_TRACE(tc.name);
    ConnTable t(opts());
    const ConnId id = t.insert(spec(client("198.51.100.7", 40000, "192.0.2.200", 80, tc.proto),
                                    "10.0.0.21", 8080, tc.method),
                               kT0)
                          .id;
    for (auto [dir, flags] : tc.packets) {
      if (tc.proto == kProtoTcp)
        t.on_tcp_packet(id, dir, flags, kT0);
      else
        t.on_packet(id, kT0);
    }
    EXPECT_EQ(t.conn(id).state(), uint8_t(tc.state));
    EXPECT_EQ(t.remaining_ms(id, kT0), tc.timeout_ms);
    EXPECT_EQ(t.timeout_ms(id), tc.timeout_ms);
    EXPECT_EQ(t.embryonic(), tc.exact ? 1u : 0u);
    EXPECT_TRUE(expire_all(t, kT0 + tc.timeout_ms - 1).empty());
    EXPECT_EQ(t.size(), 1u);
    const auto gone = expire_all(t, kT0 + tc.timeout_ms + (tc.exact ? 0 : kTick));
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].conn.state(), uint8_t(tc.state));
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.counters().expiries, 1u);
  }
}

TEST(UserspaceConnTable, TimeoutsFromConfig) {
  config::Forwarding f;
  f.timeouts.tcp = std::chrono::seconds(600);
  f.timeouts.tcp_fin = std::chrono::seconds(30);
  f.timeouts.udp = std::chrono::seconds(45);
  f.userspace.syn_recv_timeout = std::chrono::milliseconds(2500);
  f.userspace.max_connections = 5000;
  const ConnTableOptions o = ConnTableOptions::from_config(f);
  EXPECT_EQ(o.max_connections, 5000u);
  EXPECT_EQ(o.timeouts.tcp[TcpState::established], 600'000u);
  EXPECT_EQ(o.timeouts.tcp[TcpState::fin_wait], 30'000u);
  EXPECT_EQ(o.timeouts.tcp[TcpState::time_wait], 120'000u);  // not ipvsadm's tcpfin
  EXPECT_EQ(o.timeouts.tcp[TcpState::syn_recv], 2'500u);
  EXPECT_EQ(o.timeouts.udp_ms, 45'000u);
  // lvsd's defaults.
  const ConnTableOptions d = ConnTableOptions::from_config(config::Forwarding{});
  EXPECT_EQ(d.max_connections, 1'048'576u);
  EXPECT_EQ(d.timeouts, ConnTimeouts{});
  EXPECT_EQ(d.timeouts.tcp[TcpState::established], 900'000u);
  EXPECT_EQ(d.timeouts.tcp[TcpState::fin_wait], 120'000u);
  EXPECT_EQ(d.timeouts.tcp[TcpState::syn_recv], 10'000u);
  EXPECT_EQ(d.timeouts.udp_ms, 300'000u);

  // The table uses them.
  ConnTable t(o);
  const ConnId id = t.insert(spec(client("198.51.100.7", 1, "192.0.2.200", 53, kProtoUdp)), kT0).id;
  t.on_packet(id, kT0);
  EXPECT_EQ(t.remaining_ms(id, kT0), 45'000u);
}

TEST(UserspaceConnTable, PacketsRefreshTheTimer) {
  ConnTable t(opts());
  const ConnId id = established(t, client("198.51.100.7", 40000), FwdMethod::nat, kT0);
  t.on_tcp_packet(id, PacketDir::from_client, kAck, kT0 + 800'000);
  EXPECT_EQ(t.remaining_ms(id, kT0 + 800'000), 900'000u);
  // The old expiry passes: the wheel re-files it instead of expiring it.
  EXPECT_TRUE(expire_all(t, kT0 + 900'000 + kTick).empty());
  EXPECT_TRUE(expire_all(t, kT0 + 1'700'000 - 1).empty());
  EXPECT_EQ(expire_all(t, kT0 + 1'700'000 + kTick).size(), 1u);
}

TEST(UserspaceConnTable, UdpPacketsRefreshTheTimer) {
  ConnTable t(opts());
  const ConnId id = t.insert(spec(client("198.51.100.7", 1, "192.0.2.200", 53, kProtoUdp)), kT0).id;
  for (uint64_t now = kT0; now < kT0 + 1'000'000; now += 100'000) {
    t.on_packet(id, now);
    EXPECT_TRUE(expire_all(t, now).empty());
  }
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.conn(id).inactive());  // UDP never becomes active
}

TEST(UserspaceConnTable, EmbryonicTimeoutChangeAppliesAtOnce) {
  ConnTable t(opts());
  const ConnId id = t.insert(spec(client("198.51.100.7", 40000)), kT0).id;
  t.on_tcp_packet(id, PacketDir::from_client, kSyn, kT0);
  ConnTimeouts shorter;
  shorter.tcp[TcpState::syn_recv] = 2'000;
  t.set_timeouts(shorter);
  EXPECT_EQ(t.remaining_ms(id, kT0), 2'000u);
  EXPECT_TRUE(expire_all(t, kT0 + 1'999).empty());
  EXPECT_EQ(expire_all(t, kT0 + 2'000).size(), 1u);
}

TEST(UserspaceConnTable, ExpireRemovesAtMostTheBudget) {
  ConnTable t(opts());
  for (uint16_t p = 1; p <= 200; ++p) {
    const ConnId id =
        t.insert(spec(client("198.51.100.7", p, "192.0.2.200", 53, kProtoUdp)), kT0).id;
    t.on_packet(id, kT0);
  }
  for (uint16_t p = 1; p <= 50; ++p) {  // 50 half-open TCP connections too
    const ConnId id = t.insert(spec(client("198.51.100.8", p)), kT0).id;
    t.on_tcp_packet(id, PacketDir::from_client, kSyn, kT0);
  }
  std::vector<Removed> buf(16);
  std::set<std::pair<uint8_t, uint16_t>> seen;
  int calls = 0;
  for (;;) {
    const ExpireResult r = t.expire(kT0 + 300'000 + kTick, buf);
    ++calls;
    ASSERT_LE(r.removed, buf.size());
    for (std::size_t i = 0; i < r.removed; ++i)
      EXPECT_TRUE(seen.insert({buf[i].conn.protocol(), buf[i].conn.cport()}).second);
    if (r.done) break;
    EXPECT_EQ(r.removed, buf.size());  // a full batch when not done
    ASSERT_LT(calls, 100);
  }
  EXPECT_EQ(seen.size(), 250u);
  EXPECT_EQ(calls, 16);  // 250 / 16 rounded up
  EXPECT_EQ(t.size(), 0u);
}

TEST(UserspaceConnTable, ExpireMakesProgressThroughASlotOfLaterTurns) {
  // 1000 ESTABLISHED connections armed in the same tick all share one wheel
  // slot; the wheel passes it 13 times before they are due. A small budget
  // must still get past the slot (no re-visiting what it already saw).
  ConnTable t(opts());
  for (uint16_t p = 1; p <= 1000; ++p)
    established(t, client("198.51.100.7", p), FwdMethod::nat, kT0);
  std::vector<Removed> buf(2);  // at most 4 * 2 + 64 = 72 visits per call
  const ExpireResult first = t.expire(kT0 + 70'000, buf);
  EXPECT_FALSE(first.done);
  for (int i = 0; i < 100 && !t.expire(kT0 + 70'000, buf).done; ++i) {
  }
  EXPECT_TRUE(t.expire(kT0 + 70'000, buf).done);
  EXPECT_EQ(t.size(), 1000u);
  EXPECT_EQ(expire_all(t, kT0 + 900'000 + kTick, 2).size(), 1000u);
}

TEST(UserspaceConnTable, RemovalReportsDestAndActivity) {
  ConnTable t(opts());
  established(t, client("198.51.100.1", 1), FwdMethod::nat, kT0, /*dest=*/3);
  const ConnId closing = established(t, client("198.51.100.2", 1), FwdMethod::nat, kT0, 4);
  t.on_tcp_packet(closing, PacketDir::from_client, kFin, kT0);
  const auto gone = expire_all(t, kT0 + 900'000 + kTick);
  ASSERT_EQ(gone.size(), 2u);
  std::map<uint32_t, bool> active;
  for (const Removed& r : gone)
    active[r.conn.dest()] = r.conn.active();
  EXPECT_TRUE(active.at(3));
  EXPECT_FALSE(active.at(4));
}

TEST(UserspaceConnTable, EraseRemovesNow) {
  ConnTable t(opts());
  const FiveTuple c = client("198.51.100.1", 1);
  const ConnId id = established(t, c, FwdMethod::nat, kT0);
  Removed r;
  ASSERT_TRUE(t.erase(id, &r));
  EXPECT_EQ(r.reason, RemoveReason::erased);
  EXPECT_TRUE(r.conn.active());
  EXPECT_EQ(t.lookup_in(c), kNoConn);
  EXPECT_EQ(t.lookup_out(r.conn.out_tuple()), kNoConn);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(expire_all(t, kT0 + 2'000'000).empty());
}

// ------------------------------------------------------------- templates

TEST(UserspaceConnTable, TemplateKeyGranularity) {
  const IpAddr vip = ip("192.0.2.200");
  const auto a = TemplateKey::make(kProtoTcp, ip("198.51.100.1"), 24, vip, 80, 80, 0);
  const auto b = TemplateKey::make(kProtoTcp, ip("198.51.100.200"), 24, vip, 80, 80, 0);
  const auto c = TemplateKey::make(kProtoTcp, ip("198.51.101.1"), 24, vip, 80, 80, 0);
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  EXPECT_EQ(a.client, ip("198.51.100.0"));
  EXPECT_EQ(a.vport, 80);
  EXPECT_EQ(a.protocol, kProtoTcp);
  // /32: per client.
  EXPECT_FALSE(TemplateKey::make(kProtoTcp, ip("198.51.100.1"), 32, vip, 80, 80, 0) ==
               TemplateKey::make(kProtoTcp, ip("198.51.100.2"), 32, vip, 80, 80, 0));
  // IPv6 /64.
  const IpAddr vip6 = ip("2001:db8::200");
  EXPECT_EQ(TemplateKey::make(kProtoTcp, ip("2001:db8:5:1::1"), 64, vip6, 80, 80, 0),
            TemplateKey::make(kProtoTcp, ip("2001:db8:5:1:ffff::9"), 64, vip6, 80, 80, 0));
  EXPECT_FALSE(TemplateKey::make(kProtoTcp, ip("2001:db8:5:1::1"), 64, vip6, 80, 80, 0) ==
               TemplateKey::make(kProtoTcp, ip("2001:db8:5:2::1"), 64, vip6, 80, 80, 0));
}

TEST(UserspaceConnTable, TemplateKeyPortZeroFwmarkAndFtp) {
  const IpAddr vip = ip("192.0.2.200");
  const IpAddr cl = ip("198.51.100.1");
  // Port-0 service: every port of the VIP shares one template, protocol kept.
  const auto p0a = TemplateKey::make(kProtoTcp, cl, 32, vip, 80, 0, 0);
  const auto p0b = TemplateKey::make(kProtoTcp, cl, 32, vip, 443, 0, 0);
  EXPECT_EQ(p0a, p0b);
  EXPECT_EQ(p0a.vport, 0);
  EXPECT_EQ(p0a.protocol, kProtoTcp);
  EXPECT_EQ(p0a.vaddr, vip);
  // Fwmark service: protocol 0, the mark as the address, port 0; any VIP and port.
  const auto fa = TemplateKey::make(kProtoTcp, cl, 32, vip, 80, 0, 7);
  const auto fb = TemplateKey::make(kProtoUdp, cl, 32, ip("192.0.2.201"), 53, 0, 7);
  EXPECT_EQ(fa, fb);
  EXPECT_EQ(fa.protocol, 0);
  EXPECT_EQ(fa.vport, 0);
  EXPECT_EQ(fa.vaddr, TemplateKey::fwmark_addr(7));
  EXPECT_EQ(TemplateKey::fwmark_addr(0x01020304), ip("1.2.3.4"));
  EXPECT_FALSE(fa == TemplateKey::make(kProtoTcp, cl, 32, vip, 80, 0, 8));
  // FTP (port 21): keyed by port 0 so data connections share it.
  EXPECT_EQ(TemplateKey::make(kProtoTcp, cl, 32, vip, 21, 21, 0).vport, 0);
  // The template's dest port.
  EXPECT_EQ(TemplateKey::template_dport(80, 80, 8080), 8080);
  EXPECT_EQ(TemplateKey::template_dport(443, 0, 8080), 0);
  EXPECT_EQ(TemplateKey::template_dport(21, 21, 2121), 0);
}

TemplateSpec tspec(const TemplateKey& k, uint32_t dest = 2) {
  TemplateSpec s;
  s.key = k;
  s.daddr = ip("10.0.0.22");
  s.dport = 8080;
  s.method = FwdMethod::nat;
  s.service = 7;
  s.dest = dest;
  return s;
}

TEST(UserspaceConnTable, TemplateLookupAndRefresh) {
  ConnTable t(opts());
  const auto key =
      TemplateKey::make(kProtoTcp, ip("198.51.100.1"), 24, ip("192.0.2.200"), 80, 80, 0);
  EXPECT_EQ(t.lookup_template(key), kNoConn);
  const ConnId tpl = t.insert_template(tspec(key), 300'000, kT0).id;
  ASSERT_NE(tpl, kNoConn);
  EXPECT_EQ(t.lookup_template(key), tpl);
  EXPECT_TRUE(t.conn(tpl).is_template());
  EXPECT_FALSE(t.conn(tpl).active());
  EXPECT_EQ(t.conn(tpl).dest(), 2u);
  EXPECT_EQ(t.templates(), 1u);
  // Not a connection: a client packet with the template's fields finds nothing.
  EXPECT_EQ(t.lookup_in(FiveTuple{key.client, key.vaddr, 0, 80, kProtoTcp}), kNoConn);
  // Another client of the same /24 finds it.
  EXPECT_EQ(t.lookup_template(TemplateKey::make(kProtoTcp, ip("198.51.100.77"), 24,
                                                ip("192.0.2.200"), 80, 80, 0)),
            tpl);
  // Used at +200 s: it lives until +500 s.
  t.touch_template(tpl, 300'000, kT0 + 200'000);
  EXPECT_TRUE(expire_all(t, kT0 + 300'000 + kTick).empty());
  EXPECT_TRUE(expire_all(t, kT0 + 500'000 - 1).empty());
  const auto gone = expire_all(t, kT0 + 500'000 + kTick);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_TRUE(gone[0].conn.is_template());
  EXPECT_EQ(t.lookup_template(key), kNoConn);
  EXPECT_EQ(t.templates(), 0u);
}

TEST(UserspaceConnTable, TemplateDoesNotExpireWhileControllingConnections) {
  ConnTable t(opts());
  const auto key =
      TemplateKey::make(kProtoTcp, ip("198.51.100.1"), 32, ip("192.0.2.200"), 80, 80, 0);
  const ConnId tpl = t.insert_template(tspec(key), 60'000, kT0).id;
  ConnSpec s = spec(client("198.51.100.1", 40000), "10.0.0.22", 8080, FwdMethod::nat, 2);
  s.control = tpl;
  const ConnId c = t.insert(s, kT0).id;
  t.on_tcp_packet(c, PacketDir::from_client, kSyn, kT0);
  t.on_tcp_packet(c, PacketDir::from_client, kAck, kT0);  // ESTABLISHED, 900 s
  EXPECT_EQ(t.conn(c).control(), tpl);
  EXPECT_EQ(t.conn(tpl).n_control(), 1u);

  // The template's own timeout passes: re-armed for 60 s, not removed.
  EXPECT_TRUE(expire_all(t, kT0 + 60'000 + kTick).empty());
  EXPECT_EQ(t.lookup_template(key), tpl);
  EXPECT_GE(t.counters().template_rechecks, 1u);
  // Still there while the connection lives.
  EXPECT_TRUE(expire_all(t, kT0 + 899'000).empty());
  EXPECT_EQ(t.templates(), 1u);
  // The connection ends; the template outlives it only until its next check.
  auto gone = expire_all(t, kT0 + 900'000 + kTick);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_FALSE(gone[0].conn.is_template());
  EXPECT_EQ(gone[0].conn.control(), tpl);
  EXPECT_EQ(t.conn(tpl).n_control(), 0u);
  gone = expire_all(t, kT0 + 900'000 + ConnTable::kTemplateRecheckMs + kTick);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_TRUE(gone[0].conn.is_template());
  EXPECT_EQ(t.size(), 0u);
}

TEST(UserspaceConnTable, TemplateOutlivesItsConnectionsUntilItsOwnTimeout) {
  ConnTable t(opts());
  const auto key =
      TemplateKey::make(kProtoUdp, ip("198.51.100.1"), 32, ip("192.0.2.200"), 53, 53, 0);
  const ConnId tpl = t.insert_template(tspec(key), 600'000, kT0).id;
  ConnSpec s = spec(client("198.51.100.1", 5000, "192.0.2.200", 53, kProtoUdp));
  s.control = tpl;
  const ConnId c = t.insert(s, kT0).id;
  t.on_packet(c, kT0);
  // The UDP connection ends at +300 s; the template lives on to +600 s.
  auto gone = expire_all(t, kT0 + 300'000 + kTick);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_FALSE(gone[0].conn.is_template());
  EXPECT_EQ(t.lookup_template(key), tpl);
  EXPECT_TRUE(expire_all(t, kT0 + 600'000 - 1).empty());
  gone = expire_all(t, kT0 + 600'000 + kTick);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_TRUE(gone[0].conn.is_template());
  EXPECT_EQ(t.counters().template_rechecks, 0u);
}

TEST(UserspaceConnTable, FwmarkAndPortZeroTemplatesAreDistinct) {
  ConnTable t(opts());
  const IpAddr cl = ip("198.51.100.1");
  const auto fw = TemplateKey::make(kProtoTcp, cl, 32, ip("192.0.2.200"), 80, 0, 7);
  const auto p0 = TemplateKey::make(kProtoTcp, cl, 32, ip("192.0.2.200"), 80, 0, 0);
  const ConnId a = t.insert_template(tspec(fw, 1), 300'000, kT0).id;
  const ConnId b = t.insert_template(tspec(p0, 2), 300'000, kT0).id;
  EXPECT_NE(a, b);
  EXPECT_EQ(t.lookup_template(fw), a);
  EXPECT_EQ(t.lookup_template(p0), b);
  // The fwmark template serves the mark's other VIPs, ports and protocols.
  EXPECT_EQ(t.lookup_template(TemplateKey::make(kProtoUdp, cl, 32, ip("192.0.2.9"), 53, 0, 7)), a);
  EXPECT_EQ(t.lookup_template(TemplateKey::make(kProtoTcp, cl, 32, ip("192.0.2.200"), 443, 0, 0)),
            b);
}

TEST(UserspaceConnTable, InvalidatedTemplateStaysUntilItsConnectionsEnd) {
  ConnTable t(opts());
  const auto key =
      TemplateKey::make(kProtoTcp, ip("198.51.100.1"), 32, ip("192.0.2.200"), 80, 80, 0);
  const ConnId tpl = t.insert_template(tspec(key), 60'000, kT0).id;
  ConnSpec s = spec(client("198.51.100.1", 40000), "10.0.0.22", 8080, FwdMethod::nat, 2);
  s.control = tpl;
  const ConnId c = t.insert(s, kT0).id;
  t.on_tcp_packet(c, PacketDir::from_client, kSyn, kT0);
  t.on_tcp_packet(c, PacketDir::from_client, kAck, kT0);
  EXPECT_FALSE(t.erase(tpl));  // controls a connection
  t.invalidate_template(tpl);
  EXPECT_EQ(t.lookup_template(key), kNoConn);
  // A new template for the same key can be made at once.
  const ConnId tpl2 = t.insert_template(tspec(key, 3), 60'000, kT0).id;
  EXPECT_EQ(t.lookup_template(key), tpl2);
  EXPECT_EQ(t.templates(), 2u);
  // The old one goes once its connection is gone (at its next check).
  expire_all(t, kT0 + 900'000 + kTick);
  EXPECT_EQ(t.size(), t.templates());
  expire_all(t, kT0 + 900'000 + ConnTable::kTemplateRecheckMs + 2 * kTick);
  EXPECT_EQ(t.templates(), 0u);
  EXPECT_EQ(t.size(), 0u);
}

// ------------------------------------------------------------- limits

TEST(UserspaceConnTable, FullTableRefusesWhenNothingIsEmbryonic) {
  ConnTable t(opts(100));
  for (uint16_t p = 1; p <= 100; ++p)
    ASSERT_NE(established(t, client("198.51.100.1", p), FwdMethod::nat, kT0), kNoConn);
  const InsertResult r = t.insert(spec(client("198.51.100.2", 1)), kT0);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.evicted);
  EXPECT_EQ(t.counters().full_drops, 1u);
  EXPECT_FALSE(t.insert_template(tspec(TemplateKey{}), 1000, kT0).ok());
  EXPECT_EQ(t.counters().full_drops, 2u);
  EXPECT_EQ(t.size(), 100u);
}

TEST(UserspaceConnTable, SynFloodEvictsOldestEmbryonicAndSparesEstablished) {
  constexpr uint32_t kCap = 1000;
  ConnTable t(opts(kCap));
  std::vector<FiveTuple> est;
  for (uint16_t p = 1; p <= 300; ++p) {
    est.push_back(client("198.51.100.1", p));
    established(t, est.back(), FwdMethod::nat, kT0);
  }
  // A flood of 10x the cap: SYNs from spoofed sources, one per ms.
  std::size_t evicted = 0;
  std::size_t peak = 0;
  std::size_t bytes_at_cap = 0;
  std::vector<FiveTuple> flood;
  for (uint32_t i = 0; i < 10 * kCap; ++i) {
    const uint64_t now = kT0 + i;
    const uint8_t src[4] = {203, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    const FiveTuple f{IpAddr::v4(src), ip("192.0.2.200"), static_cast<uint16_t>(1024 + i % 50000),
                      80, kProtoTcp};
    flood.push_back(f);
    const InsertResult r = t.insert(spec(f), now);
    ASSERT_TRUE(r.ok()) << i;
    if (r.evicted) {
      ++evicted;
      EXPECT_EQ(r.victim.reason, RemoveReason::evicted);
      EXPECT_TRUE(tcp_state_embryonic(r.victim.conn.tcp_state()));
      // Oldest first: the victim is the earliest flood entry still present.
      EXPECT_EQ(r.victim.conn.in_tuple(), flood[evicted - 1]);
    }
    t.on_tcp_packet(r.id, PacketDir::from_client, kSyn, now);
    peak = std::max(peak, t.size());
    if (t.size() == kCap && bytes_at_cap == 0) bytes_at_cap = t.bytes_allocated();
  }
  EXPECT_EQ(peak, kCap);
  EXPECT_EQ(t.size(), kCap);
  EXPECT_EQ(evicted, 10 * kCap - (kCap - 300));
  EXPECT_EQ(t.counters().evictions, evicted);
  EXPECT_EQ(t.counters().full_drops, 0u);
  EXPECT_EQ(t.bytes_allocated(), bytes_at_cap);  // memory stopped growing at the cap
  for (const FiveTuple& e : est) {
    const ConnId id = t.lookup_in(e);
    ASSERT_NE(id, kNoConn);
    EXPECT_EQ(t.conn(id).tcp_state(), TcpState::established);
  }
  // The newest flood entries are the ones left.
  EXPECT_NE(t.lookup_in(flood.back()), kNoConn);
  EXPECT_EQ(t.lookup_in(flood.front()), kNoConn);
  EXPECT_EQ(t.embryonic(), kCap - 300);
  // And they time out after syn_recv_timeout (10 s).
  expire_all(t, kT0 + 10 * kCap + 10'000);
  EXPECT_EQ(t.size(), 300u);
}

TEST(UserspaceConnTable, LoweredLimitRefusesWithoutEvicting) {
  ConnTable t(opts(100));
  for (uint16_t p = 1; p <= 50; ++p) {
    const ConnId id = t.insert(spec(client("198.51.100.1", p)), kT0).id;
    t.on_tcp_packet(id, PacketDir::from_client, kSyn, kT0);
  }
  t.set_max_connections(10);
  EXPECT_FALSE(t.insert(spec(client("198.51.100.2", 1)), kT0).ok());
  EXPECT_EQ(t.size(), 50u);
  EXPECT_EQ(t.counters().full_drops, 1u);
}

TEST(UserspaceConnTable, SteadyChurnAllocatesNothing) {
  ConnTable t(opts());
  uint64_t now = kT0;
  uint16_t port = 1;
  // Warm up to 2000 live UDP entries, then keep the size steady.
  for (int i = 0; i < 2000; ++i)
    t.insert(spec(client("198.51.100.1", port++, "192.0.2.200", 53, kProtoUdp)), now);
  const std::size_t bytes = t.bytes_allocated();
  for (int round = 0; round < 20; ++round) {
    now += 300'000 + kTick;
    const auto gone = expire_all(t, now);
    ASSERT_EQ(gone.size(), 2000u);
    for (int i = 0; i < 2000; ++i)
      ASSERT_TRUE(
          t.insert(spec(client("198.51.100.1", port++, "192.0.2.200", 53, kProtoUdp)), now).ok());
    EXPECT_EQ(t.bytes_allocated(), bytes);
  }
}

// ------------------------------------------------------------- sync

SyncSpec sync_spec(const FiveTuple& c, uint8_t state, bool inactive, uint32_t timeout_ms,
                   const char* rs = "10.0.0.21") {
  SyncSpec s;
  s.conn = spec(c, rs, 8080);
  s.state = state;
  s.inactive = inactive;
  s.timeout_ms = timeout_ms;
  return s;
}

TEST(UserspaceConnTable, SyncCreatesAndUpdates) {
  ConnTable t(opts());
  const FiveTuple c = client("198.51.100.7", 40000);
  SyncResult r = t.insert_synced(sync_spec(c, uint8_t(TcpState::established), false, 500'000), kT0);
  EXPECT_EQ(r.outcome, SyncResult::Outcome::created);
  EXPECT_TRUE(r.is_active);
  EXPECT_EQ(t.lookup_in(c), r.id);
  EXPECT_NE(t.lookup_out(t.conn(r.id).out_tuple()), kNoConn);
  EXPECT_TRUE(t.conn(r.id).synced());
  EXPECT_EQ(t.remaining_ms(r.id, kT0), 500'000u);
  // Update: FIN_WAIT, inactive, its state's timeout.
  r = t.insert_synced(sync_spec(c, uint8_t(TcpState::fin_wait), true, 0), kT0 + 1000);
  EXPECT_EQ(r.outcome, SyncResult::Outcome::updated);
  EXPECT_TRUE(r.was_active);
  EXPECT_FALSE(r.is_active);
  EXPECT_EQ(t.conn(r.id).tcp_state(), TcpState::fin_wait);
  EXPECT_EQ(t.remaining_ms(r.id, kT0 + 1000), 120'000u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.counters().synced_inserts, 1u);
  EXPECT_EQ(t.counters().synced_updates, 1u);
  // Once local packets arrive it follows the state machine as usual.
  t.on_tcp_packet(r.id, PacketDir::from_client, kAck, kT0 + 2000);
  EXPECT_EQ(t.conn(r.id).tcp_state(), TcpState::fin_wait);
}

TEST(UserspaceConnTable, SyncReplacesAnotherRealserverUnlessInactive) {
  ConnTable t(opts());
  const FiveTuple c = client("198.51.100.7", 40000);
  const ConnId old = established(t, c, FwdMethod::nat, kT0);
  // An inactive message for another realserver: the expiry of a replaced one.
  SyncResult r = t.insert_synced(sync_spec(c, uint8_t(TcpState::close), true, 0, "10.0.0.99"), kT0);
  EXPECT_EQ(r.outcome, SyncResult::Outcome::ignored);
  EXPECT_EQ(t.lookup_in(c), old);
  // An active one: the entry is replaced.
  r = t.insert_synced(sync_spec(c, uint8_t(TcpState::established), false, 0, "10.0.0.99"), kT0);
  EXPECT_EQ(r.outcome, SyncResult::Outcome::created);
  EXPECT_TRUE(r.replaced);
  EXPECT_EQ(r.old.reason, RemoveReason::replaced);
  EXPECT_TRUE(r.old.conn.active());
  EXPECT_EQ(t.conn(t.lookup_in(c)).daddr(), ip("10.0.0.99"));
  EXPECT_EQ(t.size(), 1u);
}

TEST(UserspaceConnTable, SyncTemplate) {
  ConnTable t(opts());
  const auto key =
      TemplateKey::make(kProtoTcp, ip("198.51.100.1"), 24, ip("192.0.2.200"), 80, 80, 0);
  SyncSpec s;
  s.conn.protocol = key.protocol;
  s.conn.caddr = key.client;
  s.conn.vaddr = key.vaddr;
  s.conn.vport = key.vport;
  s.conn.daddr = ip("10.0.0.21");
  s.conn.dport = 8080;
  s.conn.dest = 5;
  s.is_template = true;
  SyncResult r = t.insert_synced(s, kT0);
  EXPECT_EQ(r.outcome, SyncResult::Outcome::created);
  EXPECT_EQ(t.lookup_template(key), r.id);
  EXPECT_TRUE(t.conn(r.id).is_template());
  EXPECT_FALSE(r.is_active);
  EXPECT_EQ(t.remaining_ms(r.id, kT0), ConnTable::kSyncedTemplateTimeoutMs);
  s.timeout_ms = 30'000;
  r = t.insert_synced(s, kT0);
  EXPECT_EQ(r.outcome, SyncResult::Outcome::updated);
  EXPECT_EQ(t.remaining_ms(r.id, kT0), 30'000u);
  EXPECT_EQ(t.templates(), 1u);
}

// ------------------------------------------------------------- iteration

TEST(UserspaceConnTable, VisitSeesEveryEntryOnce) {
  ConnTable t(opts());
  std::set<ConnId> live;
  for (uint16_t p = 1; p <= 3000; ++p)
    live.insert(t.insert(spec(client("198.51.100.1", p)), kT0).id);
  // Drop every third one so the visit crosses free slots.
  int k = 0;
  for (auto it = live.begin(); it != live.end();) {
    if (++k % 3 == 0) {
      ASSERT_TRUE(t.erase(*it));
      it = live.erase(it);
    } else {
      ++it;
    }
  }
  std::set<ConnId> seen;
  int calls = 0;
  for (ConnId cursor = 0; cursor != kNoConn; ++calls)
    cursor = t.visit(cursor, 100, [&](ConnId id, const Conn& c) {
      EXPECT_TRUE(seen.insert(id).second);
      EXPECT_EQ(c.vport(), 80);
    });
  EXPECT_EQ(seen, live);
  EXPECT_GE(calls, 30);  // bounded work per call
  std::size_t n = 0;
  t.for_each([&](ConnId, const Conn&) { ++n; });
  EXPECT_EQ(n, t.size());
}

TEST(UserspaceConnTable, IndexGrowthKeepsEveryEntryFindable) {
  ConnTable t(opts());
  std::vector<FiveTuple> keys;
  for (uint32_t i = 0; i < 20000; ++i) {
    const uint8_t src[4] = {198, 18, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    keys.push_back(
        FiveTuple{IpAddr::v4(src), ip("192.0.2.200"), static_cast<uint16_t>(i), 80, kProtoTcp});
    const ConnId id = t.insert(spec(keys.back()), kT0).id;
    // Everything inserted so far is findable, mid-migration included.
    if (i % 997 == 0) {
      for (uint32_t j = 0; j <= i; j += 7)
        ASSERT_NE(t.lookup_in(keys[j]), kNoConn) << i << " " << j;
    }
    ASSERT_EQ(t.lookup_out(t.conn(id).out_tuple()), id);
  }
  for (std::size_t j = 0; j < keys.size(); j += 2)
    ASSERT_TRUE(t.erase(t.lookup_in(keys[j])));
  for (std::size_t j = 0; j < keys.size(); ++j)
    EXPECT_EQ(t.lookup_in(keys[j]) == kNoConn, j % 2 == 0) << j;
}

// ------------------------------------------------------------- model test

// The reference: a std::map from the client tuple to what the table should
// hold, with the exact expiry; the engine-style per-dest counts kept from the
// table's results are checked against a recount.
struct RefConn {
  uint8_t proto;
  FwdMethod method;
  uint32_t dest;
  TcpState state = TcpState::none;
  bool inactive = true;
  bool no_output;
  uint64_t expires;
  bool fifo;  // embryonic TCP: exact expiry
};

using Key = std::tuple<uint8_t, uint32_t, uint16_t>;  // proto, client (last byte), port

TEST(UserspaceConnTable, RandomizedAgainstReferenceModel) {
  ConnTimeouts to;
  to.udp_ms = 40'000;
  ConnTableOptions o = opts(100);
  o.timeouts = to;
  ConnTable t(o);
  std::map<Key, RefConn> ref;
  std::map<uint32_t, std::pair<int, int>> counts;  // dest -> active, inactive (engine view)
  std::mt19937 rng(12345);
  uint64_t now = kT0;
  auto tuple_of = [](const Key& k) {
    const uint8_t c[4] = {198, 51, 100, static_cast<uint8_t>(std::get<1>(k))};
    return FiveTuple{IpAddr::v4(c), ip("192.0.2.200"), std::get<2>(k), 80, std::get<0>(k)};
  };
  auto timeout_of = [&](const RefConn& r) {
    return r.proto == kProtoTcp ? to.tcp[r.state] : to.udp_ms;
  };
  auto unbind = [&](const Conn& c) {
    auto& [a, i] = counts[c.dest()];
    if (c.active())
      --a;
    else
      --i;
  };
  const uint8_t flag_choices[] = {kSyn, kSyn | kAck, kAck, kFin | kAck, kRst, kRst | kAck, kPsh, 0};

  for (int step = 0; step < 60000; ++step) {
    const int op = static_cast<int>(rng() % 100);
    const Key k{rng() % 4 == 0 ? kProtoUdp : kProtoTcp, static_cast<uint32_t>(rng() % 40),
                static_cast<uint16_t>(1 + rng() % 30)};
    const FiveTuple ft = tuple_of(k);
    if (op < 35) {  // a packet from the client: new connection or existing one
      ConnId id = t.lookup_in(ft);
      ASSERT_EQ(id == kNoConn, ref.count(k) == 0) << step;
      if (id == kNoConn) {
        const auto m = static_cast<FwdMethod>(rng() % 3);
        const uint32_t dest = rng() % 5;
        const InsertResult r = t.insert(spec(ft, "10.0.0.21", 8080, m, dest), now);
        if (r.evicted) {
          const Key vk{r.victim.conn.protocol(), r.victim.conn.caddr().b[15],
                       r.victim.conn.cport()};
          ASSERT_EQ(ref.count(vk), 1u);
          ASSERT_TRUE(ref.at(vk).fifo);
          // The oldest embryonic entry of the reference.
          for (const auto& [rk, rc] : ref) {
            if (rc.fifo) {
              EXPECT_GE(rc.expires - timeout_of(rc), ref.at(vk).expires - timeout_of(ref.at(vk)));
            }
          }
          unbind(r.victim.conn);
          ref.erase(vk);
        }
        if (!r.ok()) {
          std::size_t embryonic = 0;
          for (const auto& [rk, rc] : ref)
            embryonic += rc.fifo;
          EXPECT_EQ(embryonic, 0u);
          EXPECT_EQ(ref.size(), 100u);
          continue;
        }
        id = r.id;
        ++counts[dest].second;  // DestList::bind(dest, inactive)
        ref[k] =
            RefConn{std::get<0>(k), m, dest, TcpState::none, true, m != FwdMethod::nat, 0, false};
      }
      RefConn& rc = ref.at(k);
      StateChange ch;
      if (rc.proto == kProtoTcp) {
        const uint8_t f = flag_choices[rng() % std::size(flag_choices)];
        ch = t.on_tcp_packet(id, PacketDir::from_client, f, now);
        const TcpDir d = rc.no_output ? TcpDir::input_only : TcpDir::input;
        const TcpState next = tcp_next_state(d, tcp_event(f), rc.state);
        if (next != rc.state) rc.inactive = !tcp_state_active(next);
        rc.state = next;
      } else {
        ch = t.on_packet(id, now);
      }
      rc.fifo = rc.proto == kProtoTcp && tcp_state_embryonic(rc.state);
      rc.expires = now + timeout_of(rc);
      if (ch.activated()) {
        ++counts[rc.dest].first;
        --counts[rc.dest].second;
      } else if (ch.deactivated()) {
        --counts[rc.dest].first;
        ++counts[rc.dest].second;
      }
    } else if (op < 45) {  // a reply (NAT only)
      auto it = ref.find(k);
      if (it == ref.end() || it->second.proto != kProtoTcp) continue;
      RefConn& rc = it->second;
      const ConnId id = t.lookup_in(ft);
      const ConnId out = t.lookup_out(t.conn(id).out_tuple());
      ASSERT_EQ(out == id, rc.method == FwdMethod::nat);
      const uint8_t f = flag_choices[rng() % std::size(flag_choices)];
      const StateChange ch = t.on_tcp_packet(id, PacketDir::from_server, f, now);
      rc.no_output = false;
      const TcpState next = tcp_next_state(TcpDir::output, tcp_event(f), rc.state);
      if (next != rc.state) rc.inactive = !tcp_state_active(next);
      rc.state = next;
      rc.fifo = tcp_state_embryonic(rc.state);
      rc.expires = now + timeout_of(rc);
      if (ch.activated()) {
        ++counts[rc.dest].first;
        --counts[rc.dest].second;
      } else if (ch.deactivated()) {
        --counts[rc.dest].first;
        ++counts[rc.dest].second;
      }
    } else if (op < 48) {  // erase
      const ConnId id = t.lookup_in(ft);
      if (id == kNoConn) continue;
      Removed r;
      ASSERT_TRUE(t.erase(id, &r));
      unbind(r.conn);
      ref.erase(k);
    } else if (op < 98) {  // time passes
      now += rng() % 3000;
    } else {  // expiry with a random budget
      now += rng() % 20000;
      std::vector<Removed> buf(1 + rng() % 50);
      for (;;) {
        const ExpireResult r = t.expire(now, buf);
        for (std::size_t i = 0; i < r.removed; ++i) {
          const Conn& c = buf[i].conn;
          const Key rk{c.protocol(), c.caddr().b[15], c.cport()};
          ASSERT_EQ(ref.count(rk), 1u);
          ASSERT_LE(ref.at(rk).expires, now) << "removed before its expiry";
          unbind(c);
          ref.erase(rk);
        }
        if (r.done) break;
      }
      // Everything due is gone: FIFO entries exactly, wheel entries within a tick.
      for (const auto& [rk, rc] : ref) {
        const uint64_t due = rc.fifo ? rc.expires : (rc.expires + kTick - 1) / kTick * kTick;
        ASSERT_GT(due, now) << "not removed: expires " << rc.expires << " now " << now;
      }
    }

    if (step % 500 == 0 || step == 59999) {
      ASSERT_EQ(t.size(), ref.size());
      std::map<uint32_t, std::pair<int, int>> recount;
      std::size_t fifo = 0;
      t.for_each([&](ConnId id, const Conn& c) {
        const Key rk{c.protocol(), c.caddr().b[15], c.cport()};
        ASSERT_EQ(ref.count(rk), 1u);
        const RefConn& rc = ref.at(rk);
        EXPECT_EQ(c.state(), uint8_t(rc.state));
        EXPECT_EQ(c.inactive(), rc.inactive);
        EXPECT_EQ(c.no_output(), rc.no_output);
        EXPECT_EQ(c.dest(), rc.dest);
        EXPECT_EQ(t.remaining_ms(id, now), rc.expires > now ? rc.expires - now : 0);
        auto& [a, i] = recount[c.dest()];
        (c.active() ? a : i)++;
        fifo += rc.fifo;
      });
      EXPECT_EQ(t.embryonic(), fifo);
      for (auto& [d, ai] : counts)
        EXPECT_EQ(ai, recount[d]) << "dest " << d << " step " << step;
    }
  }
  EXPECT_GT(t.counters().expiries, 100u);
  EXPECT_GT(t.counters().evictions, 0u);
  EXPECT_GT(t.counters().full_drops, 0u);
}

}  // namespace
}  // namespace lvsd::forwarding::userspace
