// udp probe against an Asio UDP server on 127.0.0.1 port 0 started by the test.
#include <gtest/gtest.h>

#include <array>

#include <boost/asio/ip/udp.hpp>

#include "checkers/probes/probes.hpp"
#include "unit/checkers/probe_test_loop.hpp"

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::udp;

// Answers every datagram with `reply(request)`; an empty optional = silence.
class UdpServer {
 public:
  UdpServer(asio::io_context& io, std::function<std::optional<std::string>(std::string)> reply,
            const char* address = "127.0.0.1")
      : socket_(io, udp::endpoint(asio::ip::make_address(address), 0)), reply_(std::move(reply)) {
    receive();
  }
  uint16_t port() const { return socket_.local_endpoint().port(); }
  int requests = 0;

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buf_), peer_,
                               [this](const boost::system::error_code& ec, std::size_t n) {
                                 if (ec) return;
                                 ++requests;
                                 if (auto r = reply_(std::string(buf_.data(), n))) {
                                   out_ = *r;
                                   boost::system::error_code ignored;
                                   socket_.send_to(asio::buffer(out_), peer_, 0, ignored);
                                 }
                                 receive();
                               });
  }
  udp::socket socket_;
  std::function<std::optional<std::string>(std::string)> reply_;
  std::array<char, 2048> buf_{};
  udp::endpoint peer_;
  std::string out_;
};

class UdpProbeTest : public ::testing::Test {
 protected:
  config::Check check(std::string send, std::string expect = "") {
    config::Check c;
    c.type = config::CheckType::udp;
    c.send = std::move(send);
    c.expect = std::move(expect);
    return c;
  }
  probe_loop::Outcome run(const config::Check& c, uint16_t port,
                          std::chrono::milliseconds timeout = 2s,
                          const char* address = "127.0.0.1") {
    auto probe = make_probe(io_, c, {asio::ip::make_address(address), port});
    return probe_loop::run_probe(io_, *probe, timeout);
  }
  asio::io_context io_;
};

TEST_F(UdpProbeTest, EchoReplyMatches) {
  UdpServer echo(io_, [](std::string s) { return s; });
  const auto out = run(check("ping lvsd", "^ping l"), echo.port());
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.calls, 1);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
  EXPECT_EQ(out.result->reason, "reply of 9 bytes");
  EXPECT_GT(out.result->latency.count(), 0);
  EXPECT_EQ(echo.requests, 1);
}

TEST_F(UdpProbeTest, AnyReplyWithoutExpect) {
  UdpServer server(io_, [](std::string) { return std::string("x"); });
  const auto out = run(check(""), server.port());  // an empty datagram
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
}

TEST_F(UdpProbeTest, ReplyNotMatchingFails) {
  UdpServer server(io_, [](std::string) { return std::string("ERR busy"); });
  const auto out = run(check("status", "^OK"), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "reply \"ERR busy\" does not match /^OK/");
}

TEST_F(UdpProbeTest, SilenceTimesOut) {
  UdpServer server(io_, [](std::string) { return std::nullopt; });
  const auto start = std::chrono::steady_clock::now();
  const auto out = run(check("hello"), server.port(), 200ms);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "timeout after 200ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(UdpProbeTest, ClosedPortFailsAtOnce) {
  uint16_t port = 0;
  {
    udp::socket s(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = s.local_endpoint().port();
  }
  const auto start = std::chrono::steady_clock::now();
  const auto out = run(check("hello"), port, 5s);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "connection refused (port unreachable)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(UdpProbeTest, SocketOptions) {
  UdpServer echo(io_, [](std::string s) { return s; });
  auto c = check("ping");
  c.bind_address = asio::ip::make_address("127.0.0.1");
  if (::geteuid() == 0) {
    c.bind_interface = "lo";
    c.fwmark = 7;
  }
  auto out = run(c, echo.port());
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;

  c.bind_interface = "lvsdnosuch0";
  out = run(c, echo.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason.rfind("bind_interface lvsdnosuch0: ", 0), 0u) << out.result->reason;

  c = check("ping");
  c.bind_address = asio::ip::make_address("::1");
  out = run(c, echo.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_NE(out.result->reason.find("not of the family"), std::string::npos);

  c = check("ping");
  c.bind_address = asio::ip::make_address("192.0.2.77");  // not ours
  out = run(c, echo.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_NE(out.result->reason.find("bind_address 192.0.2.77: "), std::string::npos);
}

TEST_F(UdpProbeTest, Ipv6) {
  std::unique_ptr<UdpServer> echo;
  try {
    echo = std::make_unique<UdpServer>(
        io_, [](std::string s) { return s; }, "::1");
  } catch (const std::exception&) {
    GTEST_SKIP() << "no IPv6 loopback";
  }
  const auto out = run(check("v6"), echo->port(), 2s, "::1");
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
}

TEST_F(UdpProbeTest, CancelAndDestroyInsideDone) {
  UdpServer server(io_, [](std::string) { return std::nullopt; });
  auto probe = make_probe(io_, check("x"), {asio::ip::make_address("127.0.0.1"), server.port()});
  int calls = 0;
  probe->run(100ms, [&](ProbeResult) { ++calls; });
  probe->cancel();
  probe_loop::run_until(
      io_, [] { return false; }, 300ms);
  EXPECT_EQ(calls, 0);

  // done may destroy the probe.
  probe->run(50ms, [&](ProbeResult) {
    ++calls;
    probe.reset();
  });
  EXPECT_TRUE(probe_loop::run_until(
      io_, [&] { return calls == 1; }, 2s));
  probe_loop::run_until(
      io_, [] { return false; }, 100ms);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(probe, nullptr);
}

}  // namespace
}  // namespace lvsd::checkers
