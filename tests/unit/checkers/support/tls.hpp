#pragma once
// Server-side TLS contexts from certificates made at test time, and a set of
// PKI files (CA, leaves) written to a TempDir for the probes' options.
#include <memory>

#include <boost/asio/ssl.hpp>

#include "unit/checkers/support/certs.hpp"
#include "unit/checkers/support/temp_dir.hpp"

namespace lvsd::checkers::test {

inline std::shared_ptr<boost::asio::ssl::context> server_tls(const Cert& leaf,
                                                             const Cert* client_ca = nullptr) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  auto cert = leaf.cert_pem();
  auto key = leaf.key_pem();
  ctx->use_certificate(boost::asio::buffer(cert), ssl::context::pem);
  ctx->use_private_key(boost::asio::buffer(key), ssl::context::pem);
  if (client_ca) {
    auto ca = client_ca->cert_pem();
    ctx->add_certificate_authority(boost::asio::buffer(ca));
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

// One CA and the leaves the TLS tests use, made once per test.
struct Pki {
  static CertSpec spec(std::string cn, std::vector<std::string> san, long not_before_days,
                       long not_after_days, bool ca = false) {
    CertSpec s;
    s.cn = std::move(cn);
    s.san = std::move(san);
    s.not_before_days = not_before_days;
    s.not_after_days = not_after_days;
    s.ca = ca;
    return s;
  }

  explicit Pki(const TempDir& dir)
      : ca(make_cert(spec("lvsd test CA", {}, -1, 365, true))),
        good(make_cert(spec("www.example.test", {"DNS:www.example.test", "IP:127.0.0.1"}, -1, 30),
                       &ca)),
        expired(make_cert(spec("www.example.test", {"DNS:www.example.test"}, -30, -2), &ca)),
        soon(make_cert(spec("www.example.test", {"DNS:www.example.test"}, -1, 5), &ca)),
        self_signed(make_cert(spec("www.example.test", {"DNS:www.example.test"}, -1, 30))),
        client(make_cert(spec("lvsd checker", {}, -1, 30), &ca)),
        ca_file(dir.write("ca.pem", ca.cert_pem())),
        client_cert(dir.write("client.pem", client.cert_pem())),
        client_key(dir.write("client.key", client.key_pem())) {}

  Cert ca, good, expired, soon, self_signed, client;
  std::string ca_file, client_cert, client_key;
};

}  // namespace lvsd::checkers::test
