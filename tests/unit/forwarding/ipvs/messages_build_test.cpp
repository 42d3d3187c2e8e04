// Golden bytes for every IPVS genl request lvsd builds. The expected bytes are
// written out by hand from the layout in shared/specs/wire.md §2 (x86-64, so
// host order = little endian): nlmsghdr {len u32, type u16, flags u16, seq
// u32, pid u32}, genlmsghdr {cmd u8, version u8 = 1, reserved u16}, then
// attributes {nla_len u16, nla_type u16, data, zero pad to 4}. Our nests carry
// NLA_F_NESTED (0x8000). Fixed header: family 0x0024, seq 7, port 0x1234.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>

#include "forwarding/ipvs/messages.hpp"
#include "unit/forwarding/ipvs/hex.hpp"

namespace lvsd::forwarding::ipvs {
namespace {

using testing::hex;
using testing::to_hex;

constexpr MsgHeader kHdr{0x0024, 7, 0x1234, NLM_F_REQUEST | NLM_F_ACK};

// TCP 10.0.0.1:80, wlc, persistent 300 s, /24.
SvcAttrs v4_service() {
  SvcAttrs s;
  s.af = AF_INET;
  s.protocol = IPPROTO_TCP;
  s.addr = *make_addr(AF_INET, "10.0.0.1");
  s.port = 80;
  s.sched_name = "wlc";
  s.flags = IP_VS_SVC_F_PERSISTENT;
  s.flags_mask = IP_VS_SVC_F_PERSISTENT;
  s.timeout = 300;
  s.netmask = netmask_v4(24);
  return s;
}

// UDP [2001:db8::10]:5060, sh with fallback+port, SIP persistence /64.
SvcAttrs v6_service() {
  SvcAttrs s;
  s.af = AF_INET6;
  s.protocol = IPPROTO_UDP;
  s.addr = *make_addr(AF_INET6, "2001:db8::10");
  s.port = 5060;
  s.sched_name = "sh";
  s.pe_name = "sip";
  s.flags = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2;
  s.flags_mask = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2;
  s.timeout = 60;
  s.netmask = 64;
  return s;
}

SvcAttrs fwmark_service() {
  SvcAttrs s;
  s.af = AF_INET;
  s.fwmark = 100;
  return s;
}

DestAttrs nat_dest() {
  DestAttrs d;
  d.addr = *make_addr(AF_INET, "192.168.1.10");
  d.port = 8080;
  d.fwd_method = IP_VS_CONN_F_MASQ;
  d.weight = 5;
  d.u_thresh = 1000;
  d.l_thresh = 100;
  return d;
}

// Mixed-family GUE tunnel dest: IPv6 realserver behind an IPv4 service.
DestAttrs gue_dest() {
  DestAttrs d;
  d.addr = *make_addr(AF_INET6, "2001:db8::20");
  d.port = 80;
  d.fwd_method = IP_VS_CONN_F_TUNNEL;
  d.weight = 1;
  d.addr_family = AF_INET6;
  d.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GUE;
  d.tun_port = 6080;
  d.tun_flags = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
  return d;
}

void expect_bytes(const Result<Bytes>& got, const Bytes& want) {
  ASSERT_TRUE(got.has_value()) << got.error().message;
  EXPECT_EQ(to_hex(*got), to_hex(want));
}

// The SERVICE key of v4_service(), 48 bytes.
constexpr const char* kV4KeyNest =
    "3000 0180"                                      // SERVICE nest, len 48, NLA_F_NESTED|1
    "0600 0100 0200 0000"                            //   AF = 2 (AF_INET)
    "0600 0200 0600 0000"                            //   PROTOCOL = 6 (TCP)
    "1400 0300 0a000001 00000000 00000000 00000000"  // ADDR 10.0.0.1, zero padded to 16
    "0600 0400 0050 0000";                           //   PORT 80, network order

TEST(IpvsBuild, NewServiceFullIpv4) {
  expect_bytes(build_new_service(kHdr, v4_service()),
               hex("68000000 2400 0500 07000000 34120000"  // len 104, family, REQUEST|ACK, seq, pid
                   "01 01 0000"                            // cmd NEW_SERVICE, version 1
                   "5400 0180"                             // SERVICE nest, len 84
                   "0600 0100 0200 0000"                   //   AF = AF_INET
                   "0600 0200 0600 0000"                   //   PROTOCOL = TCP
                   "1400 0300 0a000001 00000000 00000000 00000000"  // ADDR 10.0.0.1
                   "0600 0400 0050 0000"                            //   PORT 80 (be16)
                   "0800 0600 776c6300"                             //   SCHED_NAME "wlc\0"
                   "0c00 0700 01000000 01000000"  //   FLAGS {PERSISTENT, mask PERSISTENT}
                   "0800 0800 2c010000"           //   TIMEOUT 300
                   "0800 0900 ffffff00"));        //   NETMASK 255.255.255.0 (be)
}

TEST(IpvsBuild, SetServiceFullIpv6WithPersistenceEngine) {
  expect_bytes(build_set_service(kHdr, v6_service()),
               hex("70000000 2400 0500 07000000 34120000"           // len 112
                   "02 01 0000"                                     // cmd SET_SERVICE
                   "5c00 0180"                                      // SERVICE nest, len 92
                   "0600 0100 0a00 0000"                            //   AF = 10 (AF_INET6)
                   "0600 0200 1100 0000"                            //   PROTOCOL = 17 (UDP)
                   "1400 0300 20010db8 00000000 00000000 00000010"  // ADDR 2001:db8::10
                   "0600 0400 13c4 0000"                            //   PORT 5060 (be16)
                   "0700 0600 736800 00"                            //   SCHED_NAME "sh\0" + 1 pad
                   "0800 0b00 73697000"                             //   PE_NAME "sip\0"
                   "0c00 0700 18000000 18000000"  //   FLAGS {SCHED1|SCHED2, mask same}
                   "0800 0800 3c000000"           //   TIMEOUT 60
                   "0800 0900 40000000"));        //   NETMASK = prefix length 64
}

TEST(IpvsBuild, DelServiceFwmarkKeyOnly) {
  expect_bytes(build_del_service(kHdr, fwmark_service()),
               hex("28000000 2400 0500 07000000 34120000"  // len 40
                   "03 01 0000"                            // cmd DEL_SERVICE
                   "1400 0180"                             // SERVICE nest, len 20
                   "0600 0100 0200 0000"                   //   AF = AF_INET
                   "0800 0500 64000000"));                 //   FWMARK 100
}

TEST(IpvsBuild, DelServiceKeyIgnoresFullFields) {
  // Scheduler, flags and persistence never leak into a key-only message.
  expect_bytes(build_del_service(kHdr, v4_service()),
               hex(std::string("44000000 2400 0500 07000000 34120000"  // len 68
                               "03 01 0000") +                         // DEL_SERVICE
                   kV4KeyNest));
}

TEST(IpvsBuild, GetServiceDoit) {
  expect_bytes(build_get_service(kHdr, v4_service()),
               hex(std::string("44000000 2400 0500 07000000 34120000"  // len 68
                               "04 01 0000") +                         // GET_SERVICE
                   kV4KeyNest));
}

TEST(IpvsBuild, GetServicesDump) {
  expect_bytes(build_get_services(kHdr),
               hex("14000000 2400 0503 07000000 34120000"  // len 20, REQUEST|ACK|DUMP (0x305)
                   "04 01 0000"));                         // GET_SERVICE, no attributes
}

TEST(IpvsBuild, NewDestNat) {
  expect_bytes(build_new_dest(kHdr, v4_service(), nat_dest()),
               hex(std::string("84000000 2400 0500 07000000 34120000"  // len 132
                               "05 01 0000") +                         // NEW_DEST
                   kV4KeyNest +
                   "4000 0280"                                      // DEST nest, len 64
                   "1400 0100 c0a8010a 00000000 00000000 00000000"  // ADDR 192.168.1.10
                   "0600 0200 1f90 0000"                            //   PORT 8080 (be16)
                   "0800 0300 00000000"                             //   FWD_METHOD MASQ
                   "0800 0400 05000000"                             //   WEIGHT 5
                   "0800 0500 e8030000"                             //   U_THRESH 1000
                   "0800 0600 64000000"));                          //   L_THRESH 100
}

TEST(IpvsBuild, SetDestMixedFamilyGueTunnel) {
  expect_bytes(build_set_dest(kHdr, v4_service(), gue_dest()),
               hex(std::string("a4000000 2400 0500 07000000 34120000"  // len 164
                               "06 01 0000") +                         // SET_DEST
                   kV4KeyNest +
                   "6000 0280"                                      // DEST nest, len 96
                   "1400 0100 20010db8 00000000 00000000 00000020"  // ADDR 2001:db8::20
                   "0600 0200 0050 0000"                            //   PORT 80
                   "0800 0300 02000000"                             //   FWD_METHOD TUNNEL
                   "0800 0400 01000000"                             //   WEIGHT 1
                   "0800 0500 00000000"                             //   U_THRESH 0
                   "0800 0600 00000000"                             //   L_THRESH 0
                   "0600 0b00 0a00 0000"                            //   ADDR_FAMILY AF_INET6
                   "0500 0d00 01 000000"                            //   TUN_TYPE GUE (u8) + 3 pad
                   "0600 0e00 17c0 0000"                            //   TUN_PORT 6080 (be16)
                   "0600 0f00 0100 0000"));                         //   TUN_FLAGS CSUM
}

TEST(IpvsBuild, DelDestKeyOnly) {
  expect_bytes(build_del_dest(kHdr, v4_service(), nat_dest()),
               hex(std::string("64000000 2400 0500 07000000 34120000"  // len 100
                               "07 01 0000") +                         // DEL_DEST
                   kV4KeyNest +
                   "2000 0280"                                      // DEST nest, len 32
                   "1400 0100 c0a8010a 00000000 00000000 00000000"  // ADDR
                   "0600 0200 1f90 0000"));                         //   PORT 8080
}

TEST(IpvsBuild, DelDestMixedFamilyCarriesAddrFamily) {
  expect_bytes(build_del_dest(kHdr, v4_service(), gue_dest()),
               hex(std::string("6c000000 2400 0500 07000000 34120000"  // len 108
                               "07 01 0000") +                         // DEL_DEST
                   kV4KeyNest +
                   "2800 0280"                                      // DEST nest, len 40
                   "1400 0100 20010db8 00000000 00000000 00000020"  // ADDR 2001:db8::20
                   "0600 0200 0050 0000"                            //   PORT 80
                   "0600 0b00 0a00 0000"));                         //   ADDR_FAMILY AF_INET6
}

TEST(IpvsBuild, GetDestsDump) {
  expect_bytes(build_get_dests(kHdr, v4_service()),
               hex(std::string("44000000 2400 0503 07000000 34120000"  // len 68, DUMP
                               "08 01 0000") +                         // GET_DEST
                   kV4KeyNest));
}

TEST(IpvsBuild, NewDaemonMasterAllOptions) {
  DaemonAttrs d;
  d.state = IP_VS_STATE_MASTER;
  d.mcast_ifn = "eth0";
  d.sync_id = 5;
  d.sync_maxlen = 1472;
  d.mcast_group = std::array<std::uint8_t, 4>{224, 0, 0, 81};
  d.mcast_port = 8848;
  d.mcast_ttl = 1;
  expect_bytes(build_new_daemon(kHdr, d),
               hex("54000000 2400 0500 07000000 34120000"  // len 84
                   "09 01 0000"                            // NEW_DAEMON
                   "4000 0380"                             // DAEMON nest, len 64
                   "0800 0100 01000000"                    //   STATE MASTER
                   "0900 0200 65746830 00 000000"          //   MCAST_IFN "eth0\0" + 3 pad
                   "0800 0300 05000000"                    //   SYNC_ID 5
                   "0600 0400 c005 0000"                   //   SYNC_MAXLEN 1472 (u16 host)
                   "0800 0500 e0000051"                    //   MCAST_GROUP 224.0.0.81 (be)
                   "0600 0700 9022 0000"                   //   MCAST_PORT 8848, HOST order
                   "0500 0800 01 000000"));                //   MCAST_TTL 1 (u8)
}

TEST(IpvsBuild, NewDaemonBackupMinimalIpv6Group) {
  DaemonAttrs d;
  d.state = IP_VS_STATE_BACKUP;
  d.mcast_ifn = "bond0.100";
  d.sync_id = 0;
  d.mcast_group6 =
      std::array<std::uint8_t, 16>{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x51};
  expect_bytes(build_new_daemon(kHdr, d),
               hex("4c000000 2400 0500 07000000 34120000"   // len 76
                   "09 01 0000"                             // NEW_DAEMON
                   "3800 0380"                              // DAEMON nest, len 56
                   "0800 0100 02000000"                     //   STATE BACKUP
                   "0e00 0200 626f6e64 302e3130 3000 0000"  //  MCAST_IFN "bond0.100\0" + 2 pad
                   "0800 0300 00000000"                     //   SYNC_ID 0
                   "1400 0600 ff020000 00000000 00000000 00000051"));  // MCAST_GROUP6 ff02::51
}

TEST(IpvsBuild, DelDaemon) {
  expect_bytes(build_del_daemon(kHdr, IP_VS_STATE_BACKUP),
               hex("20000000 2400 0500 07000000 34120000"  // len 32
                   "0a 01 0000"                            // DEL_DAEMON
                   "0c00 0380"                             // DAEMON nest, len 12
                   "0800 0100 02000000"));                 //   STATE BACKUP
}

TEST(IpvsBuild, GetDaemonsDump) {
  expect_bytes(build_get_daemons(kHdr), hex("14000000 2400 0503 07000000 34120000"  // DUMP
                                            "0b 01 0000"));                         // GET_DAEMON
}

TEST(IpvsBuild, SetConfigAllTimeouts) {
  expect_bytes(build_set_config(kHdr, Timeouts{900, 120, 300}),
               hex("2c000000 2400 0500 07000000 34120000"  // len 44
                   "0c 01 0000"                            // SET_CONFIG
                   "0800 0400 84030000"                    // TIMEOUT_TCP 900
                   "0800 0500 78000000"                    // TIMEOUT_TCP_FIN 120
                   "0800 0600 2c010000"));                 // TIMEOUT_UDP 300
}

TEST(IpvsBuild, SetConfigOnlyUdpLeavesOthersUnchanged) {
  expect_bytes(build_set_config(kHdr, Timeouts{std::nullopt, std::nullopt, 30}),
               hex("1c000000 2400 0500 07000000 34120000"  // len 28
                   "0c 01 0000"                            // SET_CONFIG
                   "0800 0600 1e000000"));                 // TIMEOUT_UDP 30
}

TEST(IpvsBuild, GetConfig) {
  expect_bytes(build_get_config(kHdr), hex("14000000 2400 0500 07000000 34120000 0d 01 0000"));
}

TEST(IpvsBuild, GetInfo) {
  expect_bytes(build_get_info(kHdr), hex("14000000 2400 0500 07000000 34120000 0f 01 0000"));
}

TEST(IpvsBuild, ZeroAll) {
  expect_bytes(build_zero(kHdr, std::nullopt),
               hex("14000000 2400 0500 07000000 34120000 10 01 0000"));
}

TEST(IpvsBuild, ZeroOneService) {
  expect_bytes(build_zero(kHdr, fwmark_service()),
               hex("28000000 2400 0500 07000000 34120000"  // len 40
                   "10 01 0000"                            // ZERO
                   "1400 0180"                             // SERVICE nest
                   "0600 0100 0200 0000"                   //   AF_INET
                   "0800 0500 64000000"));                 //   FWMARK 100
}

TEST(IpvsBuild, Flush) {
  expect_bytes(build_flush(kHdr), hex("14000000 2400 0500 07000000 34120000 11 01 0000"));
}

TEST(IpvsBuild, HeaderFieldsComeFromTheCaller) {
  const MsgHeader h{0x1ff, 0xdeadbeef, 0x80000001, NLM_F_REQUEST};
  expect_bytes(build_flush(h), hex("14000000 ff01 0100 efbeadde 01000080 11 01 0000"));
}

TEST(IpvsBuild, RejectsValuesTheWireCannotCarry) {
  SvcAttrs s = v4_service();
  s.sched_name = "a-very-long-name";  // 16 chars; the kernel allows 15 + NUL
  auto r = build_new_service(kHdr, s);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, Error::Kind::kInvalidArgument);
  EXPECT_NE(r.error().message.find("scheduler name"), std::string::npos) << r.error().message;

  s = v4_service();
  s.sched_name.clear();
  EXPECT_FALSE(build_set_service(kHdr, s).has_value());

  s = v4_service();
  s.pe_name = std::string("si\0p", 4);
  EXPECT_FALSE(build_new_service(kHdr, s).has_value());

  s = v4_service();
  s.af = 0;
  EXPECT_FALSE(build_del_service(kHdr, s).has_value());
  EXPECT_FALSE(build_new_dest(kHdr, s, nat_dest()).has_value());

  DaemonAttrs d;
  d.state = IP_VS_STATE_MASTER;
  EXPECT_FALSE(build_new_daemon(kHdr, d).has_value());  // no interface
  d.mcast_ifn = "0123456789abcdef";                     // 16 > IFNAMSIZ - 1
  EXPECT_FALSE(build_new_daemon(kHdr, d).has_value());

  // A key-only message does not need a scheduler.
  s = v4_service();
  s.sched_name = "a-very-long-name";
  EXPECT_TRUE(build_del_service(kHdr, s).has_value());
}

TEST(IpvsBuild, NetmaskV4Helper) {
  EXPECT_EQ(netmask_v4(32), 0xffffffffU);
  EXPECT_EQ(netmask_v4(24), htonl(0xffffff00U));
  EXPECT_EQ(netmask_v4(1), htonl(0x80000000U));
  EXPECT_EQ(netmask_v4(0), 0U);
}

}  // namespace
}  // namespace lvsd::forwarding::ipvs
