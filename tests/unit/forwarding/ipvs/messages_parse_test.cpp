// The decode direction: hand-written kernel replies (laid out the way
// net/netfilter/ipvs/ip_vs_ctl.c fills them: nests without NLA_F_NESTED,
// attribute order of ip_vs_genl_fill_*), round trips of our own requests, and
// malformed input. Family 0x0024, seq 7, port 0x1234 as in the build tests.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <random>

#include "forwarding/ipvs/messages.hpp"
#include "unit/forwarding/ipvs/hex.hpp"

namespace lvsd::forwarding::ipvs {
namespace {

using testing::hex;
using testing::to_hex;

constexpr std::uint16_t kFamily = 0x0024;
constexpr MsgHeader kHdr{kFamily, 7, 0x1234, NLM_F_REQUEST | NLM_F_ACK};

// ---- Kernel replies ----------------------------------------------------

// GET_SERVICE dump: an IPv6 TCP service with STATS and STATS64 (with an
// alignment PAD attribute, as non-x86 kernels send), a fwmark service from a
// kernel that only sends the old STATS, then NLMSG_DONE. 512 bytes.
const Bytes kServiceDump = hex(
    // -- message 1: IPv6 [2001:db8::1]:443 TCP rr
    "44010000 2400 0200 07000000 34120000"           // len 324, family, NLM_F_MULTI, seq 7, pid
    "01 01 0000"                                     // cmd NEW_SERVICE, version 1
    "3001 0100"                                      // SERVICE nest, len 304 (no NLA_F_NESTED)
    "0600 0100 0a00 0000"                            //   AF = AF_INET6
    "0600 0200 0600 0000"                            //   PROTOCOL = TCP
    "1400 0300 20010db8 00000000 00000000 00000001"  // ADDR 2001:db8::1
    "0600 0400 01bb 0000"                            //   PORT 443 (be16)
    "0700 0600 727200 00"                            //   SCHED_NAME "rr\0"
    "0c00 0700 02000000 ffffffff"                    //   FLAGS {HASHED, mask ~0}
    "0800 0800 00000000"                             //   TIMEOUT 0
    "0800 0900 80000000"                             //   NETMASK 128 (prefix)
    "5c00 0a00"                                      //   STATS nest, len 92
    "0800 0100 0a000000"                             //     CONNS u32 10
    "0800 0200 64000000"                             //     INPKTS u32 100
    "0800 0300 32000000"                             //     OUTPKTS u32 50
    "0c00 0400 10270000 00000000"                    //     INBYTES u64 10000
    "0c00 0500 204e0000 00000000"                    //     OUTBYTES u64 20000
    "0800 0600 01000000"                             //     CPS 1
    "0800 0700 02000000"                             //     INPPS 2
    "0800 0800 03000000"                             //     OUTPPS 3
    "0800 0900 04000000"                             //     INBPS 4
    "0800 0a00 05000000"                             //     OUTBPS 5
    "8000 0c00"                                      //   STATS64 nest, len 128
    "0400 0b00"                                      //     PAD (empty)
    "0c00 0100 0a000000 01000000"                    //     CONNS 0x10000000a (beyond u32)
    "0c00 0200 64000000 00000000"                    //     INPKTS 100
    "0c00 0300 32000000 00000000"                    //     OUTPKTS 50
    "0c00 0400 10270000 00000000"                    //     INBYTES 10000
    "0c00 0500 204e0000 00000000"                    //     OUTBYTES 20000
    "0c00 0600 01000000 00000000"                    //     CPS 1
    "0c00 0700 02000000 00000000"                    //     INPPS 2
    "0c00 0800 03000000 00000000"                    //     OUTPPS 3
    "0c00 0900 04000000 00000000"                    //     INBPS 4
    "0c00 0a00 05000000 00000000"                    //     OUTBPS 5
    // -- message 2: IPv4 fwmark 1, wlc, persistent 360 s
    "a8000000 2400 0200 07000000 34120000"  // len 168, NLM_F_MULTI
    "01 01 0000"                            // NEW_SERVICE
    "9400 0100"                             // SERVICE nest, len 148
    "0600 0100 0200 0000"                   //   AF = AF_INET
    "0800 0500 01000000"                    //   FWMARK 1
    "0800 0600 776c6300"                    //   SCHED_NAME "wlc"
    "0c00 0700 03000000 ffffffff"           //   FLAGS {PERSISTENT|HASHED, mask ~0}
    "0800 0800 68010000"                    //   TIMEOUT 360
    "0800 0900 ffffffff"                    //   NETMASK 255.255.255.255
    "5c00 0a00"                             //   STATS nest, len 92 (no STATS64)
    "0800 0100 03000000"                    //     CONNS 3
    "0800 0200 04000000"                    //     INPKTS 4
    "0800 0300 05000000"                    //     OUTPKTS 5
    "0c00 0400 06000000 00000000"           //     INBYTES 6
    "0c00 0500 07000000 00000000"           //     OUTBYTES 7
    "0800 0600 08000000"                    //     CPS 8
    "0800 0700 09000000"                    //     INPPS 9
    "0800 0800 0a000000"                    //     OUTPPS 10
    "0800 0900 0b000000"                    //     INBPS 11
    "0800 0a00 0c000000"                    //     OUTBPS 12
    // -- NLMSG_DONE
    "14000000 0300 0200 07000000 34120000 00000000");  // len 20, DONE, MULTI, status 0

std::vector<SvcAttrs> expected_services() {
  SvcAttrs a;
  a.af = AF_INET6;
  a.protocol = IPPROTO_TCP;
  a.addr = *make_addr(AF_INET6, "2001:db8::1");
  a.port = 443;
  a.sched_name = "rr";
  a.flags = IP_VS_SVC_F_HASHED;
  a.flags_mask = 0xffffffff;
  a.netmask = 128;
  a.stats = Stats{0x10000000aULL, 100, 50, 10000, 20000, 1, 2, 3, 4, 5};
  SvcAttrs b;
  b.af = AF_INET;
  b.fwmark = 1;
  b.sched_name = "wlc";
  b.flags = IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED;
  b.flags_mask = 0xffffffff;
  b.timeout = 360;
  b.netmask = 0xffffffff;
  b.stats = Stats{3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  return {a, b};
}

// GET_DEST dump: a modern-kernel NAT dest (tunnel attrs, ADDR_FAMILY,
// STATS64) and an older-kernel DR dest without them, then DONE. 392 bytes.
const Bytes kDestDump =
    hex("08010000 2400 0200 07000000 34120000"             // len 264, MULTI
        "05 01 0000"                                       // cmd NEW_DEST
        "f400 0200"                                        // DEST nest, len 244
        "1400 0100 c0a8010a 00000000 00000000 00000000"    // ADDR 192.168.1.10
        "0600 0200 1f90 0000"                              //   PORT 8080
        "0800 0300 00000000"                               //   FWD_METHOD MASQ
        "0800 0400 05000000"                               //   WEIGHT 5
        "0500 0d00 00 000000"                              //   TUN_TYPE IPIP (0)
        "0600 0e00 0000 0000"                              //   TUN_PORT 0
        "0600 0f00 0000 0000"                              //   TUN_FLAGS 0
        "0800 0500 00000000"                               //   U_THRESH 0
        "0800 0600 00000000"                               //   L_THRESH 0
        "0800 0700 03000000"                               //   ACTIVE_CONNS 3
        "0800 0800 07000000"                               //   INACT_CONNS 7
        "0800 0900 01000000"                               //   PERSIST_CONNS 1
        "0600 0b00 0200 0000"                              //   ADDR_FAMILY AF_INET
        "7c00 0c00"                                        //   STATS64 nest, len 124
        "0c00 0100 2a000000 00000000"                      //     CONNS 42
        "0c00 0200 e8030000 00000000"                      //     INPKTS 1000
        "0c00 0300 84030000 00000000"                      //     OUTPKTS 900
        "0c00 0400 00000000 01000000"                      //     INBYTES 2^32
        "0c00 0500 40e20100 00000000"                      //     OUTBYTES 123456
        "0c00 0600 02000000 00000000"                      //     CPS 2
        "0c00 0700 03000000 00000000"                      //     INPPS 3
        "0c00 0800 04000000 00000000"                      //     OUTPPS 4
        "0c00 0900 05000000 00000000"                      //     INBPS 5
        "0c00 0a00 06000000 00000000"                      //     OUTBPS 6
        "6c000000 2400 0200 07000000 34120000"             // len 108, MULTI
        "05 01 0000"                                       // NEW_DEST
        "5800 0200"                                        // DEST nest, len 88
        "1400 0100 c0a8010b 00000000 00000000 00000000"    // ADDR 192.168.1.11
        "0600 0200 1f90 0000"                              //   PORT 8080
        "0800 0300 03000000"                               //   FWD_METHOD DROUTE
        "0800 0400 00000000"                               //   WEIGHT 0 (quiesced)
        "0800 0500 64000000"                               //   U_THRESH 100
        "0800 0600 0a000000"                               //   L_THRESH 10
        "0800 0700 00000000"                               //   ACTIVE_CONNS 0
        "0800 0800 00000000"                               //   INACT_CONNS 0
        "0800 0900 00000000"                               //   PERSIST_CONNS 0
        "14000000 0300 0200 07000000 34120000 00000000");  // NLMSG_DONE

std::vector<DestAttrs> expected_dests() {
  DestAttrs a;
  a.addr = *make_addr(AF_INET, "192.168.1.10");
  a.port = 8080;
  a.fwd_method = IP_VS_CONN_F_MASQ;
  a.weight = 5;
  a.active_conns = 3;
  a.inact_conns = 7;
  a.persist_conns = 1;
  a.addr_family = AF_INET;
  a.tun_type = 0;
  a.tun_port = 0;
  a.tun_flags = 0;
  a.stats = Stats{42, 1000, 900, 1ULL << 32, 123456, 2, 3, 4, 5, 6};
  DestAttrs b;
  b.addr = *make_addr(AF_INET, "192.168.1.11");
  b.port = 8080;
  b.fwd_method = IP_VS_CONN_F_DROUTE;
  b.weight = 0;
  b.u_thresh = 100;
  b.l_thresh = 10;
  return {a, b};
}

// GET_INFO reply (cmd SET_INFO) followed by the ack the request asked for
// (NLM_F_CAPPED: NETLINK_CAP_ACK is set). 72 bytes.
const Bytes kInfoReply =
    hex("24000000 2400 0000 07000000 34120000"    // len 36, no flags
        "0e 01 0000"                              // cmd SET_INFO
        "0800 0100 01020100"                      // INFO_VERSION 0x010201 (1.2.1)
        "0800 0200 00100000"                      // INFO_CONN_TAB_SIZE 4096
        "24000000 0200 0001 07000000 34120000"    // len 36, NLMSG_ERROR, NLM_F_CAPPED
        "00000000"                                // error 0 = ack
        "14000000 2400 0500 07000000 34120000");  // the request's header

// GET_CONFIG reply (cmd SET_CONFIG) + ack. 80 bytes.
const Bytes kConfigReply =
    hex("2c000000 2400 0000 07000000 34120000"           // len 44
        "0c 01 0000"                                     // cmd SET_CONFIG
        "0800 0400 84030000"                             // TIMEOUT_TCP 900
        "0800 0500 78000000"                             // TIMEOUT_TCP_FIN 120
        "0800 0600 2c010000"                             // TIMEOUT_UDP 300
        "24000000 0200 0001 07000000 34120000 00000000"  // ack
        "14000000 2400 0500 07000000 34120000");

// GET_DAEMON dump: master on eth0 (IPv4 group) and backup on bond0.100 (IPv6
// group), in ip_vs_genl_fill_daemon's order, then DONE. 204 bytes.
const Bytes kDaemonDump =
    hex("54000000 2400 0200 07000000 34120000"             // len 84, MULTI
        "09 01 0000"                                       // cmd NEW_DAEMON
        "4000 0300"                                        // DAEMON nest, len 64
        "0800 0100 01000000"                               //   STATE MASTER
        "0900 0200 65746830 00 000000"                     //   MCAST_IFN "eth0"
        "0800 0300 05000000"                               //   SYNC_ID 5
        "0600 0400 c005 0000"                              //   SYNC_MAXLEN 1472
        "0600 0700 9022 0000"                              //   MCAST_PORT 8848 (host order)
        "0500 0800 01 000000"                              //   MCAST_TTL 1
        "0800 0500 e0000051"                               //   MCAST_GROUP 224.0.0.81
        "64000000 2400 0200 07000000 34120000"             // len 100, MULTI
        "09 01 0000"                                       // NEW_DAEMON
        "5000 0300"                                        // DAEMON nest, len 80
        "0800 0100 02000000"                               //   STATE BACKUP
        "0e00 0200 626f6e64 302e3130 3000 0000"            //  MCAST_IFN "bond0.100"
        "0800 0300 00000000"                               //   SYNC_ID 0
        "0600 0400 ac05 0000"                              //   SYNC_MAXLEN 1452
        "0600 0700 9022 0000"                              //   MCAST_PORT 8848
        "0500 0800 01 000000"                              //   MCAST_TTL 1
        "1400 0600 ff020000 00000000 00000000 00000051"    // MCAST_GROUP6 ff02::51
        "14000000 0300 0200 07000000 34120000 00000000");  // DONE

std::vector<DaemonAttrs> expected_daemons() {
  DaemonAttrs m;
  m.state = IP_VS_STATE_MASTER;
  m.mcast_ifn = "eth0";
  m.sync_id = 5;
  m.sync_maxlen = 1472;
  m.mcast_port = 8848;
  m.mcast_ttl = 1;
  m.mcast_group = std::array<std::uint8_t, 4>{224, 0, 0, 81};
  DaemonAttrs b;
  b.state = IP_VS_STATE_BACKUP;
  b.mcast_ifn = "bond0.100";
  b.sync_id = 0;
  b.sync_maxlen = 1452;
  b.mcast_port = 8848;
  b.mcast_ttl = 1;
  b.mcast_group6 =
      std::array<std::uint8_t, 16>{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x51};
  return {m, b};
}

// NEW_SERVICE refused with -EEXIST; NETLINK_CAP_ACK set, so only the header
// of the request comes back. 36 bytes.
const Bytes kEexist =
    hex("24000000 0200 0001 07000000 34120000"    // len 36, NLMSG_ERROR, NLM_F_CAPPED
        "efffffff"                                // error -17 (-EEXIST)
        "68000000 2400 0500 07000000 34120000");  // the NEW_SERVICE request's header

// FLUSH refused with -EINVAL, uncapped (whole request echoed) and with an
// extended-ack message. 56 bytes.
const Bytes kEinvalExtack =
    hex("38000000 0200 0002 07000000 34120000"             // len 56, NLMSG_ERROR, NLM_F_ACK_TLVS
        "eaffffff"                                         // error -22 (-EINVAL)
        "14000000 2400 0500 07000000 34120000 11 01 0000"  // the whole FLUSH request
        "0d00 0100 62616420 61747472 00 000000");          // NLMSGERR_ATTR_MSG "bad attr"

// ---- Decoding kernel replies ------------------------------------------

TEST(IpvsParse, ServiceDumpIpv6AndFwmark) {
  auto r = parse_services(kServiceDump, kFamily);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, expected_services());
  EXPECT_EQ(format_addr(AF_INET6, (*r)[0].addr), "2001:db8::1");
}

TEST(IpvsParse, DestDumpWithStats64) {
  auto r = parse_dests(kDestDump, kFamily);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, expected_dests());
}

TEST(IpvsParse, DaemonDump) {
  auto r = parse_daemons(kDaemonDump, kFamily);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, expected_daemons());
}

TEST(IpvsParse, InfoReply) {
  auto r = parse_info(kInfoReply, kFamily);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, (Info{0x010201, 4096}));
}

TEST(IpvsParse, ConfigReply) {
  auto r = parse_config(kConfigReply, kFamily);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, (Timeouts{900, 120, 300}));
}

TEST(IpvsParse, EmptyDumpIsNotAnError) {
  // GET_DEST of an unknown service: just NLMSG_DONE.
  const Bytes done = hex("14000000 0300 0200 07000000 34120000 00000000");
  auto d = parse_dests(done, kFamily);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_TRUE(d->empty());
  auto s = parse_services(done, kFamily);
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->empty());
}

TEST(IpvsParse, ErrorEexist) {
  auto r = parse_ack(kEexist, kFamily);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, Error::Kind::kKernel);
  EXPECT_EQ(r.error().kernel_errno, EEXIST);
  EXPECT_EQ(r.error().message, std::string("kernel: ") + std::strerror(EEXIST));
  // Every typed parser reports the kernel's errno the same way.
  auto s = parse_services(kEexist, kFamily);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().kernel_errno, EEXIST);
  auto i = parse_info(kEexist, kFamily);
  ASSERT_FALSE(i.has_value());
  EXPECT_EQ(i.error().kernel_errno, EEXIST);
}

TEST(IpvsParse, ErrorWithExtendedAckMessage) {
  auto r = parse_ack(kEinvalExtack, kFamily);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, Error::Kind::kKernel);
  EXPECT_EQ(r.error().kernel_errno, EINVAL);
  EXPECT_EQ(r.error().message, std::string("kernel: ") + std::strerror(EINVAL) + " (bad attr)");
}

TEST(IpvsParse, AckOnly) {
  const Bytes ack =
      hex("24000000 0200 0001 07000000 34120000 00000000"
          "14000000 2400 0500 07000000 34120000");
  EXPECT_TRUE(parse_ack(ack, kFamily).has_value());
  auto r = parse_reply(ack, kFamily);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->acked);
  EXPECT_FALSE(r->done);
  EXPECT_TRUE(r->messages.empty());
}

TEST(IpvsParse, DumpErrorReportedInDone) {
  // A dump that fails midway reports the errno as NLMSG_DONE's status.
  const Bytes done = hex("14000000 0300 0200 07000000 34120000 f4ffffff");  // -12 ENOMEM
  auto r = parse_services(done, kFamily);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, Error::Kind::kKernel);
  EXPECT_EQ(r.error().kernel_errno, ENOMEM);
}

TEST(IpvsParse, ReplyCarriesHeaderFields) {
  auto r = parse_reply(kServiceDump, kFamily);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->messages.size(), 2U);
  EXPECT_TRUE(r->done);
  EXPECT_EQ(r->messages[0].seq, 7U);
  EXPECT_EQ(r->messages[0].port, 0x1234U);
  EXPECT_EQ(r->messages[0].flags, NLM_F_MULTI);
  EXPECT_EQ(r->messages[0].cmd, IPVS_CMD_NEW_SERVICE);
  EXPECT_EQ(r->messages[0].version, IPVS_GENL_VERSION);
  EXPECT_EQ(r->messages[0].attrs.size(), 304U);
}

// ---- Round trips: our requests parse back to the same structs ----------

TEST(IpvsRoundTrip, NewServiceIpv4) {
  SvcAttrs s;
  s.af = AF_INET;
  s.protocol = IPPROTO_SCTP;
  s.addr = *make_addr(AF_INET, "198.51.100.7");
  s.port = 3868;
  s.sched_name = "mh";
  s.flags = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_ONEPACKET;
  s.flags_mask = 0xffffffff;
  s.timeout = 0;
  s.netmask = 0xffffffff;
  auto bytes = build_new_service(kHdr, s);
  ASSERT_TRUE(bytes.has_value());
  auto back = parse_service(*bytes, kFamily);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, s);
}

TEST(IpvsRoundTrip, SetServiceIpv6WithPe) {
  SvcAttrs s;
  s.af = AF_INET6;
  s.protocol = IPPROTO_UDP;
  s.addr = *make_addr(AF_INET6, "fd00::5");
  s.port = 5060;
  s.sched_name = "rr";
  s.pe_name = "sip";
  s.flags = IP_VS_SVC_F_PERSISTENT;
  s.flags_mask = IP_VS_SVC_F_PERSISTENT;
  s.timeout = 900;
  s.netmask = 48;
  auto bytes = build_set_service(kHdr, s);
  ASSERT_TRUE(bytes.has_value());
  auto reply = parse_reply(*bytes, kFamily);
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->messages.size(), 1U);
  EXPECT_EQ(reply->messages[0].cmd, IPVS_CMD_SET_SERVICE);
  auto back = service_from(reply->messages[0]);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, s);
}

TEST(IpvsRoundTrip, NewServiceFwmark) {
  SvcAttrs s;
  s.af = AF_INET6;
  s.fwmark = 0xfeedface;
  s.sched_name = "wrr";
  s.netmask = 128;
  auto bytes = build_new_service(kHdr, s);
  ASSERT_TRUE(bytes.has_value());
  auto back = parse_service(*bytes, kFamily);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, s);
}

TEST(IpvsRoundTrip, NewDestAndSetDest) {
  SvcAttrs s;
  s.af = AF_INET;
  s.fwmark = 9;
  DestAttrs d;
  d.addr = *make_addr(AF_INET6, "2001:db8::99");
  d.port = 0;
  d.fwd_method = IP_VS_CONN_F_TUNNEL;
  d.weight = 65536;
  d.u_thresh = 7;
  d.l_thresh = 3;
  d.addr_family = AF_INET6;
  d.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GRE;
  d.tun_port = 0;
  d.tun_flags = IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
  for (auto build : {build_new_dest, build_set_dest}) {
    auto bytes = build(kHdr, s, d);
    ASSERT_TRUE(bytes.has_value());
    auto reply = parse_reply(*bytes, kFamily);
    ASSERT_TRUE(reply.has_value()) << reply.error().message;
    ASSERT_EQ(reply->messages.size(), 1U);
    auto back_d = dest_from(reply->messages[0]);
    ASSERT_TRUE(back_d.has_value()) << back_d.error().message;
    EXPECT_EQ(*back_d, d);
  }
}

TEST(IpvsRoundTrip, NewDaemon) {
  for (const DaemonAttrs& d : expected_daemons()) {
    auto bytes = build_new_daemon(kHdr, d);
    ASSERT_TRUE(bytes.has_value());
    auto reply = parse_reply(*bytes, kFamily);
    ASSERT_TRUE(reply.has_value());
    ASSERT_EQ(reply->messages.size(), 1U);
    auto back = daemon_from(reply->messages[0]);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(*back, d);
  }
}

TEST(IpvsRoundTrip, SetConfig) {
  for (const Timeouts& t :
       {Timeouts{900, 120, 300}, Timeouts{std::nullopt, 5, std::nullopt}, Timeouts{}}) {
    auto bytes = build_set_config(kHdr, t);
    ASSERT_TRUE(bytes.has_value());
    auto reply = parse_reply(*bytes, kFamily);
    ASSERT_TRUE(reply.has_value());
    ASSERT_EQ(reply->messages.size(), 1U);
    auto back = timeouts_from(reply->messages[0]);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(*back, t);
  }
}

// ---- Malformed input ----------------------------------------------------

Bytes patched(Bytes b, std::size_t off, std::string_view hex_bytes) {
  const Bytes p = hex(hex_bytes);
  std::copy(p.begin(), p.end(), b.begin() + static_cast<std::ptrdiff_t>(off));
  return b;
}

void expect_error(const auto& result, Error::Kind kind, std::string_view needle = {}) {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, kind) << result.error().message;
  EXPECT_FALSE(result.error().message.empty());
  if (!needle.empty()) {
    EXPECT_NE(result.error().message.find(needle), std::string::npos) << result.error().message;
  }
}

// Truncating a valid reply at every byte offset gives an error, or (at a
// message boundary) a correct shorter parse; never a crash. Run under
// ASan/UBSan this also proves no read goes past the buffer.
template <typename Parse, typename Check>
void truncate_everywhere(const Bytes& full, Parse parse, Check shorter_ok) {
  for (std::size_t n = 0; n < full.size(); ++n) {
    // A fresh heap copy of exactly n bytes so ASan sees any overread.
    Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = parse(ByteView(cut), kFamily);
    if (r.has_value()) {
      EXPECT_TRUE(shorter_ok(n, *r)) << "truncated at " << n << " parsed as success";
    } else {
      EXPECT_FALSE(r.error().message.empty()) << n;
    }
  }
}

TEST(IpvsMalformed, TruncatedServiceDumpAlwaysFails) {
  truncate_everywhere(kServiceDump, parse_services, [](std::size_t, const auto&) {
    return false;  // without NLMSG_DONE a dump is never complete
  });
}

TEST(IpvsMalformed, TruncatedDestDumpAlwaysFails) {
  truncate_everywhere(kDestDump, parse_dests, [](std::size_t, const auto&) { return false; });
}

TEST(IpvsMalformed, TruncatedDaemonDumpAlwaysFails) {
  truncate_everywhere(kDaemonDump, parse_daemons, [](std::size_t, const auto&) { return false; });
}

TEST(IpvsMalformed, TruncatedInfoFailsOrParsesWithoutTheAck) {
  truncate_everywhere(kInfoReply, parse_info, [](std::size_t n, const Info& i) {
    return n == 36 && i == Info{0x010201, 4096};
  });
}

TEST(IpvsMalformed, TruncatedConfigFailsOrParsesWithoutTheAck) {
  truncate_everywhere(kConfigReply, parse_config, [](std::size_t n, const Timeouts& t) {
    return n == 44 && t == Timeouts{900, 120, 300};
  });
}

TEST(IpvsMalformed, TruncatedErrorsNeverLookLikeSuccess) {
  for (const Bytes* full : {&kEexist, &kEinvalExtack}) {
    for (std::size_t n = 0; n < full->size(); ++n) {
      Bytes cut(full->begin(), full->begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_FALSE(parse_ack(cut, kFamily).has_value()) << n;
    }
  }
  // Truncating inside the extended-ack TLVs still reports the errno.
  for (std::size_t n = 36; n < kEinvalExtack.size(); ++n) {
    Bytes cut(kEinvalExtack.begin(), kEinvalExtack.begin() + static_cast<std::ptrdiff_t>(n));
    cut[0] = static_cast<std::byte>(n);  // a consistent nlmsg_len
    auto r = parse_ack(cut, kFamily);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kernel_errno, EINVAL) << n;
  }
}

TEST(IpvsMalformed, EmptyBufferIsNotAReply) {
  expect_error(parse_ack(ByteView{}, kFamily), Error::Kind::kTruncated, "no ack");
  expect_error(parse_info(ByteView{}, kFamily), Error::Kind::kTruncated);
  expect_error(parse_services(ByteView{}, kFamily), Error::Kind::kTruncated, "NLMSG_DONE");
}

TEST(IpvsMalformed, NlmsgLenBelowHeader) {
  expect_error(parse_services(patched(kServiceDump, 0, "0f000000"), kFamily),
               Error::Kind::kBadLength, "nlmsg_len 15");
}

TEST(IpvsMalformed, NlmsgLenBeyondBuffer) {
  expect_error(parse_services(patched(kServiceDump, 0, "00100000"), kFamily),
               Error::Kind::kTruncated, "nlmsg_len 4096");
}

TEST(IpvsMalformed, TrailingGarbageAfterDone) {
  Bytes b = kServiceDump;
  b.push_back(std::byte{0});
  expect_error(parse_services(b, kFamily), Error::Kind::kTruncated, "trailing");
}

TEST(IpvsMalformed, NlaLenBeyondNest) {
  // SERVICE nest claims 0x0140 bytes, more than the message holds.
  expect_error(parse_services(patched(kServiceDump, 20, "4001"), kFamily), Error::Kind::kTruncated,
               "nla_len 320");
  // An inner attribute (AF, at offset 24) claims more than its nest.
  expect_error(parse_services(patched(kServiceDump, 24, "ff01"), kFamily), Error::Kind::kTruncated,
               "SERVICE: attribute 1 has nla_len 511");
}

TEST(IpvsMalformed, NlaLenBelowHeader) {
  expect_error(parse_services(patched(kServiceDump, 24, "0200"), kFamily), Error::Kind::kBadLength,
               "nla_len 2 < 4");
}

TEST(IpvsMalformed, WrongAttributeLength) {
  // PORT (offset 60) given 3 bytes instead of 2.
  expect_error(parse_services(patched(kServiceDump, 60, "0700"), kFamily), Error::Kind::kBadLength,
               "SERVICE.PORT: length 3, expected 2");
  // ADDR (offset 40) with nla_len 17: 13 bytes of data; the walk still lands on PORT.
  expect_error(parse_services(patched(kServiceDump, 40, "1100"), kFamily), Error::Kind::kBadLength,
               "SERVICE.ADDR: length 13, expected 4 or 16");
  // SCHED_NAME (data at offset 72) without its NUL: "rr\0" -> "rrr".
  expect_error(parse_services(patched(kServiceDump, 72, "727272"), kFamily),
               Error::Kind::kBadLength, "NUL");
  // A STATS64 counter of 4 bytes: CONNS (offset 204) shortened to 8, the
  // freed 4 bytes turned into a PAD attribute.
  expect_error(parse_services(patched(kServiceDump, 204, "0800 0100 0a000000 0400 0b00"), kFamily),
               Error::Kind::kBadLength, "STATS64.CONNS: length 4, expected 8");
  // The second service's u32 STATS: CONNS (offset 404) given 2 bytes.
  expect_error(parse_services(patched(kServiceDump, 404, "0600"), kFamily), Error::Kind::kBadLength,
               "STATS.CONNS: length 2, expected 4 or 8");
  // DEST TUN_TYPE (offset 68 of the dest dump) as u16.
  expect_error(parse_dests(patched(kDestDump, 68, "0600"), kFamily), Error::Kind::kBadLength,
               "DEST.TUN_TYPE: length 2, expected 1");
}

TEST(IpvsMalformed, MissingRequiredAttribute) {
  // Retype SCHED_NAME (offset 68, type 6) to an unknown type 0x7f.
  expect_error(parse_services(patched(kServiceDump, 70, "7f00"), kFamily),
               Error::Kind::kMissingAttribute, "SERVICE.SCHED_NAME: missing");
  // Retype DEST WEIGHT (offset 60 of the dest dump, type 4) to 0x7f.
  expect_error(parse_dests(patched(kDestDump, 62, "7f00"), kFamily), Error::Kind::kMissingAttribute,
               "DEST.WEIGHT: missing");
  // Info without CONN_TAB_SIZE.
  expect_error(parse_info(patched(kInfoReply, 30, "0300"), kFamily), Error::Kind::kMissingAttribute,
               "info.CONN_TAB_SIZE");
  // Daemon without MCAST_IFN (offset 32, type at 34).
  expect_error(parse_daemons(patched(kDaemonDump, 34, "0900"), kFamily),
               Error::Kind::kMissingAttribute, "DAEMON.MCAST_IFN");
  // A service message without its SERVICE nest (retyped to DAEMON = 3).
  expect_error(parse_services(patched(kServiceDump, 22, "0300"), kFamily),
               Error::Kind::kMissingAttribute, "SERVICE: missing");
}

TEST(IpvsMalformed, UnknownGenlCommand) {
  expect_error(parse_services(patched(kServiceDump, 16, "63"), kFamily), Error::Kind::kUnexpected,
               "unexpected genl cmd 99");
  // A dest message in a service dump.
  expect_error(parse_services(patched(kServiceDump, 16, "05"), kFamily), Error::Kind::kUnexpected);
  expect_error(parse_info(patched(kInfoReply, 16, "0c"), kFamily), Error::Kind::kUnexpected,
               "GET_INFO reply: unexpected genl cmd 12");
}

TEST(IpvsMalformed, ForeignMessageType) {
  expect_error(parse_services(kServiceDump, 0x25), Error::Kind::kUnexpected,
               "type 36, expected the IPVS family 37");
  expect_error(parse_services(patched(kServiceDump, 4, "0400"), kFamily),  // NLMSG_OVERRUN
               Error::Kind::kUnexpected);
}

TEST(IpvsMalformed, GenlHeaderMissing) {
  const Bytes b = hex("12000000 2400 0000 07000000 34120000 0e01");  // 2 bytes of genlmsghdr
  expect_error(parse_info(b, kFamily), Error::Kind::kTruncated, "genlmsghdr");
}

TEST(IpvsMalformed, ErrorPayloadTooShortOrOdd) {
  expect_error(parse_ack(hex("14000000 0200 0000 07000000 34120000 efffffff"), kFamily),
               Error::Kind::kTruncated, "NLMSG_ERROR payload of 4 bytes");
  // INT_MIN is no errno (and negating it would overflow).
  expect_error(parse_ack(patched(kEexist, 16, "00000080"), kFamily), Error::Kind::kUnexpected,
               "invalid status");
  // A positive status is not an errno either.
  expect_error(parse_ack(patched(kEexist, 16, "11000000"), kFamily), Error::Kind::kUnexpected);
}

TEST(IpvsMalformed, DataAfterDoneOrAck) {
  Bytes b = kServiceDump;
  b.insert(b.end(), kServiceDump.begin(), kServiceDump.begin() + 324);
  expect_error(parse_services(b, kFamily), Error::Kind::kUnexpected, "after NLMSG_DONE");
  Bytes c = kInfoReply;
  c.insert(c.end(), kInfoReply.begin(), kInfoReply.begin() + 36);
  expect_error(parse_info(c, kFamily), Error::Kind::kUnexpected, "after the ack");
}

TEST(IpvsMalformed, SingleAnswerWithTwoMessages) {
  Bytes b(kInfoReply.begin(), kInfoReply.begin() + 36);
  b.insert(b.end(), kInfoReply.begin(), kInfoReply.end());
  expect_error(parse_info(b, kFamily), Error::Kind::kUnexpected, "2 messages");
}

TEST(IpvsMalformed, AckExpectedButDataArrived) {
  expect_error(parse_ack(kInfoReply, kFamily), Error::Kind::kUnexpected);
}

TEST(IpvsMalformed, RandomCorruptionNeverCrashes) {
  // Deterministic byte flips over every reply; the parsers may accept or
  // reject, but must stay memory-safe (checked under ASan/UBSan).
  std::mt19937 rng(12345);
  const Bytes* replies[] = {&kServiceDump, &kDestDump, &kDaemonDump,  &kInfoReply,
                            &kConfigReply, &kEexist,   &kEinvalExtack};
  int accepted = 0;
  for (const Bytes* full : replies) {
    for (int round = 0; round < 2000; ++round) {
      Bytes b = *full;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) {
        b[rng() % b.size()] = static_cast<std::byte>(rng() & 0xff);
      }
      if (rng() % 4 == 0) b.resize(rng() % b.size());
      accepted += parse_services(b, kFamily).has_value();
      accepted += parse_dests(b, kFamily).has_value();
      accepted += parse_daemons(b, kFamily).has_value();
      accepted += parse_info(b, kFamily).has_value();
      accepted += parse_config(b, kFamily).has_value();
      accepted += parse_ack(b, kFamily).has_value();
    }
  }
  EXPECT_GE(accepted, 0);
}

}  // namespace
}  // namespace lvsd::forwarding::ipvs
