// ssl: a TLS handshake with Asio + OpenSSL: SNI, chain and name verification
// per the check's options, client certificate, and the days until the peer
// certificate expires (a warning is logged when below expiry_warning).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

#include "checkers/probes/probe_io.hpp"
#include "checkers/probes/probes.hpp"
#include "checkers/probes/text.hpp"

namespace lvsd::checkers {

namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

std::string openssl_error(const boost::system::error_code& ec, const SSL* handle, bool verify) {
  if (verify) {
    long v = SSL_get_verify_result(handle);
    if (v != X509_V_OK)
      return std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
  }
  if (ec.category() == asio::error::get_ssl_category()) {
    char buf[256];
    ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
    // "error:0A000410:SSL routines::sslv3 alert handshake failure" -> the tail.
    std::string s = buf;
    auto pos = s.rfind(':');
    return pos == std::string::npos ? s : s.substr(pos + 1);
  }
  return text::error_text(ec);
}

class SslAttempt : public std::enable_shared_from_this<SslAttempt> {
 public:
  SslAttempt(asio::io_context& io, std::shared_ptr<ssl::context> ctx, const config::Check& check,
             const ProbeTarget& target, std::string server_name)
      : io_(io),
        ctx_(std::move(ctx)),
        check_(check),
        target_(target),
        server_name_(std::move(server_name)),
        stream_(io, *ctx_),
        timer_(io) {}

  void start(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) {
    done_ = std::move(done);
    timeout_ = timeout;
    start_ = std::chrono::steady_clock::now();
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](auto ec) {
      if (!ec) self->finish(false, probe_io::timeout_reason(self->timeout_));
    });

    SSL* h = stream_.native_handle();
    if (!server_name_.empty()) SSL_set_tlsext_host_name(h, server_name_.c_str());
    if (check_.tls.verify_peer) {
      // The name the certificate must carry: the SNI name, else the address.
      if (!server_name_.empty())
        SSL_set1_host(h, server_name_.c_str());
      else
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(h), target_.address.to_string().c_str());
    }

    tcp::endpoint ep(target_.address, target_.port);
    auto& sock = stream_.lowest_layer();
    boost::system::error_code ec;
    sock.open(ep.protocol(), ec);
    if (ec) return post_fail("socket: " + text::error_text(ec));
    if (auto err = probe_io::prepare_socket(sock.native_handle(), check_, target_.address);
        !err.empty())
      return post_fail(err);
    sock.async_connect(ep, [self = shared_from_this()](auto ec) { self->on_connect(ec); });
  }

  void cancel() {
    finished_ = true;
    close();
  }

 private:
  void on_connect(const boost::system::error_code& ec) {
    if (finished_) return;
    if (ec) return finish(false, "connect: " + text::error_text(ec));
    stream_.async_handshake(ssl::stream_base::client,
                            [self = shared_from_this()](auto ec) { self->on_handshake(ec); });
  }

  void on_handshake(const boost::system::error_code& ec) {
    if (finished_) return;
    SSL* h = stream_.native_handle();
    std::optional<int> days;
    if (X509* cert = SSL_get0_peer_certificate(h)) {
      int d = 0, s = 0;
      if (ASN1_TIME_diff(&d, &s, nullptr, X509_get0_notAfter(cert))) days = d;
    }
    cert_days_ = days;
    if (ec) return finish(false, "TLS handshake: " + openssl_error(ec, h, check_.tls.verify_peer));
    std::string note = fmt::format("TLS handshake ok ({})", SSL_get_version(h));
    if (days) {
      auto warn_days =
          std::chrono::duration_cast<std::chrono::hours>(check_.tls.expiry_warning).count() / 24;
      note += fmt::format(", certificate expires in {} days", *days);
      if (*days < warn_days) {
        note += " (below expiry_warning)";
        spdlog::warn("ssl check {}:{}: peer certificate expires in {} days", ip_text(),
                     target_.port, *days);
      }
    }
    finish(true, std::move(note));
  }

  std::string ip_text() const {
    return target_.address.is_v6() ? "[" + target_.address.to_string() + "]"
                                   : target_.address.to_string();
  }

  void post_fail(std::string reason) {
    asio::post(io_, [self = shared_from_this(), reason = std::move(reason)]() mutable {
      self->finish(false, std::move(reason));
    });
  }

  void finish(bool ok, std::string reason) {
    if (finished_) return;
    finished_ = true;
    close();
    ProbeResult r{.ok = ok,
                  .reason = std::move(reason),
                  .latency = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start_),
                  .weight = std::nullopt,
                  .cert_days_left = cert_days_};
    auto done = std::move(done_);
    done(std::move(r));
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    stream_.lowest_layer().close(ignored);
  }

  asio::io_context& io_;
  std::shared_ptr<ssl::context> ctx_;
  const config::Check& check_;
  ProbeTarget target_;
  std::string server_name_;
  ssl::stream<tcp::socket> stream_;
  asio::steady_timer timer_;
  std::function<void(ProbeResult)> done_;
  std::chrono::milliseconds timeout_{0};
  std::chrono::steady_clock::time_point start_{};
  std::optional<int> cert_days_;
  bool finished_ = false;
};

class SslProbe final : public Probe {
 public:
  SslProbe(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : io_(io), check_(check), target_(target) {
    const auto& t = check_.tls;
    server_name_ = !t.sni.empty() ? t.sni : check_.http.host;
    ctx_ = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3);
    // Verification runs always (to report why); it fails the handshake only
    // with verify_peer.
    ctx_->set_verify_mode(t.verify_peer ? ssl::verify_peer : ssl::verify_none);
    boost::system::error_code ec;
    if (!t.ca_file.empty())
      ctx_->load_verify_file(t.ca_file, ec);
    else
      ctx_->set_default_verify_paths(ec);
    if (ec) config_error_ = "ca_file " + t.ca_file + ": " + ec.message();
    if (!t.client_cert.empty()) {
      ctx_->use_certificate_chain_file(t.client_cert, ec);
      if (ec && config_error_.empty())
        config_error_ = "client_cert " + t.client_cert + ": " + ec.message();
    }
    if (!t.client_key.empty()) {
      ctx_->use_private_key_file(t.client_key, ssl::context::pem, ec);
      if (ec && config_error_.empty())
        config_error_ = "client_key " + t.client_key + ": " + ec.message();
    }
  }
  ~SslProbe() override { cancel(); }

  void run(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) override {
    cancel();
    if (!config_error_.empty()) {
      uint64_t gen = ++generation_;
      asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), gen, done = std::move(done)] {
        if (!alive.expired() && gen == generation_) {
          ProbeResult r;
          r.reason = config_error_;
          done(std::move(r));
        }
      });
      return;
    }
    current_ = std::make_shared<SslAttempt>(io_, ctx_, check_, target_, server_name_);
    current_->start(timeout, std::move(done));
  }
  void cancel() override {
    ++generation_;
    if (current_) current_->cancel();
    current_.reset();
  }

 private:
  asio::io_context& io_;
  config::Check check_;
  ProbeTarget target_;
  std::string server_name_;
  std::shared_ptr<ssl::context> ctx_;
  std::string config_error_;
  std::shared_ptr<SslAttempt> current_;
  uint64_t generation_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // for posted handlers
};

}  // namespace

std::unique_ptr<Probe> make_ssl_probe(asio::io_context& io, const config::Check& check,
                                      const ProbeTarget& target) {
  return std::make_unique<SslProbe>(io, check, target);
}

}  // namespace lvsd::checkers
