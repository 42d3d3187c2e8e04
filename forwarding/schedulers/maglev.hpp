// mh (ip_vs_mh.c): Maglev consistent hashing (Eisenbud et al., NSDI 2016,
// section 3.4) of the client address (and port with the port flag).
//
// Each destination gets a permutation of the table's slots from two keyed
// hashes of its address:port (offset = h1 % M, skip = h2 % (M - 1) + 1);
// destinations take turns claiming their next free preferred slot, `turns`
// slots per round in proportion to last_weight (scaled by the gcd and shifted
// so the largest fits in weight_bits), until all M slots are taken. A
// destination set to weight 0 keeps its slots (last_weight) but is never
// picked: no destination, or with the fallback flag, the first usable one at
// hsiphash(offset + port + addr) for offsets from the original slot on.
//
// Hashes: the kernel's hsiphash with its fixed keys (2654435761 and
// 2654446892 in both words), so with MhOptions::kernel() the table and the
// picks are those of ip_vs_mh on x86_64.
#pragma once

#include <cstdint>
#include <vector>

#include "forwarding/schedulers/scheduler.hpp"

namespace lvsd::forwarding::schedulers {

class MaglevHashing final : public Scheduler {
 public:
  // Throws std::invalid_argument if options.table_size is not a prime >= 3.
  MaglevHashing(SchedulerFlags flags, MhOptions options);
  std::string_view name() const override { return "mh"; }
  void init(const DestList& dests) override { rebuild(dests); }
  void dest_added(const DestList& dests, std::size_t) override { rebuild(dests); }
  void dest_removed(const DestList& dests, std::size_t, const Dest&) override { rebuild(dests); }
  void dest_updated(const DestList& dests, std::size_t) override { rebuild(dests); }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;

  // Rebuilds the lookup table (ip_vs_mh_reassign). With more destinations
  // than slots the table is left empty (the kernel refuses with EINVAL).
  void rebuild(const DestList& dests);
  // Slot -> dest index (-1 = empty).
  const std::vector<int32_t>& table() const { return lookup_; }
  uint32_t table_size() const { return options_.table_size; }
  // The slot of an address and (host-order) port.
  uint32_t slot(const Address& addr, uint16_t port, uint32_t offset = 0) const;

 private:
  SchedulerFlags flags_;
  MhOptions options_;
  std::vector<int32_t> lookup_;
  std::vector<uint64_t> taken_;  // scratch bitmap for rebuild
};

bool is_prime(uint32_t n);

}  // namespace lvsd::forwarding::schedulers
