// Engine: the per-packet decisions on synthetic packets (no kernel): NAT both
// directions with checksums re-verified independently, DR/TUN decisions,
// SYN-only scheduling, rr spread, persistence, removal keeping established
// connections, table limit, and the sync rings (emit on ESTABLISHED, apply
// a received entry on the standby).
#include "forwarding/userspace/engine.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "forwarding/userspace/packet.hpp"

namespace lvsd::forwarding::userspace {
namespace {

using boost::asio::ip::make_address;

uint16_t sum16(const uint8_t* p, std::size_t n, uint32_t s = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(p[n - 1] << 8);
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// Independent verification: IPv4 header and TCP/UDP checksums fold to 0xffff.
bool checksums_ok(const std::vector<uint8_t>& p) {
  if (sum16(p.data(), 20) != 0xffff) return false;
  const std::size_t l4 = p.size() - 20;
  uint32_t pseudo = sum16(p.data() + 12, 8);
  pseudo += p[9];
  pseudo += static_cast<uint32_t>(l4);
  return sum16(p.data() + 20, l4, pseudo) == 0xffff;
}

std::vector<uint8_t> tcp_packet(const char* src, uint16_t sport, const char* dst, uint16_t dport,
                                uint8_t flags, std::size_t payload = 0) {
  std::vector<uint8_t> p(40 + payload, 0);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(p.size() >> 8);
  p[3] = static_cast<uint8_t>(p.size());
  p[6] = 0x40;  // DF
  p[8] = 64;
  p[9] = 6;
  auto s = make_address(src).to_v4().to_bytes();
  auto d = make_address(dst).to_v4().to_bytes();
  std::memcpy(&p[12], s.data(), 4);
  std::memcpy(&p[16], d.data(), 4);
  p[20] = static_cast<uint8_t>(sport >> 8);
  p[21] = static_cast<uint8_t>(sport);
  p[22] = static_cast<uint8_t>(dport >> 8);
  p[23] = static_cast<uint8_t>(dport);
  p[32] = 0x50;
  p[33] = flags;
  p[34] = 0xff;
  for (std::size_t i = 0; i < payload; ++i)
    p[40 + i] = static_cast<uint8_t>(i);
  uint16_t ip = static_cast<uint16_t>(~sum16(p.data(), 20));
  p[10] = static_cast<uint8_t>(ip >> 8);
  p[11] = static_cast<uint8_t>(ip);
  uint32_t pseudo = sum16(&p[12], 8) + 6u + static_cast<uint32_t>(p.size() - 20);
  uint16_t tcp = static_cast<uint16_t>(~sum16(p.data() + 20, p.size() - 20, pseudo));
  p[36] = static_cast<uint8_t>(tcp >> 8);
  p[37] = static_cast<uint8_t>(tcp);
  return p;
}

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kSynAck = 0x12;

struct Rig {
  SnapshotSlot slot;
  Engine engine{EngineLimits{1000, std::chrono::milliseconds(10000)}, slot};
  ServiceKey key = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.200"), 80);

  void publish(const std::vector<RealServer>& dests, std::optional<Persistence> persistence = {},
               std::map<Address, L2Info> l2 = {}) {
    auto s = std::make_shared<Snapshot>();
    VirtualService vs;
    vs.key = key;
    vs.scheduler = "rr";
    vs.persistence = persistence;
    ForwardingPlan plan;
    plan.put(vs);
    for (const auto& d : dests)
      plan.put(key, d);
    s->set_plan(plan);
    s->l2 = std::make_shared<const L2Map>(std::move(l2));
    slot.publish(s);
    engine.apply_snapshot();
  }
  Decision run(std::vector<uint8_t>& pkt, uint64_t now = 1000) {
    QueuedPacket q;
    q.payload = std::span<uint8_t>(pkt.data(), pkt.size());
    return engine.process(q, now);
  }
};

RealServer rs(const char* a, uint16_t port = 80, Method m = Method::nat) {
  RealServer r;
  r.address = make_address(a);
  r.port = port;
  r.method = m;
  return r;
}

std::string dst_of(const std::vector<uint8_t>& p) {
  return boost::asio::ip::address_v4({p[16], p[17], p[18], p[19]}).to_string() + ":" +
         std::to_string(p[22] << 8 | p[23]);
}
std::string src_of(const std::vector<uint8_t>& p) {
  return boost::asio::ip::address_v4({p[12], p[13], p[14], p[15]}).to_string() + ":" +
         std::to_string(p[20] << 8 | p[21]);
}

TEST(UserspaceEngine, NatRewritesBothDirectionsWithValidChecksums) {
  Rig r;
  r.publish({rs("192.0.2.21", 8080)});
  auto syn = tcp_packet("192.0.2.100", 40000, "192.0.2.200", 80, kSyn);
  Decision d = r.run(syn);
  ASSERT_EQ(d.verdict, Verdict::accept);
  ASSERT_FALSE(d.payload.empty());
  EXPECT_EQ(dst_of(syn), "192.0.2.21:8080");
  EXPECT_TRUE(checksums_ok(syn));

  auto synack = tcp_packet("192.0.2.21", 8080, "192.0.2.100", 40000, kSynAck, 100);
  d = r.run(synack);
  ASSERT_FALSE(d.payload.empty());
  EXPECT_EQ(src_of(synack), "192.0.2.200:80");
  EXPECT_TRUE(checksums_ok(synack));

  auto rb = r.engine.stats_index();
  ASSERT_TRUE(rb);
  const auto& dest = rb->services.at(r.key).dests.at(DestKey{make_address("192.0.2.21"), 8080});
  EXPECT_EQ(dest->conns.load(), 1u);
  EXPECT_EQ(dest->inpkts.load(), 1u);
  EXPECT_EQ(dest->outpkts.load(), 1u);
  EXPECT_EQ(dest->outbytes.load(), 140u);
}

TEST(UserspaceEngine, OnlyASynStartsAConnection) {
  Rig r;
  r.publish({rs("192.0.2.21")});
  auto ack = tcp_packet("192.0.2.100", 40001, "192.0.2.200", 80, kAck);
  Decision d = r.run(ack);
  EXPECT_EQ(d.verdict, Verdict::accept);
  EXPECT_TRUE(d.payload.empty());  // unchanged: left to the local stack
  EXPECT_EQ(dst_of(ack), "192.0.2.200:80");
  EXPECT_EQ(r.engine.counters().not_ours.load(), 1u);
}

TEST(UserspaceEngine, RoundRobinSpreadsAndPacketsOfAConnectionStay) {
  Rig r;
  r.publish({rs("192.0.2.21"), rs("192.0.2.22"), rs("192.0.2.23")});
  std::map<std::string, int> seen;
  for (uint16_t port = 1000; port < 1030; ++port) {
    auto syn = tcp_packet("192.0.2.100", port, "192.0.2.200", 80, kSyn);
    r.run(syn);
    seen[dst_of(syn)]++;
    auto again = tcp_packet("192.0.2.100", port, "192.0.2.200", 80, kAck);
    r.run(again);
    EXPECT_EQ(dst_of(again), dst_of(syn));
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{
                      {"192.0.2.21:80", 10}, {"192.0.2.22:80", 10}, {"192.0.2.23:80", 10}}));
}

TEST(UserspaceEngine, PersistenceSticksAcrossConnections) {
  Rig r;
  r.publish({rs("192.0.2.21"), rs("192.0.2.22"), rs("192.0.2.23")}, Persistence{});
  std::set<std::string> seen;
  for (uint16_t port = 2000; port < 2012; ++port) {
    auto syn = tcp_packet("192.0.2.100", port, "192.0.2.200", 80, kSyn);
    r.run(syn);
    seen.insert(dst_of(syn));
  }
  EXPECT_EQ(seen.size(), 1u);
  auto other = tcp_packet("192.0.2.101", 2000, "192.0.2.200", 80, kSyn);
  r.run(other);
  EXPECT_NE(dst_of(other), *seen.begin());  // rr moved on for another client
}

TEST(UserspaceEngine, RemovedRealserverKeepsItsConnectionsButGetsNoNewOnes) {
  Rig r;
  r.publish({rs("192.0.2.21"), rs("192.0.2.22")});
  auto a = tcp_packet("192.0.2.100", 3000, "192.0.2.200", 80, kSyn);
  r.run(a);
  const std::string first = dst_of(a);
  const char* keep = first == "192.0.2.21:80" ? "192.0.2.22" : "192.0.2.21";
  r.publish({rs(keep)});
  auto more = tcp_packet("192.0.2.100", 3000, "192.0.2.200", 80, kAck);
  r.run(more);
  EXPECT_EQ(dst_of(more), first);  // established one goes on
  for (uint16_t port = 3001; port < 3005; ++port) {
    auto syn = tcp_packet("192.0.2.100", port, "192.0.2.200", 80, kSyn);
    r.run(syn);
    EXPECT_EQ(dst_of(syn), std::string(keep) + ":80");
  }
}

TEST(UserspaceEngine, DirectRoutingSendsTheUnchangedPacketToTheMac) {
  Rig r;
  L2Info l2;
  l2.route_ok = l2.onlink = l2.mac_ok = true;
  l2.ifindex = 7;
  l2.mac = {0x02, 0, 0, 0, 0, 0x21};
  l2.source = make_address("192.0.2.11");
  r.publish({rs("192.0.2.21", 80, Method::dr)}, {}, {{make_address("192.0.2.21"), l2}});
  auto syn = tcp_packet("192.0.2.100", 4000, "192.0.2.200", 80, kSyn);
  const auto before = syn;
  Decision d = r.run(syn);
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.tx, TxKind::l2);
  EXPECT_EQ(d.ifindex, 7);
  EXPECT_EQ(d.mac, l2.mac);
  EXPECT_EQ(std::vector<uint8_t>(d.tx_data.begin(), d.tx_data.end()), before);
}

TEST(UserspaceEngine, DirectRoutingWithoutAMacDropsAndCounts) {
  Rig r;
  r.publish({rs("192.0.2.21", 80, Method::dr)});
  auto syn = tcp_packet("192.0.2.100", 4001, "192.0.2.200", 80, kSyn);
  EXPECT_EQ(r.run(syn).verdict, Verdict::drop);
  EXPECT_EQ(r.engine.counters().l2_unresolved.load(), 1u);
}

// Snapshots share the entries of services a commit did not touch; the
// engine skips those, but not when the L2 facts changed under them.
TEST(UserspaceEngine, SharedEntriesAreSkippedUnlessTheL2FactsChanged) {
  Rig r;
  VirtualService vs;
  vs.key = r.key;
  vs.scheduler = "rr";
  ForwardingPlan plan;
  plan.put(vs);
  plan.put(r.key, rs("192.0.2.21", 80, Method::dr));
  auto first = std::make_shared<Snapshot>();
  first->set_plan(plan);
  r.slot.publish(first);
  r.engine.apply_snapshot();
  auto syn = tcp_packet("192.0.2.100", 4002, "192.0.2.200", 80, kSyn);
  EXPECT_EQ(r.run(syn).tx, TxKind::none);  // no MAC yet: dropped
  EXPECT_EQ(r.engine.counters().l2_unresolved.load(), 1u);

  // The resolver found the MAC: same service entry object, new L2 facts.
  L2Info l2;
  l2.route_ok = l2.onlink = l2.mac_ok = true;
  l2.ifindex = 7;
  l2.mac = {0x02, 0, 0, 0, 0, 0x21};
  auto second = std::make_shared<Snapshot>(*first);
  second->l2 = std::make_shared<const L2Map>(L2Map{{make_address("192.0.2.21"), l2}});
  ASSERT_EQ(second->services.at(r.key), first->services.at(r.key));
  r.slot.publish(second);
  r.engine.apply_snapshot();
  auto again = tcp_packet("192.0.2.100", 4003, "192.0.2.200", 80, kSyn);
  Decision d = r.run(again);
  EXPECT_EQ(d.tx, TxKind::l2);
  EXPECT_EQ(d.mac, l2.mac);

  // A second service added next to the shared first one: both forward.
  VirtualService other = vs;
  other.key = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.200"), 8080);
  ForwardingPlan more;
  more.put(other);
  more.put(other.key, rs("192.0.2.22", 8080));
  auto third = std::make_shared<Snapshot>(*second);
  third->services.emplace(other.key,
                          std::make_shared<const ServiceEntry>(more.services.at(other.key)));
  r.slot.publish(third);
  r.engine.apply_snapshot();
  auto to_other = tcp_packet("192.0.2.100", 4004, "192.0.2.200", 8080, kSyn);
  r.run(to_other);
  EXPECT_EQ(dst_of(to_other), "192.0.2.22:8080");
  auto to_first = tcp_packet("192.0.2.100", 4005, "192.0.2.200", 80, kSyn);
  EXPECT_EQ(r.run(to_first).tx, TxKind::l2);
}

TEST(UserspaceEngine, TunnelEncapsulatesOrAnswersFragmentationNeeded) {
  Rig r;
  L2Info l2;
  l2.route_ok = l2.onlink = true;
  l2.mtu = 1500;
  l2.source = make_address("192.0.2.11");
  r.publish({rs("192.0.2.21", 80, Method::tun)}, {}, {{make_address("192.0.2.21"), l2}});
  auto syn = tcp_packet("192.0.2.100", 5000, "192.0.2.200", 80, kSyn);
  Decision d = r.run(syn);
  ASSERT_EQ(d.tx, TxKind::raw);
  ASSERT_EQ(d.tx_data.size(), syn.size() + 20);
  EXPECT_EQ(d.tx_data[9], 4);  // IP-in-IP
  EXPECT_EQ(d.tx_dst, IpAddr::from(make_address("192.0.2.21")));
  EXPECT_EQ(std::vector<uint8_t>(d.tx_data.begin() + 20, d.tx_data.end()), syn);
  EXPECT_EQ(d.tx_data[8], 64);           // TTL copied
  EXPECT_EQ(d.tx_data[6] & 0x40, 0x40);  // DF copied
  // A full-size segment of that connection does not fit with the outer header.
  auto big = tcp_packet("192.0.2.100", 5000, "192.0.2.200", 80, kAck, 1460);
  d = r.run(big);
  ASSERT_EQ(d.tx, TxKind::raw);
  EXPECT_EQ(d.tx_dst, IpAddr::from(make_address("192.0.2.100")));
  EXPECT_EQ(d.tx_data[9], 1);   // ICMP
  EXPECT_EQ(d.tx_data[20], 3);  // destination unreachable
  EXPECT_EQ(d.tx_data[21], 4);  // fragmentation needed
  EXPECT_EQ(d.tx_data[26] << 8 | d.tx_data[27], 1480);
  EXPECT_EQ(r.engine.counters().too_big.load(), 1u);
}

TEST(UserspaceEngine, TableLimitDropsAndCounts) {
  SnapshotSlot slot;
  Engine engine{EngineLimits{8, std::chrono::milliseconds(10000)}, slot};
  auto s = std::make_shared<Snapshot>();
  VirtualService vs;
  vs.key = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.200"), 80);
  vs.scheduler = "rr";
  ForwardingPlan plan;
  plan.put(vs);
  plan.put(vs.key, rs("192.0.2.21"));
  s->set_plan(plan);
  slot.publish(s);
  engine.apply_snapshot();
  for (uint16_t port = 100; port < 200; ++port) {
    auto syn = tcp_packet("192.0.2.100", port, "192.0.2.200", 80, kSyn);
    QueuedPacket q;
    q.payload = std::span<uint8_t>(syn.data(), syn.size());
    engine.process(q, 1000);
  }
  engine.housekeeping(1000);
  EXPECT_LE(engine.connections(), 8u);
}

TEST(UserspaceEngine, SyncEmitsOnEstablishedAndTheStandbyAppliesIt) {
  Rig master;
  master.publish({rs("192.0.2.21")});
  master.engine.sync_channel().sending = true;
  auto syn = tcp_packet("192.0.2.100", 6000, "192.0.2.200", 80, kSyn);
  master.run(syn);
  EXPECT_FALSE(master.engine.sync_channel().out.pop());  // SYN_RECV is not synced
  auto ack = tcp_packet("192.0.2.100", 6000, "192.0.2.200", 80, kAck);
  master.run(ack);  // DR-style input-only ACK, or the NAT client ACK: ESTABLISHED
  auto synack = tcp_packet("192.0.2.21", 80, "192.0.2.100", 6000, kSynAck);
  master.run(synack);
  auto ack2 = tcp_packet("192.0.2.100", 6000, "192.0.2.200", 80, kAck);
  master.run(ack2);
  std::optional<SyncRecord> rec;
  while (auto r = master.engine.sync_channel().out.pop())
    rec = r;
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, static_cast<uint16_t>(TcpState::established));
  EXPECT_EQ(rec->cport, 6000);
  EXPECT_EQ(rec->daddr, IpAddr::from(make_address("192.0.2.21")));

  Rig standby;
  standby.publish({rs("192.0.2.21")});
  standby.engine.sync_channel().in.push(*rec);
  standby.engine.drain_sync(2000);
  EXPECT_EQ(standby.engine.counters().sync_applied.load(), 1u);
  // A mid-connection packet on the standby now goes to the same realserver.
  auto mid = tcp_packet("192.0.2.100", 6000, "192.0.2.200", 80, kAck, 10);
  Decision d = standby.run(mid, 2000);
  ASSERT_FALSE(d.payload.empty());
  EXPECT_EQ(dst_of(mid), "192.0.2.21:80");
  // An entry for a service the standby does not have is counted, not kept.
  SyncRecord stray = *rec;
  stray.vport = 81;
  standby.engine.sync_channel().in.push(stray);
  standby.engine.drain_sync(2000);
  EXPECT_EQ(standby.engine.counters().sync_unknown.load(), 1u);
}

}  // namespace
}  // namespace lvsd::forwarding::userspace
