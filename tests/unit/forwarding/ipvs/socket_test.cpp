// GenlSocket against the running kernel. This machine's kernel (and CI's) has
// no ip_vs, so only the family-resolution failure is checked for "IPVS"; the
// send/receive path is exercised against the always-present "nlctrl" family.
// The real ip_vs round trips run in the VM suite.
#include <gtest/gtest.h>
#include <linux/genetlink.h>

#include <cerrno>
#include <cstring>

#include "forwarding/ipvs/messages.hpp"
#include "forwarding/ipvs/socket.hpp"
#include "unit/forwarding/ipvs/hex.hpp"

namespace lvsd::forwarding::ipvs {
namespace {

using namespace std::chrono_literals;

TEST(IpvsSocket, ResolvingIpvsWithoutIpVsFailsWithTheFix) {
  auto s = GenlSocket::open(2s);
  if (s.has_value()) GTEST_SKIP() << "this kernel has ip_vs (family id " << s->family() << ")";
  if (s.error().kind == Error::Kind::kIo) {
    GTEST_SKIP() << "no generic netlink here: " << s.error().message;
  }
  EXPECT_EQ(s.error().kind, Error::Kind::kNoFamily);
  EXPECT_EQ(s.error().message, "the kernel has no ip_vs: modprobe ip_vs (and ip_vs_<scheduler>)");
  EXPECT_EQ(s.error().message, kNoIpvsMessage);
}

TEST(IpvsSocket, UnknownFamilyIsNamed) {
  auto s = GenlSocket::open(2s, "lvsd-no-such");
  ASSERT_FALSE(s.has_value());
  if (s.error().kind == Error::Kind::kIo) GTEST_SKIP() << s.error().message;
  EXPECT_EQ(s.error().kind, Error::Kind::kNoFamily);
  EXPECT_NE(s.error().message.find("\"lvsd-no-such\""), std::string::npos) << s.error().message;
}

Result<GenlSocket> open_nlctrl() {
  return GenlSocket::open(2s, "nlctrl");
}

TEST(IpvsSocket, KernelErrnoComesBackThroughTheParsers) {
  auto s = open_nlctrl();
  if (!s) GTEST_SKIP() << s.error().message;
  EXPECT_EQ(s->family(), GENL_ID_CTRL);
  // FLUSH's command number (17) means nothing to nlctrl: -EOPNOTSUPP.
  for (int i = 0; i < 3; ++i) {  // the socket is reusable, seq advances
    const MsgHeader h = s->next_header();
    EXPECT_EQ(h.family, GENL_ID_CTRL);
    auto req = build_flush(h);
    ASSERT_TRUE(req.has_value());
    auto reply = s->transact(*req);
    ASSERT_TRUE(reply.has_value()) << reply.error().message;
    auto ack = parse_ack(*reply, s->family());
    ASSERT_FALSE(ack.has_value());
    EXPECT_EQ(ack.error().kind, Error::Kind::kKernel);
    EXPECT_EQ(ack.error().kernel_errno, EOPNOTSUPP) << ack.error().message;
  }
}

TEST(IpvsSocket, MultipartDumpIsCollectedUntilDone) {
  auto s = open_nlctrl();
  if (!s) GTEST_SKIP() << s.error().message;
  const MsgHeader h = s->next_header(NLM_F_REQUEST | NLM_F_DUMP);
  // CTRL_CMD_GETFAMILY dump: nlmsghdr + genlmsghdr, no attributes.
  Bytes req = testing::hex("14000000 1000 0103 00000000 00000000 03 01 0000");
  std::memcpy(req.data() + 8, &h.seq, 4);
  std::memcpy(req.data() + 12, &h.port, 4);
  auto reply = s->transact(req);
  ASSERT_TRUE(reply.has_value()) << reply.error().message;
  auto parsed = parse_reply(*reply, s->family());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_TRUE(parsed->done);
  ASSERT_FALSE(parsed->messages.empty());
  for (const GenlMsg& m : parsed->messages) {
    EXPECT_EQ(m.cmd, CTRL_CMD_NEWFAMILY);
    EXPECT_EQ(m.seq, h.seq);
    EXPECT_NE(m.flags & NLM_F_MULTI, 0);
  }
}

TEST(IpvsSocket, RejectsARequestShorterThanAHeader) {
  auto s = open_nlctrl();
  if (!s) GTEST_SKIP() << s.error().message;
  auto r = s->transact(testing::hex("1400"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, Error::Kind::kInvalidArgument);
}

}  // namespace
}  // namespace lvsd::forwarding::ipvs
