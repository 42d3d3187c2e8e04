// dns probe against a tiny Asio UDP DNS responder on 127.0.0.1 port 0 that
// answers with crafted replies.
#include <gtest/gtest.h>

#include <array>
#include <set>

#include <boost/asio/ip/udp.hpp>

#include "checkers/probes/dns_wire.hpp"
#include "checkers/probes/probes.hpp"
#include "unit/checkers/probe_test_loop.hpp"

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::udp;
using Bytes = std::vector<uint8_t>;

struct Reply {
  Bytes b;
  void u8(int v) { b.push_back(static_cast<uint8_t>(v)); }
  void u16(int v) {
    u8((v >> 8) & 0xff);
    u8(v & 0xff);
  }
  void u32(uint32_t v) {
    u16(static_cast<int>(v >> 16));
    u16(static_cast<int>(v & 0xffff));
  }
  void name(std::string_view n) {
    while (!n.empty()) {
      const auto dot = n.find('.');
      const auto label = n.substr(0, dot);
      u8(static_cast<int>(label.size()));
      for (char c : label)
        u8(c);
      if (dot == std::string_view::npos) break;
      n.remove_prefix(dot + 1);
    }
    u8(0);
  }
};

// The start of a reply to `query`: its id (xor `id_xor`), flags, and its
// question copied, with `an` answers to follow.
Reply answer_header(const Bytes& query, int flags, int an, int id_xor = 0) {
  Reply r;
  r.u16(((query[0] << 8) | query[1]) ^ id_xor);
  r.u16(flags);
  r.u16(1);
  r.u16(an);
  r.u16(0);
  r.u16(0);
  r.b.insert(r.b.end(), query.begin() + 12, query.end());
  return r;
}

// An A record for the question name (a pointer to offset 12).
void a_record(Reply& r, std::array<int, 4> addr) {
  r.u16(0xc00c);
  r.u16(dns_wire::kA);
  r.u16(1);
  r.u32(60);
  r.u16(4);
  for (int b : addr)
    r.u8(b);
}

class DnsServer {
 public:
  using Handler = std::function<std::vector<Bytes>(const Bytes& query)>;
  DnsServer(asio::io_context& io, Handler h)
      : socket_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), handler_(std::move(h)) {
    receive();
  }
  uint16_t port() const { return socket_.local_endpoint().port(); }
  Bytes last_query;

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buf_), peer_,
                               [this](const boost::system::error_code& ec, std::size_t n) {
                                 if (ec) return;
                                 last_query.assign(buf_.begin(), buf_.begin() + n);
                                 for (const auto& reply : handler_(last_query)) {
                                   boost::system::error_code ignored;
                                   socket_.send_to(asio::buffer(reply), peer_, 0, ignored);
                                 }
                                 receive();
                               });
  }
  udp::socket socket_;
  Handler handler_;
  std::array<uint8_t, 2048> buf_{};
  udp::endpoint peer_;
};

class DnsProbeTest : public ::testing::Test {
 protected:
  config::Check check(std::string name, config::DnsType type,
                      std::vector<std::string> expect = {}) {
    config::Check c;
    c.type = config::CheckType::dns;
    c.dns.query_name = std::move(name);
    c.dns.query_type = type;
    c.dns.expect = std::move(expect);
    return c;
  }
  probe_loop::Outcome run(const config::Check& c, uint16_t port,
                          std::chrono::milliseconds timeout = 2s) {
    auto probe = make_probe(io_, c, {asio::ip::make_address("127.0.0.1"), port});
    return probe_loop::run_probe(io_, *probe, timeout);
  }
  asio::io_context io_;
};

std::vector<Bytes> good_a(const Bytes& q) {
  auto r = answer_header(q, 0x8580, 2);
  a_record(r, {127, 0, 0, 1});
  a_record(r, {127, 0, 0, 2});
  return {r.b};
}

TEST_F(DnsProbeTest, GoodAnswer) {
  DnsServer server(io_, good_a);
  auto out = run(check("www.test", config::DnsType::A), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.calls, 1);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
  EXPECT_EQ(out.result->reason, "A 127.0.0.1, 127.0.0.2");
  EXPECT_GT(out.result->latency.count(), 0);
  // The query on the wire: one question, www.test A IN, RD set.
  const auto& q = server.last_query;
  ASSERT_GE(q.size(), 12u);
  EXPECT_EQ(q[2], 0x01);
  EXPECT_EQ(Bytes(q.begin() + 12, q.end()),
            (Bytes{3, 'w', 'w', 'w', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1}));

  out = run(check("www.test", config::DnsType::A, {"127.0.0.2", "127.0.0.1"}), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;

  out = run(check("www.test", config::DnsType::A, {"127.0.0.1", "10.0.0.1"}), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "expected A \"10.0.0.1\" not in the answer (127.0.0.1, 127.0.0.2)");
}

TEST_F(DnsProbeTest, QueryIdsAreRandom) {
  DnsServer server(io_, good_a);
  std::set<int> ids;
  for (int i = 0; i < 5; ++i) {
    run(check("www.test", config::DnsType::A), server.port());
    ids.insert((server.last_query[0] << 8) | server.last_query[1]);
  }
  EXPECT_GT(ids.size(), 1u);
}

TEST_F(DnsProbeTest, RdlengthNotMatchingTheNameIsMalformed) {
  DnsServer server(io_, [](const Bytes& q) {
    auto r = answer_header(q, 0x8180, 1);
    r.u16(0xc00c);
    r.u16(dns_wire::kMx);
    r.u16(1);
    r.u32(60);
    r.u16(9);  // the rdata below is 7 octets: pref, "\2mx", a pointer
    r.u16(10);
    r.u8(2);
    r.u8('m');
    r.u8('x');
    r.u16(0xc00c);
    r.u16(0);  // 2 more octets so the rdata does not overrun the message
    return std::vector<Bytes>{r.b};
  });
  const auto out = run(check("example.test", config::DnsType::MX), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason,
            "malformed reply: answer 1: MX rdata length does not match its name");
}

TEST_F(DnsProbeTest, MxAnswerMatched) {
  DnsServer server(io_, [](const Bytes& q) {
    auto r = answer_header(q, 0x8180, 1);
    r.u16(0xc00c);
    r.u16(dns_wire::kMx);
    r.u16(1);
    r.u32(60);
    r.u16(7);
    r.u16(10);
    r.u8(2);
    r.u8('m');
    r.u8('x');
    r.u16(0xc00c);
    return std::vector<Bytes>{r.b};
  });
  const auto out =
      run(check("example.test", config::DnsType::MX, {"10 MX.example.test."}), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
  EXPECT_EQ(out.result->reason, "MX 10 mx.example.test");
}

TEST_F(DnsProbeTest, WrongRcode) {
  DnsServer server(io_, [](const Bytes& q) {
    return std::vector<Bytes>{answer_header(q, 0x8182, 0).b};  // SERVFAIL
  });
  const auto out = run(check("www.test", config::DnsType::A), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "rcode SERVFAIL");
}

TEST_F(DnsProbeTest, NoRecordOfTheType) {
  DnsServer server(io_, [](const Bytes& q) {
    return std::vector<Bytes>{answer_header(q, 0x8180, 0).b};  // NOERROR, empty
  });
  const auto out = run(check("www.test", config::DnsType::A), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_NE(out.result->reason.find("no A record"), std::string::npos);
}

TEST_F(DnsProbeTest, WrongIdIsIgnored) {
  DnsServer only_wrong(io_, [](const Bytes& q) {
    auto r = answer_header(q, 0x8180, 1, 0x5555);
    a_record(r, {127, 0, 0, 1});
    return std::vector<Bytes>{r.b};
  });
  auto out = run(check("www.test", config::DnsType::A), only_wrong.port(), 300ms);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_NE(out.result->reason.find("timeout after 300ms (ignored a reply: reply id"),
            std::string::npos)
      << out.result->reason;

  // A spoofed reply first, then the real one: the real one counts.
  DnsServer wrong_then_good(io_, [](const Bytes& q) {
    auto bad = answer_header(q, 0x8183, 0, 0x0101);
    return std::vector<Bytes>{bad.b, good_a(q)[0]};
  });
  out = run(check("www.test", config::DnsType::A), wrong_then_good.port());
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
}

TEST_F(DnsProbeTest, TruncatedReply) {
  DnsServer server(io_, [](const Bytes& q) {
    auto r = good_a(q)[0];
    r.resize(r.size() - 3);
    return std::vector<Bytes>{r};
  });
  const auto out = run(check("www.test", config::DnsType::A), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason.rfind("malformed reply: answer 2: ", 0), 0u) << out.result->reason;
}

TEST_F(DnsProbeTest, CompressionLoop) {
  DnsServer server(io_, [](const Bytes& q) {
    auto r = answer_header(q, 0x8180, 1);
    const int self = static_cast<int>(r.b.size());
    r.u16(0xc000 | self);  // the owner name points at itself
    r.u16(dns_wire::kA);
    r.u16(1);
    r.u32(0);
    r.u16(4);
    r.u32(0x7f000001);
    return std::vector<Bytes>{r.b};
  });
  const auto out = run(check("www.test", config::DnsType::A), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_NE(out.result->reason.find("malformed reply"), std::string::npos);
  EXPECT_NE(out.result->reason.find("compression"), std::string::npos) << out.result->reason;
}

TEST_F(DnsProbeTest, GarbageReply) {
  DnsServer server(io_, [](const Bytes&) { return std::vector<Bytes>{Bytes{1, 2, 3}}; });
  const auto out = run(check("www.test", config::DnsType::A), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->reason, "malformed reply: reply of 3 octets, shorter than a header");
}

TEST_F(DnsProbeTest, SilenceAndClosedPort) {
  DnsServer silent(io_, [](const Bytes&) { return std::vector<Bytes>{}; });
  auto out = run(check(".", config::DnsType::SOA), silent.port(), 200ms);
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->reason, "timeout after 200ms");

  uint16_t port = 0;
  {
    udp::socket s(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = s.local_endpoint().port();
  }
  out = run(check(".", config::DnsType::SOA), port, 2s);
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->reason, "connection refused (port unreachable)");
}

TEST_F(DnsProbeTest, BadQueryNameFailsWithoutSending) {
  DnsServer server(io_, good_a);
  const auto out = run(check("a..b", config::DnsType::A), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_NE(out.result->reason.find("empty label"), std::string::npos);
  EXPECT_TRUE(server.last_query.empty());
}

TEST_F(DnsProbeTest, PtrOfAnAddress) {
  DnsServer server(io_, [](const Bytes& q) {
    auto r = answer_header(q, 0x8180, 1);
    r.u16(0xc00c);
    r.u16(dns_wire::kPtr);
    r.u16(1);
    r.u32(60);
    Reply name;
    name.name("localhost");
    r.u16(static_cast<int>(name.b.size()));
    r.b.insert(r.b.end(), name.b.begin(), name.b.end());
    return std::vector<Bytes>{r.b};
  });
  const auto out = run(check("127.0.0.1", config::DnsType::PTR, {"localhost."}), server.port());
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
  const auto& q = server.last_query;
  EXPECT_EQ(std::string(q.begin() + 13, q.begin() + 14), "1");  // 1.0.0.127.in-addr.arpa
}

}  // namespace
}  // namespace lvsd::checkers
