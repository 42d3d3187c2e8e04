#pragma once
// Wording helpers for probe reasons (tcp, http, ssl probes).
#include <cctype>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

namespace lvsd::checkers::text {

// "connection refused" (strerror-style text, first letter lowered).
inline std::string error_text(const boost::system::error_code& ec) {
  std::string s = ec.message();
  if (!s.empty() && std::isupper(static_cast<unsigned char>(s[0])) &&
      (s.size() < 2 || !std::isupper(static_cast<unsigned char>(s[1]))))
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// The first `max` bytes of `data`, non-printable bytes as '.', for reasons.
inline std::string excerpt(std::string_view data, std::size_t max = 64) {
  std::string out;
  for (char c : data.substr(0, max))
    out += std::isprint(static_cast<unsigned char>(c)) ? c : '.';
  if (data.size() > max) out += "...";
  return out;
}

}  // namespace lvsd::checkers::text
