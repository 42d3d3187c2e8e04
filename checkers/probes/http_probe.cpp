// http: HTTP/1.1 over Asio, the response parsed by Boost.Beast's parser.
//
// One attempt = one fresh connection to the target (as a client's would be),
// one request with "Connection: close", one response. Only what the judgement
// needs is kept: the status, the Location (for redirects) and at most
// max_body bytes of the body; header fields are not stored. Plain http does
// not use libcurl (https does, https_probe.cpp): per check, libcurl's
// transfer setup, URL handling and connection bookkeeping cost more than the
// TCP exchange itself, and the checker benchmark (issue 6) counts every
// microsecond at 10,000 checks a second.
//
// Redirects (follow_redirects): 301, 302, 303, 307 and 308 with a Location are
// followed up to max_redirects, always to the same realserver address (the
// Location's host only names the Host header; its port, or 80, is the port).
// 303 turns the method into GET, as does 301/302 after a POST (RFC 9110
// §15.4). A redirect to another scheme (https://...) is not followed: an http
// check does not speak TLS (the reason says so; use type https).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <strings.h>
#include <sys/socket.h>

#include <cerrno>

#include <charconv>
#include <limits>
#include <optional>
#include <regex>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include "checkers/probes/http_common.hpp"
#include "checkers/probes/probe_io.hpp"
#include "checkers/probes/probes.hpp"
#include "checkers/probes/text.hpp"

namespace lvsd::checkers {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::beast::string_view;

// A response header larger than this fails the check (Beast's default is 8 KB;
// some servers send big cookies).
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// RFC 3986 §5.2.4 remove_dot_segments, for a path that starts with '/'.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 1;
  bool trailing = false;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    trailing = false;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing = true;
    } else if (seg == ".") {
      trailing = true;
    } else {
      out.push_back(seg);
    }
    i = j + 1;
  }
  std::string result;
  for (auto seg : out) {
    result += '/';
    result += seg;
  }
  if (result.empty() || trailing) result += '/';
  return result;
}

// Where a request goes: the Host header value, the port and the
// request-target (path and query).
struct Target {
  std::string host;
  uint16_t port = 0;
  std::string path;
};

// Resolves a Location against the current target (RFC 9110 §10.2.2, RFC 3986
// §5.2). Returns nullopt and sets `why` when it cannot be followed.
std::optional<Target> resolve_location(std::string_view loc, const Target& base, std::string& why) {
  Target t = base;
  // Scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  std::size_t colon = loc.find(':');
  std::size_t first_delim = loc.find_first_of("/?#");
  if (colon != std::string_view::npos && colon > 0 && colon < first_delim &&
      std::isalpha(static_cast<unsigned char>(loc[0]))) {
    std::string scheme(loc.substr(0, colon));
    if (strcasecmp(scheme.c_str(), "http") != 0) {
      why = fmt::format("redirect to {} not followed: an http check does not speak {}",
                        text::excerpt(loc, 200), scheme);
      return std::nullopt;
    }
    loc.remove_prefix(colon + 1);
    if (!loc.starts_with("//")) {
      why = fmt::format("redirect to a malformed URL: {}", text::excerpt(loc, 200));
      return std::nullopt;
    }
  }
  if (loc.starts_with("//")) {  // authority: host[:port], host may be [v6]
    loc.remove_prefix(2);
    std::size_t end = loc.find_first_of("/?#");
    std::string_view authority = loc.substr(0, end);
    loc = end == std::string_view::npos ? std::string_view{} : loc.substr(end);
    if (auto at = authority.rfind('@'); at != std::string_view::npos)
      authority.remove_prefix(at + 1);  // userinfo is never sent on
    if (authority.empty()) {
      why = "redirect to a URL without a host";
      return std::nullopt;
    }
    std::size_t host_end = authority.starts_with('[') ? authority.find(']') : 0;
    std::size_t port_colon = authority.find(':', host_end == std::string_view::npos ? 0 : host_end);
    t.port = 80;
    if (port_colon != std::string_view::npos) {
      std::string_view digits = authority.substr(port_colon + 1);
      unsigned port = 0;
      if (!digits.empty()) {
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (ec != std::errc() || p != digits.data() + digits.size() || port == 0 || port > 65535) {
          why = fmt::format("redirect to a URL with a bad port: {}", text::excerpt(authority));
          return std::nullopt;
        }
        t.port = static_cast<uint16_t>(port);
      }
    }
    t.host = std::string(authority);
    if (port_colon != std::string_view::npos && t.port == 80)
      t.host = std::string(authority.substr(0, port_colon));
    t.path.clear();
  }
  if (auto hash = loc.find('#'); hash != std::string_view::npos) loc = loc.substr(0, hash);
  if (loc.empty()) {
    if (t.path.empty()) t.path = "/";
    return t;
  }
  std::string_view query;
  if (auto q = loc.find('?'); q != std::string_view::npos) {
    query = loc.substr(q);
    loc = loc.substr(0, q);
  }
  std::string path;
  if (loc.starts_with('/')) {
    path = std::string(loc);
  } else if (loc.empty()) {  // "?query" only: same path
    path = base.path.substr(0, base.path.find('?'));
  } else {  // relative to the base path's directory
    std::string dir = base.path.substr(0, base.path.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    if (dir.empty()) dir = "/";
    path = dir + std::string(loc);
  }
  t.path = remove_dot_segments(path) + std::string(query);
  return t;
}

// Beast's basic_parser with callbacks that keep only what the check needs.
class ResponseParser final : public http::basic_parser<false> {
 public:
  explicit ResponseParser(std::size_t max_body) : max_body_(max_body) {
    header_limit(kHeaderLimit);
    // max_body is enforced below, by truncation. (Not boost::none: Boost
    // 1.74 compares the length with the empty optional and fails every body.)
    body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  int status = 0;
  std::string location;
  std::string body;
  bool truncated = false;  // stopped after max_body bytes
  uint64_t body_seen = 0;

 private:
  void on_request_impl(http::verb, string_view, string_view, int,
                       boost::system::error_code&) override {}
  void on_response_impl(int code, string_view, int, boost::system::error_code&) override {
    status = code;
  }
  void on_field_impl(http::field f, string_view, string_view value,
                     boost::system::error_code&) override {
    if (f == http::field::location) location.assign(value.data(), value.size());
  }
  void on_header_impl(boost::system::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&,
                         boost::system::error_code&) override {}
  std::size_t on_body_impl(string_view data, boost::system::error_code& ec) override {
    return take(data, ec);
  }
  void on_chunk_header_impl(std::uint64_t, string_view, boost::system::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view data,
                                 boost::system::error_code& ec) override {
    return take(data, ec);
  }
  void on_finish_impl(boost::system::error_code&) override {}

  std::size_t take(string_view data, boost::system::error_code& ec) {
    body_seen += data.size();
    const std::size_t room = max_body_ - std::min(body.size(), max_body_);
    if (data.size() > room) {
      // Enough read: keep max_body bytes and stop.
      body.append(data.data(), room);
      truncated = true;
      ec = http::error::body_limit;
      return room;
    }
    body.append(data.data(), data.size());
    return data.size();
  }

  std::size_t max_body_;
};

// What a probe prepares once and every attempt shares.
struct Request {
  std::string method;
  Target target;
  std::string host_header;      // "Host: ...\r\n" unless a configured header sets it
  std::string headers;          // the rest, with Authorization
  std::string headers_no_auth;  // the rest, for a redirect to another host
  std::optional<std::regex> body_regex;
};

class HttpAttempt final : public probe_io::ProbeAttempt {
 public:
  HttpAttempt(asio::io_context& io, std::shared_ptr<const config::Check> check,
              const ProbeTarget& target, std::shared_ptr<const Request> request)
      : ProbeAttempt(io),
        check_(std::move(check)),
        target_(target),
        request_(std::move(request)),
        socket_(io),
        method_(request_->method),
        at_(request_->target) {}

  void start(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) {
    begin(timeout, std::move(done));
    connect();
  }

 protected:
  void close_io() override {
    // Closed with a reset (SO_LINGER 0), as HAProxy closes its checks: the
    // answer is in (or the attempt is over), and a FIN handshake would only
    // leave a TIME_WAIT socket behind on one side for a minute -- 600,000
    // of them at 10,000 checks/s, each slowing the port search of the next
    // connect (measured: 19% less CPU at 10,000 checks/s).
    boost::system::error_code ignored;
    if (socket_.is_open()) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }

 private:
  std::shared_ptr<HttpAttempt> self() {
    return std::static_pointer_cast<HttpAttempt>(shared_from_this());
  }

  void connect() {
    const tcp::endpoint peer(target_.address, at_.port);
    boost::system::error_code ec;
    socket_.open(peer.protocol(), ec);
    if (ec) return post_fail("socket: " + text::error_text(ec));
    if (auto err = probe_io::prepare_socket(socket_.native_handle(), *check_, target_.address);
        !err.empty())
      return post_fail(err);
    // The request goes out as soon as the connection is up: delay the
    // handshake's last ACK so it rides on the request (one packet less per
    // check; HAProxy's checks do the same). Best effort.
    const int no_quickack = 0;
    ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &no_quickack,
                 sizeof no_quickack);
    out_ = method_ + ' ' + at_.path + " HTTP/1.1\r\n";
    if (at_.host == request_->target.host) {
      out_ += request_->host_header;
      out_ += request_->headers;
    } else {
      out_ += "Host: " + at_.host + "\r\n";
      out_ += request_->headers_no_auth;
    }
    out_ += "\r\n";
    // A non-blocking connect by hand, then the request as soon as the socket
    // is writable: Asio's async_connect would add a poll() and a
    // getsockopt(SO_ERROR) per check to learn what the send tells anyway
    // (a connection that failed fails the send with the connect's error).
    socket_.non_blocking(true, ec);
    if (ec) return post_fail("socket: " + text::error_text(ec));
    if (::connect(socket_.native_handle(), peer.data(), static_cast<socklen_t>(peer.size())) != 0 &&
        errno != EINPROGRESS)
      return post_fail("connect: " + text::error_text(boost::system::error_code(
                                         errno, boost::system::system_category())));
    socket_.async_wait(
        tcp::socket::wait_write, [self = self()](const boost::system::error_code& ec) {
          if (self->finished()) return;
          if (ec) return self->fail("connect: " + text::error_text(ec));
          asio::async_write(self->socket_, asio::buffer(self->out_),
                            [self](const boost::system::error_code& ec, std::size_t) {
                              if (self->finished()) return;
                              // Nothing was sent before: an error here is the
                              // connection's (refused, unreachable, reset).
                              if (ec) return self->fail("connect: " + text::error_text(ec));
                              self->read();
                            });
        });
  }

  void read() {
    parser_.emplace(check_->http.max_body);
    if (method_ == "HEAD") parser_->skip(true);  // no body follows (RFC 9110 §9.3.2)
    buffer_.clear();
    // Wait for the answer before reading: a read straight after the send
    // would almost always find nothing yet (one EAGAIN per check).
    socket_.async_wait(tcp::socket::wait_read,
                       [self = self()](const boost::system::error_code& ec) {
                         if (self->finished()) return;
                         if (ec) return self->fail("receive: " + text::error_text(ec));
                         http::async_read(self->socket_, self->buffer_, *self->parser_,
                                          [self](const boost::system::error_code& ec, std::size_t) {
                                            if (self->finished()) return;
                                            self->on_response(ec);
                                          });
                       });
  }

  void on_response(const boost::system::error_code& ec) {
    ResponseParser& p = *parser_;
    if (ec && !p.truncated) {
      if (ec == http::error::end_of_stream) return fail("connection closed before a response");
      if (ec == http::error::partial_message) {
        if (p.is_header_done()) {
          if (auto left = p.content_length_remaining())
            return fail(fmt::format("connection closed mid-body, {} bytes remaining", *left));
          return fail("connection closed mid-body");
        }
        return fail("connection closed mid-header");
      }
      if (ec.category() == make_error_code(http::error::bad_version).category())
        return fail("bad response: " + ec.message());
      return fail("receive: " + text::error_text(ec));
    }
    const auto& h = check_->http;
    const int s = p.status;
    if (h.follow_redirects && !p.location.empty() &&
        (s == 301 || s == 302 || s == 303 || s == 307 || s == 308)) {
      if (redirects_ >= h.max_redirects)
        return fail(
            fmt::format("status {}: more than {} redirects (max_redirects)", s, h.max_redirects));
      std::string why;
      auto next = resolve_location(p.location, at_, why);
      if (!next) return fail(fmt::format("status {}: {}", s, why));
      ++redirects_;
      if (s == 303 ? method_ != "HEAD" : (method_ == "POST" && (s == 301 || s == 302)))
        method_ = "GET";
      at_ = std::move(*next);
      close_io();
      return connect();
    }
    auto verdict = http_common::judge(h, s, p.body, p.truncated, request_->body_regex);
    ProbeResult r;
    r.ok = verdict.ok;
    r.reason = std::move(verdict.reason);
    finish(std::move(r));
  }

  std::shared_ptr<const config::Check> check_;  // handlers may outlive the probe
  ProbeTarget target_;
  std::shared_ptr<const Request> request_;
  tcp::socket socket_;
  std::string method_;
  Target at_;
  std::string out_;
  boost::beast::flat_buffer buffer_;
  std::optional<ResponseParser> parser_;
  unsigned redirects_ = 0;
};

class HttpProbe final : public Probe {
 public:
  HttpProbe(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : io_(io), check_(std::make_shared<const config::Check>(check)), target_(target) {
    const auto& h = check_->http;
    auto req = std::make_shared<Request>();
    req->method = h.method;
    req->target.host = http_common::default_host(*check_, target_, false);
    req->target.port = target_.port;
    req->target.path = h.path.starts_with('/') ? h.path : "/" + h.path;
    if (!http_common::has_header(h, "host"))
      req->host_header = "Host: " + req->target.host + "\r\n";
    std::string common;
    if (!http_common::has_header(h, "user-agent")) common += "User-Agent: lvsd-check\r\n";
    if (!http_common::has_header(h, "accept")) common += "Accept: */*\r\n";
    for (const auto& [k, v] : h.headers)
      if (strcasecmp(k.c_str(), "connection") != 0)
        common += v.empty() ? k + ":\r\n" : k + ": " + v + "\r\n";
    common += "Connection: close\r\n";
    req->headers_no_auth = common;
    if ((!h.username.empty() || !h.password.empty()) &&
        !http_common::has_header(h, "authorization"))
      req->headers = "Authorization: Basic " + base64(h.username + ":" + h.password) + "\r\n";
    req->headers += common;
    req->body_regex = http_common::compile_body_regex(h);
    request_ = std::move(req);
  }
  ~HttpProbe() override { cancel(); }

  void run(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) override {
    cancel();
    current_ = std::make_shared<HttpAttempt>(io_, check_, target_, request_);
    current_->start(timeout, std::move(done));
  }
  void cancel() override {
    if (current_) current_->cancel();
    current_.reset();
  }

 private:
  asio::io_context& io_;
  std::shared_ptr<const config::Check> check_;
  ProbeTarget target_;
  std::shared_ptr<const Request> request_;
  std::shared_ptr<HttpAttempt> current_;
};

}  // namespace

std::unique_ptr<Probe> make_http_probe(asio::io_context& io, const config::Check& check,
                                       const ProbeTarget& target) {
  return std::make_unique<HttpProbe>(io, check, target);
}

}  // namespace lvsd::checkers
