#include "daemon/core/logging.hpp"

#include <syslog.h>

#include <memory>
#include <optional>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

namespace lvsd::core {
namespace {

std::optional<config::LogTarget> g_target;

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::trace:
      return spdlog::level::trace;
    case config::LogLevel::debug:
      return spdlog::level::debug;
    case config::LogLevel::info:
      return spdlog::level::info;
    case config::LogLevel::warn:
      return spdlog::level::warn;
    case config::LogLevel::error:
      return spdlog::level::err;
    case config::LogLevel::critical:
      return spdlog::level::critical;
    case config::LogLevel::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

void setup_logging(config::LogTarget target, config::LogLevel level) {
  if (!g_target || *g_target != target) {
    spdlog::sink_ptr sink;
    switch (target) {
      case config::LogTarget::console:
        // stderr: journald captures it under systemd, and stdout stays free
        // for --dump-config.
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
        break;
      case config::LogTarget::syslog:
        sink = std::make_shared<spdlog::sinks::syslog_sink_mt>("lvsd", LOG_PID, LOG_DAEMON, false);
        sink->set_pattern("%v");
        break;
      case config::LogTarget::journald:
        sink = std::make_shared<spdlog::sinks::systemd_sink_mt>("lvsd");
        sink->set_pattern("%v");
        break;
    }
    auto logger = std::make_shared<spdlog::logger>("lvsd", sink);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    g_target = target;
  }
  set_log_level(level);
}

void set_log_level(config::LogLevel level) {
  spdlog::set_level(to_spdlog(level));
}

std::string kv_quote(std::string_view value) {
  bool needs = value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\t' || c == '\n') needs = true;
  }
  if (!needs) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace lvsd::core
