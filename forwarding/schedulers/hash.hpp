// The kernel's hash functions used by the hashing schedulers, bit for bit.
#pragma once

#include <cstdint>

#include "forwarding/model.hpp"

namespace lvsd::forwarding::schedulers {

// include/linux/hash.h: hash_32(val, bits) with GOLDEN_RATIO_32 (the generic
// version; x86 has no arch override).
constexpr uint32_t hash_32(uint32_t val, unsigned bits) {
  return (val * 0x61C88647u) >> (32 - bits);
}

// ntohl(addr_fold) of the schedulers: an IPv4 address in host order, or the
// XOR of an IPv6 address's four 32-bit words.
uint32_t fold_address(const Address& a);

// lib/siphash.c hsiphash() of 4 bytes as built for 64-bit kernels, where
// "HalfSipHash-1-3" is SipHash-1-3 over 64-bit words truncated to 32 bits and
// hsiphash_key_t holds two unsigned longs. `value` is hashed as its
// little-endian bytes (the in-memory u32 on x86_64).
uint32_t hsiphash_u32(uint32_t value, uint64_t key0, uint64_t key1);

}  // namespace lvsd::forwarding::schedulers
