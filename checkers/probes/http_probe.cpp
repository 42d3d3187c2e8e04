// http / https: libcurl's multi interface driven by Asio socket events
// (CurlMulti). Each attempt is a fresh connection to the target address; the
// URL names the configured host (or SNI), and CURLOPT_CONNECT_TO sends every
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
#include "checkers/probes/probe_io.hpp"
#include "checkers/probes/probes.hpp"
#include "checkers/probes/text.hpp"

namespace lvsd::checkers {

namespace {

namespace asio = boost::asio;

std::string ip_literal(const asio::ip::address& a) {
  return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
}

std::string status_text(const std::vector<config::StatusRange>& ranges) {
  std::string out;
  for (const auto& r : ranges) {
    if (!out.empty()) out += ',';
    out += r.from == r.to ? std::to_string(r.from) : fmt::format("{}-{}", r.from, r.to);
  }
  return out;
}

std::string md5_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  std::string out;
  for (unsigned i = 0; i < len; ++i)
    out += fmt::format("{:02x}", md[i]);
  return out;
}

int ssl_ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

class HttpProbe final : public Probe {
 public:
  HttpProbe(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : io_(io), multi_(CurlMulti::of(io)), check_(check), target_(target) {
    const auto& h = check_.http;
    if (!h.body_regex.empty()) body_regex_.emplace(h.body_regex, std::regex::ECMAScript);
    https_ = check_.type == config::CheckType::https;
    easy_ = curl_easy_init();
    if (!easy_) throw std::runtime_error("curl_easy_init failed");
    configure();
  }

  ~HttpProbe() override {
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
    // The name in the URL: what SNI and certificate checks use (https), and
    // the default Host.
    std::string name = https_ && !check_.tls.sni.empty() ? check_.tls.sni : h.host;
    std::string ip = ip_literal(target_.address);
    url_ = fmt::format("{}://{}:{}{}{}", https_ ? "https" : "http", name.empty() ? ip : name,
                       target_.port, h.path.starts_with('/') ? "" : "/", h.path);
    if (!name.empty()) {
      // Any host, any port -> the target address, same port: redirects stay
      // on this realserver too.
      connect_to_ = curl_slist_append(connect_to_, ("::" + ip + ":").c_str());
      curl_easy_setopt(easy_, CURLOPT_CONNECT_TO, connect_to_);
    }
    bool user_host = std::any_of(h.headers.begin(), h.headers.end(), [](const auto& kv) {
      return strcasecmp(kv.first.c_str(), "host") == 0;
    });
    if (!user_host) {
      bool default_port = target_.port == (https_ ? 443 : 80);
      std::string host =
          !h.host.empty() ? h.host : (default_port ? ip : fmt::format("{}:{}", ip, target_.port));
      headers_ = curl_slist_append(headers_, ("Host: " + host).c_str());
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
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpProbe::write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, &HttpProbe::sockopt_cb);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, this);

    if (https_) {
      const auto& t = check_.tls;
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, t.verify_peer ? 1L : 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, t.verify_peer ? 2L : 0L);
      if (!t.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, t.ca_file.c_str());
      if (!t.client_cert.empty()) curl_easy_setopt(e, CURLOPT_SSLCERT, t.client_cert.c_str());
      if (!t.client_key.empty()) curl_easy_setopt(e, CURLOPT_SSLKEY, t.client_key.c_str());
      curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, &HttpProbe::ssl_ctx_cb);
      curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, this);
    }
  }

  static size_t write_cb(char* data, size_t size, size_t n, void* userp) {
    auto* self = static_cast<HttpProbe*>(userp);
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
    auto* self = static_cast<HttpProbe*>(clientp);
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
          static_cast<HttpProbe*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ex_index()));
      X509* cert = SSL_get0_peer_certificate(ssl);
      int days = 0, secs = 0;
      if (self && cert && ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)))
        self->cert_days_ = days;
    });
    return CURLE_OK;
  }

  void on_done(CURLcode rc) {
    in_flight_ = false;
    const auto& h = check_.http;
    if (rc == CURLE_OPERATION_TIMEDOUT) return finish(false, probe_io::timeout_reason(timeout_));
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && truncated_)) {
      if (!socket_error_.empty()) return finish(false, socket_error_);
      return finish(false, errbuf_[0] ? std::string(errbuf_) : curl_easy_strerror(rc));
    }
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    bool status_ok = std::any_of(h.status.begin(), h.status.end(),
                                 [&](const auto& r) { return status >= r.from && status <= r.to; });
    if (!status_ok)
      return finish(false, fmt::format("status {} not in {}", status, status_text(h.status)));
    if (body_regex_ && !std::regex_search(body_, *body_regex_))
      return finish(false, fmt::format("status {}, body does not match body_regex{}", status,
                                       truncated_ ? " (first max_body bytes)" : ""));
    if (!h.body_digest.empty()) {
      std::string digest = md5_hex(body_);
      if (strcasecmp(digest.c_str(), h.body_digest.c_str()) != 0)
        return finish(
            false, fmt::format("status {}, body digest {} != {}{}", status, digest, h.body_digest,
                               truncated_ ? " (first max_body bytes)" : ""));
    }
    finish(true, fmt::format("status {}", status));
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
  bool https_ = false;
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

std::unique_ptr<Probe> make_http_probe(asio::io_context& io, const config::Check& check,
                                       const ProbeTarget& target) {
  return std::make_unique<HttpProbe>(io, check, target);
}

}  // namespace lvsd::checkers
