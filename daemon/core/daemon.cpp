#include "daemon/core/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/config/diff.hpp"
#include "daemon/config/dump.hpp"
#include "daemon/config/loader.hpp"
#include "daemon/core/config_views.hpp"
#include "daemon/core/logging.hpp"

namespace lvsd::core {

using nlohmann::json;

json ReloadResult::to_json() const {
  return {{"ok", ok}, {"time", time}, {"file", file}, {"errors", errors}, {"changes", changes}};
}

Daemon::Daemon(DaemonOptions options)
    : options_(std::move(options)), status_(io_, events_), signals_(io_), watchdog_timer_(io_) {}

Daemon::~Daemon() = default;

void Daemon::add_module(std::unique_ptr<Module> module) {
  modules_.push_back(std::move(module));
}

StatusSocketSettings Daemon::socket_settings(const config::Config& cfg) const {
  StatusSocketSettings s;
  s.path = options_.status_socket.value_or(cfg.global.status_socket.path);
  s.mode = cfg.global.status_socket.mode;
  s.group = cfg.global.status_socket.group;
  return s;
}

void Daemon::apply_global(const config::Config& cfg) {
  setup_logging(options_.log_target.value_or(cfg.global.logging.target),
                options_.log_level.value_or(cfg.global.logging.level));
}

int Daemon::run() {
  auto loaded = config::load_file(options_.config_path);
  if (!loaded.ok()) {
    // Logging is not configured yet: the errors go to stderr, which is what an
    // operator running lvsd by hand or systemd's journal will show.
    setup_logging(config::LogTarget::console, config::LogLevel::info);
    for (const auto& e : loaded.errors)
      spdlog::error("{}", e.str());
    spdlog::critical("event=start_failed reason=\"invalid config\" file={} errors={}",
                     options_.config_path, loaded.errors.size());
    return 1;
  }
  config_ = std::make_unique<config::Config>(std::move(*loaded.config));
  apply_global(*config_);
  // Catch the signals before the socket exists: a SIGTERM that arrives while
  // modules start is queued and handled as a clean stop, not a kill.
  signals_.add(SIGHUP);
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGUSR1);
  started_at_ = utc_timestamp();
  started_steady_ = std::chrono::steady_clock::now();
  last_reload_ = ReloadResult{true, started_at_, options_.config_path, {}, {"initial load"}};

  register_builtin_commands();
  for (auto& m : modules_)
    m->register_commands(status_);

  try {
    status_.start(socket_settings(*config_));
    write_pid_file();
    for (auto& m : modules_) {
      m->start(*config_);
      spdlog::info("event=module_started module={}", m->name());
    }
  } catch (const std::exception& e) {
    spdlog::critical("event=start_failed reason={}", kv_quote(e.what()));
    for (auto it = modules_.rbegin(); it != modules_.rend(); ++it)
      (*it)->stop();
    status_.stop();
    remove_pid_file();
    return 1;
  }

  arm_signals();
  arm_watchdog();
  spdlog::info("event=started version={} pid={} config={} services={} vrrp_instances={}",
               LVSD_VERSION, ::getpid(), options_.config_path, config_->services.size(),
               config_->vrrp.instances.size());
  events_.publish("started", {{"version", LVSD_VERSION}, {"pid", ::getpid()}});
  notifier_.ready(fmt::format("running: {} services", config_->services.size()));

  io_.run();

  spdlog::info("event=stopped");
  return 0;
}

void Daemon::arm_signals() {
  signals_.async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    switch (signo) {
      case SIGHUP:
        spdlog::info("event=signal signal=SIGHUP action=reload");
        reload();
        break;
      case SIGUSR1:
        dump_state();
        break;
      case SIGTERM:
      case SIGINT:
        spdlog::info("event=signal signal={} action=stop", signo == SIGTERM ? "SIGTERM" : "SIGINT");
        request_stop();
        return;
    }
    if (!stopping_) arm_signals();
  });
}

void Daemon::arm_watchdog() {
  watchdog_interval_ = notifier_.watchdog_interval();
  if (!watchdog_interval_) return;
  // The ping runs on the control loop itself, so a wedged loop stops the
  // pings and systemd restarts us.
  notifier_.watchdog();
  watchdog_timer_.expires_after(*watchdog_interval_);
  watchdog_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopping_) arm_watchdog();
  });
}

ReloadResult Daemon::reload() {
  notifier_.reloading();
  ReloadResult result;
  result.time = utc_timestamp();
  result.file = options_.config_path;

  config::LoadResult loaded;
  try {
    loaded = config::load_file(options_.config_path);
  } catch (const std::exception& e) {
    // A bug in the loader must not take the running director down.
    loaded.config.reset();
    loaded.errors.push_back(
        {options_.config_path, 0, 0, "", fmt::format("internal error: {}", e.what())});
  }
  if (!loaded.ok()) {
    result.ok = false;
    for (const auto& e : loaded.errors) {
      result.errors.push_back(e.str());
      spdlog::error("event=reload_error {}", kv_quote(e.str()));
    }
    spdlog::error("event=reload result=rejected errors={} action=\"keeping running config\"",
                  loaded.errors.size());
    ++reloads_failed_;
    last_reload_ = result;
    events_.publish("reload", result.to_json());
    notifier_.ready("reload rejected: keeping running config");
    return result;
  }

  auto next = std::make_unique<config::Config>(std::move(*loaded.config));
  config::ConfigDiff diff;
  try {
    diff = config::diff(*config_, *next);
    result.changes = diff.describe();
  } catch (const std::exception& e) {
    // Without a diff the modules cannot be told what changed: reject.
    result.ok = false;
    result.errors.push_back(fmt::format("{}: internal error computing the config diff: {}",
                                        options_.config_path, e.what()));
    spdlog::error("event=reload result=rejected reason={}", kv_quote(result.errors.back()));
    ++reloads_failed_;
    last_reload_ = result;
    events_.publish("reload", result.to_json());
    notifier_.ready("reload rejected: keeping running config");
    return result;
  }
  result.ok = true;
  for (const auto& line : result.changes)
    spdlog::info("event=config_change {}", line);

  // Status socket settings changed: rebind before committing, so a bad path or
  // group rejects the reload instead of leaving us unreachable.
  const auto old_socket = socket_settings(*config_);
  const auto new_socket = socket_settings(*next);
  if (old_socket.path != new_socket.path || old_socket.mode != new_socket.mode ||
      old_socket.group != new_socket.group) {
    try {
      status_.stop();
      status_.start(new_socket);
    } catch (const std::exception& e) {
      result.ok = false;
      result.changes.clear();
      result.errors.push_back(
          fmt::format("{}: global.status_socket: {}", options_.config_path, e.what()));
      spdlog::error("event=reload result=rejected reason={}", kv_quote(e.what()));
      try {
        status_.start(old_socket);
      } catch (const std::exception& e2) {
        spdlog::critical("event=status_socket_lost reason={}", kv_quote(e2.what()));
      }
      ++reloads_failed_;
      last_reload_ = result;
      events_.publish("reload", result.to_json());
      notifier_.ready("reload rejected: keeping running config");
      return result;
    }
  }

  config_ = std::move(next);
  apply_global(*config_);
  if (!options_.pid_file && config_->global.pid_file != pid_file_written_) {
    remove_pid_file();
    write_pid_file();
  }
  for (auto& m : modules_) {
    try {
      m->reconfigure(*config_, diff);
    } catch (const std::exception& e) {
      // The new config is committed; a module that could not follow says why
      // and keeps running what it has.
      spdlog::error("event=module_reconfigure_failed module={} reason={}", m->name(),
                    kv_quote(e.what()));
      result.errors.push_back(fmt::format("module {}: {}", m->name(), e.what()));
    }
  }
  ++reloads_ok_;
  spdlog::info("event=reload result=applied changes={}", result.changes.size());
  last_reload_ = result;
  events_.publish("reload", result.to_json());
  notifier_.ready(fmt::format("running: {} services", config_->services.size()));
  return result;
}

void Daemon::request_stop() {
  if (stopping_) return;
  stopping_ = true;
  notifier_.stopping();
  events_.publish("stopping");
  for (auto it = modules_.rbegin(); it != modules_.rend(); ++it) {
    try {
      (*it)->stop();
      spdlog::info("event=module_stopped module={}", (*it)->name());
    } catch (const std::exception& e) {
      spdlog::error("event=module_stop_failed module={} reason={}", (*it)->name(),
                    kv_quote(e.what()));
    }
  }
  status_.stop();
  remove_pid_file();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  watchdog_timer_.cancel();
  io_.stop();
}

void Daemon::write_pid_file() {
  const std::string path = options_.pid_file.value_or(config_->global.pid_file);
  if (path.empty()) return;
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ::getpid() << '\n';
    if (!out) throw std::runtime_error(fmt::format("pid file {}: cannot write", path));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(fmt::format("pid file {}: {}", path, ec.message()));
  pid_file_written_ = path;
}

void Daemon::remove_pid_file() {
  if (pid_file_written_.empty()) return;
  std::error_code ec;
  std::filesystem::remove(pid_file_written_, ec);
  pid_file_written_.clear();
}

json Daemon::status_json() const {
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now() - started_steady_)
                          .count();
  json modules = json::array();
  for (const auto& m : modules_)
    modules.push_back(std::string(m->name()));
  return {
      {"version", LVSD_VERSION},
      {"pid", ::getpid()},
      {"started_at", started_at_},
      {"uptime_seconds", uptime},
      {"config_file", options_.config_path},
      {"status_socket", status_.settings().path},
      {"backend", std::string(config::to_string(config_->forwarding.backend))},
      {"services", config_->services.size()},
      {"realservers",
       [&] {
         std::size_t n = 0;
         for (const auto& s : config_->services)
           n += s.realservers.size();
         return n;
       }()},
      {"vrrp_instances", config_->vrrp.instances.size()},
      {"sync", config_->sync.has_value()},
      {"modules", modules},
      {"reloads", {{"applied", reloads_ok_}, {"rejected", reloads_failed_}}},
      {"last_reload", last_reload_.to_json()},
      {"clients", status_.client_count()},
      {"subscribers", status_.subscriber_count()},
      {"watchdog_usec", watchdog_interval_ ? watchdog_interval_->count() * 2 : 0},
  };
}

void Daemon::dump_state() {
  spdlog::info("event=state_dump part=daemon state={}", status_json().dump());
  for (const auto& m : modules_) {
    spdlog::info("event=state_dump part=module module={} state={}", m->name(),
                 m->snapshot().dump());
  }
  spdlog::info("event=state_dump part=config services={}", services_view(*config_).dump());
}

void Daemon::register_builtin_commands() {
  status_.add_command("status", [this](const json&) { return status_json(); });
  status_.add_command("config", [this](const json&) {
    return json{{"file", options_.config_path},
                {"running", config::dump_yaml(*config_)},
                {"last_reload", last_reload_.to_json()}};
  });
  status_.add_command("reload", [this](const json&) {
    auto r = reload();
    if (!r.ok) {
      std::string msg = "reload rejected, running config kept:";
      for (const auto& e : r.errors)
        msg += "\n  " + e;
      throw CommandError(msg);
    }
    return r.to_json();
  });
  // Until a dataplane, checker, VRRP or sync module registers its own view,
  // these answer from the running config, marked "source":"config".
  status_.add_command("services", [this](const json&) { return services_view(*config_); });
  status_.add_command("vrrp", [this](const json&) { return vrrp_view(*config_); });
  status_.add_command("sync", [this](const json&) { return sync_view(*config_); });
}

}  // namespace lvsd::core
