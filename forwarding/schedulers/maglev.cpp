#include "forwarding/schedulers/maglev.hpp"

#include <algorithm>
#include <bit>
#include <numeric>
#include <stdexcept>
#include <string>

#include "forwarding/schedulers/hash.hpp"

namespace lvsd::forwarding::schedulers {

namespace {

// generate_hash_secret(): both words of each key are the same constant.
constexpr uint64_t kHash1 = 2654435761ULL;
constexpr uint64_t kHash2 = 2654446892ULL;

uint32_t mh_hashkey(const Address& addr, uint16_t port, uint64_t key, uint32_t offset) {
  const uint32_t v = offset + uint32_t{port} + fold_address(addr);
  return hsiphash_u32(v, key, key);
}

struct DestSetup {
  uint32_t offset;
  uint32_t skip;
  uint32_t perm;
  int64_t turns;
  int32_t index;  // in the DestList
};

}  // namespace

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint32_t d = 3; uint64_t{d} * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

MaglevHashing::MaglevHashing(SchedulerFlags flags, MhOptions options)
    : flags_(flags), options_(options) {
  if (options_.table_size < 3 || !is_prime(options_.table_size))
    throw std::invalid_argument("mh table size must be a prime >= 3, not " +
                                std::to_string(options_.table_size));
  lookup_.assign(options_.table_size, -1);
}

uint32_t MaglevHashing::slot(const Address& addr, uint16_t port, uint32_t offset) const {
  return mh_hashkey(addr, port, kHash1, offset) % options_.table_size;
}

void MaglevHashing::rebuild(const DestList& dests) {
  const uint32_t size = options_.table_size;
  std::fill(lookup_.begin(), lookup_.end(), -1);
  if (dests.size() > size) return;

  // ip_vs_mh_gcd_weight / ip_vs_mh_shift_weight, over last_weight.
  int32_t g = 0;
  int32_t maxw = 0;
  for (const Dest& d : dests) {
    if (d.last_weight > 0) g = g > 0 ? std::gcd(d.last_weight, g) : d.last_weight;
    maxw = std::max(maxw, d.last_weight);
  }
  if (g < 1) return;  // no dest, or all last weights 0: empty table
  const int fls = std::bit_width(static_cast<uint32_t>(maxw / g));
  const int rshift = std::max(0, fls - options_.weight_bits);

  // ip_vs_mh_permutate, in list order or canonical (address:port) order.
  std::vector<DestSetup> setup;
  setup.reserve(dests.size());
  for (std::size_t i = 0; i < dests.size(); ++i) {
    const Dest& d = dests[i];
    const uint32_t offset = mh_hashkey(d.key.address, d.key.port, kHash1, 0) % size;
    const uint32_t skip = mh_hashkey(d.key.address, d.key.port, kHash2, 0) % (size - 1) + 1;
    const int64_t lw = d.last_weight;
    int64_t turns = (lw / g) >> rshift;
    if (turns == 0) turns = lw != 0 ? 1 : 0;
    setup.push_back({offset, skip, offset, turns, static_cast<int32_t>(i)});
  }
  if (options_.canonical_order)
    std::sort(setup.begin(), setup.end(), [&](const DestSetup& a, const DestSetup& b) {
      return dests[a.index].key < dests[b.index].key;
    });

  // ip_vs_mh_populate: take turns, `turns` slots per dest per round.
  taken_.assign((size + 63) / 64, 0);
  uint32_t n = 0;
  while (true) {
    for (DestSetup& ds : setup) {
      if (ds.turns < 1) continue;
      for (int64_t t = 0; t < ds.turns; ++t) {
        uint32_t c = ds.perm;
        while (taken_[c / 64] >> (c % 64) & 1) {
          ds.perm += ds.skip;
          if (ds.perm >= size) ds.perm -= size;
          c = ds.perm;
        }
        taken_[c / 64] |= uint64_t{1} << (c % 64);
        lookup_[c] = ds.index;
        if (++n == size) return;
      }
    }
  }
}

std::optional<std::size_t> MaglevHashing::pick(const DestList& dests, const Packet& packet) {
  const uint16_t port = flags_.port ? packet.sport : 0;
  const uint32_t ihash = slot(packet.saddr, port);
  int32_t d = lookup_[ihash];
  if (d < 0 || static_cast<std::size_t>(d) >= dests.size()) return std::nullopt;
  if (dests[d].usable()) return static_cast<std::size_t>(d);
  if (!flags_.fallback) return std::nullopt;
  const uint32_t size = options_.table_size;
  for (uint32_t offset = 0; offset < size; ++offset) {
    const uint32_t roffset = (offset + ihash) % size;
    d = lookup_[slot(packet.saddr, port, roffset)];
    if (d < 0) break;
    if (dests[d].usable()) return static_cast<std::size_t>(d);
  }
  return std::nullopt;
}

}  // namespace lvsd::forwarding::schedulers
