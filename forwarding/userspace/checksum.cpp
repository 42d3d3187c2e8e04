#include "forwarding/userspace/checksum.hpp"

#include <array>

namespace lvsd::forwarding::userspace::csum {

// 64-bit words summed with end-around carry: 2^64 - 1 is a multiple of
// 2^16 - 1, so the sum modulo 2^64 - 1 folds to the same 16-bit sum as the
// RFC 1071 loop over 16-bit words (RFC 1071 section 2(C), "parallel
// summation"). Four independent accumulators keep the add/adc chains short.
uint64_t sum(const uint8_t* p, std::size_t n, uint64_t initial) noexcept {
  uint64_t a0 = initial, a1 = 0, a2 = 0, a3 = 0;
  while (n >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    a0 = add_carry(a0, w[0]);
    a1 = add_carry(a1, w[1]);
    a2 = add_carry(a2, w[2]);
    a3 = add_carry(a3, w[3]);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    a0 = add_carry(a0, w);
    p += 8;
    n -= 8;
  }
  // The tail in 4-, 2- and 1-byte pieces (fixed-size loads, no memcpy call).
  // Each starts at an even offset, and a 16-bit-aligned piece may be added
  // in any 16-bit lane since 2^16 = 1 modulo 2^16 - 1.
  if (n & 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    a1 = add_carry(a1, w);
    p += 4;
  }
  if (n & 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    a2 = add_carry(a2, w);
    p += 2;
  }
  if (n & 1) {
    // An odd last byte is the first byte of a word padded with zero (RFC
    // 1071): copied into the first memory byte of a zeroed word, any host.
    uint16_t w = 0;
    std::memcpy(&w, p, 1);
    a3 = add_carry(a3, w);
  }
  return add_carry(add_carry(a0, a1), add_carry(a2, a3));
}

namespace {

// Reflected CRC32c polynomial (iSCSI, SCTP).
constexpr uint32_t kCrc32cPoly = 0x82F63B78u;

constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c >> 1) ^ ((c & 1) ? kCrc32cPoly : 0);
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (int s = 1; s < 8; ++s)
      t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  return t;
}

constexpr auto kTables = make_tables();

// Slicing-by-8 (Intel, "A systematic approach to building high performance
// software-based CRC generators"); c is the running (non-inverted) state.
uint32_t crc32c_sw(uint32_t c, const uint8_t* p, std::size_t n) noexcept {
  while (n >= 8 && std::endian::native == std::endian::little) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xff] ^ kTables[2][(hi >> 8) & 0xff] ^
        kTables[1][(hi >> 16) & 0xff] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- != 0)
    c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xff];
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_hw(uint32_t c, const uint8_t* p,
                                                     std::size_t n) noexcept {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c64 = __builtin_ia32_crc32di(c64, w);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c64);
  while (n-- != 0)
    c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}

bool have_sse42() noexcept {
  static const bool yes = [] {
    __builtin_cpu_init();  // may run during another object's static init
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return yes;
}
#endif

}  // namespace

uint32_t crc32c(const uint8_t* p, std::size_t n, uint32_t crc) noexcept {
  uint32_t c = ~crc;
#if defined(__x86_64__)
  if (have_sse42()) return ~crc32c_hw(c, p, n);
#endif
  return ~crc32c_sw(c, p, n);
}

uint32_t detail::crc32c_portable(const uint8_t* p, std::size_t n, uint32_t crc) noexcept {
  return ~crc32c_sw(~crc, p, n);
}

}  // namespace lvsd::forwarding::userspace::csum
