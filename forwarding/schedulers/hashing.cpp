#include "forwarding/schedulers/hashing.hpp"

#include "forwarding/schedulers/hash.hpp"

namespace lvsd::forwarding::schedulers {

unsigned SourceHashing::bucket(const Address& addr, uint16_t port, unsigned offset) {
  return (offset + hash_32(uint32_t{port} + fold_address(addr), kHashTabBits)) & (kHashTabSize - 1);
}

void SourceHashing::reassign(const DestList& dests) {
  const std::size_t n = dests.size();
  std::size_t p = 0;
  int64_t d_count = 0;
  for (auto& b : buckets_) {
    if (n == 0) {
      b = -1;
      continue;
    }
    b = static_cast<int32_t>(p);
    // Don't move to the next dest until it has `weight` buckets.
    if (++d_count >= dests[p].weight) {
      p = (p + 1) % n;
      d_count = 0;
    }
  }
}

std::optional<std::size_t> SourceHashing::pick(const DestList& dests, const Packet& packet) {
  const uint16_t port = flags_.port ? packet.sport : 0;
  const unsigned ihash = bucket(packet.saddr, port);
  int32_t d = buckets_[ihash];
  if (d < 0 || static_cast<std::size_t>(d) >= dests.size()) return std::nullopt;
  if (dests[d].usable()) return static_cast<std::size_t>(d);
  if (!flags_.fallback) return std::nullopt;
  for (unsigned offset = 0; offset < kHashTabSize; ++offset) {
    const unsigned roffset = (offset + ihash) % kHashTabSize;
    d = buckets_[bucket(packet.saddr, port, roffset)];
    if (d < 0) break;
    if (dests[d].usable()) return static_cast<std::size_t>(d);
  }
  return std::nullopt;
}

unsigned DestinationHashing::bucket(const Address& addr) {
  return hash_32(fold_address(addr), kHashTabBits);
}

void DestinationHashing::reassign(const DestList& dests) {
  const std::size_t n = dests.size();
  std::size_t p = 0;
  for (auto& b : buckets_) {
    if (n == 0) {
      b = -1;
      continue;
    }
    b = static_cast<int32_t>(p);
    p = (p + 1) % n;
  }
}

std::optional<std::size_t> DestinationHashing::pick(const DestList& dests, const Packet& packet) {
  const int32_t d = buckets_[bucket(packet.daddr)];
  if (d < 0 || static_cast<std::size_t>(d) >= dests.size() || !dests[d].usable())
    return std::nullopt;
  return static_cast<std::size_t>(d);
}

}  // namespace lvsd::forwarding::schedulers
