// lvsd: the load-balancing director daemon.
//
//   lvsd [--config FILE]             run in the foreground (systemd Type=notify)
//   lvsd --check-config [FILE]       validate; exit 0 ok, 1 errors (all listed)
//   lvsd --dump-config [FILE]        print the effective config, defaults filled
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "checkers/clock.hpp"
#include "daemon/config/dump.hpp"
#include "daemon/config/loader.hpp"
#include "daemon/core/daemon.hpp"
#include "daemon/modules/backend_factory.hpp"
#include "daemon/modules/checker_module.hpp"
#include "daemon/modules/forwarding_module.hpp"
#include "daemon/modules/sync_module.hpp"
#include "daemon/modules/vrrp_module.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/lvsd/lvsd.yaml";

int check_config(const std::string& path) {
  const auto result = lvsd::config::load_file(path);
  if (!result.ok()) {
    for (const auto& e : result.errors)
      std::cerr << e.str() << '\n';
    std::cerr << path << ": " << result.errors.size()
              << (result.errors.size() == 1 ? " error" : " errors") << '\n';
    return 1;
  }
  const auto& c = *result.config;
  std::size_t rs = 0;
  for (const auto& s : c.services)
    rs += s.realservers.size();
  std::cout << path << ": ok (" << c.services.size() << " services, " << rs << " realservers, "
            << c.checks.size() << " checks, " << c.vrrp.instances.size() << " vrrp instances"
            << (c.sync ? ", sync on" : "") << ")\n";
  return 0;
}

int dump_config(const std::string& path) {
  const auto result = lvsd::config::load_file(path);
  if (!result.ok()) {
    for (const auto& e : result.errors)
      std::cerr << e.str() << '\n';
    return 1;
  }
  std::cout << lvsd::config::dump_yaml(*result.config);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lvsd - Linux Virtual Server load-balancing director"};
  app.set_version_flag("--version", std::string("lvsd ") + LVSD_VERSION);

  std::string config_path = kDefaultConfig;
  std::optional<std::string> check_path;
  std::optional<std::string> dump_path;
  std::optional<std::string> socket_path;
  std::optional<std::string> pid_file;
  std::optional<std::string> log_level;
  std::optional<std::string> log_target;

  app.add_option("-c,--config", config_path, "Config file")->capture_default_str();
  app.add_option("--check-config", check_path,
                 "Validate FILE (default: --config), print every error, exit 0 or 1")
      ->expected(0, 1);
  app.add_option("--dump-config", dump_path,
                 "Print the effective config of FILE (default: --config) with defaults filled")
      ->expected(0, 1);
  app.add_option("--status-socket", socket_path, "Status socket path (overrides the config)");
  app.add_option("--pid-file", pid_file, "Pid file (overrides the config)");
  app.add_option("--log-level", log_level, "Log level (overrides the config)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-target", log_target, "Log target (overrides the config)")
      ->check(CLI::IsMember({"console", "syslog", "journald"}));

  CLI11_PARSE(app, argc, argv);

  // CLI11 leaves an optional<string> empty-valued when the flag has no value.
  if (app.count("--check-config") > 0) {
    return check_config(check_path && !check_path->empty() ? *check_path : config_path);
  }
  if (app.count("--dump-config") > 0) {
    return dump_config(dump_path && !dump_path->empty() ? *dump_path : config_path);
  }

  using lvsd::config::LogLevel;
  using lvsd::config::LogTarget;
  static const std::map<std::string, LogLevel> kLevels = {
      {"trace", LogLevel::trace}, {"debug", LogLevel::debug}, {"info", LogLevel::info},
      {"warn", LogLevel::warn},   {"error", LogLevel::error}, {"critical", LogLevel::critical},
      {"off", LogLevel::off}};
  static const std::map<std::string, LogTarget> kTargets = {{"console", LogTarget::console},
                                                            {"syslog", LogTarget::syslog},
                                                            {"journald", LogTarget::journald}};

  lvsd::core::DaemonOptions options;
  options.config_path = config_path;
  options.status_socket = socket_path;
  options.pid_file = pid_file;
  if (log_level) options.log_level = kLevels.at(*log_level);
  if (log_target) options.log_target = kTargets.at(*log_target);

  try {
    // The clock outlives the daemon and its modules (declared first).
    std::unique_ptr<lvsd::checkers::AsioClock> clock;
    lvsd::core::Daemon daemon(std::move(options));
    // Check timers share 10 ms windows: checks due together start in one
    // wakeup (docs/config.md, "checks"); at most 10 ms later than asked.
    clock = std::make_unique<lvsd::checkers::AsioClock>(daemon.io(), std::chrono::milliseconds(10));
    auto forwarding = std::make_unique<lvsd::modules::ForwardingModule>(
        daemon.io(), daemon.events(), lvsd::modules::default_backend_factory());
    // Checkers first: the forwarding module's first plan already carries the
    // health inputs, and on reload health is updated before the re-plan.
    daemon.add_module(std::make_unique<lvsd::modules::CheckerModule>(daemon.io(), daemon.events(),
                                                                     *forwarding, *clock));
    daemon.add_module(std::make_unique<lvsd::modules::VrrpModule>(daemon.io(), daemon.events()));
    auto& forwarding_ref = *forwarding;
    daemon.add_module(std::move(forwarding));
    // Sync after forwarding: it drives the backend's sync (the userspace
    // engine's rings or the kernel's sync daemon).
    daemon.add_module(std::make_unique<lvsd::modules::SyncModule>(daemon.events(), forwarding_ref));
    return daemon.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lvsd: fatal: %s\n", e.what());
    return 1;
  }
}
