// http (Asio + Beast) and https (libcurl) probes against real servers on
// 127.0.0.1: a scripted Asio server (plain and TLS, certificates made at test
// time) and a real nginx.
#include <gtest/gtest.h>

#include "checkers/probes/curl_multi_asio.hpp"
#include "checkers/probes/probes.hpp"
#include "unit/checkers/support/close_watch.hpp"
#include "unit/checkers/support/io_wait.hpp"
#include "unit/checkers/support/nginx.hpp"
#include "unit/checkers/support/scripted_server.hpp"
#include "unit/checkers/support/tls.hpp"

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;
using test::http_response;
using test::Reply;
using test::run_probe;
using test::ScriptedServer;

const auto kLocal = boost::asio::ip::make_address("127.0.0.1");

config::Check http_check(std::string path = "/healthz") {
  config::Check c;
  c.type = config::CheckType::http;
  c.http.path = std::move(path);
  return c;
}

ScriptedServer::Script always(int status, std::string body = "ok",
                              std::chrono::milliseconds delay = 0ms) {
  return [=](const std::string&) { return Reply{delay, http_response(status, body)}; };
}

std::unique_ptr<Probe> make_probe(boost::asio::io_context& io, const config::Check& c,
                                  uint16_t port) {
  return c.type == config::CheckType::https ? make_https_probe(io, c, {kLocal, port})
                                            : make_http_probe(io, c, {kLocal, port});
}

ProbeResult probe_once(boost::asio::io_context& io, const config::Check& c, uint16_t port,
                       std::chrono::milliseconds timeout = 2s) {
  auto probe = make_probe(io, c, port);
  auto r = run_probe(io, *probe, timeout);
  if (!r) return ProbeResult{false, "no result", {}, {}, {}};
  return *r;
}

TEST(HttpProbe, StatusInTheDefaultRangeIsUp) {
  boost::asio::io_context io;
  ScriptedServer server(io, always(204, ""));
  auto r = probe_once(io, http_check(), server.port());
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.reason, "status 204");
  ASSERT_EQ(server.requests().size(), 1u);
  const auto& req = server.requests()[0];
  EXPECT_TRUE(req.starts_with("GET /healthz HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << req;
}

TEST(HttpProbe, WrongStatusIsDown) {
  boost::asio::io_context io;
  ScriptedServer server(io, always(503));
  auto r = probe_once(io, http_check(), server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "status 503 not in 200-299");
}

TEST(HttpProbe, StatusListAndRanges) {
  boost::asio::io_context io;
  auto c = http_check();
  c.http.status = {{200, 200}, {401, 404}};
  for (auto [status, ok] : std::vector<std::pair<int, bool>>{
           {200, true}, {201, false}, {403, true}, {404, true}, {302, false}}) {
    ScriptedServer server(io, always(status));
    auto r = probe_once(io, c, server.port());
    EXPECT_EQ(r.ok, ok) << status << ": " << r.reason;
    if (!ok) {
      EXPECT_EQ(r.reason, "status " + std::to_string(status) + " not in 200,401-404");
    }
  }
}

TEST(HttpProbe, MethodHostHeadersAndBasicAuth) {
  boost::asio::io_context io;
  ScriptedServer server(io, always(200));
  auto c = http_check("status?full=1");
  c.http.method = "OPTIONS";
  c.http.host = "www.example.test";
  c.http.headers = {{"X-Check", "lvsd"}, {"Accept", "text/plain"}};
  c.http.username = "lb";
  c.http.password = "s3cret";
  auto r = probe_once(io, c, server.port());
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_EQ(server.requests().size(), 1u);
  const auto& req = server.requests()[0];
  EXPECT_TRUE(req.starts_with("OPTIONS /status?full=1 HTTP/1.1\r\n")) << req;
  // The configured Host, sent as is, while the connection went to 127.0.0.1.
  EXPECT_NE(req.find("\r\nHost: www.example.test\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nX-Check: lvsd\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nAccept: text/plain\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nAuthorization: Basic bGI6czNjcmV0\r\n"), std::string::npos) << req;
}

TEST(HttpProbe, HeadSendsNoBodyRequest) {
  boost::asio::io_context io;
  ScriptedServer server(io, [](const std::string&) {
    return Reply{0ms, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"};
  });
  auto c = http_check();
  c.http.method = "HEAD";
  auto r = probe_once(io, c, server.port());
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(server.requests()[0].starts_with("HEAD /healthz HTTP/1.1")) << server.requests()[0];
}

TEST(HttpProbe, BodyRegex) {
  boost::asio::io_context io;
  ScriptedServer server(io, always(200, "{\"status\":\"ready\"}"));
  auto c = http_check();
  c.http.body_regex = "\"status\":\"ready\"";
  EXPECT_TRUE(probe_once(io, c, server.port()).ok);
  c.http.body_regex = "\"status\":\"(green|ok)\"";
  auto r = probe_once(io, c, server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "status 200, body does not match body_regex");
}

TEST(HttpProbe, BodyDigest) {
  boost::asio::io_context io;
  ScriptedServer server(io, always(200, "hello\n"));
  auto c = http_check();
  c.http.body_digest = "b1946ac92492d2347c6235b4d2611184";  // md5("hello\n")
  auto ok = probe_once(io, c, server.port());
  EXPECT_TRUE(ok.ok) << ok.reason;
  c.http.body_digest = "00000000000000000000000000000000";
  auto r = probe_once(io, c, server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason,
            "status 200, body digest b1946ac92492d2347c6235b4d2611184 != "
            "00000000000000000000000000000000");
}

TEST(HttpProbe, SlowServerTimesOut) {
  boost::asio::io_context io;
  ScriptedServer server(io, always(200, "late", 5s));
  auto start = std::chrono::steady_clock::now();
  auto r = probe_once(io, http_check(), server.port(), 300ms);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "timeout after 300ms");
  EXPECT_LT(took, 2s);
}

TEST(HttpProbe, ResetIsDown) {
  boost::asio::io_context io;
  ScriptedServer server(io, [](const std::string&) { return Reply{0ms, "", Reply::End::reset}; });
  auto r = probe_once(io, http_check(), server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "receive: connection reset by peer");
}

TEST(HttpProbe, ClosedBeforeAResponseIsDown) {
  boost::asio::io_context io;
  ScriptedServer server(io, [](const std::string&) { return Reply{0ms, ""}; });
  auto r = probe_once(io, http_check(), server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connection closed before a response");
}

TEST(HttpProbe, GarbageIsABadResponse) {
  boost::asio::io_context io;
  ScriptedServer server(io, [](const std::string&) { return Reply{0ms, "SSH-2.0-OpenSSH\r\n"}; });
  auto r = probe_once(io, http_check(), server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.reason.starts_with("bad response: ")) << r.reason;
}

TEST(HttpProbe, ChunkedAndCloseDelimitedBodies) {
  boost::asio::io_context io;
  ScriptedServer chunked(io, [](const std::string&) {
    return Reply{0ms,
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"};
  });
  ScriptedServer until_close(io, [](const std::string&) {
    return Reply{0ms, "HTTP/1.1 200 OK\r\n\r\nhello, world"};
  });
  auto c = http_check();
  c.http.body_regex = "^hello, world$";
  auto r1 = probe_once(io, c, chunked.port());
  EXPECT_TRUE(r1.ok) << r1.reason;
  auto r2 = probe_once(io, c, until_close.port());
  EXPECT_TRUE(r2.ok) << r2.reason;
  // Truncation applies to chunked bodies too.
  c.http.max_body = 5;
  c.http.body_regex = "^hello$";
  auto r3 = probe_once(io, c, chunked.port());
  EXPECT_TRUE(r3.ok) << r3.reason;
}

TEST(HttpProbe, LargeResponseHeaderWithinTheLimit) {
  boost::asio::io_context io;
  ScriptedServer server(io, [](const std::string&) {
    return Reply{0ms, "HTTP/1.1 200 OK\r\nSet-Cookie: " + std::string(20000, 'c') +
                          "\r\nContent-Length: 2\r\n\r\nok"};
  });
  auto r = probe_once(io, http_check(), server.port());
  EXPECT_TRUE(r.ok) << r.reason;
}

TEST(HttpProbe, CloseMidBodyIsDown) {
  boost::asio::io_context io;
  ScriptedServer server(io, [](const std::string&) {
    return Reply{0ms, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b"};
  });
  auto r = probe_once(io, http_check(), server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connection closed mid-body, 90 bytes remaining");
}

TEST(HttpProbe, ConnectionRefusedIsDown) {
  boost::asio::io_context io;
  uint16_t port = test::free_port();
  auto r = probe_once(io, http_check(), port);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connect: connection refused");
}

TEST(HttpProbe, ReadsAtMostMaxBody) {
  boost::asio::io_context io;
  // 4 MB, "HEAD" at the start and "TAIL" at the end.
  std::string big = "HEAD" + std::string(4 << 20, 'x') + "TAIL";
  ScriptedServer server(io, always(200, big));
  auto c = http_check();
  c.http.max_body = 1000;
  auto plain = probe_once(io, c, server.port());
  EXPECT_TRUE(plain.ok) << plain.reason;
  c.http.body_regex = "^HEAD";
  auto head = probe_once(io, c, server.port());
  EXPECT_TRUE(head.ok) << head.reason;
  c.http.body_regex = "TAIL";
  auto tail = probe_once(io, c, server.port());
  EXPECT_FALSE(tail.ok);
  EXPECT_EQ(tail.reason, "status 200, body does not match body_regex (first max_body bytes)");
  // Within max_body, the whole body is read and matched.
  c.http.max_body = (4 << 20) + 8;
  auto all = probe_once(io, c, server.port(), 5s);
  EXPECT_TRUE(all.ok) << all.reason;
}

TEST(HttpProbe, RedirectPolicy) {
  boost::asio::io_context io;
  ScriptedServer server(io, [](const std::string& req) {
    if (req.starts_with("GET /old"))
      return Reply{0ms, http_response(301, "", "Location: /new\r\n")};
    return Reply{0ms, http_response(200, "new")};
  });
  auto c = http_check("/old");
  auto not_followed = probe_once(io, c, server.port());
  EXPECT_FALSE(not_followed.ok);
  EXPECT_EQ(not_followed.reason, "status 301 not in 200-299");
  c.http.follow_redirects = true;
  auto followed = probe_once(io, c, server.port());
  EXPECT_TRUE(followed.ok) << followed.reason;
  c.http.max_redirects = 0;
  auto limited = probe_once(io, c, server.port());
  EXPECT_FALSE(limited.ok);
  EXPECT_NE(limited.reason.find("redirects"), std::string::npos) << limited.reason;
}

TEST(HttpProbe, RedirectsStayOnTheRealserverWithTheConfiguredHost) {
  boost::asio::io_context io;
  // An absolute Location naming the host: the connection still goes to the
  // target (no resolution of www.example.test).
  uint16_t port = 0;
  ScriptedServer real(io, [&](const std::string& req) {
    if (req.starts_with("GET /old"))
      return Reply{0ms, http_response(302, "",
                                      "Location: http://www.example.test:" + std::to_string(port) +
                                          "/new\r\n")};
    return Reply{0ms, http_response(200, "new")};
  });
  port = real.port();
  auto c = http_check("/old");
  c.http.host = "www.example.test";
  c.http.follow_redirects = true;
  auto r = probe_once(io, c, real.port());
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_EQ(real.requests().size(), 2u);
  EXPECT_TRUE(real.requests()[1].starts_with("GET /new")) << real.requests()[1];
}

TEST(HttpProbe, RelativeRedirectsResolveAgainstThePath) {
  boost::asio::io_context io;
  ScriptedServer server(io, [](const std::string& req) {
    if (req.starts_with("GET /dir/old "))
      return Reply{0ms, http_response(302, "", "Location: a/./../new?x=1#frag\r\n")};
    return Reply{0ms, http_response(200, "new")};
  });
  auto c = http_check("/dir/old");
  c.http.follow_redirects = true;
  auto r = probe_once(io, c, server.port());
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_TRUE(server.requests()[1].starts_with("GET /dir/new?x=1 HTTP/1.1\r\n"))
      << server.requests()[1];
}

TEST(HttpProbe, RedirectToHttpsIsNotFollowed) {
  boost::asio::io_context io;
  ScriptedServer server(io, [](const std::string&) {
    return Reply{0ms, http_response(301, "", "Location: https://www.example.test/\r\n")};
  });
  auto c = http_check("/");
  c.http.follow_redirects = true;
  auto r = probe_once(io, c, server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason,
            "status 301: redirect to https://www.example.test/ not followed: an http check does "
            "not speak https");
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpProbe, SeeOtherTurnsPostIntoGetAndAnotherHostGetsNoCredentials) {
  boost::asio::io_context io;
  uint16_t port = 0;
  ScriptedServer server(io, [&](const std::string& req) {
    if (req.starts_with("POST /form "))
      return Reply{0ms, http_response(303, "", "Location: /done\r\n")};
    if (req.starts_with("GET /done "))
      return Reply{0ms, http_response(307, "",
                                      "Location: http://other.test:" + std::to_string(port) +
                                          "/elsewhere\r\n")};
    return Reply{0ms, http_response(200, "ok")};
  });
  port = server.port();
  auto c = http_check("/form");
  c.http.method = "POST";
  c.http.host = "www.example.test";
  c.http.username = "lb";
  c.http.password = "pw";
  c.http.follow_redirects = true;
  auto r = probe_once(io, c, server.port());
  EXPECT_TRUE(r.ok) << r.reason;
  const auto& reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_NE(reqs[0].find("\r\nAuthorization: Basic "), std::string::npos) << reqs[0];
  EXPECT_TRUE(reqs[1].starts_with("GET /done HTTP/1.1\r\n")) << reqs[1];
  EXPECT_NE(reqs[1].find("\r\nHost: www.example.test\r\n"), std::string::npos) << reqs[1];
  EXPECT_NE(reqs[1].find("\r\nAuthorization: Basic "), std::string::npos) << reqs[1];
  EXPECT_TRUE(reqs[2].starts_with("GET /elsewhere HTTP/1.1\r\n")) << reqs[2];
  EXPECT_NE(reqs[2].find("\r\nHost: other.test:" + std::to_string(port) + "\r\n"),
            std::string::npos)
      << reqs[2];
  EXPECT_EQ(reqs[2].find("Authorization"), std::string::npos) << reqs[2];
}

TEST(HttpProbe, ClosesWithAResetOnceTheAnswerIsIn) {
  // The server answers with a Content-Length and keeps the connection: the
  // probe has all it needs and closes with a reset, leaving no TIME_WAIT.
  boost::asio::io_context io;
  test::CloseWatch server(io, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  auto r = probe_once(io, http_check(), server.port());
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_TRUE(test::run_until(io, [&] { return server.closed().has_value(); }));
  EXPECT_EQ(*server.closed(), boost::asio::error::connection_reset);
}

TEST(HttpProbe, ManyConcurrentProbes) {
  boost::asio::io_context io;
  ScriptedServer fast(io, always(200, "ok"));
  ScriptedServer slow(io, always(200, "ok", 100ms));
  ScriptedServer bad(io, always(500));
  std::vector<std::unique_ptr<Probe>> probes;
  std::vector<std::optional<ProbeResult>> results(60);
  for (int i = 0; i < 60; ++i) {
    uint16_t port = i % 3 == 0 ? fast.port() : i % 3 == 1 ? slow.port() : bad.port();
    probes.push_back(make_http_probe(io, http_check(), {kLocal, port}));
    probes.back()->run(3s, [&results, i](ProbeResult r) { results[i] = std::move(r); });
  }
  ASSERT_TRUE(test::run_until(io, [&] {
    return std::all_of(results.begin(), results.end(), [](auto& r) { return r.has_value(); });
  }));
  for (int i = 0; i < 60; ++i)
    EXPECT_EQ(results[i]->ok, i % 3 != 2) << i << results[i]->reason;
  EXPECT_EQ(fast.accepted() + slow.accepted() + bad.accepted(), 60);
}

TEST(HttpProbe, CancelInFlightThenReuse) {
  boost::asio::io_context io;
  ScriptedServer server(io, always(200, "ok", 300ms));
  auto probe = make_http_probe(io, http_check(), {kLocal, server.port()});
  bool called = false;
  probe->run(2s, [&](ProbeResult) { called = true; });
  test::run_until(
      io, [&] { return server.accepted() == 1; }, 2s);
  probe->cancel();
  io.restart();
  io.run_for(400ms);
  EXPECT_FALSE(called);
  for (int i = 0; i < 3; ++i) {
    auto r = run_probe(io, *probe, 2s);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->ok) << r->reason;
  }
  // Destroyed in flight: no callback, nothing left in the multi.
  probe->run(2s, [&](ProbeResult) { called = true; });
  probe.reset();
  io.restart();
  io.run_for(400ms);
  EXPECT_FALSE(called);
}

TEST(HttpProbe, UnknownBindInterfaceFails) {
  boost::asio::io_context io;
  ScriptedServer server(io, always(200));
  auto c = http_check();
  c.bind_interface = "nosuchif0";
  auto r = probe_once(io, c, server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("nosuchif0"), std::string::npos) << r.reason;
}

// ------------------------------------------------------------------ https

struct Https : ::testing::Test {
  test::TempDir dir;
  test::Pki pki{dir};
  boost::asio::io_context io;

  config::Check https_check(std::string host = "www.example.test") {
    config::Check c;
    c.type = config::CheckType::https;
    c.http.path = "/";
    c.http.host = std::move(host);
    c.tls.ca_file = pki.ca_file;
    return c;
  }
  ScriptedServer tls_server(const test::Cert& leaf, const test::Cert* client_ca = nullptr) {
    return ScriptedServer(io, always(200, "secure"), "\r\n\r\n", test::server_tls(leaf, client_ca));
  }
};

TEST_F(Https, CaSignedCertificateWithSniVerifies) {
  auto server = tls_server(pki.good);
  auto r = probe_once(io, https_check(), server.port());
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_TRUE(r.cert_days_left);
  EXPECT_GE(*r.cert_days_left, 29);
  EXPECT_LE(*r.cert_days_left, 30);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_NE(server.requests()[0].find("\r\nHost: www.example.test\r\n"), std::string::npos);
}

TEST_F(Https, SniOptionOverridesTheHostForTheCertificateName) {
  auto server = tls_server(pki.good);
  auto c = https_check("app.internal");
  c.tls.sni = "www.example.test";
  auto r = probe_once(io, c, server.port());
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_NE(server.requests()[0].find("\r\nHost: app.internal\r\n"), std::string::npos);
}

TEST_F(Https, WrongNameFails) {
  auto server = tls_server(pki.good);
  auto r = probe_once(io, https_check("other.example.test"), server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("other.example.test"), std::string::npos) << r.reason;
}

TEST_F(Https, NoNameVerifiesTheAddress) {
  auto server = tls_server(pki.good);  // has IP:127.0.0.1
  auto r = probe_once(io, https_check(""), server.port());
  EXPECT_TRUE(r.ok) << r.reason;
  auto other = tls_server(pki.soon);  // DNS name only
  auto r2 = probe_once(io, https_check(""), other.port());
  EXPECT_FALSE(r2.ok);
}

TEST_F(Https, SelfSignedFailsUnlessVerificationIsOff) {
  auto server = tls_server(pki.self_signed);
  auto r = probe_once(io, https_check(), server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("certificate"), std::string::npos) << r.reason;
  auto c = https_check();
  c.tls.verify_peer = false;
  auto off = probe_once(io, c, server.port());
  EXPECT_TRUE(off.ok) << off.reason;
}

TEST_F(Https, ExpiredFailsUnlessVerificationIsOff) {
  auto server = tls_server(pki.expired);
  auto r = probe_once(io, https_check(), server.port());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("expired"), std::string::npos) << r.reason;
  auto c = https_check();
  c.tls.verify_peer = false;
  auto off = probe_once(io, c, server.port());
  EXPECT_TRUE(off.ok) << off.reason;
  ASSERT_TRUE(off.cert_days_left);
  EXPECT_LE(*off.cert_days_left, -1);
}

TEST_F(Https, ClientCertificateRequired) {
  auto server = tls_server(pki.good, &pki.ca);
  auto without = probe_once(io, https_check(), server.port());
  EXPECT_FALSE(without.ok);
  auto c = https_check();
  c.tls.client_cert = pki.client_cert;
  c.tls.client_key = pki.client_key;
  auto with = probe_once(io, c, server.port());
  EXPECT_TRUE(with.ok) << with.reason;
}

TEST_F(Https, ManyConcurrentProbesShareOneMulti) {
  auto fast = ScriptedServer(io, always(200, "ok"), "\r\n\r\n", test::server_tls(pki.good));
  auto slow = ScriptedServer(io, always(200, "ok", 100ms), "\r\n\r\n", test::server_tls(pki.good));
  std::vector<std::unique_ptr<Probe>> probes;
  std::vector<std::optional<ProbeResult>> results(20);
  for (int i = 0; i < 20; ++i) {
    probes.push_back(
        make_https_probe(io, https_check(), {kLocal, i % 2 ? fast.port() : slow.port()}));
    probes.back()->run(5s, [&results, i](ProbeResult r) { results[i] = std::move(r); });
  }
  EXPECT_EQ(CurlMulti::of(io).active(), 20u);
  ASSERT_TRUE(test::run_until(
      io,
      [&] {
        return std::all_of(results.begin(), results.end(), [](auto& r) { return r.has_value(); });
      },
      10s));
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(results[i]->ok) << i << results[i]->reason;
  EXPECT_EQ(CurlMulti::of(io).active(), 0u);
}

TEST_F(Https, CancelInFlightLeavesNothingInTheMulti) {
  auto server =
      ScriptedServer(io, always(200, "ok", 300ms), "\r\n\r\n", test::server_tls(pki.good));
  auto probe = make_https_probe(io, https_check(), {kLocal, server.port()});
  bool called = false;
  probe->run(2s, [&](ProbeResult) { called = true; });
  test::run_until(
      io, [&] { return server.accepted() == 1; }, 2s);
  probe->cancel();
  EXPECT_EQ(CurlMulti::of(io).active(), 0u);
  io.restart();
  io.run_for(400ms);
  EXPECT_FALSE(called);
  auto r = run_probe(io, *probe, 3s);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << r->reason;
  probe->run(2s, [&](ProbeResult) { called = true; });
  probe.reset();
  io.restart();
  io.run_for(400ms);
  EXPECT_FALSE(called);
  EXPECT_EQ(CurlMulti::of(io).active(), 0u);
}

// ------------------------------------------------------------------ nginx

struct NginxHttp : ::testing::Test {
  void SetUp() override {
    if (!test::Nginx::available()) GTEST_SKIP() << "no " << test::Nginx::kBinary;
    std::filesystem::create_directories(dir.path() / "www");
    dir.write("www/index.html", "hello from nginx\n");
    dir.write("cert.pem", pki.good.cert_pem() + pki.ca.cert_pem());
    dir.write("key.pem", pki.good.key_pem());
    http_port = test::free_port();
    https_port = test::free_port();
    auto p = dir.path().string();
    std::string locations = "    root " + p + "/www;\n" +
                            "    location = /health { return 200 \"healthy\\n\"; }\n"
                            "    location = /down { return 503; }\n"
                            "    location = /moved { return 301 /health; }\n";
    nginx.emplace(
        dir, "  server {\n    listen 127.0.0.1:" + std::to_string(http_port) + ";\n" + locations +
                 "  }\n  server {\n    listen 127.0.0.1:" + std::to_string(https_port) +
                 " ssl;\n    server_name www.example.test;\n    ssl_certificate " + p +
                 "/cert.pem;\n    ssl_certificate_key " + p + "/key.pem;\n" + locations + "  }\n");
    ASSERT_TRUE(nginx->wait_listening({http_port, https_port})) << nginx->error_log();
  }
  test::TempDir dir;
  test::Pki pki{dir};
  uint16_t http_port = 0;
  uint16_t https_port = 0;
  std::optional<test::Nginx> nginx;
  boost::asio::io_context io;
};

TEST_F(NginxHttp, Http) {
  auto c = http_check("/health");
  c.http.body_regex = "^healthy\\s*$";
  auto r = probe_once(io, c, http_port);
  EXPECT_TRUE(r.ok) << r.reason;
  auto down = probe_once(io, http_check("/down"), http_port);
  EXPECT_FALSE(down.ok);
  EXPECT_EQ(down.reason, "status 503 not in 200-299");
  auto missing = probe_once(io, http_check("/nope"), http_port);
  EXPECT_EQ(missing.reason, "status 404 not in 200-299");
  auto idx = http_check("/index.html");
  idx.http.body_digest = "42b5d4a8d1a3d0a8a1a6c1c4ea3d4b0c";  // wrong on purpose
  auto wrong = probe_once(io, idx, http_port);
  EXPECT_FALSE(wrong.ok);
  idx.http.body_digest = wrong.reason.substr(wrong.reason.find("digest ") + 7, 32);
  auto right = probe_once(io, idx, http_port);
  EXPECT_TRUE(right.ok) << right.reason;
  auto moved = http_check("/moved");
  moved.http.follow_redirects = true;
  auto followed = probe_once(io, moved, http_port);
  EXPECT_TRUE(followed.ok) << followed.reason;
}

TEST_F(NginxHttp, Https) {
  config::Check c;
  c.type = config::CheckType::https;
  c.http.path = "/health";
  c.http.host = "www.example.test";
  c.tls.ca_file = pki.ca_file;
  auto r = probe_once(io, c, https_port);
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_TRUE(r.cert_days_left);
  EXPECT_GE(*r.cert_days_left, 29);
  c.tls.ca_file = "";  // the system store does not know the test CA
  auto untrusted = probe_once(io, c, https_port);
  EXPECT_FALSE(untrusted.ok);
  c.tls.verify_peer = false;
  auto unverified = probe_once(io, c, https_port);
  EXPECT_TRUE(unverified.ok) << unverified.reason;
}

}  // namespace
}  // namespace lvsd::checkers
