// Internet checksum (RFC 1071), its incremental update (RFC 1624) and the
// SCTP CRC32c (RFC 9260 appendix A) for the userspace dataplane's rewrites.
//
// Byte order: every 16- and 32-bit value in this API is "raw", the bytes as
// they lie in the packet read with memcpy (load_raw16), never byte-swapped.
// RFC 1071 section 2(B): the one's-complement sum is byte-order independent,
// so summing raw words and storing the folded raw result gives the correct
// checksum bytes on any host (this is the kernel's __wsum/__sum16 convention).
// A "partial" sum is an unfolded 64-bit accumulator of raw words; fold() it
// to 16 bits and complement it (finish) to get a checksum field's value.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lvsd::forwarding::userspace::csum {

inline uint16_t load_raw16(const uint8_t* p) noexcept {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline void store_raw16(uint8_t* p, uint16_t v) noexcept {
  std::memcpy(p, &v, 2);
}
inline uint32_t load_raw32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Host-order value <-> raw (network-order) 16-bit word.
inline constexpr uint16_t raw16(uint16_t host) noexcept {
  if constexpr (std::endian::native == std::endian::little)
    return static_cast<uint16_t>((host >> 8) | (host << 8));
  else
    return host;
}
inline constexpr uint16_t host16(uint16_t raw) noexcept {
  return raw16(raw);
}

// a + b with the carry added back (end-around carry, RFC 1071 section 2(A)).
inline constexpr uint64_t add_carry(uint64_t a, uint64_t b) noexcept {
  const uint64_t s = a + b;
  return s + (s < a ? 1 : 0);
}

// Folds a partial sum to 16 bits (end-around carry at each step). The result
// is 0 only when every summed word was 0.
inline constexpr uint16_t fold(uint64_t sum) noexcept {
  uint64_t s = (sum & 0xffffffffu) + (sum >> 32);  // <= 2^33
  s = (s & 0xffff) + (s >> 16);                    // <= 2^17 + ...
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// The value of a checksum field whose covered data (field zeroed) sums to
// `sum`: ~fold(sum), raw.
inline constexpr uint16_t finish(uint64_t sum) noexcept {
  return static_cast<uint16_t>(~fold(sum));
}

// RFC 1071 sum of n bytes at p (any alignment, any length; an odd trailing
// byte is padded with a zero byte), added to `initial`. p is taken as the
// start of a 16-bit word boundary of the checksummed message: callers sum
// pieces that start at even offsets of it. 64-bit loads with carry,
// unrolled; see checksum.cpp.
uint64_t sum(const uint8_t* p, std::size_t n, uint64_t initial = 0) noexcept;

// Pseudo-header partial sums (not folded, not complemented).
// RFC 793 section 3.1 / RFC 768: saddr, daddr, zero, protocol, L4 length.
inline uint64_t pseudo_v4(const uint8_t* saddr4, const uint8_t* daddr4, uint8_t protocol,
                          uint16_t l4_len) noexcept {
  uint64_t s = load_raw32(saddr4);
  s += load_raw32(daddr4);
  s += raw16(protocol);
  s += raw16(l4_len);
  return s;
}
// RFC 8200 section 8.1: saddr, daddr, 32-bit upper-layer length, 3 zero
// bytes, next header.
inline uint64_t pseudo_v6(const uint8_t* saddr16, const uint8_t* daddr16, uint8_t next_header,
                          uint32_t l4_len) noexcept {
  uint64_t s = 0;
  for (int i = 0; i < 16; i += 4) {
    s += load_raw32(saddr16 + i);
    s += load_raw32(daddr16 + i);
  }
  s += raw16(static_cast<uint16_t>(l4_len >> 16));
  s += raw16(static_cast<uint16_t>(l4_len & 0xffff));
  s += raw16(next_header);
  return s;
}

// RFC 1624 section 3, eqn. 3: HC' = ~(~HC + ~m + m'). A Delta accumulates
// the ~m + m' terms of several changed words (fields of one header and the
// pseudo-header alike) so they are applied to a checksum in one step.
struct Delta {
  uint64_t acc = 0;

  // One 16-bit word changes from old_raw to new_raw.
  void add16(uint16_t old_raw, uint16_t new_raw) noexcept {
    acc += static_cast<uint16_t>(~old_raw);
    acc += new_raw;
  }
  // One 32-bit word (two 16-bit words) changes; ~ of the 32-bit word is ~ of
  // both halves, and a 32-bit sum folds to the same 16-bit sum.
  void add32(uint32_t old_raw, uint32_t new_raw) noexcept {
    acc += static_cast<uint32_t>(~old_raw);
    acc += new_raw;
  }
  // n bytes (n a multiple of 4: an IPv4 or IPv6 address) change.
  void add_bytes(const uint8_t* old_bytes, const uint8_t* new_bytes, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; i += 4)
      add32(load_raw32(old_bytes + i), load_raw32(new_bytes + i));
  }

  // The updated checksum field. Like a full recompute (~fold of a non-zero
  // sum) it is never 0xffff unless the input was 0xffff (RFC 1624 section 5
  // is why eqn. 3, not eqn. 2, is used: no spurious -0).
  uint16_t apply(uint16_t check_raw) const noexcept {
    return finish(add_carry(static_cast<uint16_t>(~check_raw), acc));
  }
  // UDP: the field 0 means "no checksum" (RFC 768), so a computed 0 is sent
  // as 0xffff; callers leave a 0 field alone (see rewrite.hpp).
  uint16_t apply_udp(uint16_t check_raw) const noexcept {
    const uint16_t c = apply(check_raw);
    return c == 0 ? 0xffff : c;
  }
};

inline uint16_t update16(uint16_t check_raw, uint16_t old_raw, uint16_t new_raw) noexcept {
  Delta d;
  d.add16(old_raw, new_raw);
  return d.apply(check_raw);
}
inline uint16_t update32(uint16_t check_raw, uint32_t old_raw, uint32_t new_raw) noexcept {
  Delta d;
  d.add32(old_raw, new_raw);
  return d.apply(check_raw);
}
inline uint16_t update_addr16(uint16_t check_raw, const uint8_t* old16,
                              const uint8_t* new16) noexcept {
  Delta d;
  d.add_bytes(old16, new16, 16);
  return d.apply(check_raw);
}

// The IPv4 header checksum of the ihl_bytes-long header at p (its checksum
// field is treated as zero, whatever it holds), raw. RFC 791 section 3.1.
inline uint16_t ipv4_header_checksum(const uint8_t* p, std::size_t ihl_bytes) noexcept {
  uint64_t s = sum(p, ihl_bytes);
  s = add_carry(s, static_cast<uint16_t>(~load_raw16(p + 10)));  // subtract the field
  return finish(s);
}

// CRC32c (Castagnoli, reflected, init and final xor ~0) of n bytes: the
// SCTP checksum value as the kernel's sctp_compute_cksum() gives it, before
// it is stored little-endian into the common header (RFC 9260 appendix A).
// Uses the SSE4.2 crc32 instruction when the CPU has it, else slicing-by-8.
uint32_t crc32c(const uint8_t* p, std::size_t n, uint32_t crc = 0) noexcept;

namespace detail {
// The table-driven CRC32c whatever the CPU has (tests cover both paths).
uint32_t crc32c_portable(const uint8_t* p, std::size_t n, uint32_t crc = 0) noexcept;
}  // namespace detail

}  // namespace lvsd::forwarding::userspace::csum
