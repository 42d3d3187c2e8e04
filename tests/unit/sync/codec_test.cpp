#include "sync/codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace lvsd::sync {
namespace {

using namespace conn_flags;

// "00 07 00 2c ..." -> bytes; whitespace and '|' are ignored.
Bytes hex(std::string_view text) {
  Bytes out;
  int hi = -1;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '|') continue;
    const int v = std::isdigit(static_cast<unsigned char>(c))
                      ? c - '0'
                      : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    if (v < 0 || v > 15) throw std::invalid_argument("bad hex digit");
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("odd hex length");
  return out;
}

std::string to_hex(std::span<const std::byte> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i && i % 4 == 0) s += ' ';
    s += kDigits[std::to_integer<int>(b[i]) >> 4];
    s += kDigits[std::to_integer<int>(b[i]) & 15];
  }
  return s;
}

IpAddr ip(const char* text) {
  return IpAddr::from(boost::asio::ip::make_address(text));
}

PeData pe(std::string_view data, std::string_view name) {
  auto p = PeData::make({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()}, name);
  if (!p) throw std::invalid_argument("bad pe");
  return *p;
}

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kSctp = 132;
constexpr std::uint16_t kEstablished = 1;

constexpr std::string_view kSip[] = {"sip"};

// 192.0.2.10:40000 -> 198.51.100.1:80 -> 10.0.1.2:8080, NAT, ESTABLISHED.
SyncConn tcp4() {
  SyncConn c;
  c.protocol = kTcp;
  c.caddr = ip("192.0.2.10");
  c.cport = 40000;
  c.vaddr = ip("198.51.100.1");
  c.vport = 80;
  c.daddr = ip("10.0.1.2");
  c.dport = 8080;
  c.flags = kMasq;
  c.state = kEstablished;
  c.timeout = 900;
  return c;
}
constexpr std::string_view kTcp4Entry =
    "00 06 00 24 | 00 00 00 00 | 00 01 9c 40 | 00 50 1f 90 | 00 00 00 00 | 00 00 03 84 |"
    "c0 00 02 0a | c6 33 64 01 | 0a 00 01 02";

// A persistence template for tcp4(): client network /24, cport 0, DR.
SyncConn template4() {
  SyncConn c;
  c.protocol = kTcp;
  c.caddr = ip("192.0.2.0");
  c.vaddr = ip("198.51.100.1");
  c.vport = 80;
  c.daddr = ip("10.0.1.2");
  c.dport = 80;
  c.flags = kTemplate | kDroute;
  c.state = kTemplateStateNone;
  c.timeout = 300;
  return c;
}
constexpr std::string_view kTemplate4Entry =
    "00 06 00 24 | 00 00 10 03 | 00 00 00 00 | 00 50 00 50 | 00 00 00 00 | 00 00 01 2c |"
    "c0 00 02 00 | c6 33 64 01 | 0a 00 01 02";

// UDP over IPv6, tunnel, with a fwmark.
SyncConn udp6() {
  SyncConn c;
  c.family = Family::inet6;
  c.protocol = kUdp;
  c.caddr = ip("2001:db8::10");
  c.cport = 5353;
  c.vaddr = ip("2001:db8:1::1");
  c.vport = 53;
  c.daddr = ip("2001:db8:2::2");
  c.dport = 53;
  c.flags = kTunnel;
  c.state = 0;
  c.timeout = 300;
  c.fwmark = 42;
  return c;
}
constexpr std::string_view kUdp6Entry =
    "01 11 00 48 | 00 00 00 02 | 00 00 14 e9 | 00 35 00 35 | 00 00 00 2a | 00 00 01 2c |"
    "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 10 |"
    "20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 01 |"
    "20 01 0d b8 00 02 00 00 00 00 00 00 00 00 00 02";

constexpr SeqData kSeq{{0x11223344, 5, 3}, {0xa0b0c0d0, 0xfffffffb, 0}};
SyncConn tcp4_seq() {
  SyncConn c = tcp4();
  c.flags = kMasq | kInSeq | kOutSeq;
  c.seq = kSeq;
  return c;
}
// 36 + 2 + 24 = 62 bytes.
constexpr std::string_view kTcp4SeqEntry =
    "00 06 00 3e | 00 00 06 00 | 00 01 9c 40 | 00 50 1f 90 | 00 00 00 00 | 00 00 03 84 |"
    "c0 00 02 0a | c6 33 64 01 | 0a 00 01 02 |"
    "01 18 | 11 22 33 44 | 00 00 00 05 | 00 00 00 03 | a0 b0 c0 d0 | ff ff ff fb | 00 00 00 00";

// A SIP persistence template: Call-ID as PE data.
SyncConn sip_template() {
  SyncConn c;
  c.protocol = kUdp;
  c.caddr = ip("192.0.2.20");
  c.vaddr = ip("198.51.100.1");
  c.vport = 5060;
  c.daddr = ip("10.0.1.3");
  c.dport = 5060;
  c.flags = kTemplate | kMasq;
  c.timeout = 360;
  c.pe = pe("abc123@host", "sip");
  return c;
}
// 36 + 2 + 11 + 2 + 3 = 54 bytes.
constexpr std::string_view kSipTemplateEntry =
    "00 11 00 36 | 00 00 10 00 | 00 00 00 00 | 13 c4 13 c4 | 00 00 00 00 | 00 00 01 68 |"
    "c0 00 02 14 | c6 33 64 01 | 0a 00 01 03 |"
    "02 0b 61 62 63 31 32 33 40 68 6f 73 74 | 03 03 73 69 70";

// What a kernel backup keeps of an entry (ip_vs_proc_sync_conn).
SyncConn received(SyncConn c) {
  c.flags = (c.flags & kBackupMask) | kSync;
  return c;
}

Bytes cat(std::initializer_list<std::string_view> parts) {
  Bytes out;
  for (auto p : parts) {
    Bytes b = hex(p);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

void expect_bytes(const Bytes& want, std::span<const std::byte> got) {
  EXPECT_EQ(to_hex(want), to_hex(got));
}

DecodeResult decode_ok(const Bytes& b, const DecodeOptions& o = {}) {
  DecodeResult r = decode(b, o);
  EXPECT_TRUE(r.ok()) << to_string(*r.error);
  EXPECT_TRUE(r.dropped.empty());
  return r;
}

// ---------------------------------------------------------------------------
// Golden bytes, both directions.
// ---------------------------------------------------------------------------

TEST(SyncCodecGolden, Ipv4Entry) {
  SyncConn c = tcp4();
  c.flags |= kHashed;  // never sent (ip_vs_sync_conn masks it)
  const Bytes want = cat({"00 07 00 2c 01 01 00 00", kTcp4Entry});
  expect_bytes(want, encode(SyncMessage{7, 1, {c}}));

  const DecodeResult r = decode_ok(want);
  EXPECT_EQ(r.message.version, 1);
  EXPECT_EQ(r.message.syncid, 7);
  EXPECT_EQ(r.nr_conns, 1);
  ASSERT_EQ(r.message.conns.size(), 1u);
  EXPECT_EQ(r.message.conns[0], received(tcp4()));
  EXPECT_EQ(r.message.conns[0].flags, kMasq | kSync);
}

TEST(SyncCodecGolden, ConnAndTemplate) {
  SyncConn conn = tcp4();
  conn.flags = kDroute;
  const Bytes want = cat({"00 00 00 50 02 01 00 00", kTcp4Entry, kTemplate4Entry});
  Bytes w = want;
  w[8 + 7] = std::byte{0x03};  // the conn's flags: DROUTE
  expect_bytes(w, encode(SyncMessage{0, 1, {conn, template4()}}));

  const DecodeResult r = decode_ok(w);
  ASSERT_EQ(r.message.conns.size(), 2u);
  EXPECT_EQ(r.message.conns[0], received(conn));
  EXPECT_EQ(r.message.conns[1], received(template4()));
  EXPECT_TRUE(r.message.conns[1].is_template());
}

TEST(SyncCodecGolden, Ipv6Entry) {
  const Bytes want = cat({"00 00 00 50 01 01 00 00", kUdp6Entry});
  expect_bytes(want, encode(SyncMessage{0, 1, {udp6()}}));
  const DecodeResult r = decode_ok(want);
  ASSERT_EQ(r.message.conns.size(), 1u);
  EXPECT_EQ(r.message.conns[0], received(udp6()));
  EXPECT_EQ(r.message.conns[0].family, Family::inet6);
}

TEST(SyncCodecGolden, SeqOptionAndPadBeforeNextEntry) {
  // 8 + 62 = 70: two zero bytes align the next entry to 72; the last entry
  // is not padded (size 108, not 108 rounded).
  const Bytes want = cat({"00 03 00 6c 02 01 00 00", kTcp4SeqEntry, "00 00", kTcp4Entry});
  expect_bytes(want, encode(SyncMessage{3, 1, {tcp4_seq(), tcp4()}}));
  const DecodeResult r = decode_ok(want);
  ASSERT_EQ(r.message.conns.size(), 2u);
  EXPECT_EQ(r.message.conns[0], received(tcp4_seq()));
  ASSERT_TRUE(r.message.conns[0].seq);
  EXPECT_EQ(r.message.conns[0].seq->out_seq.delta, 0xfffffffbu);
  EXPECT_EQ(r.message.conns[1], received(tcp4()));
}

TEST(SyncCodecGolden, PeDataAndNameThenIpv6) {
  // 8 + 54 = 62, pad 2, then the 72-byte IPv6 entry: 136 bytes.
  const Bytes want = cat({"00 00 00 88 02 01 00 00", kSipTemplateEntry, "00 00", kUdp6Entry});
  expect_bytes(want, encode(SyncMessage{0, 1, {sip_template(), udp6()}}));
  const DecodeResult r = decode_ok(want, {.pe_engines = kSip});
  ASSERT_EQ(r.message.conns.size(), 2u);
  EXPECT_EQ(r.message.conns[0], received(sip_template()));
  ASSERT_TRUE(r.message.conns[0].pe);
  EXPECT_EQ(r.message.conns[0].pe->name(), "sip");
  EXPECT_EQ(r.message.conns[1], received(udp6()));
}

TEST(SyncCodecGolden, SeqThenPeOptionsInKernelOrder) {
  SyncConn c = sip_template();
  c.flags |= kSeqMask;
  c.seq = kSeq;
  // 36 + 26 + 13 + 5 = 80.
  const Bytes want = cat({"00 00 00 58 01 01 00 00",
                          "00 11 00 50 | 00 00 16 00 | 00 00 00 00 | 13 c4 13 c4 | 00 00 00 00 |"
                          "00 00 01 68 | c0 00 02 14 | c6 33 64 01 | 0a 00 01 03 |"
                          "01 18 | 11 22 33 44 | 00 00 00 05 | 00 00 00 03 | a0 b0 c0 d0 |"
                          "ff ff ff fb | 00 00 00 00 |"
                          "02 0b 61 62 63 31 32 33 40 68 6f 73 74 | 03 03 73 69 70"});
  expect_bytes(want, encode(SyncMessage{0, 1, {c}}));
  const DecodeResult r = decode_ok(want, {.pe_engines = kSip});
  ASSERT_EQ(r.message.conns.size(), 1u);
  EXPECT_EQ(r.message.conns[0], received(c));
}

// Version 0: 4-byte header, 24-byte entries, seq data (host order, here
// little-endian as from an x86 kernel) after an entry whose flags have the seq bits.
constexpr std::string_view kV0Message =
    "02 05 00 4c |"
    "00 06 9c 40 00 50 1f 90 c0 00 02 0a c6 33 64 01 0a 00 01 02 00 00 00 01 |"
    "00 06 9c 41 00 50 1f 90 c0 00 02 0a c6 33 64 01 0a 00 01 02 06 00 00 01 |"
    "44 33 22 11 05 00 00 00 03 00 00 00 d0 c0 b0 a0 fb ff ff ff 00 00 00 00";

TEST(SyncCodecGolden, Version0) {
  SyncConn a = tcp4();
  a.timeout = 0;  // v0 has no timeout
  SyncConn b = tcp4_seq();
  b.timeout = 0;
  b.cport = 40001;
  const Bytes want = hex(kV0Message);
  expect_bytes(want, encode(SyncMessage{5, 0, {a, b}}));

  const DecodeResult r = decode_ok(want);
  EXPECT_EQ(r.message.version, 0);
  EXPECT_EQ(r.message.syncid, 5);
  ASSERT_EQ(r.message.conns.size(), 2u);
  a.flags |= kSync;
  b.flags |= kSync;
  EXPECT_EQ(r.message.conns[0], a);
  EXPECT_EQ(r.message.conns[1], b);
}

TEST(SyncCodecGolden, Version0KeepsFlagsOutsideTheBackupMask) {
  // ip_vs_process_message_v0 only adds SYNC and clears HASHED.
  Bytes m = hex(kV0Message);
  m[4 + 20] = std::byte{0x20};  // ONE_PACKET | HASHED
  m[4 + 21] = std::byte{0x40};
  const DecodeResult r = decode_ok(m);
  ASSERT_EQ(r.message.conns.size(), 2u);
  EXPECT_EQ(r.message.conns[0].flags, kOnePacket | kSync);
}

// ---------------------------------------------------------------------------
// The kernel's receiver rules, one by one.
// ---------------------------------------------------------------------------

Bytes two_entry_message() {
  return cat({"00 07 00 50 02 01 00 00", kTcp4Entry, kTemplate4Entry});
}
constexpr std::size_t kE1 = 8;       // first entry
constexpr std::size_t kE2 = 8 + 36;  // second entry

void set16(Bytes& b, std::size_t off, std::uint16_t v) {
  b[off] = static_cast<std::byte>(v >> 8);
  b[off + 1] = static_cast<std::byte>(v);
}
void fix_size(Bytes& b) {
  set16(b, 2, static_cast<std::uint16_t>(b.size()));
}

// An IPv4 tcp4() entry followed by `options`, with ver_size and the message
// size set to fit; nr_conns 2 with tcp4() after it (padded) when `then_tcp4`.
Bytes with_options(std::string_view options, bool then_tcp4 = true) {
  Bytes m = cat({"00 00 00 00 01 01 00 00", kTcp4Entry, options});
  set16(m, kE1 + 2, static_cast<std::uint16_t>(m.size() - kE1));
  if (then_tcp4) {
    while (m.size() % 4)
      m.push_back(std::byte{0});
    const Bytes e = hex(kTcp4Entry);
    m.insert(m.end(), e.begin(), e.end());
    m[4] = std::byte{2};
  }
  fix_size(m);
  return m;
}

void expect_error(const Bytes& m, DropReason want, std::size_t conns_before = 0,
                  const DecodeOptions& o = {}) {
  const DecodeResult r = decode(m, o);
  ASSERT_TRUE(r.error) << "expected " << to_string(want);
  EXPECT_EQ(*r.error, want) << to_string(*r.error);
  EXPECT_EQ(r.message.conns.size(), conns_before);
}

void expect_entry_drop(const Bytes& m, DropReason want, std::size_t index, std::size_t conns_kept,
                       const DecodeOptions& o = {}) {
  const DecodeResult r = decode(m, o);
  EXPECT_TRUE(r.ok()) << to_string(*r.error);
  ASSERT_EQ(r.dropped.size(), 1u);
  EXPECT_EQ(r.dropped[0], (EntryDrop{index, want})) << to_string(r.dropped[0].reason);
  EXPECT_EQ(drop_scope(want), DropScope::entry);
  EXPECT_EQ(r.message.conns.size(), conns_kept);
}

TEST(SyncCodecReject, TooShort) {
  for (std::size_t n = 0; n < 4; ++n)
    expect_error(Bytes(n), DropReason::too_short);
  EXPECT_EQ(drop_scope(DropReason::too_short), DropScope::message);
}

TEST(SyncCodecReject, SizeFieldMustEqualDatagramLength) {
  Bytes m = two_entry_message();
  set16(m, 2, static_cast<std::uint16_t>(m.size() + 1));
  expect_error(m, DropReason::size_mismatch);
  set16(m, 2, static_cast<std::uint16_t>(m.size() - 1));
  expect_error(m, DropReason::size_mismatch);
  // The extra byte is not read either: the whole datagram is dropped.
  Bytes longer = two_entry_message();
  longer.push_back(std::byte{0});
  expect_error(longer, DropReason::size_mismatch);
}

TEST(SyncCodecReject, SyncIdFilter) {
  const Bytes m = two_entry_message();                           // syncid 7
  EXPECT_EQ(decode(m, {.syncid = 0}).message.conns.size(), 2u);  // 0 takes all
  EXPECT_EQ(decode(m, {.syncid = 7}).message.conns.size(), 2u);
  expect_error(m, DropReason::syncid_mismatch, 0, {.syncid = 8});
  Bytes zero = m;
  zero[1] = std::byte{0};  // a message with syncid 0 is not for backup syncid 7
  expect_error(zero, DropReason::syncid_mismatch, 0, {.syncid = 7});
  // The filter applies to v0 messages too (same header offset).
  expect_error(hex(kV0Message), DropReason::syncid_mismatch, 0, {.syncid = 6});
  EXPECT_EQ(drop_scope(DropReason::syncid_mismatch), DropScope::message);
}

TEST(SyncCodecReject, NotV1HeaderIsParsedAsV0) {
  // v1 iff version == 1, reserved == 0 and spare == 0; otherwise the kernel
  // parses a v0 message, whose count is the (zero) reserved byte.
  for (auto mutate :
       {+[](Bytes& b) { b[5] = std::byte{2}; }, +[](Bytes& b) { b[7] = std::byte{1}; },
        +[](Bytes& b) { b[6] = std::byte{1}; }}) {
    Bytes m = two_entry_message();
    mutate(m);
    const DecodeResult r = decode(m);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.message.version, 0);
    EXPECT_EQ(r.nr_conns, 0);
    EXPECT_TRUE(r.message.conns.empty());
  }
  // reserved != 0: a v0 header with that many 24-byte entries.
  Bytes m = two_entry_message();
  m[0] = std::byte{1};
  const DecodeResult r = decode(m);
  EXPECT_EQ(r.message.version, 0);
  EXPECT_EQ(r.nr_conns, 1);
}

TEST(SyncCodecReject, EntryTruncatedKeepsEarlierEntries) {
  Bytes m = two_entry_message();
  m[4] = std::byte{3};  // a third entry that is not there
  expect_error(m, DropReason::entry_truncated, 2);
  EXPECT_EQ(drop_scope(DropReason::entry_truncated), DropScope::rest);
  // Fewer than 36 bytes left: even a 35-byte tail is "too small".
  Bytes tail = cat({"00 00 00 00 02 01 00 00", kTcp4Entry, kTcp4Entry});
  tail.pop_back();
  fix_size(tail);
  expect_error(tail, DropReason::entry_truncated, 1);
}

TEST(SyncCodecReject, EntryOverrun) {
  Bytes m = two_entry_message();
  set16(m, kE2 + 2, 37);  // one byte more than the datagram holds
  expect_error(m, DropReason::entry_overrun, 1);
}

TEST(SyncCodecReject, EntryVersionNibble) {
  Bytes m = two_entry_message();
  set16(m, kE1 + 2, 0x1024);
  expect_error(m, DropReason::entry_version, 0);
}

TEST(SyncCodecReject, EntryType) {
  Bytes m = two_entry_message();
  m[kE2] = std::byte{0x02};  // neither 0 nor STYPE_F_INET6
  expect_error(m, DropReason::entry_type, 1);
  // Any type with bit 0 set is IPv6 to the kernel (other bits unchecked).
  Bytes v6 = cat({"00 00 00 50 01 01 00 00", kUdp6Entry});
  v6[kE1] = std::byte{0x03};
  const DecodeResult r = decode_ok(v6);
  ASSERT_EQ(r.message.conns.size(), 1u);
  EXPECT_EQ(r.message.conns[0], received(udp6()));
}

TEST(SyncCodecReject, EntrySizeSmallerThanItsType) {
  Bytes m = two_entry_message();
  m[kE2] = std::byte{0x01};  // claims IPv6 in a 36-byte entry
  expect_error(m, DropReason::entry_size, 1);
  Bytes small = two_entry_message();
  set16(small, kE1 + 2, 35);
  expect_error(small, DropReason::entry_size, 0);
  Bytes zero = two_entry_message();
  set16(zero, kE1 + 2, 0);
  expect_error(zero, DropReason::entry_size, 0);
}

TEST(SyncCodecReject, OptionHeaderTruncated) {
  expect_error(with_options("01"), DropReason::option_truncated, 0);
}

TEST(SyncCodecReject, OptionLength) {
  expect_error(with_options("41 00"), DropReason::option_length, 0);        // zero length
  expect_error(with_options("41 03 00 00"), DropReason::option_length, 0);  // past the entry
}

TEST(SyncCodecReject, SeqOption) {
  expect_error(with_options("01 0c 00 00 00 00 00 00 00 00 00 00 00 00"),
               DropReason::seq_option_length, 0);
  std::string one = "01 18";
  for (int i = 0; i < 24; ++i)
    one += " 00";
  expect_error(with_options(one + one), DropReason::seq_option_duplicate, 0);
  // The optional bit on a known type is ignored: still SEQ_DATA.
  std::string opt = "41 18";
  for (int i = 0; i < 24; ++i)
    opt += " 01";
  const DecodeResult r = decode_ok(with_options(opt));
  ASSERT_EQ(r.message.conns.size(), 2u);
  ASSERT_TRUE(r.message.conns[0].seq);
  EXPECT_EQ(r.message.conns[0].seq->in_seq.init_seq, 0x01010101u);
}

TEST(SyncCodecReject, PeOptions) {
  expect_error(with_options("02 01 aa 02 01 bb 03 03 73 69 70"), DropReason::pe_data_duplicate, 0,
               {.pe_engines = kSip});
  expect_error(with_options("02 01 aa 03 11 73 69 70 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
               DropReason::pe_name_too_long, 0, {.pe_engines = kSip});
  expect_error(with_options("02 01 aa 03 03 73 69 70 03 03 73 69 70"),
               DropReason::pe_name_duplicate, 0, {.pe_engines = kSip});
  // A 16-byte name is fine; the kernel looks it up as a C string
  // (__ip_vs_pe_getbyname: strcmp), so NUL padding still names "sip".
  const DecodeResult r =
      decode_ok(with_options("02 01 aa 03 10 73 69 70 00 00 00 00 00 00 00 00 00 00 00 00 00"),
                {.pe_engines = kSip});
  ASSERT_EQ(r.message.conns.size(), 2u);
  ASSERT_TRUE(r.message.conns[0].pe);
  EXPECT_EQ(r.message.conns[0].pe->name().size(), 16u);
  expect_entry_drop(with_options("02 01 aa 03 10 73 69 70 73 69 70 73 69 70 73 69 70 73 69 70 73"),
                    DropReason::unknown_pe, 0, 1, {.pe_engines = kSip});
}

TEST(SyncCodecReject, UnknownMandatoryOptionDropsOnlyTheEntry) {
  expect_entry_drop(with_options("05 02 00 00"), DropReason::unknown_mandatory_option, 0, 1);
  // The kernel stops at it: a malformed option after it is never seen.
  expect_entry_drop(with_options("05 02 00 00 01 00"), DropReason::unknown_mandatory_option, 0, 1);
  // With IPVS_OPT_F_PARAM the unknown option is skipped and the entry kept.
  const DecodeResult r = decode_ok(with_options("45 02 00 00"));
  ASSERT_EQ(r.message.conns.size(), 2u);
  EXPECT_EQ(r.message.conns[0], received(tcp4()));
}

TEST(SyncCodecReject, UnknownProtocolAndInvalidState) {
  Bytes m = two_entry_message();
  m[kE1 + 1] = std::byte{1};  // ICMP: ip_vs_proto_get() knows no such protocol
  expect_entry_drop(m, DropReason::unknown_protocol, 0, 1);

  Bytes tcp = two_entry_message();
  set16(tcp, kE1 + 8, 11);  // IP_VS_TCP_S_LAST
  expect_entry_drop(tcp, DropReason::invalid_state, 0, 1);
  set16(tcp, kE1 + 8, 10);  // SYNACK
  EXPECT_EQ(decode_ok(tcp).message.conns.size(), 2u);

  Bytes udp = cat({"00 00 00 50 01 01 00 00", kUdp6Entry});
  set16(udp, kE1 + 8, 1);  // UDP has one state
  expect_entry_drop(udp, DropReason::invalid_state, 0, 0);

  // Templates skip both checks (fwmark templates carry protocol 0; a bad
  // template state is only logged).
  Bytes tpl = two_entry_message();
  tpl[kE2 + 1] = std::byte{0};
  set16(tpl, kE2 + 8, 7);
  const DecodeResult r = decode_ok(tpl);
  ASSERT_EQ(r.message.conns.size(), 2u);
  EXPECT_EQ(r.message.conns[1].protocol, 0);
  EXPECT_EQ(r.message.conns[1].state, 7);

  EXPECT_EQ(protocol_num_states(kSctp), 14u);
  EXPECT_EQ(protocol_num_states(50), 1u);
  EXPECT_EQ(protocol_num_states(51), 1u);
}

TEST(SyncCodecReject, PersistenceEngine) {
  expect_entry_drop(with_options("02 01 aa"), DropReason::pe_data_without_name, 0, 1,
                    {.pe_engines = kSip});
  expect_entry_drop(with_options("02 01 aa 03 03 78 79 7a"), DropReason::unknown_pe, 0, 1,
                    {.pe_engines = kSip});
  // No engines configured (lvsd's default): any PE data drops the entry.
  expect_entry_drop(with_options("02 01 aa 03 03 73 69 70"), DropReason::unknown_pe, 0, 1);
  // A name without data is ignored.
  const DecodeResult r = decode_ok(with_options("03 03 73 69 70"));
  ASSERT_EQ(r.message.conns.size(), 2u);
  EXPECT_FALSE(r.message.conns[0].pe);
  // Name then data is accepted as well (order is free on receive).
  const DecodeResult r2 = decode_ok(with_options("03 03 73 69 70 02 01 aa"), {.pe_engines = kSip});
  ASSERT_TRUE(r2.message.conns[0].pe);
  EXPECT_EQ(r2.message.conns[0].pe->name(), "sip");
}

TEST(SyncCodecReject, FlagsAreMaskedToTheBackupMask) {
  Bytes m = two_entry_message();
  for (int i = 4; i < 8; ++i)
    m[kE1 + i] = std::byte{0xff};
  const DecodeResult r = decode_ok(m);
  ASSERT_EQ(r.message.conns.size(), 2u);
  EXPECT_EQ(r.message.conns[0].flags, kBackupMask | kSync);
  EXPECT_EQ(r.message.conns[0].flags, 0x1fa7u);
}

TEST(SyncCodecReject, PadBytesAndTrailingBytesAreNotChecked) {
  Bytes m = cat({"00 00 00 6c 02 01 00 00", kTcp4SeqEntry, "ee ee", kTcp4Entry});
  EXPECT_EQ(decode_ok(m).message.conns.size(), 2u);
  Bytes trailing = two_entry_message();
  trailing.insert(trailing.end(), {std::byte{1}, std::byte{2}, std::byte{3}});
  fix_size(trailing);
  EXPECT_EQ(decode_ok(trailing).message.conns.size(), 2u);
}

TEST(SyncCodecReject, Version0Truncation) {
  Bytes m = hex(kV0Message);
  m[0] = std::byte{3};
  expect_error(m, DropReason::v0_entry_truncated, 2);
  Bytes opts = hex(kV0Message);
  opts.pop_back();
  fix_size(opts);
  expect_error(opts, DropReason::v0_options_truncated, 1);
  // Per-entry rules apply to v0 as well, and decoding goes on.
  Bytes proto = hex(kV0Message);
  proto[4 + 1] = std::byte{1};
  expect_entry_drop(proto, DropReason::unknown_protocol, 0, 1);
}

TEST(SyncCodecReject, EveryReasonHasANameAndScope) {
  std::vector<std::string_view> names;
  for (std::size_t i = 0; i < kDropReasonCount; ++i) {
    const auto r = static_cast<DropReason>(i);
    names.push_back(to_string(r));
    EXPECT_NE(names.back(), "unknown");
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_EQ(to_string(static_cast<DropReason>(kDropReasonCount)), "unknown");
}

// ---------------------------------------------------------------------------
// Encoder preconditions, builder, maxlen.
// ---------------------------------------------------------------------------

TEST(SyncCodecEncode, Validate) {
  SyncConn bad = tcp4();
  bad.daddr = ip("2001:db8::1");
  EXPECT_EQ(validate(bad, 1), EncodeError::bad_address);
  EXPECT_THROW(encode(SyncMessage{0, 1, {bad}}), std::invalid_argument);
  EXPECT_EQ(validate(udp6(), 0), EncodeError::v0_not_ipv4);
  EXPECT_EQ(validate(tcp4(), 0), EncodeError::v0_unsupported);  // timeout
  SyncConn v0 = tcp4();
  v0.timeout = 0;
  EXPECT_EQ(validate(v0, 0), std::nullopt);
  v0.flags |= kInSeq;
  EXPECT_EQ(validate(v0, 0), EncodeError::v0_seq_mismatch);
  EXPECT_EQ(validate(tcp4(), 2), EncodeError::bad_version);
  EXPECT_THROW(encode(SyncMessage{0, 1, std::vector<SyncConn>(256, tcp4())}),
               std::invalid_argument);
  EXPECT_NO_THROW(encode(SyncMessage{0, 1, std::vector<SyncConn>(255, tcp4())}));
  EXPECT_FALSE(PeData::make({}, "sip"));
  const std::uint8_t x[1] = {1};
  EXPECT_FALSE(PeData::make(x, ""));
  EXPECT_FALSE(PeData::make(x, "seventeen-chars-x"));
  EXPECT_TRUE(PeData::make(x, "sixteen-chars-xx"));
}

TEST(SyncCodecEncode, MaxlenAsTheKernelDerivesIt) {
  EXPECT_EQ(sync_maxlen(Role::master, Family::inet), 1472u);
  EXPECT_EQ(sync_maxlen(Role::master, Family::inet, 9000), 1472u);  // master ignores the MTU
  EXPECT_EQ(sync_maxlen(Role::master, Family::inet6), 1452u);
  EXPECT_EQ(sync_maxlen(Role::backup, Family::inet, 9000), 8972u);
  EXPECT_EQ(sync_maxlen(Role::backup, Family::inet, 1400), 1472u);
  EXPECT_EQ(sync_maxlen(Role::backup, Family::inet, 100000), 65507u);
  EXPECT_EQ(sync_maxlen(Role::backup, Family::inet, 1500, 100), 1024u);
  EXPECT_EQ(sync_maxlen(Role::master, Family::inet, 1500, 100), 100u);
  EXPECT_EQ(sync_maxlen(Role::master, Family::inet6, 1500, 70000), 65487u);
  EXPECT_EQ(kDefaultMaxlenV4, 1472u);
  EXPECT_EQ(kDefaultMaxlenV6, 1452u);
}

TEST(SyncCodecBuilder, FillsUpToMaxlen) {
  MessageBuilder b(9);
  EXPECT_TRUE(b.empty());
  std::vector<SyncConn> sent;
  while (true) {
    SyncConn c = tcp4();
    c.cport = static_cast<std::uint16_t>(1000 + sent.size());
    if (b.add(c) == MessageBuilder::AddResult::full) break;
    sent.push_back(c);
  }
  EXPECT_EQ(sent.size(), 40u);  // (1472 - 8) / 36
  EXPECT_EQ(b.size(), 8u + 40 * 36);
  expect_bytes(encode(SyncMessage{9, 1, sent}), b.bytes());
  const DecodeResult r = decode_ok(Bytes(b.bytes().begin(), b.bytes().end()));
  EXPECT_EQ(r.message.conns.size(), 40u);

  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.size(), 8u);
  EXPECT_EQ(b.add(udp6()), MessageBuilder::AddResult::added);
  expect_bytes(encode(SyncMessage{9, 1, {udp6()}}), b.bytes());
}

TEST(SyncCodecBuilder, PadsBetweenEntriesAndCountsThem) {
  // 62-byte entries: 8 + 62 + 21 * (2 + 62) = 1414; one more would be 1478.
  MessageBuilder b(0);
  std::vector<SyncConn> sent;
  while (b.add(tcp4_seq()) == MessageBuilder::AddResult::added)
    sent.push_back(tcp4_seq());
  EXPECT_EQ(sent.size(), 22u);
  EXPECT_EQ(b.size(), 1414u);
  expect_bytes(encode(SyncMessage{0, 1, sent}), b.bytes());
}

TEST(SyncCodecBuilder, OversizedEntryGoesAloneAndCountCapsAt255) {
  MessageBuilder tiny(0, 40);  // smaller than header + one entry
  EXPECT_EQ(tiny.add(tcp4()), MessageBuilder::AddResult::added);
  EXPECT_EQ(tiny.size(), 44u);
  EXPECT_EQ(tiny.add(tcp4()), MessageBuilder::AddResult::full);

  MessageBuilder big(0, 65507);
  std::size_t n = 0;
  while (big.add(tcp4()) == MessageBuilder::AddResult::added)
    ++n;
  EXPECT_EQ(n, 255u);
  EXPECT_EQ(decode_ok(Bytes(big.bytes().begin(), big.bytes().end())).message.conns.size(), 255u);

  SyncConn bad = tcp4();
  bad.caddr = ip("2001:db8::1");
  MessageBuilder b(0);
  EXPECT_EQ(b.add(bad), MessageBuilder::AddResult::invalid);
  EXPECT_TRUE(b.empty());
}

// ---------------------------------------------------------------------------
// Real kernel bytes: the master sync daemon of Debian 12's kernel
// (6.1.0-56-amd64) in the ip_vs VM, captured by
// tests/integration/sync_kernel_vm_test.sh with LVSD_VM_OUT set; the
// connections are the ones `ipvsadm -Lnc` listed on that master. Client
// 198.51.100.2 / 2001:db8:100::2, VIP 192.0.2.200 / 2001:db8:200::200, real
// server 192.0.2.21 / 2001:db8:21::21, syncid 9.
// ---------------------------------------------------------------------------

// Version 1, 14 entries: two short HTTP connections on :80 and :81 (the
// latter with its persistence template, re-sent as it is used), an IPv6 one
// on :80, and a long-lived one on :82 in ESTABLISHED.
constexpr std::string_view kKernelV1 =
    "0009026c0e01000000060024000000000001dcf0005000500000000000000384c6336402c00002c8c0000215"
    "00060024000001000005dcf0005000500000000000000078c6336402c00002c8c00002150006002400001100"
    "00000000005100510000000000000078c6336402c00002c8c000021500060024000011000001000000510051"
    "0000000000000078c6336402c00002c8c000021500060024000000000001a620005100510000000000000384"
    "c6336402c00002c8c0000215000600240000110000010000005100510000000000000078c6336402c00002c8"
    "c0000215000600240000110000010000005100510000000000000078c6336402c00002c8c000021500060024"
    "0000110000010000005100510000000000000078c6336402c00002c8c000021500060024000001000005a620"
    "005100510000000000000078c6336402c00002c8c00002150006002400001100000100000051005100000000"
    "00000078c6336402c00002c8c000021501060048000000000001e79c00500050000000000000038420010db8"
    "01000000000000000000000220010db802000000000000000000020020010db8002100000000000000000021"
    "01060048000001000004e79c00500050000000000000007820010db801000000000000000000000220010db8"
    "02000000000000000000020020010db800210000000000000000002101060048000001000005e79c00500050"
    "000000000000007820010db801000000000000000000000220010db802000000000000000000020020010db8"
    "00210000000000000000002100060024000000000001d4c4005200520000000000000384c6336402c00002c8"
    "c0000215";
// Version 1, the UDP connection (sent alone after the 2 s flush).
constexpr std::string_view kKernelV1Udp =
    "0009002c010100000011002400000100000014e900350035000000000000012cc6336402c00002c8c0000215";
// Version 0 (net.ipv4.vs.sync_version=0), 6 entries.
constexpr std::string_view kKernelV0 =
    "060900940006c5c000500050c6336402c00002c8c0000215000000010006c5c000500050c6336402c00002c8"
    "c0000215010000050006aa6600510051c6336402c00002c8c0000215000000010006000000510051c6336402"
    "c00002c8c0000215110000010006aa6600510051c6336402c00002c8c0000215010000050006000000510051"
    "c6336402c00002c8c000021511000001";

struct KernelEntry {
  bool v6;
  std::uint8_t protocol;
  std::uint16_t cport;
  std::uint16_t port;   // vport == dport here
  std::uint32_t flags;  // as the kernel sent them
  std::uint16_t state;
  std::uint32_t timeout;
};

SyncConn kernel_conn(const KernelEntry& e) {
  SyncConn c;
  c.family = e.v6 ? Family::inet6 : Family::inet;
  c.protocol = e.protocol;
  c.caddr = ip(e.v6 ? "2001:db8:100::2" : "198.51.100.2");
  c.vaddr = ip(e.v6 ? "2001:db8:200::200" : "192.0.2.200");
  c.daddr = ip(e.v6 ? "2001:db8:21::21" : "192.0.2.21");
  c.cport = e.cport;
  c.vport = e.port;
  c.dport = e.port;
  c.flags = e.flags;
  c.state = e.state;
  c.timeout = e.timeout;
  return c;
}

std::vector<SyncConn> kernel_conns(std::initializer_list<KernelEntry> entries) {
  std::vector<SyncConn> out;
  for (const auto& e : entries)
    out.push_back(kernel_conn(e));
  return out;
}

constexpr std::uint32_t kTpl = kTemplate | kInactive;  // how 6.1 sends its templates

void expect_kernel_message(std::string_view hex_text, const SyncMessage& sent) {
  const Bytes wire = hex(hex_text);
  // Our encoder lays the kernel's entries out byte for byte as it did.
  expect_bytes(wire, encode(sent));
  // And the receiver side gets what a kernel backup would apply.
  const DecodeResult r = decode_ok(wire, {.syncid = 9});
  EXPECT_EQ(r.message.version, sent.version);
  EXPECT_EQ(r.message.syncid, 9);
  ASSERT_EQ(r.message.conns.size(), sent.conns.size());
  for (std::size_t i = 0; i < sent.conns.size(); ++i) {
    SyncConn want = sent.conns[i];
    want.flags |= kSync;
    EXPECT_EQ(r.message.conns[i], want) << "entry " << i;
  }
}

TEST(SyncCodecKernel, Version1Capture) {
  const auto conns = kernel_conns({
      {false, kTcp, 56560, 80, 0, kEstablished, 900},
      {false, kTcp, 56560, 80, kInactive, 5 /* TIME_WAIT */, 120},
      {false, kTcp, 0, 81, kTpl, kTemplateStateNone, 120},
      {false, kTcp, 0, 81, kTpl, kTemplateStateAssured, 120},
      {false, kTcp, 42528, 81, 0, kEstablished, 900},
      {false, kTcp, 0, 81, kTpl, kTemplateStateAssured, 120},
      {false, kTcp, 0, 81, kTpl, kTemplateStateAssured, 120},
      {false, kTcp, 0, 81, kTpl, kTemplateStateAssured, 120},
      {false, kTcp, 42528, 81, kInactive, 5, 120},
      {false, kTcp, 0, 81, kTpl, kTemplateStateAssured, 120},
      {true, kTcp, 59292, 80, 0, kEstablished, 900},
      {true, kTcp, 59292, 80, kInactive, 4 /* FIN_WAIT */, 120},
      {true, kTcp, 59292, 80, kInactive, 5, 120},
      {false, kTcp, 54468, 82, 0, kEstablished, 900},
  });
  expect_kernel_message(kKernelV1, SyncMessage{9, 1, conns});
  // The receiver's syncid filter: another backup syncid ignores it.
  expect_error(hex(kKernelV1), DropReason::syncid_mismatch, 0, {.syncid = 8});
}

TEST(SyncCodecKernel, Version1UdpCapture) {
  expect_kernel_message(
      kKernelV1Udp, SyncMessage{9, 1, kernel_conns({{false, kUdp, 5353, 53, kInactive, 0, 300}})});
}

TEST(SyncCodecKernel, Version0Capture) {
  const auto conns = kernel_conns({
      {false, kTcp, 50624, 80, 0, kEstablished, 0},
      {false, kTcp, 50624, 80, kInactive, 5, 0},
      {false, kTcp, 43622, 81, 0, kEstablished, 0},
      {false, kTcp, 0, 81, kTpl, kTemplateStateAssured, 0},
      {false, kTcp, 43622, 81, kInactive, 5, 0},
      {false, kTcp, 0, 81, kTpl, kTemplateStateAssured, 0},
  });
  expect_kernel_message(kKernelV0, SyncMessage{9, 0, conns});
}

// ---------------------------------------------------------------------------
// Properties: round trip on random connections; truncation at every offset.
// ---------------------------------------------------------------------------

constexpr std::string_view kEngines[] = {"sip", "x", "sixteen-chars-xx"};

SyncConn random_conn(std::mt19937& rng) {
  auto u = [&](std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(0, hi)(rng);
  };
  SyncConn c;
  c.family = u(1) ? Family::inet6 : Family::inet;
  auto addr = [&] {
    std::uint8_t b[16];
    for (auto& x : b)
      x = static_cast<std::uint8_t>(u(255));
    return c.family == Family::inet ? IpAddr::v4(b) : IpAddr::v6(b);
  };
  c.caddr = addr();
  c.vaddr = addr();
  c.daddr = addr();
  c.cport = static_cast<std::uint16_t>(u(0xffff));
  c.vport = static_cast<std::uint16_t>(u(0xffff));
  c.dport = static_cast<std::uint16_t>(u(0xffff));
  c.flags = u(0xffffffff);
  c.fwmark = u(0xffffffff);
  c.timeout = u(0xffffffff);
  if (c.is_template()) {
    c.protocol = static_cast<std::uint8_t>(u(255));
    c.state = static_cast<std::uint16_t>(u(0xffff));
  } else {
    static constexpr std::uint8_t kProtos[] = {kTcp, kUdp, kSctp, 50, 51};
    c.protocol = kProtos[u(4)];
    c.state = static_cast<std::uint16_t>(u(protocol_num_states(c.protocol) - 1));
  }
  if (u(1)) {
    c.seq = SeqData{{u(0xffffffff), u(0xffffffff), u(0xffffffff)},
                    {u(0xffffffff), u(0xffffffff), u(0xffffffff)}};
  }
  if (u(3) == 0) {
    std::vector<std::uint8_t> data(1 + u(254));
    for (auto& x : data)
      x = static_cast<std::uint8_t>(u(255));
    c.pe = PeData::make(data, kEngines[u(2)]);
  }
  return c;
}

TEST(SyncCodecProperty, RandomRoundTrip) {
  std::mt19937 rng(20240608);
  const DecodeOptions opts{.syncid = 0, .pe_engines = kEngines};
  std::size_t messages = 0, entries = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const auto syncid = static_cast<std::uint8_t>(rng());
    MessageBuilder b(syncid, 1472 + rng() % 4000);
    std::vector<SyncConn> in_msg;
    auto flush = [&] {
      const Bytes bytes(b.bytes().begin(), b.bytes().end());
      expect_bytes(encode(SyncMessage{syncid, 1, in_msg}), bytes);
      const DecodeResult r = decode(bytes, opts);
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE(r.dropped.empty());
      EXPECT_EQ(r.message.syncid, syncid);
      ASSERT_EQ(r.message.conns.size(), in_msg.size());
      for (std::size_t i = 0; i < in_msg.size(); ++i)
        ASSERT_EQ(r.message.conns[i], received(in_msg[i])) << "entry " << i;
      ++messages;
      entries += in_msg.size();
      b.clear();
      in_msg.clear();
    };
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      const SyncConn c = random_conn(rng);
      auto res = b.add(c);
      if (res == MessageBuilder::AddResult::full) {
        flush();
        res = b.add(c);
      }
      ASSERT_EQ(res, MessageBuilder::AddResult::added);
      in_msg.push_back(c);
    }
    flush();
  }
  EXPECT_GT(messages, 300u);
  EXPECT_GT(entries, 5000u);
}

TEST(SyncCodecProperty, RandomRoundTripV0) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 200; ++iter) {
    std::vector<SyncConn> conns;
    const int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      SyncConn c = random_conn(rng);
      c.family = Family::inet;
      std::uint8_t b[4] = {1, 2, 3, static_cast<std::uint8_t>(i)};
      c.caddr = c.vaddr = c.daddr = IpAddr::v4(b);
      c.timeout = c.fwmark = 0;
      c.pe.reset();
      c.flags &= 0xffff & ~kHashed;
      c.flags |= kSync;
      if (!(c.flags & kSeqMask)) c.seq.reset();
      if ((c.flags & kSeqMask) && !c.seq) c.seq = kSeq;
      conns.push_back(c);
    }
    const SyncMessage m{static_cast<std::uint8_t>(rng()), 0, conns};
    const DecodeResult r = decode(encode(m));
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r.dropped.empty());
    EXPECT_EQ(r.message, m);
  }
}

Bytes rich_message() {
  SyncConn seq6 = udp6();
  seq6.flags |= kSeqMask;
  seq6.seq = kSeq;
  return encode(SyncMessage{4, 1, {tcp4(), tcp4_seq(), sip_template(), udp6(), seq6, template4()}});
}

void truncation_at_every_offset(const Bytes& full, const DecodeOptions& opts) {
  const DecodeResult whole = decode(full, opts);
  ASSERT_TRUE(whole.ok());
  for (std::size_t k = 0; k < full.size(); ++k) {
    // Exactly sized heap copies, so a sanitizer build sees any overread.
    const Bytes as_is(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(k));
    const DecodeResult r = decode(as_is, opts);
    ASSERT_TRUE(r.error) << k;
    EXPECT_EQ(*r.error, k < 4 ? DropReason::too_short : DropReason::size_mismatch) << k;

    if (k < 4) continue;
    Bytes patched = as_is;
    fix_size(patched);
    const DecodeResult t = decode(patched, opts);
    // What is decoded is a prefix of the whole; something says why it stopped.
    ASSERT_LE(t.message.conns.size(), whole.message.conns.size()) << k;
    for (std::size_t i = 0; i < t.message.conns.size(); ++i)
      EXPECT_EQ(t.message.conns[i], whole.message.conns[i]) << k;
    if (k >= 8) {
      EXPECT_TRUE(t.error) << k;
      if (t.error) {
        EXPECT_EQ(drop_scope(*t.error), DropScope::rest) << k;
      }
    }
  }
}

TEST(SyncCodecProperty, TruncationAtEveryOffset) {
  truncation_at_every_offset(rich_message(), {.pe_engines = kSip});
  truncation_at_every_offset(hex(kV0Message), {});
}

TEST(SyncCodecProperty, SingleByteCorruptionNeverBreaksBounds) {
  // Every byte of the rich message set to every value: decode must return
  // (no crash, no overread) and what it accepts must re-encode and decode the same.
  const Bytes full = rich_message();
  const DecodeOptions opts{.pe_engines = kSip};
  std::size_t accepted = 0, errors = 0, drops = 0;
  for (std::size_t i = 0; i < full.size(); ++i) {
    for (int v = 0; v < 256; ++v) {
      Bytes m = full;
      m[i] = static_cast<std::byte>(v);
      const DecodeResult r = decode(m, opts);
      errors += r.error.has_value();
      drops += r.dropped.size();
      accepted += r.message.conns.size();
      const DecodeResult again = decode(encode(r.message), opts);
      ASSERT_TRUE(again.ok()) << i << " " << v;
      ASSERT_EQ(again.message.conns, r.message.conns) << i << " " << v;
    }
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(errors, 0u);
  EXPECT_GT(drops, 0u);
}

}  // namespace
}  // namespace lvsd::sync
