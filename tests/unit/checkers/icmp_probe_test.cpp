// icmp probe: echo to the loopback. Uses an ICMP datagram socket when
// net.ipv4.ping_group_range allows it, else a raw socket (CAP_NET_RAW); skips
// when neither is permitted.
#include <gtest/gtest.h>

#include <boost/asio/ip/udp.hpp>

#include "checkers/probes/probes.hpp"
#include "unit/checkers/probe_test_loop.hpp"

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

class IcmpProbeTest : public ::testing::Test {
 protected:
  probe_loop::Outcome run(const config::Check& c, const char* address,
                          std::chrono::milliseconds timeout = 2s) {
    auto probe = make_probe(io_, c, {asio::ip::make_address(address), 0});
    return probe_loop::run_probe(io_, *probe, timeout);
  }
  static config::Check check() {
    config::Check c;
    c.type = config::CheckType::icmp;
    return c;
  }
  static bool unsupported(const probe_loop::Outcome& out) {
    return out.result && out.result->reason.rfind("no ICMP socket", 0) == 0;
  }
  asio::io_context io_;
};

TEST_F(IcmpProbeTest, EchoToLoopback) {
  const auto out = run(check(), "127.0.0.1");
  if (unsupported(out)) GTEST_SKIP() << out.result->reason;
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.calls, 1);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
  EXPECT_EQ(out.result->reason.rfind("echo reply (", 0), 0u) << out.result->reason;
  EXPECT_GT(out.result->latency.count(), 0);
}

TEST_F(IcmpProbeTest, RepeatedAttemptsOnOneProbe) {
  auto probe = make_probe(io_, check(), {asio::ip::make_address("127.0.0.1"), 0});
  for (int i = 0; i < 5; ++i) {
    const auto out = probe_loop::run_probe(io_, *probe, 2s);
    if (unsupported(out)) GTEST_SKIP() << out.result->reason;
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok) << out.result->reason;
  }
}

TEST_F(IcmpProbeTest, EchoToIpv6Loopback) {
  {
    boost::system::error_code ec;
    asio::ip::udp::socket s(io_);
    s.open(asio::ip::udp::v6(), ec);
    if (!ec) s.bind({asio::ip::make_address("::1"), 0}, ec);
    if (ec) GTEST_SKIP() << "no IPv6 loopback";
  }
  const auto out = run(check(), "::1");
  if (unsupported(out)) GTEST_SKIP() << out.result->reason;
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
}

TEST_F(IcmpProbeTest, SocketOptions) {
  auto c = check();
  c.bind_address = asio::ip::make_address("127.0.0.1");
  if (::geteuid() == 0) {
    c.bind_interface = "lo";
    c.fwmark = 9;
  }
  auto out = run(c, "127.0.0.1");
  if (unsupported(out)) GTEST_SKIP() << out.result->reason;
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;

  c.bind_interface = "lvsdnosuch0";
  out = run(c, "127.0.0.1");
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason.rfind("bind_interface lvsdnosuch0: ", 0), 0u) << out.result->reason;
}

TEST_F(IcmpProbeTest, CancelDoesNotReport) {
  auto probe = make_probe(io_, check(), {asio::ip::make_address("127.0.0.1"), 0});
  int calls = 0;
  probe->run(1s, [&](ProbeResult) { ++calls; });
  probe->cancel();
  probe_loop::run_until(
      io_, [] { return false; }, 200ms);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace lvsd::checkers
