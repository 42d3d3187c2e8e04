// ssl probe against an Asio TLS server on 127.0.0.1 with certificates made at
// test time.
#include <gtest/gtest.h>

#include "checkers/probes/probes.hpp"
#include "unit/checkers/support/io_wait.hpp"
#include "unit/checkers/support/nginx.hpp"
#include "unit/checkers/support/scripted_server.hpp"
#include "unit/checkers/support/tls.hpp"

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;
using test::Reply;
using test::run_probe;
using test::ScriptedServer;

const auto kLocal = boost::asio::ip::make_address("127.0.0.1");

struct SslProbeTest : ::testing::Test {
  test::TempDir dir;
  test::Pki pki{dir};
  boost::asio::io_context io;

  config::Check ssl_check(std::string sni = "www.example.test") {
    config::Check c;
    c.type = config::CheckType::ssl;
    c.tls.sni = std::move(sni);
    c.tls.ca_file = pki.ca_file;
    return c;
  }
  ScriptedServer server(const test::Cert& leaf, const test::Cert* client_ca = nullptr) {
    return server_ctx(test::server_tls(leaf, client_ca));
  }
  ScriptedServer server_ctx(std::shared_ptr<boost::asio::ssl::context> ctx) {
    return ScriptedServer(
        io, [](const std::string&) { return Reply{}; }, "", std::move(ctx));
  }
  ProbeResult probe(const config::Check& c, uint16_t port, std::chrono::milliseconds t = 2s) {
    auto p = make_ssl_probe(io, c, {kLocal, port});
    auto r = run_probe(io, *p, t);
    if (!r) return ProbeResult{false, "no result", {}, {}, {}};
    return *r;
  }
};

TEST_F(SslProbeTest, CaSignedVerifiesAndReportsExpiry) {
  auto s = server(pki.good);
  auto r = probe(ssl_check(), s.port());
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_TRUE(r.cert_days_left);
  EXPECT_GE(*r.cert_days_left, 29);
  EXPECT_LE(*r.cert_days_left, 30);
  EXPECT_NE(r.reason.find("certificate expires in"), std::string::npos) << r.reason;
  EXPECT_EQ(r.reason.find("below expiry_warning"), std::string::npos) << r.reason;
}

TEST_F(SslProbeTest, SendsTheSni) {
  auto ctx = test::server_tls(pki.good);
  static std::string seen;
  seen.clear();
  SSL_CTX_set_tlsext_servername_callback(
      ctx->native_handle(), +[](SSL* ssl, int*, void*) {
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        seen = name ? name : "";
        return SSL_TLSEXT_ERR_OK;
      });
  auto s = server_ctx(ctx);
  auto r = probe(ssl_check(), s.port());
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(seen, "www.example.test");
  // Without sni, the http host is the name; without either, none is sent.
  auto c = ssl_check("");
  c.http.host = "www.example.test";
  seen = "unset";
  EXPECT_TRUE(probe(c, s.port()).ok);
  EXPECT_EQ(seen, "www.example.test");
  seen = "unset";
  auto none = probe(ssl_check(""), s.port());  // verifies IP:127.0.0.1
  EXPECT_TRUE(none.ok) << none.reason;
  EXPECT_EQ(seen, "");  // the callback ran, with no name
}

TEST_F(SslProbeTest, ExpiringSoonIsUpWithAWarning) {
  auto s = server(pki.soon);  // 5 days < expiry_warning 14d
  auto r = probe(ssl_check(), s.port());
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_TRUE(r.cert_days_left);
  EXPECT_LE(*r.cert_days_left, 5);
  EXPECT_NE(r.reason.find("below expiry_warning"), std::string::npos) << r.reason;
  auto c = ssl_check();
  c.tls.expiry_warning = std::chrono::hours(24);
  EXPECT_EQ(probe(c, s.port()).reason.find("below"), std::string::npos);
}

TEST_F(SslProbeTest, ExpiredFailsUnlessVerificationIsOff) {
  auto s = server(pki.expired);
  auto r = probe(ssl_check(), s.port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "TLS handshake: certificate verify failed: certificate has expired");
  auto c = ssl_check();
  c.tls.verify_peer = false;
  auto off = probe(c, s.port());
  EXPECT_TRUE(off.ok) << off.reason;
  ASSERT_TRUE(off.cert_days_left);
  EXPECT_LT(*off.cert_days_left, 0);
}

TEST_F(SslProbeTest, WrongNameFails) {
  auto s = server(pki.good);
  auto r = probe(ssl_check("other.example.test"), s.port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "TLS handshake: certificate verify failed: hostname mismatch");
}

TEST_F(SslProbeTest, SelfSignedFailsUnlessVerificationIsOff) {
  auto s = server(pki.self_signed);
  auto r = probe(ssl_check(), s.port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "TLS handshake: certificate verify failed: self-signed certificate");
  auto c = ssl_check();
  c.tls.verify_peer = false;
  EXPECT_TRUE(probe(c, s.port()).ok);
}

TEST_F(SslProbeTest, ClientCertificateRequired) {
  auto s = server(pki.good, &pki.ca);
  auto without = probe(ssl_check(), s.port());
  // TLS 1.3: the client learns of the rejection after its handshake ends, so
  // either the handshake fails or the server counts a failure.
  test::run_until(
      io, [&] { return s.handshake_failures() == 1; }, 2s);
  EXPECT_EQ(s.handshake_failures(), 1);
  auto c = ssl_check();
  c.tls.client_cert = pki.client_cert;
  c.tls.client_key = pki.client_key;
  auto with = probe(c, s.port());
  EXPECT_TRUE(with.ok) << with.reason;
  test::run_until(
      io, [&] { return s.accepted() == 2; }, 2s);
  io.restart();
  io.run_for(50ms);
  EXPECT_EQ(s.handshake_failures(), 1);
  (void)without;
}

TEST_F(SslProbeTest, NotTlsFails) {
  ScriptedServer plain(
      io,
      [](const std::string&) {
        return Reply{0ms, "SSH-2.0-OpenSSH\r\n"};
      },
      "");
  auto r = probe(ssl_check(), plain.port());
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.reason.starts_with("TLS handshake: ")) << r.reason;
}

TEST_F(SslProbeTest, SilentServerTimesOut) {
  ScriptedServer silent(
      io,
      [](const std::string&) {
        return Reply{0ms, "", Reply::End::hang};
      },
      "");
  auto start = std::chrono::steady_clock::now();
  auto r = probe(ssl_check(), silent.port(), 250ms);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "timeout after 250ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(SslProbeTest, RefusedFails) {
  auto r = probe(ssl_check(), test::free_port());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connect: connection refused");
}

TEST_F(SslProbeTest, MissingCaFileFailsWithTheReason) {
  auto s = server(pki.good);
  auto c = ssl_check();
  c.tls.ca_file = dir.file("missing.pem");
  auto r = probe(c, s.port());
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.reason.starts_with("ca_file ")) << r.reason;
}

TEST_F(SslProbeTest, CancelAndDestroyInFlight) {
  ScriptedServer silent(
      io,
      [](const std::string&) {
        return Reply{0ms, "", Reply::End::hang};
      },
      "");
  auto p = make_ssl_probe(io, ssl_check(), {kLocal, silent.port()});
  bool called = false;
  p->run(1s, [&](ProbeResult) { called = true; });
  test::run_until(
      io, [&] { return silent.accepted() == 1; }, 2s);
  p->cancel();
  p->run(1s, [&](ProbeResult) { called = true; });
  p.reset();
  io.restart();
  io.run_for(100ms);
  EXPECT_FALSE(called);
}

TEST_F(SslProbeTest, AgainstNginx) {
  if (!test::Nginx::available()) GTEST_SKIP() << "no nginx";
  dir.write("cert.pem", pki.good.cert_pem() + pki.ca.cert_pem());
  dir.write("key.pem", pki.good.key_pem());
  uint16_t port = test::free_port();
  test::Nginx nginx(dir, "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
                             " ssl;\n    ssl_certificate " + dir.file("cert.pem") +
                             ";\n    ssl_certificate_key " + dir.file("key.pem") +
                             ";\n    location / { return 204; }\n  }\n");
  ASSERT_TRUE(nginx.wait_listening({port})) << nginx.error_log();
  auto r = probe(ssl_check(), port);
  EXPECT_TRUE(r.ok) << r.reason;
  auto wrong = probe(ssl_check("nginx.example.test"), port);
  EXPECT_FALSE(wrong.ok);
}

}  // namespace
}  // namespace lvsd::checkers
