// SyncWorker's conversions between the dataplane's SyncRecord and the wire's
// SyncConn: every field and flag survives record -> conn -> bytes -> conn ->
// record, with the ip_vs flag bits the kernel expects per method.
#include "sync/worker.hpp"

#include <gtest/gtest.h>

namespace lvsd::sync {
namespace {

using boost::asio::ip::make_address;
using forwarding::userspace::SyncRecord;

SyncRecord record(uint8_t method, bool tmpl) {
  SyncRecord r;
  r.caddr = IpAddr::from(make_address("192.0.2.100"));
  r.vaddr = IpAddr::from(make_address("192.0.2.200"));
  r.daddr = IpAddr::from(make_address("192.0.2.21"));
  r.cport = tmpl ? 0 : 40000;
  r.vport = 80;
  r.dport = 8080;
  r.protocol = 6;
  r.method = method;
  r.is_template = tmpl;
  r.inactive = tmpl;
  r.state = tmpl ? 0 : 1;
  r.timeout_s = tmpl ? 300 : 900;
  return r;
}

TEST(SyncWorker, MethodsMapToTheKernelsFlags) {
  EXPECT_EQ(SyncWorker::to_conn(record(0, false)).flags & conn_flags::kFwdMask, conn_flags::kMasq);
  EXPECT_EQ(SyncWorker::to_conn(record(1, false)).flags & conn_flags::kFwdMask,
            conn_flags::kDroute);
  EXPECT_EQ(SyncWorker::to_conn(record(2, false)).flags & conn_flags::kFwdMask,
            conn_flags::kTunnel);
  EXPECT_TRUE(SyncWorker::to_conn(record(1, false)).flags & conn_flags::kNoOutput);
  EXPECT_TRUE(SyncWorker::to_conn(record(0, true)).flags & conn_flags::kTemplate);
}

TEST(SyncWorker, RecordsSurviveTheWire) {
  for (uint8_t method : {0, 1, 2}) {
    for (bool tmpl : {false, true}) {
      const SyncRecord in = record(method, tmpl);
      MessageBuilder b(7);
      ASSERT_EQ(b.add(SyncWorker::to_conn(in)), MessageBuilder::AddResult::added);
      DecodeResult r = decode(b.bytes(), DecodeOptions{7, {}});
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r.message.conns.size(), 1u);
      const SyncRecord out = SyncWorker::to_record(r.message.conns[0]);
      EXPECT_EQ(out.caddr, in.caddr);
      EXPECT_EQ(out.vaddr, in.vaddr);
      EXPECT_EQ(out.daddr, in.daddr);
      EXPECT_EQ(out.cport, in.cport);
      EXPECT_EQ(out.vport, in.vport);
      EXPECT_EQ(out.dport, in.dport);
      EXPECT_EQ(out.protocol, in.protocol);
      EXPECT_EQ(out.method, in.method);
      EXPECT_EQ(out.is_template, in.is_template);
      EXPECT_EQ(out.inactive, in.inactive);
      EXPECT_EQ(out.state, in.state);
      EXPECT_EQ(out.timeout_s, in.timeout_s);
    }
  }
}

TEST(SyncWorker, AuthenticatedMessagesVerifyAndPlainPeersDropThem) {
  MessageBuilder b(7);
  ASSERT_EQ(b.add(SyncWorker::to_conn(record(0, false))), MessageBuilder::AddResult::added);
  std::vector<std::byte> msg(b.bytes().begin(), b.bytes().end());
  const std::size_t plain = msg.size();
  SyncWorker::append_auth("s3cret", msg);
  ASSERT_EQ(msg.size(), plain + kAuthTrailer);

  std::span<const std::byte> ok(msg);
  ASSERT_TRUE(SyncWorker::check_auth("s3cret", ok));
  EXPECT_EQ(ok.size(), plain);
  EXPECT_TRUE(decode(ok, DecodeOptions{7, {}}).ok());

  std::span<const std::byte> wrong_key(msg);
  EXPECT_FALSE(SyncWorker::check_auth("other", wrong_key));
  auto tampered = msg;
  tampered[20] ^= std::byte{1};
  std::span<const std::byte> t(tampered);
  EXPECT_FALSE(SyncWorker::check_auth("s3cret", t));
  std::span<const std::byte> unsigned_msg(msg.data(), plain);
  EXPECT_FALSE(SyncWorker::check_auth("s3cret", unsigned_msg));
  // A plain ip_vs receiver (the kernel's rules) drops the signed message:
  // its size field does not cover the trailer.
  DecodeResult r = decode(std::span<const std::byte>(msg), DecodeOptions{7, {}});
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(*r.error, DropReason::size_mismatch);
}

}  // namespace
}  // namespace lvsd::sync
