#include "vrrp/advert_codec.hpp"

#include <algorithm>
#include <stdexcept>

namespace lvsd::vrrp {
namespace {

namespace ip = boost::asio::ip;

constexpr std::size_t address_size(Family f) {
  return f == Family::inet ? 4 : 16;
}

std::uint8_t u8(std::span<const std::byte> b, std::size_t i) {
  return std::to_integer<std::uint8_t>(b[i]);
}

// RFC 1071 one's-complement sum, accumulated 16 bits at a time (big endian).
class Sum {
 public:
  void add(std::span<const std::byte> bytes) {
    for (std::byte b : bytes)
      add_byte(std::to_integer<std::uint8_t>(b));
  }
  template <std::size_t N>
  void add(const std::array<unsigned char, N>& bytes) {
    for (unsigned char b : bytes)
      add_byte(b);
  }
  void add_byte(std::uint8_t b) {
    sum_ += odd_ ? b : static_cast<std::uint32_t>(b) << 8;
    odd_ = !odd_;
  }
  // Pads an odd trailing byte with zero (RFC 1071) - only at the very end.
  std::uint16_t finish() const {
    std::uint64_t s = sum_;
    while (s >> 16)
      s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(~s & 0xffff);
  }

 private:
  std::uint64_t sum_ = 0;
  bool odd_ = false;
};

void add_pseudo_header(Sum& sum, const ChecksumContext& ctx, std::size_t length) {
  if (ctx.family() == Family::inet) {
    sum.add(ctx.source.to_v4().to_bytes());
    sum.add(ctx.destination.to_v4().to_bytes());
    sum.add_byte(0);
    sum.add_byte(kIpProtocol);
    sum.add_byte(static_cast<std::uint8_t>(length >> 8));
    sum.add_byte(static_cast<std::uint8_t>(length));
  } else {
    sum.add(ctx.source.to_v6().to_bytes());
    sum.add(ctx.destination.to_v6().to_bytes());
    for (int shift = 24; shift >= 0; shift -= 8)
      sum.add_byte(static_cast<std::uint8_t>(length >> shift));
    sum.add_byte(0);
    sum.add_byte(0);
    sum.add_byte(0);
    sum.add_byte(kIpProtocol);
  }
}

bool uses_pseudo_header(std::uint8_t version, const ChecksumContext& ctx) {
  if (version != 3) return false;
  return ctx.family() == Family::inet6 || ctx.v3_checksum_pseudo_header;
}

}  // namespace

std::array<std::uint8_t, kV2AuthDataSize> simple_password(std::string_view password) {
  std::array<std::uint8_t, kV2AuthDataSize> out{};
  for (std::size_t i = 0; i < out.size() && i < password.size(); ++i)
    out[i] = static_cast<std::uint8_t>(password[i]);
  return out;
}

std::string_view to_string(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::too_short:
      return "too_short";
    case DecodeError::bad_version:
      return "bad_version";
    case DecodeError::bad_type:
      return "bad_type";
    case DecodeError::bad_length:
      return "bad_length";
    case DecodeError::address_count_mismatch:
      return "address_count_mismatch";
    case DecodeError::bad_checksum:
      return "bad_checksum";
    case DecodeError::bad_auth_type:
      return "bad_auth_type";
    case DecodeError::bad_context:
      return "bad_context";
  }
  return "unknown";
}

std::string_view to_string(DropReason r) noexcept {
  switch (r) {
    case DropReason::bad_ttl:
      return "bad_ttl";
    case DropReason::wrong_version:
      return "wrong_version";
    case DropReason::unknown_vrid:
      return "unknown_vrid";
    case DropReason::auth_mismatch:
      return "auth_mismatch";
    case DropReason::interval_mismatch:
      return "interval_mismatch";
    case DropReason::address_list_mismatch:
      return "address_list_mismatch";
  }
  return "unknown";
}

std::uint16_t checksum(std::span<const std::byte> bytes, std::uint8_t version,
                       const ChecksumContext& ctx) {
  Sum sum;
  if (uses_pseudo_header(version, ctx)) add_pseudo_header(sum, ctx, bytes.size());
  sum.add(bytes);
  return sum.finish();
}

Result<Advert, DecodeError> decode(std::span<const std::byte> bytes, const ChecksumContext& ctx) {
  using R = Result<Advert, DecodeError>;
  if (ctx.source.is_v6() != ctx.destination.is_v6()) return R::failure(DecodeError::bad_context);
  if (bytes.size() < kHeaderSize) return R::failure(DecodeError::too_short);

  Advert a;
  a.version = u8(bytes, 0) >> 4;
  a.type = u8(bytes, 0) & 0x0f;
  const Family family = ctx.family();
  if (a.version != 2 && a.version != 3) return R::failure(DecodeError::bad_version);
  if (a.version == 2 && family != Family::inet) return R::failure(DecodeError::bad_version);
  if (a.type != kTypeAdvertisement) return R::failure(DecodeError::bad_type);

  const std::size_t fixed = kHeaderSize + (a.version == 2 ? kV2AuthDataSize : 0);
  if (bytes.size() < fixed) return R::failure(DecodeError::too_short);
  const std::size_t addr_size = address_size(family);
  const std::size_t body = bytes.size() - fixed;
  if (body % addr_size != 0) return R::failure(DecodeError::bad_length);
  const std::size_t count = u8(bytes, 3);
  if (body / addr_size != count) return R::failure(DecodeError::address_count_mismatch);
  if (checksum(bytes, a.version, ctx) != 0) return R::failure(DecodeError::bad_checksum);

  a.vrid = u8(bytes, 1);
  a.priority = u8(bytes, 2);
  if (a.version == 2) {
    const std::uint8_t auth = u8(bytes, 4);
    if (auth != static_cast<std::uint8_t>(AuthType::none) &&
        auth != static_cast<std::uint8_t>(AuthType::simple_text))
      return R::failure(DecodeError::bad_auth_type);
    a.auth_type = static_cast<AuthType>(auth);
    a.adver_int = u8(bytes, 5);
    for (std::size_t i = 0; i < kV2AuthDataSize; ++i)
      a.auth_data[i] = u8(bytes, kHeaderSize + body + i);
  } else {
    a.max_adver_int = static_cast<std::uint16_t>((u8(bytes, 4) & 0x0f) << 8 | u8(bytes, 5));
  }
  a.checksum = static_cast<std::uint16_t>(u8(bytes, 6) << 8 | u8(bytes, 7));

  a.addresses.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t off = kHeaderSize + i * addr_size;
    if (family == Family::inet) {
      ip::address_v4::bytes_type b{};
      for (std::size_t j = 0; j < b.size(); ++j)
        b[j] = u8(bytes, off + j);
      a.addresses.emplace_back(ip::address_v4(b));
    } else {
      ip::address_v6::bytes_type b{};
      for (std::size_t j = 0; j < b.size(); ++j)
        b[j] = u8(bytes, off + j);
      a.addresses.emplace_back(ip::address_v6(b));
    }
  }
  return a;
}

Bytes encode(const Advert& a, const ChecksumContext& ctx) {
  const Family family = ctx.family();
  if (ctx.source.is_v6() != ctx.destination.is_v6())
    throw std::invalid_argument("vrrp::encode: source and destination of different families");
  if (a.version != 2 && a.version != 3)
    throw std::invalid_argument("vrrp::encode: version must be 2 or 3");
  if (a.version == 2 && family != Family::inet)
    throw std::invalid_argument("vrrp::encode: VRRPv2 is IPv4 only");
  if (a.version == 3 && a.max_adver_int > kMaxAdverIntMax)
    throw std::invalid_argument("vrrp::encode: max_adver_int exceeds 12 bits");
  if (a.addresses.size() > 255) throw std::invalid_argument("vrrp::encode: over 255 addresses");
  for (const auto& addr : a.addresses)
    if (addr.is_v6() != (family == Family::inet6))
      throw std::invalid_argument("vrrp::encode: address family differs from the packet's");

  Bytes out;
  out.reserve(kHeaderSize + a.addresses.size() * address_size(family) + kV2AuthDataSize);
  auto put = [&out](std::uint8_t b) { out.push_back(static_cast<std::byte>(b)); };
  put(static_cast<std::uint8_t>(a.version << 4 | (a.type & 0x0f)));
  put(a.vrid);
  put(a.priority);
  put(static_cast<std::uint8_t>(a.addresses.size()));
  if (a.version == 2) {
    put(static_cast<std::uint8_t>(a.auth_type));
    put(a.adver_int);
  } else {
    put(static_cast<std::uint8_t>(a.max_adver_int >> 8));  // reserved bits stay 0
    put(static_cast<std::uint8_t>(a.max_adver_int));
  }
  put(0);  // checksum, filled in below
  put(0);
  for (const auto& addr : a.addresses) {
    if (addr.is_v4()) {
      for (auto b : addr.to_v4().to_bytes())
        put(b);
    } else {
      for (auto b : addr.to_v6().to_bytes())
        put(b);
    }
  }
  if (a.version == 2)
    for (auto b : a.auth_data)
      put(b);

  const std::uint16_t sum = checksum(out, a.version, ctx);
  out[6] = static_cast<std::byte>(sum >> 8);
  out[7] = static_cast<std::byte>(sum & 0xff);
  return out;
}

Validation validate(const Advert& advert, const InstanceExpectations& expect,
                    std::uint8_t received_ttl) {
  Validation v;
  auto sorted = [](std::vector<ip::address> list) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    return list;
  };
  v.address_list_mismatch = advert.count_ip_addrs() != expect.addresses.size() ||
                            sorted(advert.addresses) != sorted(expect.addresses);

  if (received_ttl != kTtl) {
    v.drop = DropReason::bad_ttl;
  } else if (advert.version != expect.version) {
    v.drop = DropReason::wrong_version;
  } else if (advert.vrid != expect.vrid) {
    v.drop = DropReason::unknown_vrid;
  } else if (advert.version == 2 &&
             (advert.auth_type != expect.auth_type || (expect.auth_type == AuthType::simple_text &&
                                                       advert.auth_data != expect.auth_data))) {
    v.drop = DropReason::auth_mismatch;
  } else if (advert.version == 2 && advert.adver_int != expect.adver_int) {
    v.drop = DropReason::interval_mismatch;
  } else if (v.address_list_mismatch && expect.owner) {
    v.drop = DropReason::address_list_mismatch;
  }
  return v;
}

}  // namespace lvsd::vrrp
