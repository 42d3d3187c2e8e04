// Hex helpers for the ip_vs golden-byte tests.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "forwarding/ipvs/messages.hpp"

namespace lvsd::forwarding::ipvs {
// Readable gtest output for error kinds.
inline void PrintTo(Error::Kind kind, std::ostream* os) {
  *os << to_string(kind);
}
}  // namespace lvsd::forwarding::ipvs

namespace lvsd::forwarding::ipvs::testing {

// "28 00 0a0b" -> bytes; whitespace is ignored. An odd digit count or a
// non-hex character is a bug in the test itself, so it aborts loudly.
inline Bytes hex(std::string_view text) {
  Bytes out;
  int hi = -1;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) __builtin_trap();
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi * 16 + v));
      hi = -1;
    }
  }
  if (hi >= 0) __builtin_trap();
  return out;
}

// Bytes -> "28000000 24000500 ..." (groups of 4 bytes) for readable diffs.
inline std::string to_hex(ByteView bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0 && i % 4 == 0) out += ' ';
    const auto b = static_cast<std::uint8_t>(bytes[i]);
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

}  // namespace lvsd::forwarding::ipvs::testing
