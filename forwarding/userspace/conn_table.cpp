#include "forwarding/userspace/conn_table.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <random>
#include <type_traits>

#include "daemon/config/config.hpp"

namespace lvsd::forwarding::userspace {

namespace {

constexpr uint16_t kFtpPort = 21;  // FTPPORT in ip_vs_core.c
constexpr std::size_t kInitialBuckets = 256;
constexpr uint32_t kMigrateSteps = 4;  // old buckets moved per insert/expire

uint32_t to_ms(std::chrono::milliseconds d) {
  const auto c = d.count();
  if (c <= 0) return 0;
  return c > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max()
                                                  : static_cast<uint32_t>(c);
}

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The 128-bit multiply-fold of wyhash: keyed by the secrets xored into both
// operands, so chains cannot be predicted without the seed.
inline uint64_t mum(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::size_t round_up_pow2(std::size_t n) {
  std::size_t p = kInitialBuckets;
  while (p < n)
    p <<= 1;
  return p;
}

// Hash kinds: a connection's client-side key, a template's key, a NAT reply's key.
constexpr uint8_t kKindConn = 0;
constexpr uint8_t kKindTemplate = 1;
constexpr uint8_t kKindOut = 2;

}  // namespace

// ------------------------------------------------------------------ options

ConnTimeouts ConnTimeouts::from_config(const config::Forwarding& f) {
  ConnTimeouts t;
  t.tcp = TcpTimeouts::configured(to_ms(f.timeouts.tcp), to_ms(f.timeouts.tcp_fin),
                                  to_ms(f.userspace.syn_recv_timeout));
  if (to_ms(f.timeouts.udp) > 0) t.udp_ms = to_ms(f.timeouts.udp);
  return t;
}

ConnTableOptions ConnTableOptions::from_config(const config::Forwarding& f) {
  ConnTableOptions o;
  o.max_connections = f.userspace.max_connections;
  o.timeouts = ConnTimeouts::from_config(f);
  return o;
}

// ------------------------------------------------------------------ templates

IpAddr TemplateKey::fwmark_addr(uint32_t fwmark) {
  const uint8_t be[4] = {static_cast<uint8_t>(fwmark >> 24), static_cast<uint8_t>(fwmark >> 16),
                         static_cast<uint8_t>(fwmark >> 8), static_cast<uint8_t>(fwmark)};
  return IpAddr::v4(be);
}

TemplateKey TemplateKey::make(uint8_t protocol, const IpAddr& client, unsigned prefix_bits,
                              const IpAddr& vip, uint16_t dport, uint16_t service_port,
                              uint32_t fwmark) {
  TemplateKey k;
  k.protocol = protocol;
  k.client = client.masked(prefix_bits);
  k.vaddr = vip;
  k.vport = 0;
  if (dport == service_port) {
    if (service_port != kFtpPort) k.vport = dport;
  } else if (fwmark != 0) {
    k.protocol = 0;  // IPPROTO_IP
    k.vaddr = fwmark_addr(fwmark);
  }
  return k;
}

uint16_t TemplateKey::template_dport(uint16_t dport, uint16_t service_port, uint16_t dest_port) {
  return (dport == service_port && service_port != kFtpPort) ? dest_port : 0;
}

// ------------------------------------------------------------------ ChainIndex

namespace detail {

ChainIndex::~ChainIndex() {
  std::free(cur_);
  std::free(old_);
}

void ChainIndex::reset(std::size_t buckets) {
  std::free(cur_);
  std::free(old_);
  old_ = nullptr;
  old_mask_ = 0;
  moved_ = 0;
  cur_ = static_cast<uint32_t*>(std::calloc(buckets, sizeof(uint32_t)));
  if (cur_ == nullptr) throw std::bad_alloc();
  mask_ = static_cast<uint32_t>(buckets - 1);
}

void ChainIndex::maybe_grow(std::size_t entries) {
  if (old_ != nullptr || entries <= buckets()) return;
  const std::size_t n = buckets() * 2;
  auto* fresh = static_cast<uint32_t*>(std::calloc(n, sizeof(uint32_t)));
  if (fresh == nullptr) throw std::bad_alloc();
  old_ = cur_;
  old_mask_ = mask_;
  moved_ = 0;
  cur_ = fresh;
  mask_ = static_cast<uint32_t>(n - 1);
}

void ChainIndex::finish() {
  std::free(old_);
  old_ = nullptr;
  old_mask_ = 0;
  moved_ = 0;
}

std::size_t ChainIndex::bytes() const {
  std::size_t b = buckets() * sizeof(uint32_t);
  if (old_ != nullptr) b += (static_cast<std::size_t>(old_mask_) + 1) * sizeof(uint32_t);
  return b;
}

}  // namespace detail

// ------------------------------------------------------------------ ConnTable

ConnTable::ConnTable(const ConnTableOptions& o) : timeouts_(o.timeouts), max_(o.max_connections) {
  uint64_t seed = o.hash_seed;
  if (seed == 0) {
    std::random_device rd;
    seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  for (auto& s : secret_)
    s = splitmix64(seed) | 1;
  in_.reset(kInitialBuckets);
  out_.reset(kInitialBuckets);
  list_head_.assign(kLists, 0);
}

ConnTable::~ConnTable() = default;

uint64_t ConnTable::hash_key(const IpAddr& a, const IpAddr& b, uint16_t pa, uint16_t pb,
                             uint8_t proto, uint8_t kind) const {
  uint64_t h = mum(load64(a.b.data()) ^ secret_[0], load64(a.b.data() + 8) ^ secret_[1]);
  h = mum(load64(b.b.data()) ^ secret_[2], load64(b.b.data() + 8) ^ h);
  const uint64_t w =
      uint64_t{pa} | (uint64_t{pb} << 16) | (uint64_t{proto} << 32) | (uint64_t{kind} << 40);
  return mum(w ^ secret_[3], h ^ secret_[4]);
}

uint64_t ConnTable::hash_in(const Conn& c) const {
  return hash_key(c.caddr_, c.vaddr_, c.cport_, c.vport_, c.protocol_,
                  c.is_template() ? kKindTemplate : kKindConn);
}

uint64_t ConnTable::hash_out(const Conn& c) const {
  return hash_key(c.daddr_, c.caddr_, c.dport_, c.cport_, c.protocol_, kKindOut);
}

ConnId ConnTable::find_in(const IpAddr& caddr, uint16_t cport, const IpAddr& vaddr, uint16_t vport,
                          uint8_t proto, bool tmpl) const {
  const uint64_t h = hash_key(caddr, vaddr, cport, vport, proto, tmpl ? kKindTemplate : kKindConn);
  for (uint32_t e = in_.head(h); e != 0;) {
    const Conn& c = at(e - 1);
    if (c.cport_ == cport && c.vport_ == vport && c.protocol_ == proto && c.is_template() == tmpl &&
        c.caddr_ == caddr && c.vaddr_ == vaddr)
      return e - 1;
    e = c.next_in_;
  }
  return kNoConn;
}

ConnId ConnTable::lookup_in(const FiveTuple& t) const {
  return find_in(t.saddr, t.sport, t.daddr, t.dport, t.protocol, false);
}

ConnId ConnTable::lookup_out(const FiveTuple& t) const {
  // The reply comes from daddr:dport to caddr:cport.
  const uint64_t h = hash_key(t.saddr, t.daddr, t.sport, t.dport, t.protocol, kKindOut);
  for (uint32_t e = out_.head(h); e != 0;) {
    const Conn& c = at(e - 1);
    if (c.dport_ == t.sport && c.cport_ == t.dport && c.protocol_ == t.protocol &&
        c.daddr_ == t.saddr && c.caddr_ == t.daddr)
      return e - 1;
    e = c.next_out_;
  }
  return kNoConn;
}

ConnId ConnTable::lookup_template(const TemplateKey& k) const {
  return find_in(k.client, 0, k.vaddr, k.vport, k.protocol, true);
}

void ConnTable::link_in(ConnId id) {
  Conn& c = at(id);
  uint32_t& h = in_.head(hash_in(c));
  c.next_in_ = h;
  h = id + 1;
}

void ConnTable::unlink_in(ConnId id) {
  Conn& c = at(id);
  uint32_t* p = &in_.head(hash_in(c));
  while (*p != id + 1) {
    assert(*p != 0);
    p = &at(*p - 1).next_in_;
  }
  *p = c.next_in_;
  c.next_in_ = 0;
}

void ConnTable::link_out(ConnId id) {
  Conn& c = at(id);
  uint32_t& h = out_.head(hash_out(c));
  c.next_out_ = h;
  h = id + 1;
  c.flags_ |= Conn::kOutHashed;
  ++out_count_;
}

void ConnTable::unlink_out(ConnId id) {
  Conn& c = at(id);
  uint32_t* p = &out_.head(hash_out(c));
  while (*p != id + 1) {
    assert(*p != 0);
    p = &at(*p - 1).next_out_;
  }
  *p = c.next_out_;
  c.next_out_ = 0;
  c.flags_ &= static_cast<uint16_t>(~Conn::kOutHashed);
  --out_count_;
}

void ConnTable::grow_indexes(uint32_t steps) {
  in_.maybe_grow(count_);
  out_.maybe_grow(out_count_);
  if (in_.migrating())
    in_.migrate(
        steps, [this](uint32_t e) -> uint32_t& { return at(e - 1).next_in_; },
        [this](uint32_t e) { return hash_in(at(e - 1)); });
  if (out_.migrating())
    out_.migrate(
        steps, [this](uint32_t e) -> uint32_t& { return at(e - 1).next_out_; },
        [this](uint32_t e) { return hash_out(at(e - 1)); });
}

// ------------------------------------------------------------------ storage

void ConnTable::start_clock(uint64_t now) {
  if (clock_started_) return;
  clock_started_ = true;
  cursor_tick_ = now / kWheelTickMs;
}

ConnId ConnTable::alloc_slot() {
  if (free_head_ != 0) {
    const ConnId id = free_head_ - 1;
    free_head_ = at(id).next_;
    at(id).next_ = 0;
    return id;
  }
  if (allocated_ == chunks_.size() * kChunkEntries) add_chunk();
  ::new (static_cast<void*>(&at(allocated_))) Conn();
  return allocated_++;
}

void ConnTable::ChunkFree::operator()(Conn* p) const {
  ::operator delete(p);
}

void ConnTable::add_chunk() {
  static_assert(std::is_trivially_destructible_v<Conn>);
  chunks_.emplace_back(static_cast<Conn*>(::operator new(kChunkEntries * sizeof(Conn))));
}

void ConnTable::free_slot(ConnId id) {
  Conn& c = at(id);
  c = Conn{};
  c.next_ = free_head_;
  free_head_ = id + 1;
}

void ConnTable::reserve(std::size_t n) {
  n = std::min<std::size_t>(n, max_);
  while (chunks_.size() * kChunkEntries < n)
    add_chunk();
  if (count_ == 0) {
    in_.reset(round_up_pow2(n));
    out_.reset(round_up_pow2(n));
  }
}

std::size_t ConnTable::bytes_allocated() const {
  return chunks_.size() * kChunkEntries * sizeof(Conn) + chunks_.capacity() * sizeof(chunks_[0]) +
         in_.bytes() + out_.bytes() + list_head_.capacity() * sizeof(uint32_t);
}

bool ConnTable::make_room(bool& evicted, Removed& victim) {
  evicted = false;
  if (count_ < max_) return true;
  // The oldest embryonic connection: the least recently refreshed FIFO head.
  int best = -1;
  uint64_t best_time = 0;
  for (uint32_t f = 0; f < kFifos; ++f) {
    const uint32_t h = list_head_[kWheelSlots + f];
    if (h == 0) continue;
    const uint64_t t = at(h - 1).time_;
    if (best < 0 || t < best_time) {
      best = static_cast<int>(f);
      best_time = t;
    }
  }
  if (best < 0 || count_ > max_) {  // over a lowered limit: refuse, do not evict
    ++counters_.full_drops;
    return false;
  }
  victim = remove(list_head_[kWheelSlots + static_cast<uint32_t>(best)] - 1, RemoveReason::evicted);
  evicted = true;
  ++counters_.evictions;
  return true;
}

Removed ConnTable::remove(ConnId id, RemoveReason why) {
  Conn& c = at(id);
  Removed r{c, why};
  if ((c.flags_ & Conn::kUnhashed) == 0) unlink_in(id);
  if ((c.flags_ & Conn::kOutHashed) != 0) unlink_out(id);
  list_unlink(id);
  if (c.is_template()) {
    --templates_;
  } else if (c.control_ != 0) {
    Conn& t = at(c.control_ - 1);
    assert(t.is_template() && t.control_ > 0);
    --t.control_;
  }
  --count_;
  free_slot(id);
  return r;
}

// ------------------------------------------------------------------ timers

int ConnTable::fifo_of(TcpState s) {
  switch (s) {
    case TcpState::none:
      return 0;
    case TcpState::syn_sent:
      return 1;
    case TcpState::syn_recv:
      return 2;
    case TcpState::synack:
      return 3;
    default:
      return -1;
  }
}

namespace {
constexpr TcpState kFifoState[4] = {TcpState::none, TcpState::syn_sent, TcpState::syn_recv,
                                    TcpState::synack};
}

uint32_t ConnTable::state_timeout(const Conn& c) const {
  if (c.protocol_ == kProtoTcp) return timeouts_.tcp[c.tcp_state()];
  return timeouts_.udp_ms;
}

void ConnTable::list_unlink(ConnId id) {
  Conn& c = at(id);
  if (paused_ && resume_ == id + 1) resume_ = c.next_;
  if (c.prev_ != 0)
    at(c.prev_ - 1).next_ = c.next_;
  else
    list_head_[c.list_] = c.next_;
  if (c.next_ != 0) {
    at(c.next_ - 1).prev_ = c.prev_;
  } else if (c.list_ >= kWheelSlots) {
    fifo_tail_[c.list_ - kWheelSlots] = c.prev_;
  }
  if (c.list_ >= kWheelSlots) --fifo_count_;
  c.prev_ = 0;
  c.next_ = 0;
}

void ConnTable::wheel_push(uint32_t slot, ConnId id) {
  Conn& c = at(id);
  c.list_ = static_cast<uint16_t>(slot);
  c.prev_ = 0;
  c.next_ = list_head_[slot];
  if (c.next_ != 0) at(c.next_ - 1).prev_ = id + 1;
  list_head_[slot] = id + 1;
}

void ConnTable::fifo_push_back(uint32_t fifo, ConnId id) {
  Conn& c = at(id);
  c.list_ = static_cast<uint16_t>(kWheelSlots + fifo);
  c.next_ = 0;
  c.prev_ = fifo_tail_[fifo];
  if (c.prev_ != 0)
    at(c.prev_ - 1).next_ = id + 1;
  else
    list_head_[kWheelSlots + fifo] = id + 1;
  fifo_tail_[fifo] = id + 1;
  ++fifo_count_;
}

void ConnTable::wheel_set(ConnId id, uint64_t expires, bool linked) {
  Conn& c = at(id);
  if (linked && c.list_ < kWheelSlots && expires >= c.time_) {
    // Its slot comes no later than the new expiry: expire() re-files it there.
    c.time_ = expires;
    return;
  }
  if (linked) list_unlink(id);
  c.time_ = expires;
  // Never into the part of a paused slot already visited: one tick later.
  const uint64_t first = paused_ ? cursor_tick_ + 1 : cursor_tick_;
  const uint64_t tick = std::max((expires + kWheelTickMs - 1) / kWheelTickMs, first);
  wheel_push(static_cast<uint32_t>(tick % kWheelSlots), id);
}

void ConnTable::arm(ConnId id, uint64_t now, bool linked) {
  Conn& c = at(id);
  const int f = (c.protocol_ == kProtoTcp && !c.is_template()) ? fifo_of(c.tcp_state()) : -1;
  if (f < 0) {
    wheel_set(id, now + state_timeout(c), linked);
    return;
  }
  if (linked) list_unlink(id);
  c.time_ = now;
  fifo_push_back(static_cast<uint32_t>(f), id);
}

// ------------------------------------------------------------------ connections

InsertResult ConnTable::insert(const ConnSpec& s, uint64_t now) {
  start_clock(now);
  InsertResult r;
  if (!make_room(r.evicted, r.victim)) return r;
  const ConnId id = alloc_slot();
  Conn& c = at(id);
  c.caddr_ = s.caddr;
  c.cport_ = s.cport;
  c.vaddr_ = s.vaddr;
  c.vport_ = s.vport;
  c.daddr_ = s.daddr;
  c.dport_ = s.dport;
  c.protocol_ = s.protocol;
  c.state_ = 0;
  c.service_ = s.service;
  c.dest_ = s.dest;
  // __ip_vs_update_dest(): new connections are INACTIVE, and NOOUTPUT unless NAT.
  c.flags_ = static_cast<uint16_t>(Conn::kUsed | Conn::kInactive | static_cast<uint16_t>(s.method));
  if (s.method != FwdMethod::nat) c.flags_ |= Conn::kNoOutput;
  if (s.control != kNoConn) {
    Conn& t = at(s.control);
    assert(t.is_template());
    ++t.control_;  // ip_vs_control_add()
    c.control_ = s.control + 1;
  }
  link_in(id);
  if (s.method == FwdMethod::nat) link_out(id);
  ++count_;
  ++counters_.inserts;
  arm(id, now, false);
  grow_indexes(kMigrateSteps);
  r.id = id;
  return r;
}

StateChange ConnTable::on_tcp_packet(ConnId id, PacketDir dir, uint8_t tcp_flags, uint64_t now) {
  Conn& c = at(id);
  StateChange ch;
  ch.from = ch.to = c.state_;
  ch.was_active = ch.is_active = c.active();
  if (c.is_template()) return ch;
  if (c.protocol_ != kProtoTcp) return on_packet(id, now);

  // set_tcp_state()
  bool no_output = c.no_output();
  const TcpDir d = tcp_direction(dir == PacketDir::from_client, no_output);
  if (!no_output) c.flags_ &= static_cast<uint16_t>(~Conn::kNoOutput);
  const TcpState from = c.tcp_state();
  const TcpState next = tcp_next_state(d, tcp_event(tcp_flags), from);
  if (next != from) {
    if (!c.inactive() && !tcp_state_active(next))
      c.flags_ |= Conn::kInactive;
    else if (c.inactive() && tcp_state_active(next))
      c.flags_ &= static_cast<uint16_t>(~Conn::kInactive);
  }
  c.state_ = static_cast<uint8_t>(next);
  arm(id, now, true);
  ch.to = c.state_;
  ch.is_active = c.active();
  return ch;
}

StateChange ConnTable::on_packet(ConnId id, uint64_t now) {
  Conn& c = at(id);
  StateChange ch;
  ch.from = ch.to = c.state_;
  ch.was_active = ch.is_active = c.active();
  if (!c.is_template()) arm(id, now, true);
  return ch;
}

bool ConnTable::erase(ConnId id, Removed* out) {
  Conn& c = at(id);
  if (c.is_template() && c.control_ > 0) return false;
  Removed r = remove(id, RemoveReason::erased);
  ++counters_.erases;
  if (out != nullptr) *out = r;
  return true;
}

// ------------------------------------------------------------------ templates

InsertResult ConnTable::insert_template(const TemplateSpec& s, uint32_t timeout_ms, uint64_t now) {
  start_clock(now);
  InsertResult r;
  if (!make_room(r.evicted, r.victim)) return r;
  const ConnId id = alloc_slot();
  Conn& c = at(id);
  c.caddr_ = s.key.client;
  c.cport_ = 0;
  c.vaddr_ = s.key.vaddr;
  c.vport_ = s.key.vport;
  c.daddr_ = s.daddr;
  c.dport_ = s.dport;
  c.protocol_ = s.key.protocol;
  c.service_ = s.service;
  c.dest_ = s.dest;
  c.flags_ = static_cast<uint16_t>(Conn::kUsed | Conn::kTemplate | static_cast<uint16_t>(s.method));
  link_in(id);
  ++count_;
  ++templates_;
  ++counters_.template_inserts;
  wheel_set(id, now + timeout_ms, false);
  grow_indexes(kMigrateSteps);
  r.id = id;
  return r;
}

void ConnTable::touch_template(ConnId id, uint32_t timeout_ms, uint64_t now) {
  wheel_set(id, now + timeout_ms, true);
}

void ConnTable::invalidate_template(ConnId id) {
  Conn& c = at(id);
  if (!c.is_template() || (c.flags_ & Conn::kUnhashed) != 0) return;
  unlink_in(id);
  c.flags_ |= Conn::kUnhashed;
}

// ------------------------------------------------------------------ expiry

ExpireResult ConnTable::expire(uint64_t now, std::span<Removed> out) {
  start_clock(now);
  grow_indexes(kMigrateSteps);
  ExpireResult r;
  const std::size_t budget = out.size();
  const std::size_t max_visits = 4 * budget + 64;
  std::size_t visits = 0;

  // Embryonic FIFOs: sorted by last refresh, same timeout per FIFO.
  for (uint32_t f = 0; f < kFifos; ++f) {
    const uint64_t timeout = timeouts_.tcp[kFifoState[f]];
    for (;;) {
      const uint32_t h = list_head_[kWheelSlots + f];
      if (h == 0 || at(h - 1).time_ + timeout > now) break;
      if (r.removed == budget) {
        r.done = false;
        return r;
      }
      out[r.removed++] = remove(h - 1, RemoveReason::expired);
      ++counters_.expiries;
    }
  }

  // The wheel: every tick up to now's, each slot once per call. An entry
  // whose expiry moved later (lazy refresh) goes to its new slot; one due in
  // a later turn of the wheel stays where it is.
  const uint64_t target = now / kWheelTickMs;
  if (cursor_tick_ + kWheelSlots <= target) {
    // A whole turn (or more) elapsed: every slot once, starting from scratch.
    cursor_tick_ = target - kWheelSlots + 1;
    paused_ = false;
    resume_ = 0;
  }
  while (cursor_tick_ <= target) {
    const auto slot = static_cast<uint32_t>(cursor_tick_ % kWheelSlots);
    uint32_t e = paused_ ? resume_ : list_head_[slot];
    paused_ = false;
    resume_ = 0;
    while (e != 0) {
      if (r.removed == budget || visits == max_visits) {
        paused_ = true;
        resume_ = e;
        r.done = false;
        return r;
      }
      ++visits;
      const ConnId id = e - 1;
      Conn& c = at(id);
      e = c.next_;
      if (c.time_ <= now) {
        if (c.is_template() && c.control_ > 0) {
          // ip_vs_conn_expire(): "do I control anybody?" -> expire_later.
          ++counters_.template_rechecks;
          c.time_ = now + kTemplateRecheckMs;
        } else {
          out[r.removed++] = remove(id, RemoveReason::expired);
          ++counters_.expiries;
          continue;
        }
      }
      const uint64_t tick =
          std::max((c.time_ + kWheelTickMs - 1) / kWheelTickMs, static_cast<uint64_t>(target + 1));
      const auto to = static_cast<uint32_t>(tick % kWheelSlots);
      if (to != slot) {
        list_unlink(id);
        wheel_push(to, id);
      }
    }
    ++cursor_tick_;
  }
  return r;
}

uint64_t ConnTable::remaining_ms(ConnId id, uint64_t now) const {
  const Conn& c = at(id);
  uint64_t expires = c.time_;
  if (c.list_ >= kWheelSlots) expires += timeouts_.tcp[kFifoState[c.list_ - kWheelSlots]];
  return expires > now ? expires - now : 0;
}

uint32_t ConnTable::timeout_ms(ConnId id) const {
  const Conn& c = at(id);
  return c.is_template() ? 0 : state_timeout(c);
}

// ------------------------------------------------------------------ sync

SyncResult ConnTable::insert_synced(const SyncSpec& s, uint64_t now) {
  start_clock(now);
  SyncResult r;
  const ConnSpec& k = s.conn;
  ConnId id = kNoConn;
  if (s.is_template) {
    id = find_in(k.caddr, 0, k.vaddr, k.vport, k.protocol, true);
  } else {
    id = find_in(k.caddr, k.cport, k.vaddr, k.vport, k.protocol, false);
    if (id != kNoConn && (at(id).dport_ != k.dport || at(id).daddr_ != k.daddr)) {
      if (s.inactive) {
        // The expiry message of a connection already replaced: ignore it.
        r.outcome = SyncResult::Outcome::ignored;
        r.id = id;
        r.was_active = r.is_active = at(id).active();
        return r;
      }
      r.old = remove(id, RemoveReason::replaced);
      r.replaced = true;
      ++counters_.erases;
      id = kNoConn;
    }
  }

  uint32_t timeout = s.timeout_ms;
  if (id != kNoConn) {
    Conn& c = at(id);
    r.was_active = c.active();
    if (!c.is_template()) {
      if (s.inactive)
        c.flags_ |= Conn::kInactive;
      else
        c.flags_ &= static_cast<uint16_t>(~Conn::kInactive);
    }
    c.state_ = s.state;
    if (timeout == 0) timeout = c.is_template() ? kSyncedTemplateTimeoutMs : state_timeout(c);
    wheel_set(id, now + timeout, true);
    r.outcome = SyncResult::Outcome::updated;
    r.id = id;
    r.is_active = c.active();
    ++counters_.synced_updates;
    return r;
  }

  if (!make_room(r.evicted, r.victim)) {
    r.outcome = SyncResult::Outcome::refused;
    return r;
  }
  id = alloc_slot();
  Conn& c = at(id);
  c.caddr_ = k.caddr;
  c.cport_ = s.is_template ? 0 : k.cport;
  c.vaddr_ = k.vaddr;
  c.vport_ = k.vport;
  c.daddr_ = k.daddr;
  c.dport_ = k.dport;
  c.protocol_ = k.protocol;
  c.state_ = s.state;
  c.service_ = k.service;
  c.dest_ = k.dest;
  c.flags_ = static_cast<uint16_t>(Conn::kUsed | Conn::kSynced | static_cast<uint16_t>(k.method));
  if (s.is_template) {
    c.flags_ |= Conn::kTemplate;
    ++templates_;
  } else {
    if (s.inactive) c.flags_ |= Conn::kInactive;
    if (k.method != FwdMethod::nat) c.flags_ |= Conn::kNoOutput;
  }
  link_in(id);
  if (!s.is_template && k.method == FwdMethod::nat) link_out(id);
  ++count_;
  ++counters_.synced_inserts;
  if (timeout == 0) timeout = s.is_template ? kSyncedTemplateTimeoutMs : state_timeout(c);
  wheel_set(id, now + timeout, false);
  grow_indexes(kMigrateSteps);
  r.outcome = SyncResult::Outcome::created;
  r.id = id;
  r.is_active = c.active();
  return r;
}

}  // namespace lvsd::forwarding::userspace
