// SyncChannel: how connection sync talks to the userspace dataplane without
// touching its packet path. Two bounded single-producer/single-consumer rings
// of SyncRecords: `out` (dataplane -> sync thread: entries to send; full =
// dropped and counted, the packet path never waits) and `in` (sync thread ->
// dataplane: entries received from the peer, applied between packet
// batches; the sync thread wakes the dataplane through an eventfd).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "forwarding/userspace/ip.hpp"

namespace lvsd::forwarding::userspace {

// One connection or persistence template as sync carries it (the ip_vs sync
// v1 entry's fields, see sync/codec.hpp).
struct SyncRecord {
  IpAddr caddr, vaddr, daddr;
  uint16_t cport = 0, vport = 0, dport = 0;
  uint8_t protocol = 0;  // 0 for templates of fwmark services
  uint8_t method = 0;    // 0 nat, 1 dr, 2 tun (FwdMethod)
  bool is_template = false;
  bool inactive = false;
  uint16_t state = 0;  // IP_VS_TCP_S_* (UDP: 0)
  uint32_t timeout_s = 0;
  uint32_t fwmark = 0;
};

template <class T>
class SpscRing {
 public:
  explicit SpscRing(std::size_t capacity_pow2)
      : mask_(capacity_pow2 - 1), slots_(new T[capacity_pow2]) {}
  bool push(const T& v) {
    const auto head = head_.load(std::memory_order_relaxed);
    const auto tail = tail_.load(std::memory_order_acquire);
    if (head - tail > mask_) return false;
    slots_[head & mask_] = v;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }
  std::optional<T> pop() {
    const auto tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return std::nullopt;
    T v = slots_[tail & mask_];
    tail_.store(tail + 1, std::memory_order_release);
    return v;
  }
  std::size_t size() const {
    return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire);
  }
  std::size_t capacity() const { return mask_ + 1; }

 private:
  const std::size_t mask_;
  std::unique_ptr<T[]> slots_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

struct SyncChannel {
  SpscRing<SyncRecord> out{16384};
  SpscRing<SyncRecord> in{16384};
  std::atomic<bool> sending{false};    // master role: the dataplane emits entries
  std::atomic<bool> receiving{false};  // backup role: received entries are applied
  unsigned threshold = 3;              // ip_vs sync_threshold (packets)
  unsigned period = 50;                // ip_vs sync_period (packets)
  int wake_fd = -1;                    // eventfd the dataplane polls (set by the engine)
  // Full resync: the sync thread asks the dataplane to queue its whole table
  // (a peer asked for it); the dataplane clears it when done.
  std::atomic<bool> resync_requested{false};
  std::atomic<uint64_t> resyncs{0};         // dumps completed
  std::atomic<uint64_t> resync_entries{0};  // entries queued by them
};

}  // namespace lvsd::forwarding::userspace
