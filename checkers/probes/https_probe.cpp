// https: libcurl's multi interface driven by Asio socket events
// (CurlMulti); plain http is http_probe.cpp. Each attempt is a fresh connection to the target
// address; the URL names the configured host (or SNI), and CURLOPT_CONNECT_TO sends every
// connection to the target, so the Host header, SNI and certificate name
// checks use the configured name while no name is ever resolved.
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <strings.h>

#include <algorithm>
#include <regex>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "checkers/probes/curl_multi_asio.hpp"
#include "checkers/probes/http_common.hpp"
#include "checkers/probes/probe_io.hpp"
#include "checkers/probes/probes.hpp"
#include "checkers/probes/text.hpp"

namespace lvsd::checkers {

namespace {

namespace asio = boost::asio;

int ssl_ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

class CurlHttpsProbe final : public Probe {
 public:
  CurlHttpsProbe(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : io_(io), multi_(CurlMulti::of(io)), check_(check), target_(target) {
    body_regex_ = http_common::compile_body_regex(check_.http);
    easy_ = curl_easy_init();
    if (!easy_) throw std::runtime_error("curl_easy_init failed");
    configure();
  }

  ~CurlHttpsProbe() override {
    cancel();
    curl_easy_cleanup(easy_);
    if (headers_) curl_slist_free_all(headers_);
    if (connect_to_) curl_slist_free_all(connect_to_);
  }

  void run(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) override {
    cancel();
    done_ = std::move(done);
    timeout_ = timeout;
    body_.clear();
    truncated_ = false;
    socket_error_.clear();
    cert_days_.reset();
    errbuf_[0] = '\0';
    start_ = std::chrono::steady_clock::now();
    in_flight_ = true;
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    uint64_t gen = ++generation_;
    if (!multi_.add(easy_, [this](CURLcode rc) { on_done(rc); })) {
      asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), gen] {
        if (!alive.expired() && gen == generation_) finish(false, "curl_multi_add_handle failed");
      });
    }
  }

  void cancel() override {
    if (!in_flight_) return;
    in_flight_ = false;
    ++generation_;
    multi_.remove(easy_);
  }

 private:
  void configure() {
    const auto& h = check_.http;
    // The name in the URL: what SNI and certificate checks use, and the
    // default Host.
    std::string name = !check_.tls.sni.empty() ? check_.tls.sni : h.host;
    std::string ip = http_common::ip_literal(target_.address);
    url_ = fmt::format("https://{}:{}{}{}", name.empty() ? ip : name, target_.port,
                       h.path.starts_with('/') ? "" : "/", h.path);
    if (!name.empty()) {
      // Any host, any port -> the target address, same port: redirects stay
      // on this realserver too.
      connect_to_ = curl_slist_append(connect_to_, ("::" + ip + ":").c_str());
      curl_easy_setopt(easy_, CURLOPT_CONNECT_TO, connect_to_);
    }
    if (!http_common::has_header(h, "host")) {
      headers_ = curl_slist_append(
          headers_, ("Host: " + http_common::default_host(check_, target_, true)).c_str());
    }
    for (const auto& [k, v] : h.headers)
      headers_ = curl_slist_append(headers_, (v.empty() ? k + ";" : k + ": " + v).c_str());

    CURL* e = easy_;
    curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");  // never a proxy from the environment
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "lvsd-check");
    // Every check is a fresh connection, as a client's would be.
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    // No DNS cache: targets are IP literals (CONNECT_TO), and libcurl scans
    // its whole host cache to prune it on every transfer, which with one
    // entry per realserver made each check cost O(realservers).
    curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf_);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, h.follow_redirects ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(h.max_redirects));
    if (h.method == "HEAD")
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (h.method != "GET")
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, h.method.c_str());
    if (!h.username.empty() || !h.password.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(e, CURLOPT_USERNAME, h.username.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, h.password.c_str());
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlHttpsProbe::write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, &CurlHttpsProbe::sockopt_cb);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, this);

    const auto& t = check_.tls;
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, t.verify_peer ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, t.verify_peer ? 2L : 0L);
    if (!t.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, t.ca_file.c_str());
    if (!t.client_cert.empty()) curl_easy_setopt(e, CURLOPT_SSLCERT, t.client_cert.c_str());
    if (!t.client_key.empty()) curl_easy_setopt(e, CURLOPT_SSLKEY, t.client_key.c_str());
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, &CurlHttpsProbe::ssl_ctx_cb);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, this);
  }

  static size_t write_cb(char* data, size_t size, size_t n, void* userp) {
    auto* self = static_cast<CurlHttpsProbe*>(userp);
    size_t len = size * n;
    size_t room = self->check_.http.max_body -
                  std::min<size_t>(self->body_.size(), self->check_.http.max_body);
    if (len > room) {
      // Enough read: keep max_body bytes and stop the transfer.
      self->body_.append(data, room);
      self->truncated_ = true;
      return 0;
    }
    self->body_.append(data, len);
    return len;
  }

  static int sockopt_cb(void* clientp, curl_socket_t fd, curlsocktype purpose) {
    auto* self = static_cast<CurlHttpsProbe*>(clientp);
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKOPT_OK;
    self->socket_error_ = probe_io::prepare_socket(fd, self->check_, self->target_.address);
    return self->socket_error_.empty() ? CURL_SOCKOPT_OK : CURL_SOCKOPT_ERROR;
  }

  static CURLcode ssl_ctx_cb(CURL*, void* ssl_ctx, void* userp) {
    auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
    SSL_CTX_set_ex_data(ctx, ssl_ex_index(), userp);
    SSL_CTX_set_info_callback(ctx, [](const SSL* ssl, int where, int) {
      if (!(where & SSL_CB_HANDSHAKE_DONE)) return;
      auto* self =
          static_cast<CurlHttpsProbe*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ex_index()));
      X509* cert = SSL_get0_peer_certificate(ssl);
      int days = 0, secs = 0;
      if (self && cert && ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)))
        self->cert_days_ = days;
    });
    return CURLE_OK;
  }

  void on_done(CURLcode rc) {
    in_flight_ = false;
    if (rc == CURLE_OPERATION_TIMEDOUT) return finish(false, probe_io::timeout_reason(timeout_));
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && truncated_)) {
      if (!socket_error_.empty()) return finish(false, socket_error_);
      return finish(false, errbuf_[0] ? std::string(errbuf_) : curl_easy_strerror(rc));
    }
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    auto verdict = http_common::judge(check_.http, status, body_, truncated_, body_regex_);
    finish(verdict.ok, std::move(verdict.reason));
  }

  void finish(bool ok, std::string reason) {
    in_flight_ = false;
    ProbeResult r{.ok = ok,
                  .reason = std::move(reason),
                  .latency = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start_),
                  .weight = std::nullopt,
                  .cert_days_left = cert_days_};
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(r));
  }

  asio::io_context& io_;
  CurlMulti& multi_;
  config::Check check_;
  ProbeTarget target_;
  std::optional<std::regex> body_regex_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  curl_slist* connect_to_ = nullptr;
  std::string url_;
  char errbuf_[CURL_ERROR_SIZE] = {};

  std::function<void(ProbeResult)> done_;
  std::chrono::milliseconds timeout_{0};
  std::chrono::steady_clock::time_point start_{};
  std::string body_;
  bool truncated_ = false;
  std::string socket_error_;
  std::optional<int> cert_days_;
  bool in_flight_ = false;
  uint64_t generation_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // for posted handlers
};

}  // namespace

std::unique_ptr<Probe> make_https_probe(asio::io_context& io, const config::Check& check,
                                        const ProbeTarget& target) {
  return std::make_unique<CurlHttpsProbe>(io, check, target);
}

}  // namespace lvsd::checkers
