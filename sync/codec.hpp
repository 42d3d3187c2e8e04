// ip_vs connection-sync codec: pure encode/decode of the kernel's sync messages
// (net/netfilter/ipvs/ip_vs_sync.c), version 1 (IPv4/IPv6 entries, TLV options)
// and version 0 (the old IPv4-only format), with every rule the kernel's
// receiver applies (ip_vs_process_message, ip_vs_proc_sync_conn,
// ip_vs_process_message_v0), so that lvsd accepts exactly what a kernel backup
// accepts and a kernel backup accepts everything lvsd sends.
//
// The codec handles the UDP payload only. Sockets, multicast, timers (the
// kernel's 2 s flush), the sync_threshold/period rule and the connection table
// belong to the sender, receiver and transport.
//
// Pure functions and a value-type builder: no sockets, no logging, no globals.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "forwarding/userspace/ip.hpp"

namespace lvsd::sync {

using IpAddr = forwarding::userspace::IpAddr;
using Bytes = std::vector<std::byte>;

// ---------------------------------------------------------------------------
// Wire constants (ip_vs_sync.c, include/uapi/linux/ip_vs.h, include/net/ip_vs.h).
// ---------------------------------------------------------------------------
inline constexpr std::uint16_t kSyncPort = 8848;           // IP_VS_SYNC_PORT
inline constexpr std::uint32_t kSyncGroupV4 = 0xe0000051;  // IP_VS_SYNC_GROUP, 224.0.0.81
inline constexpr std::uint8_t kProtoVersion = 1;           // SYNC_PROTO_VER
inline constexpr std::size_t kHeaderSize = 8;              // struct ip_vs_sync_mesg
inline constexpr std::size_t kHeaderSizeV0 = 4;            // struct ip_vs_sync_mesg_v0
inline constexpr std::size_t kEntrySizeV4 = 36;            // struct ip_vs_sync_v4
inline constexpr std::size_t kEntrySizeV6 = 72;            // struct ip_vs_sync_v6
inline constexpr std::size_t kEntrySizeV0 = 24;            // struct ip_vs_sync_conn_v0
inline constexpr std::size_t kSeqOptionsSize = 24;         // struct ip_vs_sync_conn_options
inline constexpr std::size_t kPeDataMaxLen = 255;          // IP_VS_PEDATA_MAXLEN
inline constexpr std::size_t kPeNameMaxLen = 16;           // IP_VS_PENAME_MAXLEN
inline constexpr std::size_t kMaxConnsPerMessage = 255;    // nr_conns is a u8
inline constexpr std::uint16_t kSizeMask = 0x0fff;         // SVER_MASK
inline constexpr unsigned kVersionShift = 12;              // SVER_SHIFT
inline constexpr std::uint8_t kTypeInet6 = 0x01;           // STYPE_F_INET6
inline constexpr std::uint8_t kOptSeqData = 1;             // IPVS_OPT_SEQ_DATA
inline constexpr std::uint8_t kOptPeData = 2;              // IPVS_OPT_PE_DATA
inline constexpr std::uint8_t kOptPeName = 3;              // IPVS_OPT_PE_NAME
inline constexpr std::uint8_t kOptFlagParam = 0x40;        // IPVS_OPT_F_PARAM: optional option
// Largest v1 entry: IPv6 + seq option + 255 bytes of PE data + a 16-byte PE name.
inline constexpr std::size_t kMaxEntrySize =
    kEntrySizeV6 + 2 + kSeqOptionsSize + 2 + kPeDataMaxLen + 2 + kPeNameMaxLen;

// IP_VS_CONN_F_* (include/uapi/linux/ip_vs.h). The low 3 bits are the
// forwarding method.
namespace conn_flags {
inline constexpr std::uint32_t kFwdMask = 0x0007;
inline constexpr std::uint32_t kMasq = 0x0000;
inline constexpr std::uint32_t kLocalNode = 0x0001;
inline constexpr std::uint32_t kTunnel = 0x0002;
inline constexpr std::uint32_t kDroute = 0x0003;
inline constexpr std::uint32_t kBypass = 0x0004;
inline constexpr std::uint32_t kSync = 0x0020;
inline constexpr std::uint32_t kHashed = 0x0040;
inline constexpr std::uint32_t kNoOutput = 0x0080;
inline constexpr std::uint32_t kInactive = 0x0100;
inline constexpr std::uint32_t kOutSeq = 0x0200;
inline constexpr std::uint32_t kInSeq = 0x0400;
inline constexpr std::uint32_t kSeqMask = 0x0600;
inline constexpr std::uint32_t kNoCport = 0x0800;
inline constexpr std::uint32_t kTemplate = 0x1000;
inline constexpr std::uint32_t kOnePacket = 0x2000;
// Bits a backup takes from a v1 entry (IP_VS_CONN_F_BACKUP_MASK) and the ones
// it updates on an existing connection (IP_VS_CONN_F_BACKUP_UPD_MASK).
inline constexpr std::uint32_t kBackupMask =
    kFwdMask | kNoOutput | kInactive | kSeqMask | kNoCport | kTemplate;
inline constexpr std::uint32_t kBackupUpdMask = kInactive | kSeqMask;
}  // namespace conn_flags

// Template states (IP_VS_CTPL_S_*): persistence templates carry these.
inline constexpr std::uint16_t kTemplateStateNone = 0;
inline constexpr std::uint16_t kTemplateStateAssured = 1;

// Number of states the kernel's protocol has (ip_vs_protocol.num_states: TCP
// IP_VS_TCP_S_LAST 11, UDP IP_VS_UDP_S_LAST 1, SCTP IP_VS_SCTP_S_LAST 14, AH
// and ESP 1), 0 when ip_vs_proto_get() knows no such protocol. A non-template
// entry needs a known protocol and state < num_states.
unsigned protocol_num_states(std::uint8_t protocol) noexcept;

// ---------------------------------------------------------------------------
// Message size limits (start_sync_thread).
// ---------------------------------------------------------------------------
enum class Family : std::uint8_t { inet, inet6 };
enum class Role : std::uint8_t { master, backup };

// sync_maxlen as the kernel derives it for a daemon whose multicast group is of
// `group_family`: a configured value (non-zero) is clamped to [1 (master) or
// 1024 (backup), 65535 - headers]; otherwise a master uses 1500 - headers
// regardless of the device MTU (1472 for IPv4, 1452 for IPv6) and a backup
// clamp(dev_mtu, 1500, 65535) - headers. Headers: IPv4 20 + UDP 8, IPv6 40 + 8.
// For a backup this is the receive buffer: a longer datagram is truncated by
// recvmsg and then fails the size check.
std::size_t sync_maxlen(Role role, Family group_family, unsigned dev_mtu = 1500,
                        unsigned configured = 0) noexcept;
inline constexpr std::size_t kDefaultMaxlenV4 = 1500 - 20 - 8;  // 1472
inline constexpr std::size_t kDefaultMaxlenV6 = 1500 - 40 - 8;  // 1452

// ---------------------------------------------------------------------------
// The message.
// ---------------------------------------------------------------------------

// struct ip_vs_seq as synced (the kernel's fdata_seq, where it exists, is not).
struct Seq {
  std::uint32_t init_seq = 0;
  std::uint32_t delta = 0;
  std::uint32_t previous_delta = 0;
  bool operator==(const Seq&) const = default;
};

// IPVS_OPT_SEQ_DATA / struct ip_vs_sync_conn_options: NAT sequence adjustment.
struct SeqData {
  Seq in_seq;
  Seq out_seq;
  bool operator==(const SeqData&) const = default;
};

// Persistence-engine data and the engine's name (IPVS_OPT_PE_DATA followed by
// IPVS_OPT_PE_NAME), e.g. a SIP Call-ID and "sip". Fixed capacity, so a
// SyncConn is a plain value that never allocates. Only valid pairs exist:
// data 1..255 bytes and a name of 1..16 bytes (the kernel drops an entry with
// data and no name, and ignores a name without data).
class PeData {
 public:
  static std::optional<PeData> make(std::span<const std::uint8_t> data,
                                    std::string_view name) noexcept;
  std::span<const std::uint8_t> data() const noexcept { return {data_.data(), data_len_}; }
  std::string_view name() const noexcept { return {name_.data(), name_len_}; }
  bool operator==(const PeData& o) const noexcept;

 private:
  std::array<std::uint8_t, kPeDataMaxLen> data_{};
  std::array<char, kPeNameMaxLen> name_{};
  std::uint8_t data_len_ = 0;
  std::uint8_t name_len_ = 0;
};

// One connection entry (or persistence template). Ports in host order.
// Addresses: IPv4 ones as IpAddr::v4 (v4-mapped); `family` says which entry
// type carries them, since an IPv6 entry may hold v4-mapped IPv6 addresses.
struct SyncConn {
  Family family = Family::inet;
  std::uint8_t protocol = 0;  // IPPROTO_*; templates of fwmark services use 0
  std::uint16_t cport = 0;    // templates: 0
  std::uint16_t vport = 0;
  std::uint16_t dport = 0;
  IpAddr caddr;  // templates: the client network (masked by persistence granularity)
  IpAddr vaddr;  // fwmark templates: the fwmark as an address
  IpAddr daddr;
  // IP_VS_CONN_F_*. decode() returns what a kernel backup keeps: v1 entries
  // `flags & kBackupMask | kSync`; v0 entries `flags | kSync` without kHashed.
  // encode() sends `flags & ~kHashed`, as ip_vs_sync_conn() does.
  std::uint32_t flags = 0;
  std::uint16_t state = 0;    // IP_VS_TCP_S_* / IP_VS_SCTP_S_* / 0 (UDP) / IP_VS_CTPL_S_*
  std::uint32_t timeout = 0;  // seconds; 0: the receiver uses the protocol default (v0: always 0)
  std::uint32_t fwmark = 0;   // v0: always 0
  // v1: the IPVS_OPT_SEQ_DATA option (the kernel sends it iff flags &
  // kSeqMask). v0: present iff flags & kSeqMask (no TLV; the format says so).
  std::optional<SeqData> seq;
  std::optional<PeData> pe;  // v1 only

  bool is_template() const noexcept { return (flags & conn_flags::kTemplate) != 0; }
  bool operator==(const SyncConn&) const = default;
};

struct SyncMessage {
  std::uint8_t syncid = 0;
  std::uint8_t version = kProtoVersion;  // 1, or 0 for the old format
  std::vector<SyncConn> conns;
  bool operator==(const SyncMessage&) const = default;
};

// ---------------------------------------------------------------------------
// Encode.
// ---------------------------------------------------------------------------

// Why a connection or message cannot be put on the wire.
enum class EncodeError : std::uint8_t {
  bad_address,      // an inet entry with an address that is not IPv4 (IpAddr::is_v4)
  v0_not_ipv4,      // v0 carries IPv4 only
  v0_unsupported,   // v0 has no timeout, fwmark, PE data, or flags above 16 bits
  v0_seq_mismatch,  // v0: seq present but flags lack kSeqMask, or the reverse
  too_many_conns,   // more than 255 entries (nr_conns is a u8)
  too_large,        // the message would exceed 65535 bytes (size is a be16)
  bad_version,      // SyncMessage::version neither 0 nor 1
};
std::string_view to_string(EncodeError e) noexcept;

// Whether `conn` can be encoded in a message of `version` (0 or 1).
std::optional<EncodeError> validate(const SyncConn& conn, std::uint8_t version) noexcept;

// Bytes of one v1 entry without trailing pad (the ver_size value).
std::size_t entry_size(const SyncConn& conn) noexcept;

// Encodes a whole message, v1 or v0 per message.version, exactly as the kernel
// lays it out: v1 entries are 4-byte aligned from the start of the message by
// zero pad bytes *before* each entry after the first (ip_vs_sync_conn), so the
// last entry is not padded and ver_size never counts the pad; options in the
// order SEQ_DATA, PE_DATA, PE_NAME. Programming errors (validate() fails, or
// too many entries for one message) throw std::invalid_argument; senders
// should pack with MessageBuilder, which never throws.
Bytes encode(const SyncMessage& message);

// Packs v1 entries into one message of at most `maxlen` bytes, like the
// kernel's per-thread sync_buff: add() appends an entry to the buffer (pad,
// entry, header size and count updated), bytes() is the message ready to send.
// One buffer is allocated at construction; add() never allocates.
//
//   if (b.add(conn) == AddResult::full) { send(b.bytes()); b.clear(); b.add(conn); }
//
// As in ip_vs_sync_buff_create(), an entry larger than maxlen - 8 still goes
// out alone in a message of its own size, so add() on an empty builder always
// succeeds for a valid entry. Unlike the kernel, whose u8 nr_conns wraps when a
// large sync_maxlen holds more than 255 entries, a message is full at 255.
class MessageBuilder {
 public:
  enum class AddResult : std::uint8_t { added, full, invalid };

  explicit MessageBuilder(std::uint8_t syncid, std::size_t maxlen = kDefaultMaxlenV4);

  AddResult add(const SyncConn& conn) noexcept;
  std::span<const std::byte> bytes() const noexcept { return {buf_.data(), size_}; }
  std::size_t size() const noexcept { return size_; }
  std::size_t count() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  std::uint8_t syncid() const noexcept { return syncid_; }
  std::size_t maxlen() const noexcept { return maxlen_; }
  // Starts a new, empty message (keeps the buffer).
  void clear() noexcept;

 private:
  std::vector<std::byte> buf_;
  std::size_t maxlen_;
  std::size_t size_ = kHeaderSize;
  std::size_t count_ = 0;
  std::uint8_t syncid_;
};

// ---------------------------------------------------------------------------
// Decode.
// ---------------------------------------------------------------------------

// Every reason the kernel's receiver drops something, one counter each. The
// scope says what is lost (drop_scope()).
enum class DropReason : std::uint8_t {
  // scope message: nothing in the datagram is used.
  too_short,        // fewer than 4 bytes ("message header too short")
  size_mismatch,    // datagram length != header size ("bogus message size")
  syncid_mismatch,  // configured syncid != 0 and the message's differs ("Ignoring syncid")
  // scope rest: this entry and all after it are dropped; the entries before it
  // were already applied by the kernel ("Dropping buffer").
  entry_truncated,       // fewer than 36 bytes left for the next entry ("too small")
  entry_overrun,         // ver_size reaches past the datagram ("msg > buffer")
  entry_version,         // ver_size version nibble != 0 ("Unknown version")
  entry_type,            // type neither 0 nor with STYPE_F_INET6 set (-10)
  entry_size,            // ver_size smaller than the fixed entry of its type (-20)
  option_truncated,      // a single byte left for an option header (-30)
  option_length,         // option length 0 or past the entry (-40)
  seq_option_length,     // SEQ_DATA length != 24 (-50)
  seq_option_duplicate,  // SEQ_DATA twice (-50)
  pe_data_duplicate,     // PE_DATA twice (-60)
  pe_name_too_long,      // PE_NAME longer than 16 (-70)
  pe_name_duplicate,     // PE_NAME twice (-70)
  v0_entry_truncated,    // v0: fewer than 24 bytes left ("bogus conn")
  v0_options_truncated,  // v0: seq flags set and fewer than 48 bytes left
  // scope entry: this entry is skipped, decoding goes on.
  unknown_mandatory_option,  // unknown type without IPVS_OPT_F_PARAM (retc 20)
  unknown_protocol,          // non-template with a protocol ip_vs does not know (retc 30)
  invalid_state,             // non-template with state >= num_states (retc 40)
  pe_data_without_name,      // "Invalid PE parameters" (retc 50)
  unknown_pe,                // no such persistence engine here (retc 50)
};
inline constexpr std::size_t kDropReasonCount = 22;

enum class DropScope : std::uint8_t { message, rest, entry };
DropScope drop_scope(DropReason r) noexcept;
// Stable snake_case name for counter labels: "size_mismatch", ...
std::string_view to_string(DropReason r) noexcept;

struct DecodeOptions {
  // The backup's syncid; 0 accepts every syncid (ip_vs_process_message).
  std::uint8_t syncid = 0;
  // Persistence engines this receiver has (the kernel: the ip_vs_pe_* modules
  // loaded, found by __ip_vs_pe_getbyname). An entry with PE data for another
  // engine is dropped as unknown_pe. lvsd itself has none, hence empty.
  std::span<const std::string_view> pe_engines = {};
};

struct EntryDrop {
  std::size_t index = 0;  // position of the entry in the message, from 0
  DropReason reason = DropReason::unknown_protocol;
  bool operator==(const EntryDrop&) const = default;
};

struct DecodeResult {
  // syncid and version as read (when the header was usable), and the entries
  // accepted, in message order, as the kernel's ip_vs_proc_conn() gets them.
  SyncMessage message;
  std::uint8_t nr_conns = 0;        // the header's count
  std::vector<EntryDrop> dropped;   // entries skipped with scope entry
  std::optional<DropReason> error;  // scope message or rest, when it happened
  bool ok() const noexcept { return !error; }
};

// Decodes one datagram as ip_vs_process_message() does: length and size
// checks, the syncid filter, then v1 when version == 1, reserved == 0 and
// spare == 0 (and the datagram holds the 8-byte header), else v0. Never reads
// outside `bytes`, never throws (other than std::bad_alloc). Bytes after the
// nr_conns-th entry are ignored, as by the kernel. v0 sequence data is the
// sender's host byte order (the kernel memcpy()s it): read as little-endian,
// the byte order of every kernel that runs ip_vs in practice (x86, arm64).
DecodeResult decode(std::span<const std::byte> bytes, const DecodeOptions& options = {});

}  // namespace lvsd::sync
