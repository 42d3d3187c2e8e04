// sh and dh (ip_vs_sh.c, ip_vs_dh.c): a 256-bucket table (IP_VS_SH_TAB_BITS =
// IP_VS_DH_TAB_BITS = 8) filled from the destination list and indexed with the
// kernel's hash_32 of the client (sh) or destination (dh) address, bit for bit.
#pragma once

#include <array>
#include <cstdint>

#include "forwarding/schedulers/scheduler.hpp"

namespace lvsd::forwarding::schedulers {

inline constexpr unsigned kHashTabBits = 8;
inline constexpr std::size_t kHashTabSize = std::size_t{1} << kHashTabBits;

// Source hashing. Buckets are assigned in list order, each destination taking
// `weight` consecutive buckets (at least one), wrapping around the list until
// all 256 are filled. Bucket = (offset + hash_32(port + addr, 8)) & 255 where
// port is the client's port with the port flag (IP_VS_SVC_F_SCHED_SH_PORT),
// else 0. An unusable hashed destination gives no destination, or with the
// fallback flag the first usable one found at offsets 0..255 from the bucket.
class SourceHashing final : public Scheduler {
 public:
  explicit SourceHashing(SchedulerFlags flags) : flags_(flags) {}
  std::string_view name() const override { return "sh"; }
  void init(const DestList& dests) override { reassign(dests); }
  void dest_added(const DestList& dests, std::size_t) override { reassign(dests); }
  void dest_removed(const DestList& dests, std::size_t, const Dest&) override { reassign(dests); }
  void dest_updated(const DestList& dests, std::size_t) override { reassign(dests); }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;

  // The bucket for an address and (host-order) port at offset 0.
  static unsigned bucket(const Address& addr, uint16_t port, unsigned offset = 0);
  const std::array<int32_t, kHashTabSize>& buckets() const { return buckets_; }

 private:
  void reassign(const DestList& dests);
  SchedulerFlags flags_;
  std::array<int32_t, kHashTabSize> buckets_{};  // dest index, -1 = none
};

// Destination hashing: one bucket per destination in turn (no weights), the
// bucket of the packet's destination address; an unusable destination gives
// no destination.
class DestinationHashing final : public Scheduler {
 public:
  std::string_view name() const override { return "dh"; }
  void init(const DestList& dests) override { reassign(dests); }
  void dest_added(const DestList& dests, std::size_t) override { reassign(dests); }
  void dest_removed(const DestList& dests, std::size_t, const Dest&) override { reassign(dests); }
  void dest_updated(const DestList& dests, std::size_t) override { reassign(dests); }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;

  static unsigned bucket(const Address& addr);

 private:
  void reassign(const DestList& dests);
  std::array<int32_t, kHashTabSize> buckets_{};
};

}  // namespace lvsd::forwarding::schedulers
