#include "forwarding/schedulers/hash.hpp"

#include <bit>

namespace lvsd::forwarding::schedulers {

uint32_t fold_address(const Address& a) {
  if (a.is_v4()) return a.to_v4().to_uint();
  const auto b = a.to_v6().to_bytes();
  uint32_t fold = 0;
  for (int w = 0; w < 4; ++w)
    fold ^= (uint32_t{b[4 * w]} << 24) | (uint32_t{b[4 * w + 1]} << 16) |
            (uint32_t{b[4 * w + 2]} << 8) | uint32_t{b[4 * w + 3]};
  return fold;
}

namespace {
inline void sipround(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1;
  v1 = std::rotl(v1, 13);
  v1 ^= v0;
  v0 = std::rotl(v0, 32);
  v2 += v3;
  v3 = std::rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = std::rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = std::rotl(v1, 17);
  v1 ^= v2;
  v2 = std::rotl(v2, 32);
}
}  // namespace

uint32_t hsiphash_u32(uint32_t value, uint64_t key0, uint64_t key1) {
  // PREAMBLE(len)
  uint64_t v0 = 0x736f6d6570736575ULL ^ key0;
  uint64_t v1 = 0x646f72616e646f6dULL ^ key1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ key0;
  uint64_t v3 = 0x7465646279746573ULL ^ key1;
  const uint64_t b = (uint64_t{4} << 56) | value;  // no full word; 4 bytes left
  // HPOSTAMBLE: one compression round, three finalisation rounds.
  v3 ^= b;
  sipround(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  sipround(v0, v1, v2, v3);
  sipround(v0, v1, v2, v3);
  sipround(v0, v1, v2, v3);
  return static_cast<uint32_t>((v0 ^ v1) ^ (v2 ^ v3));
}

}  // namespace lvsd::forwarding::schedulers
