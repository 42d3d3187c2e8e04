#include "sync/codec.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace lvsd::sync {
namespace {

using namespace conn_flags;

constexpr std::size_t kIpv4UdpHeaders = 20 + 8;  // sizeof(struct iphdr) + sizeof(struct udphdr)
constexpr std::size_t kIpv6UdpHeaders = 40 + 8;  // sizeof(struct ipv6hdr) + sizeof(struct udphdr)
constexpr std::size_t kSeqOptionTlvSize = 2 + kSeqOptionsSize;

// Big-endian reads and writes on byte spans; callers check bounds first.
std::uint8_t u8(const std::byte* p) {
  return std::to_integer<std::uint8_t>(*p);
}
std::uint16_t be16(const std::byte* p) {
  return static_cast<std::uint16_t>(u8(p) << 8 | u8(p + 1));
}
std::uint32_t be32(const std::byte* p) {
  return static_cast<std::uint32_t>(u8(p)) << 24 | static_cast<std::uint32_t>(u8(p + 1)) << 16 |
         static_cast<std::uint32_t>(u8(p + 2)) << 8 | static_cast<std::uint32_t>(u8(p + 3));
}
std::uint32_t le32(const std::byte* p) {
  return static_cast<std::uint32_t>(u8(p)) | static_cast<std::uint32_t>(u8(p + 1)) << 8 |
         static_cast<std::uint32_t>(u8(p + 2)) << 16 | static_cast<std::uint32_t>(u8(p + 3)) << 24;
}
void put8(std::byte* p, std::uint8_t v) {
  *p = static_cast<std::byte>(v);
}
void put16(std::byte* p, std::uint16_t v) {
  put8(p, static_cast<std::uint8_t>(v >> 8));
  put8(p + 1, static_cast<std::uint8_t>(v));
}
void put32(std::byte* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}
void putle32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    put8(p + i, static_cast<std::uint8_t>(v >> (8 * i)));
}

IpAddr read_addr(const std::byte* p, Family f) {
  const auto* b = reinterpret_cast<const std::uint8_t*>(p);
  return f == Family::inet ? IpAddr::v4(b) : IpAddr::v6(b);
}
std::byte* write_addr(std::byte* p, const IpAddr& a, Family f) {
  if (f == Family::inet) {
    std::memcpy(p, a.v4_bytes(), 4);
    return p + 4;
  }
  std::memcpy(p, a.b.data(), 16);
  return p + 16;
}

std::size_t fixed_size(Family f) {
  return f == Family::inet ? kEntrySizeV4 : kEntrySizeV6;
}

// Writes one v1 entry at `p` (room for entry_size(conn) bytes); returns its end.
// Field order and options: ip_vs_sync_conn().
std::byte* write_entry_v1(std::byte* p, const SyncConn& c, std::size_t len) {
  put8(p + 0, c.family == Family::inet6 ? kTypeInet6 : 0);
  put8(p + 1, c.protocol);
  put16(p + 2, static_cast<std::uint16_t>(len & kSizeMask));  // version nibble 0
  put32(p + 4, c.flags & ~kHashed);
  put16(p + 8, c.state);
  put16(p + 10, c.cport);
  put16(p + 12, c.vport);
  put16(p + 14, c.dport);
  put32(p + 16, c.fwmark);
  put32(p + 20, c.timeout);
  std::byte* q = p + 24;
  q = write_addr(q, c.caddr, c.family);
  q = write_addr(q, c.vaddr, c.family);
  q = write_addr(q, c.daddr, c.family);
  if (c.seq) {
    put8(q++, kOptSeqData);
    put8(q++, static_cast<std::uint8_t>(kSeqOptionsSize));
    for (const Seq* s : {&c.seq->in_seq, &c.seq->out_seq}) {
      put32(q, s->init_seq);
      put32(q + 4, s->delta);
      put32(q + 8, s->previous_delta);
      q += 12;
    }
  }
  if (c.pe) {
    const auto data = c.pe->data();
    put8(q++, kOptPeData);
    put8(q++, static_cast<std::uint8_t>(data.size()));
    std::memcpy(q, data.data(), data.size());
    q += data.size();
    const auto name = c.pe->name();
    put8(q++, kOptPeName);
    put8(q++, static_cast<std::uint8_t>(name.size()));
    std::memcpy(q, name.data(), name.size());
    q += name.size();
  }
  return q;
}

// One v0 entry (ip_vs_sync_conn_v0()): struct ip_vs_sync_conn_v0, then the
// in/out seq structs memcpy()d in host order when the seq flags are set.
std::byte* write_entry_v0(std::byte* p, const SyncConn& c) {
  put8(p + 0, 0);
  put8(p + 1, c.protocol);
  put16(p + 2, c.cport);
  put16(p + 4, c.vport);
  put16(p + 6, c.dport);
  std::memcpy(p + 8, c.caddr.v4_bytes(), 4);
  std::memcpy(p + 12, c.vaddr.v4_bytes(), 4);
  std::memcpy(p + 16, c.daddr.v4_bytes(), 4);
  put16(p + 20, static_cast<std::uint16_t>(c.flags & ~kHashed));
  put16(p + 22, c.state);
  std::byte* q = p + kEntrySizeV0;
  if (c.seq) {
    for (const Seq* s : {&c.seq->in_seq, &c.seq->out_seq}) {
      putle32(q, s->init_seq);
      putle32(q + 4, s->delta);
      putle32(q + 8, s->previous_delta);
      q += 12;
    }
  }
  return q;
}

std::size_t pad_before(std::size_t offset) {
  return (4 - offset) & 3;
}

Seq read_seq_be(const std::byte* p) {
  return Seq{be32(p), be32(p + 4), be32(p + 8)};
}
Seq read_seq_le(const std::byte* p) {
  return Seq{le32(p), le32(p + 4), le32(p + 8)};
}

// Entry-level protocol/state rule shared by v0 and v1 (ip_vs_proc_sync_conn,
// ip_vs_process_message_v0). Templates skip it: their state is
// IP_VS_CTPL_S_*, and a bad one is only logged by the kernel.
std::optional<DropReason> check_proto_state(std::uint32_t flags, std::uint8_t protocol,
                                            std::uint16_t state) {
  if (flags & kTemplate) return std::nullopt;
  const unsigned n = protocol_num_states(protocol);
  if (n == 0) return DropReason::unknown_protocol;
  if (state >= n) return DropReason::invalid_state;
  return std::nullopt;
}

// Outcome of one v1 entry (ip_vs_proc_sync_conn): a connection, an entry-scope
// drop, or a rest-scope drop (negative return in the kernel).
struct EntryOutcome {
  std::optional<SyncConn> conn;
  std::optional<DropReason> drop;
};

EntryOutcome parse_entry_v1(const std::byte* p, std::size_t size, const DecodeOptions& options) {
  EntryOutcome out;
  const std::uint8_t type = u8(p);
  Family family;
  if (type & kTypeInet6) {
    family = Family::inet6;
  } else if (type == 0) {
    family = Family::inet;
  } else {
    out.drop = DropReason::entry_type;
    return out;
  }
  if (size < fixed_size(family)) {
    out.drop = DropReason::entry_size;
    return out;
  }
  const std::byte* q = p + fixed_size(family);
  const std::byte* const end = p + size;

  std::optional<SeqData> seq;
  const std::byte* pe_data = nullptr;
  std::size_t pe_data_len = 0;
  const std::byte* pe_name = nullptr;
  std::size_t pe_name_len = 0;
  bool have_pe_data = false;
  bool have_pe_name = false;
  while (q < end) {
    if (end - q < 2) {
      out.drop = DropReason::option_truncated;
      return out;
    }
    const std::uint8_t ptype = u8(q);
    const std::size_t plen = u8(q + 1);
    q += 2;
    if (plen == 0 || static_cast<std::size_t>(end - q) < plen) {
      out.drop = DropReason::option_length;
      return out;
    }
    switch (ptype & ~kOptFlagParam) {
      case kOptSeqData:  // ip_vs_proc_seqopt: length first, then duplicate
        if (plen != kSeqOptionsSize) {
          out.drop = DropReason::seq_option_length;
          return out;
        }
        if (seq) {
          out.drop = DropReason::seq_option_duplicate;
          return out;
        }
        seq = SeqData{read_seq_be(q), read_seq_be(q + 12)};
        break;
      case kOptPeData:  // ip_vs_proc_str; plen <= 255 always holds
        if (have_pe_data) {
          out.drop = DropReason::pe_data_duplicate;
          return out;
        }
        have_pe_data = true;
        pe_data = q;
        pe_data_len = plen;
        break;
      case kOptPeName:
        if (plen > kPeNameMaxLen) {
          out.drop = DropReason::pe_name_too_long;
          return out;
        }
        if (have_pe_name) {
          out.drop = DropReason::pe_name_duplicate;
          return out;
        }
        have_pe_name = true;
        pe_name = q;
        pe_name_len = plen;
        break;
      default:
        // The kernel stops at an unknown mandatory option ("goto out"): the
        // options after it are not even checked.
        if (!(ptype & kOptFlagParam)) {
          out.drop = DropReason::unknown_mandatory_option;
          return out;
        }
    }
    q += plen;
  }

  SyncConn c;
  c.family = family;
  c.protocol = u8(p + 1);
  c.flags = (be32(p + 4) & kBackupMask) | kSync;
  c.state = be16(p + 8);
  if (auto r = check_proto_state(c.flags, c.protocol, c.state)) {
    out.drop = r;
    return out;
  }
  // ip_vs_conn_fill_param_sync: PE data needs a name and a loaded engine; a
  // name without data is ignored.
  if (have_pe_data) {
    if (!have_pe_name) {
      out.drop = DropReason::pe_data_without_name;
      return out;
    }
    const std::string_view name(reinterpret_cast<const char*>(pe_name), pe_name_len);
    // The kernel looks the name up NUL-terminated at its first NUL.
    const std::string_view lookup = name.substr(0, name.find('\0'));
    if (std::find(options.pe_engines.begin(), options.pe_engines.end(), lookup) ==
        options.pe_engines.end()) {
      out.drop = DropReason::unknown_pe;
      return out;
    }
    c.pe = PeData::make({reinterpret_cast<const std::uint8_t*>(pe_data), pe_data_len}, name);
  }
  c.cport = be16(p + 10);
  c.vport = be16(p + 12);
  c.dport = be16(p + 14);
  c.fwmark = be32(p + 16);
  c.timeout = be32(p + 20);
  const std::size_t alen = family == Family::inet ? 4 : 16;
  c.caddr = read_addr(p + 24, family);
  c.vaddr = read_addr(p + 24 + alen, family);
  c.daddr = read_addr(p + 24 + 2 * alen, family);
  c.seq = seq;
  out.conn = c;
  return out;
}

// ip_vs_process_message(), version 1 part.
void decode_v1(std::span<const std::byte> bytes, const DecodeOptions& options, DecodeResult& r) {
  const std::byte* const buf = bytes.data();
  const std::byte* const buf_end = buf + bytes.size();
  r.message.version = kProtoVersion;
  r.nr_conns = u8(buf + 4);
  std::size_t next = kHeaderSize;
  for (std::size_t i = 0; i < r.nr_conns; ++i) {
    const std::byte* p = buf + next;
    if (static_cast<std::size_t>(buf_end - p) < kEntrySizeV4) {
      r.error = DropReason::entry_truncated;
      return;
    }
    const std::uint16_t ver_size = be16(p + 2);
    const std::size_t size = ver_size & kSizeMask;
    if (static_cast<std::size_t>(buf_end - p) < size) {
      r.error = DropReason::entry_overrun;
      return;
    }
    if (ver_size >> kVersionShift) {
      r.error = DropReason::entry_version;
      return;
    }
    EntryOutcome e = parse_entry_v1(p, size, options);
    if (e.conn) {
      r.message.conns.push_back(*e.conn);
    } else if (drop_scope(*e.drop) == DropScope::entry) {
      r.dropped.push_back(EntryDrop{i, *e.drop});
    } else {
      r.error = e.drop;
      return;
    }
    next += (size + 3) & ~std::size_t{3};          // the next entry is 32-bit aligned
    if (next > bytes.size()) next = bytes.size();  // caught by the length check above
  }
}

// ip_vs_process_message_v0().
void decode_v0(std::span<const std::byte> bytes, DecodeResult& r) {
  const std::byte* const buf = bytes.data();
  const std::size_t n = bytes.size();
  r.message.version = 0;
  r.nr_conns = u8(buf);
  std::size_t off = kHeaderSizeV0;
  for (std::size_t i = 0; i < r.nr_conns; ++i) {
    if (n - off < kEntrySizeV0) {
      r.error = DropReason::v0_entry_truncated;
      return;
    }
    const std::byte* p = buf + off;
    SyncConn c;
    c.family = Family::inet;
    c.flags = (be16(p + 20) | kSync) & ~kHashed;
    if (c.flags & kSeqMask) {
      if (n - off < kEntrySizeV0 + kSeqOptionsSize) {
        r.error = DropReason::v0_options_truncated;
        return;
      }
      c.seq = SeqData{read_seq_le(p + kEntrySizeV0), read_seq_le(p + kEntrySizeV0 + 12)};
      off += kEntrySizeV0 + kSeqOptionsSize;
    } else {
      off += kEntrySizeV0;
    }
    c.protocol = u8(p + 1);
    c.state = be16(p + 22);
    if (auto d = check_proto_state(c.flags, c.protocol, c.state)) {
      r.dropped.push_back(EntryDrop{i, *d});
      continue;
    }
    c.cport = be16(p + 2);
    c.vport = be16(p + 4);
    c.dport = be16(p + 6);
    c.caddr = read_addr(p + 8, Family::inet);
    c.vaddr = read_addr(p + 12, Family::inet);
    c.daddr = read_addr(p + 16, Family::inet);
    r.message.conns.push_back(c);
  }
}

}  // namespace

unsigned protocol_num_states(std::uint8_t protocol) noexcept {
  switch (protocol) {
    case 6:  // IPPROTO_TCP: IP_VS_TCP_S_LAST
      return 11;
    case 17:  // IPPROTO_UDP: IP_VS_UDP_S_LAST
      return 1;
    case 132:  // IPPROTO_SCTP: IP_VS_SCTP_S_LAST
      return 14;
    case 50:  // IPPROTO_ESP
    case 51:  // IPPROTO_AH
      return 1;
    default:
      return 0;
  }
}

std::size_t sync_maxlen(Role role, Family group_family, unsigned dev_mtu,
                        unsigned configured) noexcept {
  const std::size_t hlen = group_family == Family::inet6 ? kIpv6UdpHeaders : kIpv4UdpHeaders;
  if (configured != 0) {
    const std::size_t lo = role == Role::backup ? 1024 : 1;
    return std::clamp<std::size_t>(configured, lo, 65535 - hlen);
  }
  const std::size_t mtu =
      role == Role::backup ? std::clamp<std::size_t>(dev_mtu, 1500, 65535) : std::size_t{1500};
  return mtu - hlen;
}

std::optional<PeData> PeData::make(std::span<const std::uint8_t> data,
                                   std::string_view name) noexcept {
  if (data.empty() || data.size() > kPeDataMaxLen || name.empty() || name.size() > kPeNameMaxLen)
    return std::nullopt;
  PeData pe;
  std::memcpy(pe.data_.data(), data.data(), data.size());
  std::memcpy(pe.name_.data(), name.data(), name.size());
  pe.data_len_ = static_cast<std::uint8_t>(data.size());
  pe.name_len_ = static_cast<std::uint8_t>(name.size());
  return pe;
}

bool PeData::operator==(const PeData& o) const noexcept {
  return std::ranges::equal(data(), o.data()) && name() == o.name();
}

std::string_view to_string(EncodeError e) noexcept {
  switch (e) {
    case EncodeError::bad_address:
      return "bad_address";
    case EncodeError::v0_not_ipv4:
      return "v0_not_ipv4";
    case EncodeError::v0_unsupported:
      return "v0_unsupported";
    case EncodeError::v0_seq_mismatch:
      return "v0_seq_mismatch";
    case EncodeError::too_many_conns:
      return "too_many_conns";
    case EncodeError::too_large:
      return "too_large";
    case EncodeError::bad_version:
      return "bad_version";
  }
  return "unknown";
}

std::optional<EncodeError> validate(const SyncConn& c, std::uint8_t version) noexcept {
  if (version > 1) return EncodeError::bad_version;
  if (version == 0 && c.family != Family::inet) return EncodeError::v0_not_ipv4;
  if (c.family == Family::inet && !(c.caddr.is_v4() && c.vaddr.is_v4() && c.daddr.is_v4()))
    return EncodeError::bad_address;
  if (version == 0) {
    if (c.timeout != 0 || c.fwmark != 0 || c.pe || c.flags > 0xffff)
      return EncodeError::v0_unsupported;
    if (c.seq.has_value() != ((c.flags & kSeqMask) != 0)) return EncodeError::v0_seq_mismatch;
  }
  return std::nullopt;
}

std::size_t entry_size(const SyncConn& c) noexcept {
  std::size_t len = fixed_size(c.family);
  if (c.seq) len += kSeqOptionTlvSize;
  if (c.pe) len += 2 + c.pe->data().size() + 2 + c.pe->name().size();
  return len;
}

Bytes encode(const SyncMessage& m) {
  auto fail = [](EncodeError e) {
    throw std::invalid_argument("sync encode: " + std::string(to_string(e)));
  };
  if (m.version > 1) fail(EncodeError::bad_version);
  if (m.conns.size() > kMaxConnsPerMessage) fail(EncodeError::too_many_conns);
  std::size_t total = m.version == 0 ? kHeaderSizeV0 : kHeaderSize;
  for (const SyncConn& c : m.conns) {
    if (auto e = validate(c, m.version)) fail(*e);
    if (m.version == 0) {
      total += kEntrySizeV0 + (c.seq ? kSeqOptionsSize : 0);
    } else {
      total += pad_before(total) + entry_size(c);
    }
  }
  if (total > 0xffff) fail(EncodeError::too_large);

  Bytes out(total);
  std::byte* p = out.data();
  const auto count = static_cast<std::uint8_t>(m.conns.size());
  if (m.version == 0) {
    // struct ip_vs_sync_mesg_v0 (ip_vs_sync_buff_create_v0)
    put8(p, count);
    put8(p + 1, m.syncid);
    put16(p + 2, static_cast<std::uint16_t>(total));
    p += kHeaderSizeV0;
    for (const SyncConn& c : m.conns)
      p = write_entry_v0(p, c);
    return out;
  }
  // struct ip_vs_sync_mesg (ip_vs_sync_buff_create)
  put8(p, 0);
  put8(p + 1, m.syncid);
  put16(p + 2, static_cast<std::uint16_t>(total));
  put8(p + 4, count);
  put8(p + 5, kProtoVersion);
  put16(p + 6, 0);
  std::size_t off = kHeaderSize;
  for (const SyncConn& c : m.conns) {
    off += pad_before(off);  // pad bytes are already zero
    const std::size_t len = entry_size(c);
    write_entry_v1(out.data() + off, c, len);
    off += len;
  }
  return out;
}

MessageBuilder::MessageBuilder(std::uint8_t syncid, std::size_t maxlen)
    : maxlen_(std::min<std::size_t>(maxlen, 0xffff)), syncid_(syncid) {
  buf_.resize(std::max(maxlen_, kHeaderSize + kMaxEntrySize));
  clear();
}

void MessageBuilder::clear() noexcept {
  size_ = kHeaderSize;
  count_ = 0;
  std::byte* p = buf_.data();
  put8(p, 0);
  put8(p + 1, syncid_);
  put16(p + 2, static_cast<std::uint16_t>(size_));
  put8(p + 4, 0);
  put8(p + 5, kProtoVersion);
  put16(p + 6, 0);
}

MessageBuilder::AddResult MessageBuilder::add(const SyncConn& conn) noexcept {
  if (validate(conn, kProtoVersion)) return AddResult::invalid;
  const std::size_t len = entry_size(conn);
  // ip_vs_sync_conn(): the pad aligns the entry to 4 bytes from the start of
  // the message; "head + len + pad > end" sends the buffer and starts anew.
  const std::size_t pad = count_ == 0 ? 0 : pad_before(size_);
  if (count_ != 0 && (size_ + pad + len > maxlen_ || count_ == kMaxConnsPerMessage))
    return AddResult::full;
  std::byte* p = buf_.data() + size_;
  std::memset(p, 0, pad);
  write_entry_v1(p + pad, conn, len);
  size_ += pad + len;
  ++count_;
  put16(buf_.data() + 2, static_cast<std::uint16_t>(size_));
  put8(buf_.data() + 4, static_cast<std::uint8_t>(count_));
  return AddResult::added;
}

DropScope drop_scope(DropReason r) noexcept {
  switch (r) {
    case DropReason::too_short:
    case DropReason::size_mismatch:
    case DropReason::syncid_mismatch:
      return DropScope::message;
    case DropReason::unknown_mandatory_option:
    case DropReason::unknown_protocol:
    case DropReason::invalid_state:
    case DropReason::pe_data_without_name:
    case DropReason::unknown_pe:
      return DropScope::entry;
    default:
      return DropScope::rest;
  }
}

std::string_view to_string(DropReason r) noexcept {
  switch (r) {
    case DropReason::too_short:
      return "too_short";
    case DropReason::size_mismatch:
      return "size_mismatch";
    case DropReason::syncid_mismatch:
      return "syncid_mismatch";
    case DropReason::entry_truncated:
      return "entry_truncated";
    case DropReason::entry_overrun:
      return "entry_overrun";
    case DropReason::entry_version:
      return "entry_version";
    case DropReason::entry_type:
      return "entry_type";
    case DropReason::entry_size:
      return "entry_size";
    case DropReason::option_truncated:
      return "option_truncated";
    case DropReason::option_length:
      return "option_length";
    case DropReason::seq_option_length:
      return "seq_option_length";
    case DropReason::seq_option_duplicate:
      return "seq_option_duplicate";
    case DropReason::pe_data_duplicate:
      return "pe_data_duplicate";
    case DropReason::pe_name_too_long:
      return "pe_name_too_long";
    case DropReason::pe_name_duplicate:
      return "pe_name_duplicate";
    case DropReason::v0_entry_truncated:
      return "v0_entry_truncated";
    case DropReason::v0_options_truncated:
      return "v0_options_truncated";
    case DropReason::unknown_mandatory_option:
      return "unknown_mandatory_option";
    case DropReason::unknown_protocol:
      return "unknown_protocol";
    case DropReason::invalid_state:
      return "invalid_state";
    case DropReason::pe_data_without_name:
      return "pe_data_without_name";
    case DropReason::unknown_pe:
      return "unknown_pe";
  }
  return "unknown";
}

DecodeResult decode(std::span<const std::byte> bytes, const DecodeOptions& options) {
  DecodeResult r;
  // ip_vs_process_message(): both header versions have syncid at byte 1 and
  // the be16 size at bytes 2-3.
  if (bytes.size() < kHeaderSizeV0) {
    r.error = DropReason::too_short;
    return r;
  }
  const std::byte* p = bytes.data();
  r.message.syncid = u8(p + 1);
  if (bytes.size() != be16(p + 2)) {
    r.error = DropReason::size_mismatch;
    return r;
  }
  if (options.syncid != 0 && r.message.syncid != options.syncid) {
    r.error = DropReason::syncid_mismatch;
    return r;
  }
  // The kernel reads version and spare from its receive buffer even for a 4..7
  // byte datagram (stale bytes); here such a datagram can only be v0.
  if (bytes.size() >= kHeaderSize && u8(p + 5) == kProtoVersion && u8(p) == 0 && be16(p + 6) == 0) {
    decode_v1(bytes, options, r);
  } else {
    decode_v0(bytes, r);
  }
  return r;
}

}  // namespace lvsd::sync
