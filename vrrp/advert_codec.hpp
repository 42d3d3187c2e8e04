// VRRP advertisement codec: pure encode/decode of VRRPv2 (RFC 3768) and VRRPv3
// (RFC 5798 as updated by RFC 9568) over IPv4 and IPv6, checksums included.
//
// The codec handles the VRRP message only, i.e. the IP payload of protocol 112.
// The IP header (TTL/hop limit, source, destination) belongs to the driver; the
// parts of it the codec needs (the addresses, for the v3 pseudo-header and to
// know the address family) are passed in a ChecksumContext.
//
// Pure functions: no sockets, no logging, no globals.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lvsd::vrrp {

// ---------------------------------------------------------------------------
// Result<T, E>: a minimal stand-in for C++23 std::expected.
//
// Holds either a value of type T or an error of type E. Construct a value
// implicitly from T, an error with `Result<T, E>::failure(e)` or implicitly
// from `Unexpected<E>` (see `unexpected(e)`). has_value()/operator bool tell
// which; value()/operator*/operator-> access the value and error() the error;
// accessing the wrong alternative throws std::bad_variant_access.
// ---------------------------------------------------------------------------
template <class E>
struct Unexpected {
  E error;
};

template <class E>
Unexpected<E> unexpected(E e) {
  return Unexpected<E>{std::move(e)};
}

template <class T, class E>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(Unexpected<E> err) : v_(std::in_place_index<1>, std::move(err.error)) {}  // NOLINT
  static Result failure(E e) { return Result(Unexpected<E>{std::move(e)}); }

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const E& error() const { return std::get<1>(v_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> v_;
};

// ---------------------------------------------------------------------------
// Protocol constants (RFC 5798 §5.1, §7.3; RFC 3768 §5.1, §7.3).
// ---------------------------------------------------------------------------
inline constexpr std::uint8_t kIpProtocol = 112;  // IPv4 protocol / IPv6 next header
inline constexpr std::uint8_t kTtl = 255;         // TTL / hop limit, sent and required
inline constexpr std::uint8_t kTypeAdvertisement = 1;
inline constexpr std::uint8_t kPriorityOwner = 255;
inline constexpr std::uint8_t kPriorityResign = 0;
inline constexpr std::uint16_t kMaxAdverIntMax = 0x0fff;  // v3: 12 bits of centiseconds
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kV2AuthDataSize = 8;

// 224.0.0.18 and ff02::12.
inline boost::asio::ip::address_v4 multicast_group_v4() {
  return boost::asio::ip::address_v4({224, 0, 0, 18});
}
inline boost::asio::ip::address_v6 multicast_group_v6() {
  return boost::asio::ip::address_v6({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12});
}

enum class Family : std::uint8_t { inet, inet6 };

using MacAddress = std::array<std::uint8_t, 6>;

// Virtual router MAC: 00-00-5E-00-01-{VRID} (IPv4), 00-00-5E-00-02-{VRID} (IPv6).
constexpr MacAddress virtual_mac(Family family, std::uint8_t vrid) {
  return {0x00, 0x00, 0x5e, 0x00, static_cast<std::uint8_t>(family == Family::inet ? 0x01 : 0x02),
          vrid};
}

// ---------------------------------------------------------------------------
// The message.
// ---------------------------------------------------------------------------

// VRRPv2 authentication type (RFC 3768 §5.3.6 lists only 0; 1 is RFC 2338's
// simple text password, still used by keepalived's `auth_type PASS`). Type 2
// (IP AH) and anything else is rejected by decode() as bad_auth_type: an AH
// advert is not protocol 112 on the wire anyway.
enum class AuthType : std::uint8_t { none = 0, simple_text = 1 };

// One VRRP advertisement. Fields that belong to one version are ignored by the
// other: auth_type/adver_int/auth_data are v2 only, max_adver_int is v3 only.
struct Advert {
  std::uint8_t version = 3;  // 2 or 3
  std::uint8_t type = kTypeAdvertisement;
  std::uint8_t vrid = 1;
  std::uint8_t priority = 100;

  // v2 only.
  AuthType auth_type = AuthType::none;
  std::uint8_t adver_int = 1;                             // seconds
  std::array<std::uint8_t, kV2AuthDataSize> auth_data{};  // password, zero padded

  // v3 only: centiseconds, 12 bits. The 4 reserved bits above it are sent as 0
  // and ignored on receive (so they are not kept here).
  std::uint16_t max_adver_int = 100;

  // As received by decode(). encode() ignores it and computes the checksum.
  std::uint16_t checksum = 0;

  // All of the family of the packet (ChecksumContext::source). At most 255.
  std::vector<boost::asio::ip::address> addresses;

  // The "Count IPvX Addrs" field. decode() guarantees it equals the number of
  // addresses the packet holds (else address_count_mismatch); encode() writes
  // addresses.size().
  std::size_t count_ip_addrs() const noexcept { return addresses.size(); }

  bool operator==(const Advert&) const = default;
};

// The simple-text password as it is carried (RFC 2338 §5.3.10): the first 8
// bytes of `password`, zero padded. keepalived truncates longer passwords too.
std::array<std::uint8_t, kV2AuthDataSize> simple_password(std::string_view password);

// What the codec needs from the IP header around the VRRP message.
struct ChecksumContext {
  // IP source and destination of the packet. Both must be of one family, which
  // is the family of the advert's addresses. For v3 they go into the
  // pseudo-header (RFC 5798 §5.2.8); v2 does not use them beyond the family.
  boost::asio::ip::address source;
  boost::asio::ip::address destination;
  // v3 over IPv4 only: false computes the checksum over the VRRP message alone
  // (the v2 way) to interoperate with speakers that leave the pseudo-header out
  // (newer FRR's `no vrrp N checksum-with-ipv4-pseudoheader`; not in Debian 12's
  // FRR 8.4). IPv6 always uses the pseudo-header (RFC 8200 §8.1), so this is
  // ignored there.
  // keepalived's `old_unicast_checksum` is a different variant: v3 unicast with
  // 224.0.0.18 as the pseudo-header destination; pass that as `destination`.
  bool v3_checksum_pseudo_header = true;

  Family family() const noexcept { return source.is_v6() ? Family::inet6 : Family::inet; }
};

// Decode failure, one per drop counter.
enum class DecodeError : std::uint8_t {
  too_short,               // shorter than the fixed part (8 bytes; v2: 16 with auth data)
  bad_version,             // not 2 or 3, or v2 over IPv6
  bad_type,                // not 1 (ADVERTISEMENT)
  bad_length,              // not a whole number of addresses for the family
  address_count_mismatch,  // whole number of addresses, but not Count IPvX Addrs
  bad_checksum,
  bad_auth_type,  // v2: neither 0 (none) nor 1 (simple text password)
  bad_context,    // ChecksumContext source/destination of different families
};

// Stable snake_case name, e.g. for a counter label: "too_short", ...
std::string_view to_string(DecodeError e) noexcept;

using Bytes = std::vector<std::byte>;

// Decodes one VRRP message (the whole IP payload). The checksum is verified
// (v3: with or without the pseudo-header as `ctx` says). The address family is
// `ctx.family()`. Never reads past `bytes`, never throws for any input.
// Checks in this order: bad_context, too_short, bad_version, bad_type,
// bad_length, address_count_mismatch, bad_checksum, bad_auth_type.
Result<Advert, DecodeError> decode(std::span<const std::byte> bytes, const ChecksumContext& ctx);

// Encodes `advert` and computes its checksum. The v3 reserved bits are written
// as 0; the v2 auth data is written as given (keep it zeroed for auth type
// none, as RFC 3768 §5.3.10 says). Preconditions (programming errors, std::invalid_argument
// otherwise): version 2 or 3; v2 only over IPv4; v3 max_adver_int <= 4095; at most 255 addresses,
// all of ctx.family(); ctx source and destination of one family.
Bytes encode(const Advert& advert, const ChecksumContext& ctx);

// RFC 1071 Internet checksum of the VRRP message `bytes` (its checksum field
// included as it is: pass it zeroed to compute, as received to verify, where a
// right checksum gives 0). v3 prefixes the pseudo-header as `ctx` says.
std::uint16_t checksum(std::span<const std::byte> bytes, std::uint8_t version,
                       const ChecksumContext& ctx);

// ---------------------------------------------------------------------------
// Receive validation (RFC 5798 §7.1, RFC 3768 §7.1) of a decoded advert
// against the receiving instance. decode() already covered the checksum,
// version range, type and lengths; the driver passes the received TTL.
// ---------------------------------------------------------------------------
struct InstanceExpectations {
  std::uint8_t version = 3;
  std::uint8_t vrid = 1;
  // The local instance owns the addresses (priority 255).
  bool owner = false;
  // v2 only.
  AuthType auth_type = AuthType::none;
  std::array<std::uint8_t, kV2AuthDataSize> auth_data{};  // simple_password(...)
  std::uint8_t adver_int = 1;                             // seconds
  // The configured virtual addresses (compared as a set).
  std::vector<boost::asio::ip::address> addresses;
};

enum class DropReason : std::uint8_t {
  bad_ttl,                // TTL / hop limit not 255
  wrong_version,          // not the instance's version
  unknown_vrid,           // not the instance's VRID
  auth_mismatch,          // v2: auth type or simple password differs
  interval_mismatch,      // v2: Adver Int differs from the configured one
  address_list_mismatch,  // only a drop when the local instance is the owner
};

std::string_view to_string(DropReason r) noexcept;

struct Validation {
  std::optional<DropReason> drop;  // set: drop the advert, count this reason
  // The address count/list differs from the configured one: log it (RFC 5798
  // §7.1 "SHOULD log"). Also set when the advert was not dropped for it.
  bool address_list_mismatch = false;

  bool accepted() const noexcept { return !drop.has_value(); }
};

// Checks in RFC order: TTL, version, VRID, auth (v2), interval (v2), address
// list. The first failing check is the drop reason.
Validation validate(const Advert& advert, const InstanceExpectations& expect,
                    std::uint8_t received_ttl);

}  // namespace lvsd::vrrp
