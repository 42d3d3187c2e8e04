// sync_codec_tool: lvsd's sync codec from the command line, for the sync
// integration tests. A fixed set of messages made with the codec
// (tests/integration/sync_tshark_test.sh runs them through Wireshark's "ipvs"
// dissector), and a decoder for captures of real kernel sync traffic
// (tests/integration/sync_kernel_vm_test.sh).
//
//   sync_codec_tool expect            one line per message: the fields tshark
//                                     should print (see expect_line)
//   sync_codec_tool send ADDR PORT    send each message as one UDP datagram
//   sync_codec_tool write DIR         write each message to DIR/NN-name.bin
//   sync_codec_tool decode-pcap FILE [SYNCID]
//                                     decode every UDP payload to or from port
//                                     8848 in a classic pcap file (Ethernet or
//                                     Linux cooked, IPv4/IPv6): one "msg" line
//                                     per datagram, one "conn" or "drop" line per
//                                     entry, one "hex" line with the payload
//
// The messages stay within what Wireshark 4.0's dissector
// (epan/dissectors/packet-ipvs-syncd.c) parses: it reads the v1 header and the
// fixed part of each entry, but neither skips options nor the pad before the
// next entry, so an entry with options is only ever the last of its message.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "sync/codec.hpp"

namespace {

using namespace lvsd::sync;

struct Named {
  std::string name;
  SyncMessage message;
  Bytes bytes;
};

IpAddr ip(const std::string& text) {
  return IpAddr::from(boost::asio::ip::make_address(text));
}

SyncConn tcp4(int i) {
  SyncConn c;
  c.protocol = 6;
  c.caddr = ip("10.1.0." + std::to_string(1 + i % 250));
  c.cport = static_cast<std::uint16_t>(40000 + i);
  c.vaddr = ip("10.2.0.1");
  c.vport = 80;
  c.daddr = ip("10.3.0." + std::to_string(1 + i % 3));
  c.dport = 8080;
  c.flags = conn_flags::kMasq;
  c.state = 1;  // ESTABLISHED
  c.timeout = 900;
  return c;
}

SyncConn udp6(int i) {
  SyncConn c;
  c.family = Family::inet6;
  c.protocol = 17;
  c.caddr = ip("2001:db8:1::" + std::to_string(1 + i));
  c.cport = static_cast<std::uint16_t>(5000 + i);
  c.vaddr = ip("2001:db8:2::1");
  c.vport = 53;
  c.daddr = ip("2001:db8:3::" + std::to_string(1 + i));
  c.dport = 53;
  c.flags = conn_flags::kDroute;
  c.timeout = 300;
  c.fwmark = 42;
  return c;
}

std::vector<Named> messages() {
  std::vector<Named> out;
  auto add = [&](std::string name, SyncMessage m) {
    Bytes b = encode(m);
    out.push_back(Named{std::move(name), std::move(m), std::move(b)});
  };
  add("v1-ipv4", SyncMessage{7, 1, {tcp4(0), tcp4(1), tcp4(2)}});
  add("v1-ipv6", SyncMessage{7, 1, {udp6(0), udp6(1)}});
  {
    SyncConn tpl = tcp4(3);
    tpl.caddr = ip("10.1.0.0");
    tpl.cport = 0;
    tpl.flags = conn_flags::kTemplate | conn_flags::kMasq;
    tpl.state = kTemplateStateNone;
    tpl.timeout = 360;
    SyncConn seq = tcp4(4);
    seq.flags |= conn_flags::kSeqMask;
    seq.seq = SeqData{{0x11223344, 5, 3}, {0xa0b0c0d0, 0xfffffffb, 0}};
    add("v1-template-seq", SyncMessage{7, 1, {tpl, seq}});
  }
  {
    SyncConn a = tcp4(5);
    a.timeout = 0;
    SyncConn b = tcp4(6);
    b.timeout = 0;
    b.flags |= conn_flags::kSeqMask;
    b.seq = SeqData{{1, 2, 3}, {4, 5, 6}};
    add("v0", SyncMessage{7, 0, {a, b}});
  }
  {
    // A full message as the sender packs it: default maxlen 1472.
    MessageBuilder builder(7);
    SyncMessage m{7, 1, {}};
    for (int i = 0;; ++i) {
      const SyncConn c = tcp4(10 + i);
      if (builder.add(c) != MessageBuilder::AddResult::added) break;
      m.conns.push_back(c);
    }
    Bytes b(builder.bytes().begin(), builder.bytes().end());
    if (b != encode(m)) {
      std::fprintf(stderr, "builder and encode differ\n");
      std::exit(1);
    }
    out.push_back(Named{"v1-full", std::move(m), std::move(b)});
  }
  return out;
}

// The tshark fields, in this order, -E separator=';' -E aggregator=',':
// ipvs.syncid ipvs.conncount ipvs.version ipvs.size ipvs.proto ipvs.caddr ipvs.vaddr
// ipvs.daddr ipvs.caddr6 ipvs.vaddr6 ipvs.daddr6 ipvs.cport ipvs.vport ipvs.dport ipvs.timeout
std::string expect_line(const Named& n) {
  const SyncMessage& m = n.message;
  std::vector<std::string> cols(15);
  cols[0] = std::to_string(m.syncid);
  cols[1] = std::to_string(m.conns.size());
  if (m.version == 1) cols[2] = "1";
  cols[3] = std::to_string(n.bytes.size());
  auto join = [&](int col, const std::string& v) {
    if (!cols[col].empty()) cols[col] += ',';
    cols[col] += v;
  };
  for (const SyncConn& c : m.conns) {
    char proto[8];
    std::snprintf(proto, sizeof proto, "0x%02x", c.protocol);
    join(4, proto);
    const int base = c.family == Family::inet ? 5 : 8;
    join(base, c.caddr.to_address().to_string());
    join(base + 1, c.vaddr.to_address().to_string());
    join(base + 2, c.daddr.to_address().to_string());
    join(11, std::to_string(c.cport));
    join(12, std::to_string(c.vport));
    join(13, std::to_string(c.dport));
    if (m.version == 1) join(14, std::to_string(c.timeout));
  }
  std::string line;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (i) line += ';';
    line += cols[i];
  }
  return line;
}

const char* proto_name(std::uint8_t p) {
  switch (p) {
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 132:
      return "SCTP";
    default:
      return "IP";
  }
}

std::string endpoint(const IpAddr& a, std::uint16_t port, Family f) {
  // IPv6 as ipvsadm -Lnc prints it: [addr]:port.
  const std::string addr =
      f == Family::inet ? a.to_address().to_string() : "[" + a.to_address().to_string() + "]";
  return addr + ":" + std::to_string(port);
}

void print_decoded(std::span<const std::byte> payload, const DecodeOptions& opts) {
  const DecodeResult r = decode(payload, opts);
  std::printf("msg version=%u syncid=%u nr_conns=%u size=%zu error=%s\n", r.message.version,
              r.message.syncid, r.nr_conns, payload.size(),
              r.error ? std::string(to_string(*r.error)).c_str() : "none");
  for (const SyncConn& c : r.message.conns) {
    std::printf("conn %s %s %s %s state=%u flags=0x%04" PRIx32 " timeout=%" PRIu32
                " fwmark=%" PRIu32 "%s%s\n",
                proto_name(c.protocol), endpoint(c.caddr, c.cport, c.family).c_str(),
                endpoint(c.vaddr, c.vport, c.family).c_str(),
                endpoint(c.daddr, c.dport, c.family).c_str(), c.state, c.flags, c.timeout, c.fwmark,
                c.is_template() ? " template" : "", c.seq ? " seq" : "");
  }
  for (const EntryDrop& d : r.dropped)
    std::printf("drop index=%zu reason=%s\n", d.index, std::string(to_string(d.reason)).c_str());
  std::string hex;
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::byte b : payload) {
    hex += kDigits[std::to_integer<int>(b) >> 4];
    hex += kDigits[std::to_integer<int>(b) & 15];
  }
  std::printf("hex %s\n", hex.c_str());
}

// Classic pcap (tcpdump -w), either byte order, micro- or nanosecond stamps.
int decode_pcap(const char* path, const DecodeOptions& opts) {
  std::ifstream f(path, std::ios::binary);
  const std::vector<unsigned char> file((std::istreambuf_iterator<char>(f)),
                                        std::istreambuf_iterator<char>());
  if (file.size() < 24) {
    std::fprintf(stderr, "%s: not a pcap file\n", path);
    return 1;
  }
  const std::uint32_t magic =
      file[0] | file[1] << 8 | file[2] << 16 | static_cast<std::uint32_t>(file[3]) << 24;
  bool swap;
  if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
    swap = false;
  } else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
    swap = true;
  } else {
    std::fprintf(stderr, "%s: not a classic pcap file\n", path);
    return 1;
  }
  auto u32 = [&](std::size_t off) -> std::uint32_t {
    std::uint32_t v = file[off] | file[off + 1] << 8 | file[off + 2] << 16 |
                      static_cast<std::uint32_t>(file[off + 3]) << 24;
    return swap ? __builtin_bswap32(v) : v;
  };
  auto be16 = [](const unsigned char* p) { return static_cast<unsigned>(p[0] << 8 | p[1]); };
  const std::uint32_t linktype = u32(20);
  std::size_t off = 24;
  int count = 0;
  while (off + 16 <= file.size()) {
    const std::uint32_t caplen = u32(off + 8);
    off += 16;
    if (caplen > file.size() - off) break;
    const unsigned char* p = file.data() + off;
    std::size_t n = caplen;
    off += caplen;
    unsigned ethertype;
    if (linktype == 1 && n >= 14) {  // DLT_EN10MB
      ethertype = be16(p + 12);
      p += 14;
      n -= 14;
    } else if (linktype == 113 && n >= 16) {  // DLT_LINUX_SLL
      ethertype = be16(p + 14);
      p += 16;
      n -= 16;
    } else {
      continue;
    }
    std::size_t l3;
    if (ethertype == 0x0800 && n >= 20 && p[9] == 17) {
      l3 = (p[0] & 15u) * 4;
    } else if (ethertype == 0x86dd && n >= 40 && p[6] == 17) {
      l3 = 40;
    } else {
      continue;
    }
    if (n < l3 + 8) continue;
    const unsigned char* udp = p + l3;
    if (be16(udp) != kSyncPort && be16(udp + 2) != kSyncPort) continue;
    const std::size_t ulen = be16(udp + 4);
    if (ulen < 8 || ulen > n - l3) continue;
    print_decoded({reinterpret_cast<const std::byte*>(udp + 8), ulen - 8}, opts);
    ++count;
  }
  std::printf("datagrams %d\n", count);
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: sync_codec_tool expect | send ADDR PORT | write DIR |"
               " decode-pcap FILE [SYNCID]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  const auto msgs = messages();
  if (cmd == "expect" && argc == 2) {
    for (const auto& n : msgs)
      std::printf("%s\n", expect_line(n).c_str());
    return 0;
  }
  if (cmd == "write" && argc == 3) {
    int i = 0;
    for (const auto& n : msgs) {
      char name[16];
      std::snprintf(name, sizeof name, "%02d-", ++i);
      std::ofstream f(std::string(argv[2]) + "/" + name + n.name + ".bin", std::ios::binary);
      f.write(reinterpret_cast<const char*>(n.bytes.data()),
              static_cast<std::streamsize>(n.bytes.size()));
      if (!f) {
        std::perror("write");
        return 1;
      }
    }
    return 0;
  }
  if (cmd == "decode-pcap" && (argc == 3 || argc == 4)) {
    static constexpr std::string_view kEngines[] = {"sip"};
    DecodeOptions opts{.pe_engines = kEngines};
    if (argc == 4) opts.syncid = static_cast<std::uint8_t>(std::atoi(argv[3]));
    return decode_pcap(argv[2], opts);
  }
  if (cmd == "send" && argc == 4) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[3])));
    if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) return usage();
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
      std::perror("socket");
      return 1;
    }
    for (const auto& n : msgs) {
      if (sendto(fd, n.bytes.data(), n.bytes.size(), 0, reinterpret_cast<sockaddr*>(&to),
                 sizeof to) != static_cast<ssize_t>(n.bytes.size())) {
        std::perror("sendto");
        return 1;
      }
    }
    close(fd);
    return 0;
  }
  return usage();
}
