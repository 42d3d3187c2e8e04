#include "forwarding/userspace/engine.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <unordered_map>

#include "forwarding/userspace/packet.hpp"
#include "forwarding/userspace/rewrite.hpp"

namespace lvsd::forwarding::userspace {
namespace {

void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

FwdMethod to_fwd(Method m) {
  switch (m) {
    case Method::dr:
      return FwdMethod::dr;
    case Method::tun:
      return FwdMethod::tun;
    case Method::nat:
      break;
  }
  return FwdMethod::nat;
}

uint8_t proto_number(Protocol p) {
  switch (p) {
    case Protocol::udp:
      return kProtoUdp;
    case Protocol::sctp:
      return kProtoSctp;
    case Protocol::tcp:
      break;
  }
  return kProtoTcp;
}

unsigned prefix_bits(const VirtualService& vs) {
  if (!vs.persistence) return 0;
  if (vs.key.family == Family::inet6) return vs.persistence->prefix;
  uint32_t m = vs.persistence->netmask.to_uint();
  unsigned bits = 0;
  while (bits < 32 && (m & (0x80000000u >> bits)))
    ++bits;
  return bits;
}

struct VipKey {
  IpAddr addr;
  uint16_t port = 0;
  uint8_t proto = 0;
  bool operator==(const VipKey&) const = default;
};

struct VipHash {
  std::size_t operator()(const VipKey& k) const noexcept {
    uint64_t h = 1469598103934665603ull;
    for (uint8_t b : k.addr.b)
      h = (h ^ b) * 1099511628211ull;
    h = (h ^ k.port) * 1099511628211ull;
    h = (h ^ k.proto) * 1099511628211ull;
    return static_cast<std::size_t>(h);
  }
};

}  // namespace

struct Engine::Dest {
  uint32_t id = 0;
  uint32_t service = 0;
  DestKey key;
  IpAddr addr;
  uint16_t port = 0;
  Method method = Method::nat;
  bool live = true;
  uint32_t refs = 0;  // connections and templates pointing here
  std::shared_ptr<LiveCounters> counters = std::make_shared<LiveCounters>();
  bool l2_ok = false;  // DR: MAC known; TUN: route known
  int ifindex = 0;
  std::array<uint8_t, 6> mac{};
  uint32_t mtu = 1500;
  IpAddr source;
};

struct Engine::Service {
  uint32_t id = 0;
  ServiceKey key;
  VirtualService vs;
  std::unique_ptr<schedulers::ScheduledService> sched;
  std::shared_ptr<LiveCounters> counters = std::make_shared<LiveCounters>();
  std::map<DestKey, uint32_t> dests;  // live dests only
  // The snapshot entry (and L2 facts) applied last: a snapshot carrying the
  // same objects changed nothing here.
  std::shared_ptr<const ServiceEntry> entry;
  std::shared_ptr<const L2Map> l2;
  bool live = true;
  uint32_t refs = 0;
  unsigned prefix = 0;
};

struct Engine::Impl {
  explicit Impl(const EngineLimits& l)
      : limits(l), table(ConnTableOptions{l.max_connections, {}, 0}) {
    expired.resize(256);
    tx.resize(65536 + 256);
    icmp.resize(kIcmp6ErrorMax + 64);
  }

  EngineLimits limits;
  std::vector<std::unique_ptr<Service>> services;  // by id; null = free
  std::vector<std::unique_ptr<Dest>> dests;        // by id; null = free
  std::map<ServiceKey, uint32_t> by_key;           // live services
  std::unordered_map<VipKey, uint32_t, VipHash> by_vip;
  std::unordered_map<uint32_t, uint32_t> by_mark;
  ConnTable table;
  std::vector<Removed> expired;
  std::vector<uint8_t> tx;
  std::vector<uint8_t> icmp;
  uint16_t ip_id = 1;
  // Per connection slot: packets seen and when it was last synced (the
  // kernel keeps these in struct ip_vs_conn: in_pkts, sync_endtime).
  struct SyncMeta {
    uint32_t last_s = 0;
    uint16_t pkts = 0;
  };
  std::vector<SyncMeta> sync_meta;
  SyncMeta& meta(uint32_t id) {
    if (id >= sync_meta.size())
      sync_meta.resize(std::max<std::size_t>(id + 1, sync_meta.size() * 2));
    return sync_meta[id];
  }

  template <class T>
  static uint32_t alloc(std::vector<std::unique_ptr<T>>& v) {
    for (uint32_t i = 0; i < v.size(); ++i)
      if (!v[i]) {
        v[i] = std::make_unique<T>();
        v[i]->id = i;
        return i;
      }
    v.push_back(std::make_unique<T>());
    v.back()->id = static_cast<uint32_t>(v.size() - 1);
    return v.back()->id;
  }

  Service* find_service(uint8_t proto, const IpAddr& daddr, uint16_t dport, uint32_t mark) {
    auto it = by_vip.find(VipKey{daddr, dport, proto});
    if (it == by_vip.end()) it = by_vip.find(VipKey{daddr, 0, proto});  // all-port service
    if (it != by_vip.end()) return services[it->second].get();
    if (mark != 0) {
      auto m = by_mark.find(mark);
      if (m != by_mark.end()) {
        Service* s = services[m->second].get();
        if (s->key.family == (daddr.is_v4() ? Family::inet : Family::inet6)) return s;
      }
    }
    return nullptr;
  }

  // DestList accounting, mirrored into the dest's counters for read-back.
  enum class Acct {
    bind_inactive,
    bind_active,
    unbind_inactive,
    unbind_active,
    activate,
    deactivate
  };
  void account(Dest& d, Acct op) {
    Service& s = *services[d.service];
    auto& list = s.sched->dest_list();
    auto idx = list.find(d.key);
    if (idx) {
      switch (op) {
        case Acct::bind_inactive:
          list.bind(*idx, false);
          break;
        case Acct::bind_active:
          list.bind(*idx, true);
          break;
        case Acct::unbind_inactive:
          list.unbind(*idx, false);
          break;
        case Acct::unbind_active:
          list.unbind(*idx, true);
          break;
        case Acct::activate:
          list.activate(*idx);
          break;
        case Acct::deactivate:
          list.deactivate(*idx);
          break;
      }
      const auto& sd = list[*idx];
      d.counters->active.store(static_cast<uint32_t>(std::max(0, sd.active_conns)),
                               std::memory_order_relaxed);
      d.counters->inactive.store(static_cast<uint32_t>(std::max(0, sd.inactive_conns)),
                                 std::memory_order_relaxed);
    } else {  // removed from the service: its connections live on in the trash
      switch (op) {
        case Acct::unbind_inactive:
          list.unbind_trashed(d.key, false);
          break;
        case Acct::unbind_active:
          list.unbind_trashed(d.key, true);
          break;
        case Acct::deactivate:
          list.deactivate_trashed(d.key);
          break;
        default:
          break;
      }
    }
  }

  void apply_change(Dest& d, const StateChange& ch) {
    if (ch.activated()) account(d, Acct::activate);
    if (ch.deactivated()) account(d, Acct::deactivate);
  }

  void release(Dest& d) {
    if (d.refs > 0) --d.refs;
    Service& s = *services[d.service];
    if (s.refs > 0) --s.refs;
    const uint32_t sid = d.service;
    if (!d.live && d.refs == 0) dests[d.id].reset();
    Service* sp = services[sid].get();
    if (sp && !sp->live && sp->refs == 0 && sp->dests.empty()) services[sid].reset();
  }

  // A connection or template left the table.
  void removed(const Removed& r) {
    const Conn& c = r.conn;
    if (c.dest() >= dests.size() || !dests[c.dest()]) return;
    Dest& d = *dests[c.dest()];
    if (c.is_template()) {
      auto p = d.counters->persistent.load(std::memory_order_relaxed);
      d.counters->persistent.store(p > 0 ? p - 1 : 0, std::memory_order_relaxed);
    } else {
      account(d, c.active() ? Acct::unbind_active : Acct::unbind_inactive);
    }
    release(d);
  }
};

Engine::Engine(const EngineLimits& limits, SnapshotSlot& slot)
    : impl_(std::make_unique<Impl>(limits)), slot_(slot) {
  sync_.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

Engine::~Engine() {
  if (sync_.wake_fd >= 0) close(sync_.wake_fd);
}

namespace {

bool tcp_synced_state(uint8_t s) {
  switch (static_cast<TcpState>(s)) {
    case TcpState::established:
    case TcpState::fin_wait:
    case TcpState::close:
    case TcpState::close_wait:
    case TcpState::time_wait:
      return true;
    default:
      return false;
  }
}

SyncRecord record_of(const Conn& c, uint32_t timeout_s, uint32_t fwmark) {
  SyncRecord r;
  r.caddr = c.caddr();
  r.vaddr = c.vaddr();
  r.daddr = c.daddr();
  r.cport = c.cport();
  r.vport = c.vport();
  r.dport = c.dport();
  r.protocol = c.protocol();
  r.method = static_cast<uint8_t>(c.method());
  r.is_template = c.is_template();
  r.inactive = !c.active();
  r.state = c.state();
  r.timeout_s = timeout_s;
  r.fwmark = fwmark;
  return r;
}

}  // namespace

// ip_vs_sync_conn_needed(), with two lvsd additions: an entry is sent when it
// enters ESTABLISHED (the kernel waits for the threshold packet), and again
// whenever half of its timeout passed since the last send while packets keep
// it alive on the master (the kernel, with sync_refresh_period 0, may let an
// idle-but-alive connection expire on the backup). UDP entries are sent when
// created. Templates go along with the connections they control.
void Engine::emit_sync(uint32_t id, uint64_t now_ms, bool force) {
  Impl& m = *impl_;
  const Conn& c = m.table.conn(id);
  auto& meta = m.meta(id);
  ++meta.pkts;
  const bool tcp = c.protocol() == kProtoTcp;
  if (tcp && !tcp_synced_state(c.state())) return;
  const uint32_t now_s = static_cast<uint32_t>(now_ms / 1000);
  const uint32_t timeout_s = m.table.timeout_ms(id) / 1000;
  const unsigned period = sync_.period ? sync_.period : 50;
  bool send = force || (meta.pkts % period) == sync_.threshold ||
              (now_s - meta.last_s) * 2 >= std::max<uint32_t>(timeout_s, 2);
  if (!send) return;
  meta.last_s = now_s;
  const Service* s = c.service() < m.services.size() ? m.services[c.service()].get() : nullptr;
  const uint32_t fwmark = s ? s->key.fwmark : 0;
  if (c.control() != kNoConn) {
    const uint32_t t = c.control();
    if (sync_.out.push(record_of(m.table.conn(t), m.table.timeout_ms(t) / 1000, fwmark)))
      bump(counters_.sync_queued);
    else
      bump(counters_.sync_queue_full);
  }
  if (sync_.out.push(record_of(c, timeout_s, fwmark)))
    bump(counters_.sync_queued);
  else
    bump(counters_.sync_queue_full);
}

void Engine::drain_sync(uint64_t now_ms) {
  Impl& m = *impl_;
  uint64_t junk;
  (void)!read(sync_.wake_fd, &junk, sizeof junk);
  for (int i = 0; i < 4096; ++i) {
    auto rec = sync_.in.pop();
    if (!rec) break;
    // The service, by the entry's virtual address or fwmark (templates of
    // fwmark services carry protocol 0 and the mark).
    Service* s = nullptr;
    if (rec->fwmark != 0) {
      auto it = m.by_mark.find(rec->fwmark);
      if (it != m.by_mark.end()) s = m.services[it->second].get();
    }
    if (s == nullptr && rec->protocol != 0)
      s = m.find_service(rec->protocol, rec->vaddr, rec->vport, 0);
    Dest* d = nullptr;
    if (s != nullptr) {
      auto it = s->dests.find(DestKey{rec->daddr.to_address(), rec->dport});
      if (it != s->dests.end()) {
        d = m.dests[it->second].get();
      } else if (rec->is_template) {  // template port 0: match the address
        for (auto& [dk, id] : s->dests)
          if (IpAddr::from(dk.address) == rec->daddr) d = m.dests[id].get();
      }
    }
    if (d == nullptr) {
      bump(counters_.sync_unknown);
      continue;
    }
    SyncSpec spec;
    spec.conn =
        ConnSpec{rec->protocol, rec->caddr,        rec->cport, rec->vaddr, rec->vport, rec->daddr,
                 rec->dport,    to_fwd(d->method), s->id,      d->id,      kNoConn};
    spec.is_template = rec->is_template;
    spec.state = static_cast<uint8_t>(rec->state);
    spec.inactive = rec->inactive;
    spec.timeout_ms = rec->timeout_s * 1000;
    SyncResult r = m.table.insert_synced(spec, now_ms);
    if (r.evicted) m.removed(r.victim);
    if (r.replaced) m.removed(r.old);
    switch (r.outcome) {
      case SyncResult::Outcome::created:
        m.meta(r.id) = Impl::SyncMeta{static_cast<uint32_t>(now_ms / 1000), 0};
        ++d->refs;
        ++s->refs;
        if (rec->is_template)
          d->counters->persistent.store(d->counters->persistent.load(std::memory_order_relaxed) + 1,
                                        std::memory_order_relaxed);
        else
          m.account(*d, r.is_active ? Impl::Acct::bind_active : Impl::Acct::bind_inactive);
        bump(counters_.sync_applied);
        break;
      case SyncResult::Outcome::updated:
        if (!rec->is_template) {
          if (!r.was_active && r.is_active) m.account(*d, Impl::Acct::activate);
          if (r.was_active && !r.is_active) m.account(*d, Impl::Acct::deactivate);
        }
        bump(counters_.sync_applied);
        break;
      case SyncResult::Outcome::ignored:
        break;
      case SyncResult::Outcome::refused:
        bump(counters_.sync_refused);
        break;
    }
  }
  connections_.store(m.table.size(), std::memory_order_relaxed);
}

uint64_t Engine::apply_snapshot() {
  const uint64_t version = slot_.version();
  auto snap = slot_.load();
  if (!snap) return version;
  Impl& m = *impl_;

  ConnTimeouts t;
  const auto syn_ms = static_cast<uint32_t>(m.limits.syn_recv_timeout.count());
  t.tcp = TcpTimeouts::configured(snap->timeouts.tcp * 1000, snap->timeouts.tcp_fin * 1000, syn_ms);
  t.udp_ms = snap->timeouts.udp * 1000;
  m.table.set_timeouts(t);

  std::set<ServiceKey> seen;
  for (const auto& [key, entry_ptr] : snap->services) {
    seen.insert(key);
    Service* s = nullptr;
    auto it = m.by_key.find(key);
    if (it != m.by_key.end()) {
      const Service& same = *m.services[it->second];
      if (same.entry == entry_ptr && same.l2 == snap->l2) continue;
    }
    const ServiceEntry& entry = *entry_ptr;
    const VirtualService& vs = entry.service;
    schedulers::SchedulerOptions so;
    so.flags = vs.scheduler_flags;
    if (it == m.by_key.end()) {
      uint32_t id = Impl::alloc(m.services);
      s = m.services[id].get();
      s->key = key;
      s->sched = std::make_unique<schedulers::ScheduledService>(vs.scheduler, so);
      m.by_key[key] = id;
    } else {
      s = m.services[it->second].get();
      if (s->vs.scheduler != vs.scheduler || !(s->vs.scheduler_flags == vs.scheduler_flags)) {
        // A new scheduler starts from the current list and its counts.
        auto fresh = std::make_unique<schedulers::ScheduledService>(vs.scheduler, so);
        const auto& old = s->sched->dests();
        for (auto i = old.size(); i-- > 0;) {
          const auto& od = old[i];
          const auto& rs = entry.dests.count(od.key) ? entry.dests.at(od.key) : RealServer{};
          if (!entry.dests.count(od.key)) continue;
          fresh->add(rs);
          if (auto ni = fresh->dests().find(od.key))
            fresh->set_counts(*ni, od.active_conns, od.inactive_conns);
        }
        s->sched = std::move(fresh);
      }
    }
    s->vs = vs;
    s->live = true;
    s->prefix = prefix_bits(vs);
    s->entry = entry_ptr;
    s->l2 = snap->l2;

    // Dests: removed, then added/updated.
    for (auto dit = s->dests.begin(); dit != s->dests.end();) {
      if (entry.dests.count(dit->first)) {
        ++dit;
        continue;
      }
      s->sched->remove(dit->first);
      Dest& d = *m.dests[dit->second];
      d.live = false;
      if (d.refs == 0) m.dests[d.id].reset();
      dit = s->dests.erase(dit);
    }
    for (const auto& [dk, rs] : entry.dests) {
      Dest* d = nullptr;
      auto dit = s->dests.find(dk);
      if (dit == s->dests.end()) {
        uint32_t id = Impl::alloc(m.dests);
        d = m.dests[id].get();
        d->service = s->id;
        d->key = dk;
        s->dests[dk] = id;
        if (!s->sched->dests().find(dk)) s->sched->add(rs);
      } else {
        d = m.dests[dit->second].get();
        s->sched->update(rs);
      }
      d->addr = IpAddr::from(rs.address);
      d->port = rs.port;
      d->method = rs.method;
      auto l2 = snap->l2->find(rs.address);
      d->l2_ok = false;
      if (l2 != snap->l2->end()) {
        const L2Info& li = l2->second;
        d->ifindex = li.ifindex;
        d->mac = li.mac;
        d->mtu = li.mtu ? li.mtu : 1500;
        d->source = li.source.is_unspecified() ? IpAddr{} : IpAddr::from(li.source);
        d->l2_ok = rs.method == Method::dr ? (li.route_ok && li.mac_ok && li.onlink)
                                           : (li.route_ok && !li.source.is_unspecified());
      }
    }
  }
  for (auto it = m.by_key.begin(); it != m.by_key.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    Service& s = *m.services[it->second];
    for (auto& [dk, id] : s.dests) {
      Dest& d = *m.dests[id];
      d.live = false;
      if (d.refs == 0) m.dests[id].reset();
    }
    s.dests.clear();
    s.live = false;
    if (s.refs == 0) m.services[s.id].reset();
    it = m.by_key.erase(it);
  }
  m.by_vip.clear();
  m.by_mark.clear();
  auto index = std::make_shared<StatsIndex>();
  index->snapshot_version = snap->version;
  for (const auto& [key, id] : m.by_key) {
    const Service& s = *m.services[id];
    if (key.is_fwmark())
      m.by_mark[key.fwmark] = id;
    else
      m.by_vip[VipKey{IpAddr::from(key.address), key.port, proto_number(key.protocol)}] = id;
    auto& is = index->services[key];
    is.counters = s.counters;
    for (const auto& [dk, did] : s.dests)
      is.dests[dk] = m.dests[did]->counters;
  }
  std::atomic_store_explicit(&stats_index_, std::shared_ptr<const StatsIndex>(std::move(index)),
                             std::memory_order_release);
  bump(counters_.snapshots);
  return version;
}

// A full resync: every connection in a synced state and every template, a
// bounded number of table slots per call, pausing while the ring is full.
void Engine::resync_step(uint64_t now_ms) {
  Impl& m = *impl_;
  if (!resync_running_) {
    if (!sync_.resync_requested.load(std::memory_order_acquire)) return;
    resync_running_ = true;
    resync_cursor_ = 0;
  }
  const uint32_t now_s = static_cast<uint32_t>(now_ms / 1000);
  bool full = false;
  ConnId stopped_at = kNoConn;
  ConnId next = m.table.visit(resync_cursor_, 4096, [&](ConnId id, const Conn& c) {
    if (full) return;
    if (!c.is_template() && c.protocol() == kProtoTcp && !tcp_synced_state(c.state())) return;
    if (sync_.out.size() + 64 >= sync_.out.capacity()) {
      full = true;
      stopped_at = id;
      return;
    }
    const Service* s = c.service() < m.services.size() ? m.services[c.service()].get() : nullptr;
    if (sync_.out.push(record_of(c, c.is_template() ? 0 : m.table.timeout_ms(id) / 1000,
                                 s ? s->key.fwmark : 0))) {
      bump(sync_.resync_entries);
      if (!c.is_template()) m.meta(id).last_s = now_s;
    }
  });
  if (full) {  // resume at the first entry not queued
    resync_cursor_ = stopped_at;
    return;
  }
  if (next == kNoConn) {
    resync_running_ = false;
    sync_.resync_requested.store(false, std::memory_order_release);
    bump(sync_.resyncs);
  } else {
    resync_cursor_ = next;
  }
}

void Engine::housekeeping(uint64_t now_ms) {
  Impl& m = *impl_;
  resync_step(now_ms);
  for (int round = 0; round < 8; ++round) {
    ExpireResult r = m.table.expire(now_ms, std::span<Removed>(m.expired));
    for (std::size_t i = 0; i < r.removed; ++i)
      m.removed(m.expired[i]);
    bump(counters_.expired, r.removed);
    if (r.done) break;
  }
  connections_.store(m.table.size(), std::memory_order_relaxed);
}

Decision Engine::process(QueuedPacket& qp, uint64_t now) {
  Impl& m = *impl_;
  bump(counters_.packets);
  Decision accept;
  Decision drop;
  drop.verdict = Verdict::drop;
  std::span<uint8_t> pkt = qp.payload;
  ParsedPacket p = parse(pkt);
  if (!p.ok()) {
    bump(counters_.malformed);
    return drop;
  }
  if (p.is_fragment()) {
    bump(counters_.fragments);
    return accept;
  }
  const bool v6 = p.family == 6;

  // Sends a client-side packet of connection `c` to its realserver.
  auto forward_in = [&](Dest& d, const IpAddr& daddr, uint16_t dport) -> Decision {
    switch (d.method) {
      case Method::nat: {
        if (p.icmp_error) {
          if (icmp_error_nat_in(pkt, p, daddr, dport) != RewriteStatus::kOk) return drop;
          bump(counters_.icmp_translated);
        } else if (nat_in(pkt, p, daddr, dport, qp.csum_not_ready) != RewriteStatus::kOk) {
          bump(counters_.malformed);
          return drop;
        }
        Decision dec;
        dec.payload = pkt;
        return dec;
      }
      case Method::dr: {
        if (!d.l2_ok) {
          bump(counters_.l2_unresolved);
          return drop;
        }
        Decision dec;
        dec.verdict = Verdict::drop;
        dec.tx = TxKind::l2;
        dec.tx_data = pkt;
        dec.ipv6 = v6;
        dec.ifindex = d.ifindex;
        dec.mac = d.mac;
        return dec;
      }
      case Method::tun: {
        if (!d.l2_ok) {
          bump(counters_.l2_unresolved);
          return drop;
        }
        TunnelParams tp;
        tp.saddr = d.source;
        tp.daddr = d.addr;
        tp.ip_id = m.ip_id++;
        MtuCheck mc = tunnel_mtu_check(p, pkt.size(), d.addr, d.mtu);
        if (mc.verdict == MtuVerdict::kSendTooBig) {
          bump(counters_.too_big);
          std::size_t n =
              v6 ? build_icmp6_packet_too_big(m.icmp, pkt, p, mc.mtu, p.tuple.daddr)
                 : build_icmp4_frag_needed(m.icmp, pkt, p, static_cast<uint16_t>(mc.mtu),
                                           p.tuple.daddr, m.ip_id++);
          if (n == 0) return drop;
          Decision dec;
          dec.verdict = Verdict::drop;
          dec.tx = TxKind::raw;
          dec.tx_data = std::span<const uint8_t>(m.icmp.data(), n);
          dec.ipv6 = v6;
          dec.tx_dst = p.tuple.saddr;
          return dec;
        }
        if (mc.verdict == MtuVerdict::kDropTooBig || mc.verdict == MtuVerdict::kPathMtuTooSmall) {
          bump(counters_.too_big);
          return drop;
        }
        tp.copy_df = mc.verdict != MtuVerdict::kFragmentOuter;
        std::size_t n = encapsulate(m.tx, pkt, p, tp);
        if (n == 0) return drop;
        Decision dec;
        dec.verdict = Verdict::drop;
        dec.tx = TxKind::raw;
        dec.tx_data = std::span<const uint8_t>(m.tx.data(), n);
        dec.ipv6 = !d.addr.is_v4();
        dec.tx_dst = d.addr;
        return dec;
      }
    }
    return drop;
  };

  if (p.icmp_error) {
    if (!p.inner.has_ports) {
      bump(counters_.not_ours);
      return accept;
    }
    // From the client side, about a packet the VIP sent: the connection's
    // client->VIP tuple is the quoted one reversed.
    ConnId id = m.table.lookup_in(p.inner.tuple.reversed());
    if (id != kNoConn) {
      const Conn& c = m.table.conn(id);
      Dest* d = c.dest() < m.dests.size() ? m.dests[c.dest()].get() : nullptr;
      if (d == nullptr) return accept;
      d->counters->add_in(pkt.size());
      return forward_in(*d, c.daddr(), c.dport());
    }
    // From a NAT realserver, about a packet it got from the client.
    id = m.table.lookup_out(p.inner.tuple.reversed());
    if (id != kNoConn) {
      const Conn& c = m.table.conn(id);
      if (icmp_error_nat_out(pkt, p, c.vaddr(), c.vport()) != RewriteStatus::kOk) return drop;
      bump(counters_.icmp_translated);
      Decision dec;
      dec.payload = pkt;
      return dec;
    }
    bump(counters_.not_ours);
    return accept;
  }
  if (!p.has_ports()) {
    bump(counters_.not_ours);
    return accept;
  }
  const bool tcp = p.tuple.protocol == kProtoTcp;

  ConnId id = m.table.lookup_in(p.tuple);
  if (id != kNoConn) {
    const Conn& c = m.table.conn(id);
    Dest* d = c.dest() < m.dests.size() ? m.dests[c.dest()].get() : nullptr;
    if (d == nullptr) return accept;
    StateChange ch = tcp ? m.table.on_tcp_packet(id, PacketDir::from_client, p.tcp_flags, now)
                         : m.table.on_packet(id, now);
    m.apply_change(*d, ch);
    d->counters->add_in(pkt.size());
    if (Service* s = m.services[d->service].get()) s->counters->add_in(pkt.size());
    if (sync_.sending.load(std::memory_order_relaxed))
      emit_sync(id, now, tcp && ch.state_changed());
    const Conn& c2 = m.table.conn(id);
    return forward_in(*d, c2.daddr(), c2.dport());
  }
  id = m.table.lookup_out(p.tuple);
  if (id != kNoConn) {
    const Conn& c = m.table.conn(id);
    Dest* d = c.dest() < m.dests.size() ? m.dests[c.dest()].get() : nullptr;
    StateChange ch = tcp ? m.table.on_tcp_packet(id, PacketDir::from_server, p.tcp_flags, now)
                         : m.table.on_packet(id, now);
    if (tcp && ch.state_changed() && sync_.sending.load(std::memory_order_relaxed)) {
      auto& meta = m.meta(id);
      --meta.pkts;  // emit_sync counts client packets only (in_pkts)
      emit_sync(id, now, true);
    }
    if (d) {
      m.apply_change(*d, ch);
      d->counters->add_out(pkt.size());
      if (Service* s = m.services[d->service].get()) s->counters->add_out(pkt.size());
    }
    const Conn& c2 = m.table.conn(id);
    if (nat_out(pkt, p, c2.vaddr(), c2.vport(), qp.csum_not_ready) != RewriteStatus::kOk) {
      bump(counters_.malformed);
      return drop;
    }
    Decision dec;
    dec.payload = pkt;
    return dec;
  }

  // A new connection?
  Service* s = m.find_service(p.tuple.protocol, p.tuple.daddr, p.tuple.dport, qp.mark);
  if (s == nullptr) {
    bump(counters_.not_ours);
    return accept;
  }
  if (tcp && (p.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst | kTcpFin)) != kTcpSyn) {
    // ip_vs schedules TCP only on a SYN (no sloppy_tcp); the local stack
    // answers the rest (a reset: the VIP is local).
    bump(counters_.not_ours);
    return accept;
  }

  schedulers::Packet sp;
  sp.saddr = p.tuple.saddr.to_address();
  sp.daddr = p.tuple.daddr.to_address();
  sp.sport = p.tuple.sport;
  sp.dport = p.tuple.dport;
  sp.now = std::chrono::steady_clock::time_point(std::chrono::milliseconds(now));

  Dest* d = nullptr;
  ConnId tmpl = kNoConn;
  auto pick = [&]() -> Dest* {
    auto idx = s->sched->pick(sp);
    if (!idx) return nullptr;
    auto it = s->dests.find(s->sched->dests()[*idx].key);
    return it == s->dests.end() ? nullptr : m.dests[it->second].get();
  };
  auto make_room_notice = [&](const InsertResult& r) {
    if (r.evicted) m.removed(r.victim);
  };

  if (s->vs.persistence) {
    const uint32_t tmo = s->vs.persistence->timeout * 1000;
    TemplateKey tk = TemplateKey::make(p.tuple.protocol, p.tuple.saddr, s->prefix, p.tuple.daddr,
                                       p.tuple.dport, s->key.port, s->key.fwmark);
    tmpl = m.table.lookup_template(tk);
    if (tmpl != kNoConn) {
      const Conn& t = m.table.conn(tmpl);
      Dest* td = t.dest() < m.dests.size() ? m.dests[t.dest()].get() : nullptr;
      // ip_vs_check_template(): a template whose dest left the service is
      // invalidated and the client scheduled again.
      if (td && td->live && td->service == s->id) {
        d = td;
        m.table.touch_template(tmpl, tmo, now);
      } else {
        m.table.invalidate_template(tmpl);
        tmpl = kNoConn;
      }
    }
    if (d == nullptr) {
      d = pick();
      if (d == nullptr) {
        bump(counters_.no_dest);
        return drop;
      }
      TemplateSpec ts;
      ts.key = tk;
      ts.daddr = d->addr;
      ts.dport = TemplateKey::template_dport(p.tuple.dport, s->key.port, d->port);
      ts.method = to_fwd(d->method);
      ts.service = s->id;
      ts.dest = d->id;
      InsertResult r = m.table.insert_template(ts, tmo, now);
      make_room_notice(r);
      if (r.ok()) {
        tmpl = r.id;
        ++d->refs;
        ++s->refs;
        d->counters->persistent.store(d->counters->persistent.load(std::memory_order_relaxed) + 1,
                                      std::memory_order_relaxed);
      }
    }
  } else {
    d = pick();
    if (d == nullptr) {
      bump(counters_.no_dest);
      return drop;
    }
  }

  const uint16_t dport = d->port != 0 ? d->port : p.tuple.dport;
  d->counters->add_conn();
  s->counters->add_conn();
  d->counters->add_in(pkt.size());
  s->counters->add_in(pkt.size());

  // One-packet scheduling (UDP): this datagram alone, no entry.
  if (!tcp && s->vs.one_packet) return forward_in(*d, d->addr, dport);

  ConnSpec spec = ConnSpec::from_packet(p.tuple, d->addr, dport, to_fwd(d->method), s->id, d->id);
  spec.control = tmpl;
  InsertResult r = m.table.insert(spec, now);
  make_room_notice(r);
  if (!r.ok()) {
    bump(counters_.table_full);
    return drop;
  }
  ++d->refs;
  ++s->refs;
  m.account(*d, m.table.conn(r.id).active() ? Impl::Acct::bind_active : Impl::Acct::bind_inactive);
  StateChange ch = tcp ? m.table.on_tcp_packet(r.id, PacketDir::from_client, p.tcp_flags, now)
                       : m.table.on_packet(r.id, now);
  m.apply_change(*d, ch);
  connections_.store(m.table.size(), std::memory_order_relaxed);
  m.meta(r.id) = Impl::SyncMeta{static_cast<uint32_t>(now / 1000), 0};
  if (sync_.sending.load(std::memory_order_relaxed)) emit_sync(r.id, now, !tcp);
  return forward_in(*d, d->addr, dport);
}

}  // namespace lvsd::forwarding::userspace
