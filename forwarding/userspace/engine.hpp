// Engine: what the userspace dataplane does with one packet, as ip_vs does it
// (net/netfilter/ipvs/ip_vs_core.c ip_vs_in / ip_vs_out, ip_vs_xmit.c):
//
//  client -> VIP (a service's packet)
//    known connection -> its destination; new one (TCP SYN, UDP, SCTP INIT)
//    -> persistence template or the service's scheduler -> a new entry;
//    TCP without SYN and no entry -> accepted unchanged (the local stack
//    answers it with a reset, as the kernel does without ip_vs state);
//    NAT: destination rewritten, accepted (the kernel routes it on);
//    DR: dropped from the queue and sent unchanged in a frame to the
//        realserver's MAC; TUN: dropped and sent IP-in-IP from the director
//        (ICMP "fragmentation needed"/"packet too big" to the client when the
//        encapsulated packet would not fit and DF is set).
//  realserver -> client (NAT replies) -> source rewritten to the VIP.
//  ICMP errors about a connection's packets -> translated like it (NAT) or
//    forwarded to the realserver (DR/TUN).
//
// Runs on the dataplane thread only (no locks; nothing allocated per packet:
// buffers are preallocated, the connection table preallocates its entries).
// The control side publishes Snapshots; apply_snapshot() brings the live
// services, schedulers and counters in line, keeping connections, scheduler
// state and counters of what did not change.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "forwarding/schedulers/scheduler.hpp"
#include "forwarding/userspace/conn_table.hpp"
#include "forwarding/userspace/ip.hpp"
#include "forwarding/userspace/nfqueue.hpp"
#include "forwarding/userspace/snapshot.hpp"
#include "forwarding/userspace/sync_channel.hpp"

namespace lvsd::forwarding::userspace {

enum class TxKind : uint8_t { none, l2, raw };

struct Decision {
  Verdict verdict = Verdict::accept;
  std::span<const uint8_t> payload;  // non-empty: replaces the packet (accept)
  TxKind tx = TxKind::none;
  std::span<const uint8_t> tx_data;  // the IP packet to send
  bool ipv6 = false;
  int ifindex = 0;               // l2
  std::array<uint8_t, 6> mac{};  // l2
  IpAddr tx_dst;                 // raw
};

// Engine-wide counters (dataplane writes, control reads).
struct EngineCounters {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> malformed{0};      // dropped: failed to parse
  std::atomic<uint64_t> fragments{0};      // accepted unchanged: not reassembled here
  std::atomic<uint64_t> not_ours{0};       // accepted unchanged: no service / no connection
  std::atomic<uint64_t> no_dest{0};        // dropped: the scheduler found no destination
  std::atomic<uint64_t> table_full{0};     // dropped: connection limit reached
  std::atomic<uint64_t> l2_unresolved{0};  // dropped: DR realserver MAC not known yet
  std::atomic<uint64_t> too_big{0};        // TUN: ICMP frag-needed / packet-too-big sent
  std::atomic<uint64_t> icmp_translated{0};
  std::atomic<uint64_t> unsupported{0};  // dropped: a method/tunnel type not implemented
  std::atomic<uint64_t> snapshots{0};
  std::atomic<uint64_t> expired{0};
  // connection sync
  std::atomic<uint64_t> sync_queued{0};      // entries handed to the sync sender
  std::atomic<uint64_t> sync_queue_full{0};  // entries dropped: the sender's queue was full
  std::atomic<uint64_t> sync_applied{0};     // received entries created or refreshed
  std::atomic<uint64_t> sync_unknown{0};     // received entries for no configured service/dest
  std::atomic<uint64_t> sync_refused{0};     // received entries the table refused (full)
};

class Engine {
 public:
  Engine(const EngineLimits& limits, SnapshotSlot& slot);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  uint64_t snapshot_version() const { return slot_.version(); }
  // Loads the current snapshot and applies it; returns its slot version.
  uint64_t apply_snapshot();

  Decision process(QueuedPacket& packet, uint64_t now_ms);
  // Expiry (bounded work) and received sync entries.
  void housekeeping(uint64_t now_ms);
  // Applies the entries the sync receiver queued (bounded per call).
  void drain_sync(uint64_t now_ms);

  // Connection sync's rings (see sync_channel.hpp); the engine polls
  // sync_channel().wake_fd through the dataplane.
  SyncChannel& sync_channel() { return sync_; }

  const EngineCounters& counters() const { return counters_; }
  std::shared_ptr<const StatsIndex> stats_index() const {
    return std::atomic_load_explicit(&stats_index_, std::memory_order_acquire);
  }
  // Number of connection entries (approximate, for status).
  uint64_t connections() const { return connections_.load(std::memory_order_relaxed); }

 private:
  struct Dest;
  struct Service;
  struct Impl;
  void emit_sync(uint32_t id, uint64_t now_ms, bool force);
  void resync_step(uint64_t now_ms);
  std::unique_ptr<Impl> impl_;
  SnapshotSlot& slot_;
  SyncChannel sync_;
  uint32_t resync_cursor_ = 0;
  bool resync_running_ = false;
  EngineCounters counters_;
  std::shared_ptr<const StatsIndex> stats_index_;
  std::atomic<uint64_t> connections_{0};
};

}  // namespace lvsd::forwarding::userspace
