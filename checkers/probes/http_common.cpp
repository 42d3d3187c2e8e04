#include "checkers/probes/http_common.hpp"

#include <openssl/evp.h>
#include <strings.h>

#include <algorithm>

#include <fmt/format.h>

namespace lvsd::checkers::http_common {

namespace {

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

}  // namespace

std::string ip_literal(const boost::asio::ip::address& a) {
  return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
}

std::string default_host(const config::Check& check, const ProbeTarget& target, bool https) {
  if (!check.http.host.empty()) return check.http.host;
  const std::string ip = ip_literal(target.address);
  const bool default_port = target.port == (https ? 443 : 80);
  return default_port ? ip : fmt::format("{}:{}", ip, target.port);
}

bool has_header(const config::HttpOptions& http, const char* name) {
  return std::any_of(http.headers.begin(), http.headers.end(),
                     [&](const auto& kv) { return strcasecmp(kv.first.c_str(), name) == 0; });
}

std::optional<std::regex> compile_body_regex(const config::HttpOptions& http) {
  if (http.body_regex.empty()) return std::nullopt;
  return std::regex(http.body_regex, std::regex::ECMAScript);
}

Verdict judge(const config::HttpOptions& http, long status, const std::string& body, bool truncated,
              const std::optional<std::regex>& body_regex) {
  const bool status_ok = std::any_of(http.status.begin(), http.status.end(), [&](const auto& r) {
    return status >= r.from && status <= r.to;
  });
  if (!status_ok)
    return {false, fmt::format("status {} not in {}", status, status_text(http.status))};
  const char* first = truncated ? " (first max_body bytes)" : "";
  if (body_regex && !std::regex_search(body, *body_regex))
    return {false, fmt::format("status {}, body does not match body_regex{}", status, first)};
  if (!http.body_digest.empty()) {
    const std::string digest = md5_hex(body);
    if (strcasecmp(digest.c_str(), http.body_digest.c_str()) != 0)
      return {false, fmt::format("status {}, body digest {} != {}{}", status, digest,
                                 http.body_digest, first)};
  }
  return {true, fmt::format("status {}", status)};
}

}  // namespace lvsd::checkers::http_common
