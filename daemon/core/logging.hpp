#pragma once
// Logging set-up for lvsd: one spdlog logger ("lvsd") with a console, syslog
// or journald sink. Log lines are one event each, written as key=value fields
// (`event=reload result=ok changes=2`), never per packet.
#include <string_view>

#include "daemon/config/config.hpp"

namespace lvsd::core {

// Installs the default logger for `target` at `level`. Safe to call again at
// reload: the sink is replaced only when the target changes.
void setup_logging(config::LogTarget target, config::LogLevel level);

// Maps the config's level onto spdlog's.
void set_log_level(config::LogLevel level);

// Quotes a value for a key=value log field when it contains spaces, quotes or
// '=' (so `reason="connection refused"` stays one field).
std::string kv_quote(std::string_view value);

}  // namespace lvsd::core
