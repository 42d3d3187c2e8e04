// smtp probe against a scripted Asio TCP server on 127.0.0.1 port 0.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "checkers/probes/probes.hpp"
#include "unit/checkers/probe_test_loop.hpp"

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;

struct Step {
  enum Kind { send, read_line, wait, close } kind;
  std::string text;
  std::chrono::milliseconds delay{0};
};
Step send(std::string s) {
  return {Step::send, std::move(s), {}};
}
Step read_line() {
  return {Step::read_line, {}, {}};
}
Step wait(std::chrono::milliseconds d) {
  return {Step::wait, {}, d};
}
Step close_conn() {
  return {Step::close, {}, {}};
}

// Accepts connections and plays `script` on each; records the lines read.
class SmtpServer {
 public:
  SmtpServer(asio::io_context& io, std::vector<Step> script)
      : io_(io),
        acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    accept();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> lines;

 private:
  struct Session {
    explicit Session(asio::io_context& io) : socket(io), timer(io) {}
    tcp::socket socket;
    asio::steady_timer timer;
    asio::streambuf buf;
    std::size_t step = 0;
  };

  void accept() {
    auto s = std::make_shared<Session>(io_);
    acceptor_.async_accept(s->socket, [this, s](const boost::system::error_code& ec) {
      if (ec) return;
      play(s);
      accept();
    });
  }

  void play(std::shared_ptr<Session> s) {
    if (s->step >= script_.size()) return;
    const Step& st = script_[s->step++];
    switch (st.kind) {
      case Step::send:
        asio::async_write(s->socket, asio::buffer(st.text),
                          [this, s](const boost::system::error_code& ec, std::size_t) {
                            if (!ec) play(s);
                          });
        return;
      case Step::read_line:
        asio::async_read_until(s->socket, s->buf, "\r\n",
                               [this, s](const boost::system::error_code& ec, std::size_t n) {
                                 if (ec) return;
                                 std::string line(asio::buffers_begin(s->buf.data()),
                                                  asio::buffers_begin(s->buf.data()) +
                                                      static_cast<std::ptrdiff_t>(n - 2));
                                 s->buf.consume(n);
                                 lines.push_back(line);
                                 play(s);
                               });
        return;
      case Step::wait:
        s->timer.expires_after(st.delay);
        s->timer.async_wait([this, s](const boost::system::error_code& ec) {
          if (!ec) play(s);
        });
        return;
      case Step::close:
        s->socket.close();
        return;
    }
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::vector<Step> script_;
};

class SmtpProbeTest : public ::testing::Test {
 protected:
  probe_loop::Outcome run(uint16_t port, std::chrono::milliseconds timeout = 2s,
                          std::string helo = "lvsd") {
    config::Check c;
    c.type = config::CheckType::smtp;
    c.helo_name = std::move(helo);
    auto probe = make_probe(io_, c, {asio::ip::make_address("127.0.0.1"), port});
    return probe_loop::run_probe(io_, *probe, timeout);
  }
  asio::io_context io_;
};

TEST_F(SmtpProbeTest, GoodDialogue) {
  SmtpServer server(
      io_, {send("220 mail.test ESMTP ready\r\n"), read_line(), send("250 mail.test Hello\r\n"),
            read_line(), send("221 bye\r\n"), close_conn()});
  const auto out = run(server.port(), 2s, "probe.example");
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.calls, 1);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
  EXPECT_EQ(out.result->reason, "250 mail.test Hello");
  EXPECT_GT(out.result->latency.count(), 0);
  probe_loop::run_until(
      io_, [&] { return server.lines.size() == 2; }, 2s);
  EXPECT_EQ(server.lines, (std::vector<std::string>{"HELO probe.example", "QUIT"}));
}

TEST_F(SmtpProbeTest, MultiLineBannerAndHeloReply) {
  SmtpServer server(io_, {send("220-mail.test ESMTP\r\n220-no UCE\r\n220 ready\r\n"), read_line(),
                          send("250-mail.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"), read_line(),
                          close_conn()});
  const auto out = run(server.port());
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
  EXPECT_EQ(out.result->reason, "250-mail.test");
}

TEST_F(SmtpProbeTest, RejectingBanner) {
  SmtpServer server(io_, {send("554 no SMTP service here\r\n"), read_line(), close_conn()});
  const auto out = run(server.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "banner 554 no SMTP service here");
}

TEST_F(SmtpProbeTest, HeloRejected) {
  SmtpServer server(io_, {send("220 ok\r\n"), read_line(), send("550 go away\r\n"), close_conn()});
  const auto out = run(server.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "HELO answered 550 go away");
}

TEST_F(SmtpProbeTest, SlowBannerTimesOut) {
  SmtpServer server(io_, {wait(2s), send("220 late\r\n")});
  const auto start = std::chrono::steady_clock::now();
  const auto out = run(server.port(), 200ms);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "timeout after 200ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(SmtpProbeTest, SlowButInTime) {
  SmtpServer server(io_, {wait(100ms), send("220 ok\r\n"), read_line(), wait(100ms),
                          send("250 ok\r\n"), read_line()});
  const auto out = run(server.port(), 2s);
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
  EXPECT_GE(out.result->latency, 200ms);
}

TEST_F(SmtpProbeTest, BrokenServers) {
  SmtpServer closes(io_, {close_conn()});
  auto out = run(closes.port());
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->reason, "connection closed by the server");

  SmtpServer garbage(io_, {send("hello there\r\n")});
  out = run(garbage.port());
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->reason, "not an SMTP reply: \"hello there\"");

  SmtpServer mixed(io_, {send("220-one\r\n250 two\r\n")});
  out = run(mixed.port());
  ASSERT_TRUE(out.result);
  EXPECT_NE(out.result->reason.find("reply code changed"), std::string::npos);

  SmtpServer endless(io_, {send("220-" + std::string(20000, 'x'))});
  out = run(endless.port());
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->reason, "reply too long");

  uint16_t port = 0;
  {
    tcp::acceptor a(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  out = run(port);
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->reason, "connection refused");
}

TEST_F(SmtpProbeTest, CancelMidDialogue) {
  SmtpServer server(io_, {send("220 ok\r\n"), read_line(), wait(5s), send("250 ok\r\n")});
  config::Check c;
  c.type = config::CheckType::smtp;
  auto probe = make_probe(io_, c, {asio::ip::make_address("127.0.0.1"), server.port()});
  int calls = 0;
  probe->run(2s, [&](ProbeResult) { ++calls; });
  ASSERT_TRUE(probe_loop::run_until(
      io_, [&] { return server.lines.size() == 1; }, 2s));
  probe->cancel();
  probe_loop::run_until(
      io_, [] { return false; }, 100ms);
  probe.reset();
  probe_loop::run_until(
      io_, [] { return false; }, 100ms);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace lvsd::checkers
