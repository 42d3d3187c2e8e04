// tcp probe against real servers on 127.0.0.1.
#include <gtest/gtest.h>

#include "checkers/probes/probes.hpp"
#include "unit/checkers/support/close_watch.hpp"
#include "unit/checkers/support/io_wait.hpp"
#include "unit/checkers/support/scripted_server.hpp"

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;
using test::Reply;
using test::run_probe;
using test::ScriptedServer;

const auto kLocal = boost::asio::ip::make_address("127.0.0.1");

config::Check tcp_check() {
  config::Check c;
  c.type = config::CheckType::tcp;
  return c;
}

// A port nobody listens on: bound, then released.
uint16_t closed_port(boost::asio::io_context& io) {
  boost::asio::ip::tcp::acceptor a(io, {kLocal, 0});
  return a.local_endpoint().port();
}

TEST(TcpProbe, ConnectSucceeds) {
  boost::asio::io_context io;
  ScriptedServer server(
      io, [](const std::string&) { return Reply{}; }, "");
  auto probe = make_tcp_probe(io, tcp_check(), {kLocal, server.port()});
  auto r = run_probe(io, *probe, 2s);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << r->reason;
  EXPECT_EQ(r->reason, "connected");
  EXPECT_GT(r->latency.count(), 0);
}

TEST(TcpProbe, ConnectOnlyClosesWithAResetATalkingCheckPolitely) {
  boost::asio::io_context io;
  test::CloseWatch quiet(io, "");
  auto probe = make_tcp_probe(io, tcp_check(), {kLocal, quiet.port()});
  auto r = run_probe(io, *probe, 2s);
  ASSERT_TRUE(r && r->ok);
  ASSERT_TRUE(test::run_until(io, [&] { return quiet.closed().has_value(); }));
  EXPECT_EQ(*quiet.closed(), boost::asio::error::connection_reset);

  test::CloseWatch banner(io, "+PONG\r\n", "\n");
  auto c = tcp_check();
  c.send = "PING\r\n";
  c.expect = "PONG";
  auto talking = make_tcp_probe(io, c, {kLocal, banner.port()});
  auto r2 = run_probe(io, *talking, 2s);
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->ok) << r2->reason;
  ASSERT_TRUE(test::run_until(io, [&] { return banner.closed().has_value(); }));
  EXPECT_EQ(*banner.closed(), boost::asio::error::eof);
}

TEST(TcpProbe, ConnectionRefused) {
  boost::asio::io_context io;
  auto probe = make_tcp_probe(io, tcp_check(), {kLocal, closed_port(io)});
  auto r = run_probe(io, *probe, 2s);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->reason, "connect: connection refused");
}

TEST(TcpProbe, SendAndExpectMatches) {
  boost::asio::io_context io;
  ScriptedServer server(
      io,
      [](const std::string& req) {
        return Reply{0ms, "+PONG for " + req};
      },
      "\n");
  auto c = tcp_check();
  c.send = "PING\r\n";
  c.expect = "^\\+PONG";
  auto probe = make_tcp_probe(io, c, {kLocal, server.port()});
  auto r = run_probe(io, *probe, 2s);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << r->reason;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0], "PING\r\n");
}

TEST(TcpProbe, ExpectAcrossSeveralReads) {
  boost::asio::io_context io;
  // A banner without a request, the pattern at the end of a 20 kB reply.
  ScriptedServer server(
      io,
      [](const std::string&) {
        return Reply{0ms, std::string(20000, 'x') + "READY"};
      },
      "");
  auto c = tcp_check();
  c.expect = "READY$";
  auto probe = make_tcp_probe(io, c, {kLocal, server.port()});
  auto r = run_probe(io, *probe, 2s);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << r->reason;
}

TEST(TcpProbe, WrongReplyFailsAtClose) {
  boost::asio::io_context io;
  ScriptedServer server(
      io,
      [](const std::string&) {
        return Reply{0ms, "-ERR busy\r\n"};
      },
      "\n");
  auto c = tcp_check();
  c.send = "PING\n";
  c.expect = "^\\+PONG";
  auto probe = make_tcp_probe(io, c, {kLocal, server.port()});
  auto r = run_probe(io, *probe, 2s);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->reason, "reply did not match expect: \"-ERR busy..\"");
}

TEST(TcpProbe, SlowReplyTimesOut) {
  boost::asio::io_context io;
  ScriptedServer server(
      io,
      [](const std::string&) {
        return Reply{5s, "+PONG"};
      },
      "\n");
  auto c = tcp_check();
  c.send = "PING\n";
  c.expect = "PONG";
  auto probe = make_tcp_probe(io, c, {kLocal, server.port()});
  auto start = std::chrono::steady_clock::now();
  auto r = run_probe(io, *probe, 200ms);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->reason, "timeout after 200ms");
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 1500ms);
}

TEST(TcpProbe, ResetFails) {
  boost::asio::io_context io;
  ScriptedServer server(
      io,
      [](const std::string&) {
        return Reply{0ms, "", Reply::End::reset};
      },
      "\n");
  auto c = tcp_check();
  c.send = "PING\n";
  c.expect = "PONG";
  auto probe = make_tcp_probe(io, c, {kLocal, server.port()});
  auto r = run_probe(io, *probe, 2s);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->reason, "receive: connection reset by peer");
}

TEST(TcpProbe, CancelMeansNoCallbackAndTheProbeIsReusable) {
  boost::asio::io_context io;
  ScriptedServer server(
      io,
      [](const std::string&) {
        return Reply{1s, "late"};
      },
      "\n");
  auto c = tcp_check();
  c.send = "x\n";
  c.expect = "late";
  auto probe = make_tcp_probe(io, c, {kLocal, server.port()});
  bool called = false;
  probe->run(2s, [&](ProbeResult) { called = true; });
  test::run_until(
      io, [&] { return server.accepted() == 1; }, 2s);
  probe->cancel();
  io.restart();
  io.run_for(50ms);
  EXPECT_FALSE(called);
  auto r = run_probe(io, *probe, 3s);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << r->reason;
}

TEST(TcpProbe, DestroyedInFlightIsSafe) {
  boost::asio::io_context io;
  ScriptedServer server(
      io,
      [](const std::string&) {
        return Reply{0ms, "", Reply::End::hang};
      },
      "");
  auto c = tcp_check();
  c.expect = "never";
  auto probe = make_tcp_probe(io, c, {kLocal, server.port()});
  bool called = false;
  probe->run(1s, [&](ProbeResult) { called = true; });
  test::run_until(
      io, [&] { return server.accepted() == 1; }, 2s);
  probe.reset();
  io.restart();
  io.run_for(50ms);
  EXPECT_FALSE(called);
}

TEST(TcpProbe, BindAddressIsTheSource) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {kLocal, 0});
  auto c = tcp_check();
  c.bind_address = boost::asio::ip::make_address("127.0.0.2");
  auto probe = make_tcp_probe(io, c, {kLocal, acceptor.local_endpoint().port()});
  std::optional<boost::asio::ip::address> peer;
  acceptor.async_accept([&](auto ec, boost::asio::ip::tcp::socket s) {
    if (!ec) peer = s.remote_endpoint().address();
  });
  auto r = run_probe(io, *probe, 2s);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << r->reason;
  test::run_until(
      io, [&] { return peer.has_value(); }, 2s);
  ASSERT_TRUE(peer);
  EXPECT_EQ(*peer, boost::asio::ip::make_address("127.0.0.2"));
}

TEST(TcpProbe, UnknownBindInterfaceFails) {
  boost::asio::io_context io;
  ScriptedServer server(
      io, [](const std::string&) { return Reply{}; }, "");
  auto c = tcp_check();
  c.bind_interface = "nosuchif0";
  auto probe = make_tcp_probe(io, c, {kLocal, server.port()});
  auto r = run_probe(io, *probe, 2s);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->reason.find("nosuchif0"), std::string::npos) << r->reason;
}

TEST(TcpProbe, FwmarkIsSetOnTheSocket) {
  // SO_MARK needs CAP_NET_ADMIN; without it the probe says why.
  boost::asio::io_context io;
  ScriptedServer server(
      io, [](const std::string&) { return Reply{}; }, "");
  auto c = tcp_check();
  c.fwmark = 0x42;
  auto probe = make_tcp_probe(io, c, {kLocal, server.port()});
  auto r = run_probe(io, *probe, 2s);
  ASSERT_TRUE(r);
  if (!r->ok) {
    EXPECT_NE(r->reason.find("fwmark"), std::string::npos) << r->reason;
  }
}

}  // namespace
}  // namespace lvsd::checkers
