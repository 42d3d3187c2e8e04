#include "daemon/lvsctl/requests.hpp"

#include <charconv>
#include <cstdint>

namespace lvsd::ctl {

using nlohmann::json;

json realserver_request(const std::string& subcommand, const std::string& service,
                        const std::string& realserver, const std::string& weight) {
  json r = {{"command", "realserver"}, {"service", service}, {"realserver", realserver}};
  if (subcommand != "weight") {
    r["admin"] = subcommand;
    return r;
  }
  if (weight == "reset") {
    r["weight"] = nullptr;
    return r;
  }
  int64_t n = 0;
  const auto [end, err] = std::from_chars(weight.data(), weight.data() + weight.size(), n);
  if (err == std::errc() && end == weight.data() + weight.size() && !weight.empty()) {
    r["weight"] = n;
  } else {
    r["weight"] = weight;
  }
  return r;
}

}  // namespace lvsd::ctl
