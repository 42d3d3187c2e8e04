#pragma once
// What the http and https probes share: the Host header they send by default
// and the judgement of a response against the check's options (status
// ranges, body_regex, body_digest). The http probe speaks HTTP/1.1 itself
// (Boost.Beast's parser on Asio, http_probe.cpp); the https probe is libcurl
// (https_probe.cpp).
#include <optional>
#include <regex>
#include <string>

#include <boost/asio/ip/address.hpp>

#include "checkers/probe.hpp"
#include "daemon/config/config.hpp"

namespace lvsd::checkers::http_common {

// "10.0.0.1" or "[fd00::1]".
std::string ip_literal(const boost::asio::ip::address& a);

// The Host header when the check names none: the configured `host`, else the
// target address, with ":port" unless the port is the scheme's default.
std::string default_host(const config::Check& check, const ProbeTarget& target, bool https);

// True when `headers` sets `name` (case-insensitive).
bool has_header(const config::HttpOptions& http, const char* name);

// The check's body_regex compiled once (nullopt when there is none).
std::optional<std::regex> compile_body_regex(const config::HttpOptions& http);

// ok + reason for a complete response: "status 200", "status 503 not in
// 200-299", "status 200, body does not match body_regex", "status 200, body
// digest ... != ..."; `truncated` = only the first max_body bytes were read.
struct Verdict {
  bool ok = false;
  std::string reason;
};
Verdict judge(const config::HttpOptions& http, long status, const std::string& body, bool truncated,
              const std::optional<std::regex>& body_regex);

}  // namespace lvsd::checkers::http_common
