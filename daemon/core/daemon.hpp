#pragma once
// The Daemon: owns the control io_context, the running Config, the status
// socket and the modules; handles signals (SIGHUP reload, SIGTERM/SIGINT stop,
// SIGUSR1 state dump), sd_notify and the pid file.
//
// A reload is a transaction: the whole file is parsed and validated first; on
// any error the running config stays, the errors are logged, published as a
// `reload` event and kept for the `config` command. Otherwise the diff is
// logged and handed to each module's reconfigure().
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "daemon/config/config.hpp"
#include "daemon/core/event_bus.hpp"
#include "daemon/core/module.hpp"
#include "daemon/core/status_server.hpp"
#include "daemon/core/systemd_notify.hpp"

namespace lvsd::core {

struct DaemonOptions {
  std::string config_path;
  // Command-line overrides win over the file, at start and at every reload.
  std::optional<std::string> status_socket;
  std::optional<std::string> pid_file;
  std::optional<config::LogLevel> log_level;
  std::optional<config::LogTarget> log_target;
};

struct ReloadResult {
  bool ok = false;
  std::string time;
  std::string file;
  std::vector<std::string> errors;   // Diagnostic::str() of each error
  std::vector<std::string> changes;  // ConfigDiff::describe()
  nlohmann::json to_json() const;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  void add_module(std::unique_ptr<Module> module);

  // Loads the config, starts everything and runs the event loop until a stop
  // signal. Returns the process exit code (0 after a clean stop, 1 when the
  // config is invalid or start-up fails; the reason is logged).
  int run();

  // Both must be called on the control io_context (post() from elsewhere).
  ReloadResult reload();
  void request_stop();

  boost::asio::io_context& io() { return io_; }
  EventBus& events() { return events_; }
  const config::Config& config() const { return *config_; }
  const ReloadResult& last_reload() const { return last_reload_; }

  nlohmann::json status_json() const;
  void dump_state();

 private:
  void apply_global(const config::Config& cfg);
  StatusSocketSettings socket_settings(const config::Config& cfg) const;
  void register_builtin_commands();
  void arm_signals();
  void arm_watchdog();
  void write_pid_file();
  void remove_pid_file();

  DaemonOptions options_;
  boost::asio::io_context io_;
  EventBus events_;
  StatusServer status_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;
  SystemdNotifier notifier_;
  std::optional<std::chrono::microseconds> watchdog_interval_;
  std::unique_ptr<config::Config> config_;
  std::vector<std::unique_ptr<Module>> modules_;
  ReloadResult last_reload_;
  std::string started_at_;
  std::chrono::steady_clock::time_point started_steady_;
  std::string pid_file_written_;
  std::uint64_t reloads_ok_ = 0;
  std::uint64_t reloads_failed_ = 0;
  bool stopping_ = false;
};

}  // namespace lvsd::core
