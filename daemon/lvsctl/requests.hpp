#pragma once
// Status-socket requests that lvsctl builds from its arguments. Pure: the
// daemon validates (ranges, names) and answers with the error, so lvsctl and
// a script speaking JSON to the socket get the same messages.
#include <string>

#include <nlohmann/json.hpp>

namespace lvsd::ctl {

// `lvsctl drain|ready|maint SERVICE RS` -> {"command":"realserver",...,
// "admin":SUBCOMMAND}; `lvsctl weight SERVICE RS N|reset` -> ..."weight":N
// (null for "reset"). A weight that is not a decimal integer is sent as the
// string given, for the daemon to refuse.
nlohmann::json realserver_request(const std::string& subcommand, const std::string& service,
                                  const std::string& realserver, const std::string& weight);

}  // namespace lvsd::ctl
