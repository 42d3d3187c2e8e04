// The userspace engine's connection table: ip_vs connection entries
// (net/netfilter/ipvs/ip_vs_conn.c) and persistence templates
// (ip_vs_core.c ip_vs_sched_persist()), owned by one dataplane thread.
//
// Contract
// - Single-threaded, no locks. Every call that depends on time takes `now`
//   (a monotonic millisecond count from the caller); nothing reads a clock.
// - No per-packet allocation: entries live in chunks of kChunkEntries that are
//   allocated while the table grows towards its high-water mark and then
//   reused through a free list; the two hash indexes double (incrementally, a
//   few buckets per call) when their load passes 1. After the high-water
//   mark, nothing allocates. reserve() preallocates up front.
// - No unbounded work per call: lookups walk one hash chain (load <= 1),
//   state changes and refreshes are O(1), expire() does at most
//   4 * budget + 64 entry visits, index growth moves at most a few buckets.
// - Hard cap: max_connections entries (connections + templates). When full, an
//   insert evicts the oldest embryonic TCP connection (NONE, SYN_SENT,
//   SYN_RECV, SYNACK: oldest = least recently refreshed), else it is refused
//   and counted (full_drops). ESTABLISHED and later states are never evicted.
//
// Timers
// - Embryonic TCP connections sit on one FIFO per state, ordered by their last
//   refresh; they expire exactly at last refresh + the state's timeout (so a
//   timeout change on reload applies to them at once) and the oldest is found
//   in O(1) for eviction.
// - Everything else sits on a hashed timer wheel of kWheelSlots slots of
//   kWheelTickMs: an entry expires at the first expire() with now >= its
//   expiry rounded up to the next tick (at most kWheelTickMs late, like the
//   kernel's timer slack). A refresh that lengthens the expiry only rewrites
//   it (the wheel re-files the entry when it reaches its old slot), so the
//   per-packet refresh touches no other entry.
//
// Accounting (what the engine mirrors into the schedulers' DestList)
// - A new connection starts INACTIVE, as ip_vs_bind_dest() binds it with the
//   dest's conn_flags (__ip_vs_update_dest() sets IP_VS_CONN_F_INACTIVE):
//   DestList::bind(dest, false). TCP state changes flip it as set_tcp_state()
//   does (StateChange::activated()/deactivated()); UDP stays inactive.
// - Templates count in the dest's persistent connections, never in
//   active/inactive.
// - Every removal (expiry, eviction, erase, sync replacement) hands back the
//   entry (Removed) with its dest, template flag and whether it counted as
//   active, for DestList::unbind().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "forwarding/userspace/ip.hpp"
#include "forwarding/userspace/tcp_state.hpp"

namespace lvsd::config {
struct Forwarding;
}

namespace lvsd::forwarding::userspace {

enum class FwdMethod : uint8_t { nat = 0, dr = 1, tun = 2 };

// Index of an entry, stable while the entry lives (the engine may keep it for
// the duration of a packet, or in a template's controlled connections).
using ConnId = uint32_t;
inline constexpr ConnId kNoConn = 0xffffffffu;

// The direction of a packet of a known connection, as ip_vs_in()/ip_vs_out()
// pass it to the protocol: from_client = IP_VS_DIR_INPUT, from_server =
// IP_VS_DIR_OUTPUT (a NAT reply). The table picks INPUT_ONLY itself.
enum class PacketDir : uint8_t { from_client, from_server };

// Timeouts, milliseconds.
struct ConnTimeouts {
  // Kernel defaults with lvsd's defaults applied: established 900 s, FIN_WAIT
  // 120 s, SYN_RECV 10 s (lvsd's syn_recv_timeout, shorter than the kernel's
  // 60 s against SYN floods).
  TcpTimeouts tcp = TcpTimeouts::configured(900'000, 120'000, 10'000);
  // IP_VS_UDP_S_NORMAL (ip_vs_proto_udp.c udp_timeouts[], 5 min). Also used
  // for every other non-TCP protocol: the SCTP state machine is not modelled.
  uint32_t udp_ms = 300'000;

  // forwarding.timeouts.{tcp,tcp_fin,udp} and
  // forwarding.userspace.syn_recv_timeout, mapped as TcpTimeouts::configured().
  static ConnTimeouts from_config(const config::Forwarding& f);
  bool operator==(const ConnTimeouts&) const = default;
};

struct ConnTableOptions {
  uint32_t max_connections = 1'048'576;  // forwarding.userspace.max_connections
  ConnTimeouts timeouts;
  // Keys the hash (hash-flooding resistance). 0 = a random seed
  // (std::random_device) at construction; tests pass a fixed one.
  uint64_t hash_seed = 0;

  static ConnTableOptions from_config(const config::Forwarding& f);
};

// One entry: a connection, or a persistence template (is_template()). 96 bytes.
class Conn {
 public:
  // The client -> virtual service direction (lookup_in's key):
  const IpAddr& caddr() const { return caddr_; }
  uint16_t cport() const { return cport_; }
  const IpAddr& vaddr() const { return vaddr_; }
  uint16_t vport() const { return vport_; }
  // The realserver (a NAT reply comes from daddr:dport, lookup_out's key).
  const IpAddr& daddr() const { return daddr_; }
  uint16_t dport() const { return dport_; }
  uint8_t protocol() const { return protocol_; }

  // TcpState for TCP connections; 0 (IP_VS_UDP_S_NORMAL) for other protocols;
  // the state given by sync for synced templates (0 otherwise).
  uint8_t state() const { return state_; }
  TcpState tcp_state() const { return static_cast<TcpState>(state_); }

  FwdMethod method() const { return static_cast<FwdMethod>(flags_ & kMethodMask); }
  bool is_template() const { return (flags_ & kTemplate) != 0; }
  // IP_VS_CONN_F_INACTIVE: counted in the dest's inactive connections.
  bool inactive() const { return (flags_ & kInactive) != 0; }
  // Counted in the dest's active connections.
  bool active() const { return (flags_ & (kTemplate | kInactive)) == 0; }
  // IP_VS_CONN_F_NOOUTPUT: no reply seen (set for DR/TUN, which never see one).
  bool no_output() const { return (flags_ & kNoOutput) != 0; }
  bool synced() const { return (flags_ & kSynced) != 0; }  // created by insert_synced()

  uint32_t service() const { return service_; }  // the engine's ids, stored as given
  uint32_t dest() const { return dest_; }
  // The template this connection was scheduled by (cp->control), or kNoConn.
  ConnId control() const { return is_template() || control_ == 0 ? kNoConn : control_ - 1; }
  // Templates: how many connections it controls (cp->n_control).
  uint32_t n_control() const { return is_template() ? control_ : 0; }

  // The tuple of a client packet (lookup_in) and of a NAT reply (lookup_out).
  FiveTuple in_tuple() const { return FiveTuple{caddr_, vaddr_, cport_, vport_, protocol_}; }
  FiveTuple out_tuple() const { return FiveTuple{daddr_, caddr_, dport_, cport_, protocol_}; }

 private:
  friend class ConnTable;

  static constexpr uint16_t kMethodMask = 0x3;
  static constexpr uint16_t kTemplate = 1u << 2;
  static constexpr uint16_t kInactive = 1u << 3;
  static constexpr uint16_t kNoOutput = 1u << 4;
  static constexpr uint16_t kSynced = 1u << 5;
  static constexpr uint16_t kUsed = 1u << 6;
  static constexpr uint16_t kOutHashed = 1u << 7;  // in the NAT reply index
  static constexpr uint16_t kUnhashed = 1u << 8;   // invalidated template

  IpAddr caddr_;
  IpAddr vaddr_;
  IpAddr daddr_;
  uint16_t cport_ = 0;
  uint16_t vport_ = 0;
  uint16_t dport_ = 0;
  uint8_t protocol_ = 0;
  uint8_t state_ = 0;
  uint16_t flags_ = 0;
  uint16_t list_ = 0;  // timer list: a wheel slot, or kWheelSlots + embryonic FIFO
  uint32_t service_ = 0;
  uint32_t dest_ = 0;
  uint32_t control_ = 0;   // connection: template id + 1 (0 none); template: n_control
  uint32_t next_in_ = 0;   // hash chain, id + 1 (0 = end)
  uint32_t next_out_ = 0;  // NAT reply hash chain
  uint32_t prev_ = 0;      // timer list links (the free list uses next_)
  uint32_t next_ = 0;
  uint64_t time_ = 0;  // wheel: expiry; embryonic FIFO: last refresh
};

enum class RemoveReason : uint8_t { expired, evicted, erased, replaced };

// A removed entry, as it was. conn.dest(), conn.active(), conn.is_template()
// say which counter to decrement.
struct Removed {
  Conn conn;
  RemoveReason reason = RemoveReason::expired;
};

// A new connection, as ip_vs_conn_new() gets it from ip_vs_schedule().
struct ConnSpec {
  uint8_t protocol = kProtoTcp;
  IpAddr caddr;  // client
  uint16_t cport = 0;
  IpAddr vaddr;  // the packet's destination (the VIP, also for fwmark services)
  uint16_t vport = 0;
  IpAddr daddr;  // realserver
  uint16_t dport = 0;
  FwdMethod method = FwdMethod::nat;
  uint32_t service = 0;
  uint32_t dest = 0;
  ConnId control = kNoConn;  // the template that scheduled it (persistent services)

  static ConnSpec from_packet(const FiveTuple& client_to_vip, const IpAddr& daddr, uint16_t dport,
                              FwdMethod method, uint32_t service, uint32_t dest) {
    return ConnSpec{client_to_vip.protocol,
                    client_to_vip.saddr,
                    client_to_vip.sport,
                    client_to_vip.daddr,
                    client_to_vip.dport,
                    daddr,
                    dport,
                    method,
                    service,
                    dest,
                    kNoConn};
  }
};

// A persistence template's key, as ip_vs_sched_persist() builds it.
struct TemplateKey {
  uint8_t protocol = 0;  // the packet's protocol; 0 (IPPROTO_IP) for fwmark services
  IpAddr client;         // the client address masked to the service's granularity
  IpAddr vaddr;          // the VIP; for fwmark services the fwmark (fwmark_addr())
  uint16_t vport = 0;    // the service port; 0 for port-0 services, fwmark services, FTP
  bool operator==(const TemplateKey&) const = default;

  // ip_vs_sched_persist(): `dport` is the packet's destination port,
  // `service_port` the service's (0 for port-0 "all ports" and fwmark
  // services), `fwmark` the service's (0 for address services),
  // `prefix_bits` the granularity (IPv4: the netmask's length 0..32; IPv6:
  // the prefix 0..128).
  // - The packet's port is the service's: keyed by it, except for port 21
  //   (FTP), keyed by port 0 so the data connections share the template.
  // - Otherwise (a port-0 service, or a fwmark service): port 0, and for
  //   fwmark services protocol 0 and the fwmark instead of the address.
  static TemplateKey make(uint8_t protocol, const IpAddr& client, unsigned prefix_bits,
                          const IpAddr& vip, uint16_t dport, uint16_t service_port,
                          uint32_t fwmark);
  // The address a fwmark takes in a template (the kernel's { .ip = htonl(fwmark) }).
  static IpAddr fwmark_addr(uint32_t fwmark);
  // The template's dest port: the dest's port when the packet's port is the
  // service's (and not 21), else 0 (ip_vs_sched_persist()).
  static uint16_t template_dport(uint16_t dport, uint16_t service_port, uint16_t dest_port);
};

struct TemplateSpec {
  TemplateKey key;
  IpAddr daddr;
  uint16_t dport = 0;  // TemplateKey::template_dport()
  FwdMethod method = FwdMethod::nat;
  uint32_t service = 0;
  uint32_t dest = 0;
};

struct InsertResult {
  ConnId id = kNoConn;  // kNoConn: refused (full and nothing embryonic to evict)
  bool evicted = false;
  Removed victim;  // the evicted embryonic connection, when `evicted`
  bool ok() const { return id != kNoConn; }
};

// What a packet did to a connection's state (set_tcp_state()).
struct StateChange {
  uint8_t from = 0;
  uint8_t to = 0;
  bool was_active = false;
  bool is_active = false;
  bool state_changed() const { return from != to; }
  bool activated() const { return !was_active && is_active; }    // DestList::activate
  bool deactivated() const { return was_active && !is_active; }  // DestList::deactivate
};

// An entry received from the sync peer (ip_vs_proc_conn()).
struct SyncSpec {
  ConnSpec conn;  // key, realserver, method, the engine's service/dest ids; control ignored
  bool is_template = false;  // conn.caddr masked, conn.cport 0 (TemplateKey's fields)
  uint8_t state = 0;
  bool inactive = true;     // IP_VS_CONN_F_INACTIVE from the message
  uint32_t timeout_ms = 0;  // 0: the state's local timeout (templates: 3 min, as the kernel)
};

struct SyncResult {
  enum class Outcome : uint8_t { created, updated, ignored, refused };
  Outcome outcome = Outcome::refused;
  ConnId id = kNoConn;
  bool was_active = false;  // before (updated); meaningless for created
  bool is_active = false;   // after: created -> bind(dest, is_active), updated -> flip
  bool replaced = false;    // an entry with the same key but another realserver was dropped
  Removed old;              // ... this one
  bool evicted = false;     // room was made by evicting an embryonic connection
  Removed victim;
};

struct ExpireResult {
  std::size_t removed = 0;  // entries written to the output span
  bool done = true;         // false: stopped by the budget, call again
};

struct ConnTableCounters {
  uint64_t inserts = 0;           // connections created by insert()
  uint64_t template_inserts = 0;  // templates created by insert_template()
  uint64_t synced_inserts = 0;    // entries created by insert_synced()
  uint64_t synced_updates = 0;
  uint64_t expiries = 0;           // removed by expire()
  uint64_t evictions = 0;          // embryonic connections evicted because the table was full
  uint64_t full_drops = 0;         // inserts refused: full, nothing embryonic to evict
  uint64_t erases = 0;             // erase() and sync replacements
  uint64_t template_rechecks = 0;  // a template's timer fired while it controlled connections
};

namespace detail {

// Bucket heads of one chained hash index (entry id + 1, 0 = empty). It doubles
// when the entry count passes the bucket count; the old buckets move a few at
// a time (migrate()), and a lookup reads the old array for buckets not moved
// yet, so no call rehashes everything. Arrays come from calloc (zeroed pages
// on demand).
class ChainIndex {
 public:
  ChainIndex() = default;
  ~ChainIndex();
  ChainIndex(const ChainIndex&) = delete;
  ChainIndex& operator=(const ChainIndex&) = delete;

  void reset(std::size_t buckets);  // a power of two; drops everything
  uint32_t& head(uint64_t hash) {
    if (old_ != nullptr) {
      const uint32_t i = static_cast<uint32_t>(hash) & old_mask_;
      if (i >= moved_) return old_[i];
    }
    return cur_[static_cast<uint32_t>(hash) & mask_];
  }
  uint32_t head(uint64_t hash) const { return const_cast<ChainIndex*>(this)->head(hash); }
  bool migrating() const { return old_ != nullptr; }
  // Starts a doubling if `entries` passed the bucket count.
  void maybe_grow(std::size_t entries);
  // Moves up to `n` old buckets. next(e) is entry e's chain link, hash(e) its hash.
  template <class Next, class Hash>
  void migrate(uint32_t n, Next&& next, Hash&& hash) {
    while (old_ != nullptr && n-- > 0) {
      uint32_t e = old_[moved_];
      while (e != 0) {
        uint32_t& link = next(e);
        const uint32_t after = link;
        uint32_t& h = cur_[static_cast<uint32_t>(hash(e)) & mask_];
        link = h;
        h = e;
        e = after;
      }
      old_[moved_] = 0;
      if (++moved_ > old_mask_) finish();
    }
  }
  std::size_t buckets() const { return static_cast<std::size_t>(mask_) + 1; }
  std::size_t bytes() const;

 private:
  void finish();

  uint32_t* cur_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t* old_ = nullptr;
  uint32_t old_mask_ = 0;
  uint32_t moved_ = 0;
};

}  // namespace detail

class ConnTable {
 public:
  static constexpr uint32_t kChunkEntries = 1024;
  static constexpr uint32_t kWheelTickMs = 32;
  static constexpr uint32_t kWheelSlots = 2048;  // one turn = 65.5 s
  // ip_vs_conn_expire(): a template whose timer fires while it controls
  // connections is re-armed for 60 s (expire_later).
  static constexpr uint32_t kTemplateRecheckMs = 60'000;
  // ip_vs_proc_conn(): a synced template without a timeout gets 3 min.
  static constexpr uint32_t kSyncedTemplateTimeoutMs = 180'000;

  explicit ConnTable(const ConnTableOptions& options = {});
  ~ConnTable();
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;

  // --- lookups (ip_vs_conn_in_get / ip_vs_conn_out_get / ip_vs_ct_in_get)
  // A client packet (client -> VIP): the connection, or kNoConn.
  ConnId lookup_in(const FiveTuple& client_to_vip) const;
  // A reply from the realserver to the client (NAT connections only).
  ConnId lookup_out(const FiveTuple& rs_to_client) const;
  ConnId lookup_template(const TemplateKey& key) const;
  const Conn& conn(ConnId id) const { return at(id); }

  // --- connections
  // Creates a connection in state NONE (protocol state 0), INACTIVE, with
  // NOOUTPUT unless NAT, controlled by spec.control if given (its n_control
  // counts it). Precondition: lookup_in() found no connection for its tuple.
  // The engine then feeds the packet that created it to on_tcp_packet().
  InsertResult insert(const ConnSpec& spec, uint64_t now);
  // set_tcp_state() for a packet with TCP flags `tcp_flags` (header byte 13),
  // then the timer restarts with the new state's timeout (ip_vs_conn_put()).
  StateChange on_tcp_packet(ConnId id, PacketDir dir, uint8_t tcp_flags, uint64_t now);
  // A packet of a non-TCP connection (UDP: the state stays NORMAL, the timer
  // restarts with the udp timeout). For a TCP connection: the timer restarts
  // with its state's timeout.
  StateChange on_packet(ConnId id, uint64_t now);
  // Removes a connection now (e.g. expire_nodest_conn). Templates: use
  // invalidate_template(); erasing one that controls connections is refused
  // (returns false).
  bool erase(ConnId id, Removed* out = nullptr);

  // --- persistence templates (ip_vs_sched_persist)
  InsertResult insert_template(const TemplateSpec& spec, uint32_t timeout_ms, uint64_t now);
  // The template was used to schedule a connection: its timer restarts with
  // the persistence timeout (ip_vs_conn_put(ct) in ip_vs_sched_persist()).
  void touch_template(ConnId id, uint32_t timeout_ms, uint64_t now);
  // ip_vs_check_template() found its dest unusable: no longer found by
  // lookup_template(); it stays until its timer fires with no connection
  // left to control, so the connections it scheduled keep their accounting.
  void invalidate_template(ConnId id);

  // --- expiry
  // Removes at most out.size() expired entries into `out` (and re-arms
  // templates that still control connections by kTemplateRecheckMs).
  ExpireResult expire(uint64_t now, std::span<Removed> out);
  // Milliseconds until the entry expires (0 = due).
  uint64_t remaining_ms(ConnId id, uint64_t now) const;
  // The timeout the entry's state restarts its timer with (sync's "timeout";
  // 0 for templates, whose timeout is the service's persistence timeout).
  uint32_t timeout_ms(ConnId id) const;

  // --- sync
  // ip_vs_proc_conn(): an existing entry (same key; a connection whose
  // realserver differs is dropped and recreated unless the message says
  // inactive, then ignored) gets the state, the INACTIVE flag and the
  // timeout; otherwise one is created (counted like insert() against the
  // limit). Synced entries are armed on the wheel with the given timeout,
  // even in embryonic states, until a local packet arrives.
  SyncResult insert_synced(const SyncSpec& spec, uint64_t now);

  // --- iteration (lvsctl, stats, sync's full resync)
  // Visits up to `max_slots` slots from `cursor` (0 to start), calling
  // fn(ConnId, const Conn&) for every live entry; returns the cursor for the
  // next call, or kNoConn when the pass is over. Entries created behind the
  // cursor during a pass are not visited; none is visited twice.
  template <class F>
  ConnId visit(ConnId cursor, std::size_t max_slots, F&& fn) const {
    for (std::size_t k = 0; cursor < allocated_ && k < max_slots; ++cursor, ++k) {
      const Conn& c = at(cursor);
      if ((c.flags_ & Conn::kUsed) != 0) fn(cursor, c);
    }
    return cursor < allocated_ ? cursor : kNoConn;
  }
  template <class F>
  void for_each(F&& fn) const {
    visit(0, static_cast<std::size_t>(-1), fn);
  }

  // --- configuration (reload)
  // Applies at each entry's next refresh; embryonic entries at once.
  void set_timeouts(const ConnTimeouts& t) { timeouts_ = t; }
  const ConnTimeouts& timeouts() const { return timeouts_; }
  // A lower limit than the current size refuses inserts until entries end.
  void set_max_connections(uint32_t n) { max_ = n; }
  uint32_t max_connections() const { return max_; }
  // Preallocates entries (and, on an empty table, buckets) for n entries.
  void reserve(std::size_t n);

  // --- size and counters
  std::size_t size() const { return count_; }  // connections + templates
  std::size_t templates() const { return templates_; }
  std::size_t embryonic() const { return fifo_count_; }  // evictable entries
  const ConnTableCounters& counters() const { return counters_; }
  // Bytes this table allocated (entry chunks, hash buckets, timer lists):
  // the memory figure behind "bytes per entry".
  std::size_t bytes_allocated() const;

 private:
  static constexpr uint32_t kFifos = 4;  // NONE, SYN_SENT, SYN_RECV, SYNACK
  static constexpr uint32_t kLists = kWheelSlots + kFifos;

  Conn& at(ConnId id) { return chunks_[id / kChunkEntries][id % kChunkEntries]; }
  const Conn& at(ConnId id) const { return chunks_[id / kChunkEntries][id % kChunkEntries]; }

  uint64_t hash_key(const IpAddr& a, const IpAddr& b, uint16_t pa, uint16_t pb, uint8_t proto,
                    uint8_t kind) const;
  uint64_t hash_in(const Conn& c) const;
  uint64_t hash_out(const Conn& c) const;
  ConnId find_in(const IpAddr& caddr, uint16_t cport, const IpAddr& vaddr, uint16_t vport,
                 uint8_t proto, bool tmpl) const;
  void link_in(ConnId id);
  void unlink_in(ConnId id);
  void link_out(ConnId id);
  void unlink_out(ConnId id);
  void grow_indexes(uint32_t steps);

  void start_clock(uint64_t now);
  ConnId alloc_slot();
  void add_chunk();
  void free_slot(ConnId id);
  // Frees room for one entry (evicting an embryonic connection if needed);
  // false when full and nothing is evictable.
  bool make_room(bool& evicted, Removed& victim);
  Removed remove(ConnId id, RemoveReason why);

  static int fifo_of(TcpState s);
  uint32_t state_timeout(const Conn& c) const;
  void list_unlink(ConnId id);
  void wheel_push(uint32_t slot, ConnId id);
  void fifo_push_back(uint32_t fifo, ConnId id);
  // Sets an entry's wheel expiry; linked = it is on a list already.
  void wheel_set(ConnId id, uint64_t expires, bool linked);
  // Restarts the timer of a connection for its state (FIFO or wheel).
  void arm(ConnId id, uint64_t now, bool linked);

  // Raw storage: a slot is constructed when first handed out (alloc_slot()),
  // so a new chunk costs no pass over its memory.
  struct ChunkFree {
    void operator()(Conn* p) const;
  };
  std::vector<std::unique_ptr<Conn[], ChunkFree>> chunks_;
  uint32_t allocated_ = 0;  // slots handed out so far (high-water mark)
  uint32_t free_head_ = 0;  // free list, id + 1
  std::size_t count_ = 0;
  std::size_t templates_ = 0;
  std::size_t out_count_ = 0;
  std::size_t fifo_count_ = 0;

  detail::ChainIndex in_;   // client -> VIP (connections) and template keys
  detail::ChainIndex out_;  // realserver -> client (NAT connections)
  uint64_t secret_[5] = {};

  std::vector<uint32_t> list_head_;  // kLists heads (id + 1)
  uint32_t fifo_tail_[kFifos] = {};
  uint64_t cursor_tick_ = 0;  // next wheel tick to process
  bool clock_started_ = false;
  // expire() stopped by its budget inside the cursor's slot: the next call
  // resumes at resume_ (id + 1; 0 = the rest of the slot is empty), so entries
  // already visited (due in a later turn) are not visited again.
  bool paused_ = false;
  uint32_t resume_ = 0;

  ConnTimeouts timeouts_;
  uint32_t max_ = 0;
  ConnTableCounters counters_;
};

}  // namespace lvsd::forwarding::userspace
