#include "vrrp/receive_path.hpp"

namespace lvsd::vrrp {

namespace ip = boost::asio::ip;

std::string_view to_string(RxDrop d) noexcept {
  switch (d) {
    case RxDrop::ip_header:
      return "ip_header";
    case RxDrop::not_vrrp:
      return "not_vrrp";
    case RxDrop::fragment:
      return "fragment";
    case RxDrop::bad_ttl:
      return "bad_ttl";
    case RxDrop::too_short:
      return "too_short";
    case RxDrop::bad_version:
      return "bad_version";
    case RxDrop::bad_type:
      return "bad_type";
    case RxDrop::bad_length:
      return "bad_length";
    case RxDrop::address_count_mismatch:
      return "address_count_mismatch";
    case RxDrop::bad_checksum:
      return "bad_checksum";
    case RxDrop::bad_auth_type:
      return "bad_auth_type";
    case RxDrop::bad_context:
      return "bad_context";
    case RxDrop::unknown_vrid:
      return "unknown_vrid";
    case RxDrop::wrong_version:
      return "wrong_version";
    case RxDrop::auth_mismatch:
      return "auth_mismatch";
    case RxDrop::interval_mismatch:
      return "interval_mismatch";
    case RxDrop::address_list_mismatch:
      return "address_list_mismatch";
  }
  return "?";
}

RxDrop to_rx_drop(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::too_short:
      return RxDrop::too_short;
    case DecodeError::bad_version:
      return RxDrop::bad_version;
    case DecodeError::bad_type:
      return RxDrop::bad_type;
    case DecodeError::bad_length:
      return RxDrop::bad_length;
    case DecodeError::address_count_mismatch:
      return RxDrop::address_count_mismatch;
    case DecodeError::bad_checksum:
      return RxDrop::bad_checksum;
    case DecodeError::bad_auth_type:
      return RxDrop::bad_auth_type;
    case DecodeError::bad_context:
      return RxDrop::bad_context;
  }
  return RxDrop::bad_context;
}

RxDrop to_rx_drop(DropReason r) noexcept {
  switch (r) {
    case DropReason::bad_ttl:
      return RxDrop::bad_ttl;
    case DropReason::wrong_version:
      return RxDrop::wrong_version;
    case DropReason::unknown_vrid:
      return RxDrop::unknown_vrid;
    case DropReason::auth_mismatch:
      return RxDrop::auth_mismatch;
    case DropReason::interval_mismatch:
      return RxDrop::interval_mismatch;
    case DropReason::address_list_mismatch:
      return RxDrop::address_list_mismatch;
  }
  return RxDrop::unknown_vrid;
}

std::uint64_t DropCounters::total() const {
  std::uint64_t n = 0;
  for (auto c : by_reason)
    n += c;
  return n;
}

Result<Ipv4Header, RxDrop> parse_ipv4(std::span<const std::byte> d) {
  // RFC 791 §3.1. The kernel hands raw sockets the header as received (total
  // length in network order since Linux 2.x for SOCK_RAW receive).
  auto u8 = [&](std::size_t i) { return std::to_integer<std::uint8_t>(d[i]); };
  if (d.size() < 20) return unexpected(RxDrop::ip_header);
  const unsigned version = u8(0) >> 4;
  const std::size_t ihl = static_cast<std::size_t>(u8(0) & 0x0f) * 4;
  if (version != 4 || ihl < 20 || ihl > d.size()) return unexpected(RxDrop::ip_header);
  const std::size_t total = (static_cast<std::size_t>(u8(2)) << 8) | u8(3);
  if (total < ihl || total > d.size()) return unexpected(RxDrop::ip_header);
  Ipv4Header h;
  h.ttl = u8(8);
  h.protocol = u8(9);
  h.source = ip::address_v4({u8(12), u8(13), u8(14), u8(15)});
  h.destination = ip::address_v4({u8(16), u8(17), u8(18), u8(19)});
  h.payload = d.subspan(ihl, total - ihl);
  if (h.protocol != kIpProtocol) return unexpected(RxDrop::not_vrrp);
  const unsigned frag = (static_cast<unsigned>(u8(6)) << 8) | u8(7);
  // More Fragments set or a non-zero offset (the DF bit is fine).
  if ((frag & 0x2000) != 0 || (frag & 0x1fff) != 0) return unexpected(RxDrop::fragment);
  return h;
}

RxResult receive(const RawDatagram& datagram, const RxLookup& lookup) {
  RxResult r;
  std::span<const std::byte> payload;
  if (datagram.family == Family::inet) {
    auto h = parse_ipv4(datagram.bytes);
    if (!h) {
      r.drop = h.error();
      return r;
    }
    r.source = h->source;
    r.destination = h->destination;
    r.ttl = h->ttl;
    payload = h->payload;
  } else {
    if (!datagram.source.is_v6() || !datagram.destination.is_v6()) {
      r.drop = RxDrop::bad_context;
      return r;
    }
    r.source = datagram.source;
    r.destination = datagram.destination;
    // No IPV6_HOPLIMIT: cannot prove 255, so it fails the check.
    r.ttl = datagram.hop_limit >= 0 && datagram.hop_limit <= 255
                ? static_cast<std::uint8_t>(datagram.hop_limit)
                : 0;
    payload = datagram.bytes;
  }
  if (payload.size() >= 2) {
    r.vrid = std::to_integer<std::uint8_t>(payload[1]);
    r.instance = lookup ? lookup(*r.vrid) : nullptr;
  }
  if (r.ttl != kTtl) {
    r.drop = RxDrop::bad_ttl;
    return r;
  }
  ChecksumContext ctx;
  ctx.source = r.source;
  ctx.destination = r.destination;
  ctx.v3_checksum_pseudo_header = r.instance ? r.instance->v3_checksum_pseudo_header : true;
  auto advert = decode(payload, ctx);
  if (!advert) {
    r.drop = to_rx_drop(advert.error());
    return r;
  }
  if (!r.instance) {
    r.drop = RxDrop::unknown_vrid;
    return r;
  }
  const Validation v = validate(*advert, r.instance->expect, r.ttl);
  r.address_list_mismatch = v.address_list_mismatch;
  if (v.drop) {
    r.drop = to_rx_drop(*v.drop);
    return r;
  }
  r.advert = std::move(*advert);
  return r;
}

}  // namespace lvsd::vrrp
