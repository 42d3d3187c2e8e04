#include "daemon/modules/sync_module.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/core/status_server.hpp"
#include "forwarding/userspace/backend.hpp"

namespace lvsd::modules {

using nlohmann::json;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const char* role_name(config::SyncRoleKind k) {
  switch (k) {
    case config::SyncRoleKind::master:
      return "master";
    case config::SyncRoleKind::backup:
      return "backup";
    case config::SyncRoleKind::both:
      return "both";
    case config::SyncRoleKind::follow:
      break;
  }
  return "follow";
}

}  // namespace

SyncModule::SyncModule(core::EventBus& events, ForwardingModule& forwarding)
    : events_(events), forwarding_(forwarding) {}

SyncModule::~SyncModule() {
  teardown();
}

bool SyncModule::should_send() const {
  if (!cfg_) return false;
  switch (cfg_->role.kind) {
    case config::SyncRoleKind::master:
    case config::SyncRoleKind::both:
      return true;
    case config::SyncRoleKind::backup:
      return false;
    case config::SyncRoleKind::follow:
      break;
  }
  return vrrp_state_ == "master";
}

bool SyncModule::should_receive() const {
  if (!cfg_) return false;
  switch (cfg_->role.kind) {
    case config::SyncRoleKind::backup:
    case config::SyncRoleKind::both:
      return true;
    case config::SyncRoleKind::master:
      return false;
    case config::SyncRoleKind::follow:
      break;
  }
  return vrrp_state_ != "master";
}

void SyncModule::start(const config::Config& cfg) {
  cfg_ = cfg.sync;
  subscription_ = events_.subscribe([this](const json& ev) {
    if (ev.value("type", "") != "vrrp" || !cfg_ || cfg_->role.kind != config::SyncRoleKind::follow)
      return;
    if (ev.value("instance", "") != cfg_->role.follow) return;
    const std::string to = lower(ev.value("to", ""));
    if (to == vrrp_state_) return;
    vrrp_state_ = to;
    apply_role();
  });
  configure();
}

void SyncModule::reconfigure(const config::Config& cfg, const config::ConfigDiff&) {
  if (cfg.sync == cfg_) return;
  teardown();
  cfg_ = cfg.sync;
  configure();
}

void SyncModule::stop() {
  teardown();
  subscription_.reset();
}

void SyncModule::configure() {
  if (!cfg_) return;
  auto* backend = forwarding_.backend();
  if (backend == nullptr) {
    last_error_ = "no forwarding backend";
    spdlog::warn("event=sync_not_started reason={:?}", last_error_);
    return;
  }
  if (auto* us = dynamic_cast<forwarding::userspace::UserspaceBackend*>(backend)) {
    sync::WorkerOptions o;
    o.interface = cfg_->interface;
    o.group = cfg_->group;
    o.port = cfg_->port;
    o.ttl = cfg_->ttl;
    o.syncid = cfg_->syncid;
    o.maxlen = cfg_->maxlen;
    o.full_resync = cfg_->full_resync;
    if (cfg_->auth) {
      std::ifstream f(cfg_->auth->key_file, std::ios::binary);
      std::string key((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      while (!key.empty() && (key.back() == '\n' || key.back() == '\r'))
        key.pop_back();
      if (!f.good() && !f.eof()) key.clear();
      if (key.empty()) {
        last_error_ =
            fmt::format("sync.auth.key_file {:?}: unreadable or empty", cfg_->auth->key_file);
        spdlog::error("event=sync_start_failed detail={:?}", last_error_);
        return;
      }
      o.auth_key = std::move(key);
    }
    auto& channel = us->sync_channel();
    channel.threshold = cfg_->threshold;
    channel.period = cfg_->period;
    worker_ = std::make_unique<sync::SyncWorker>(o, channel);
    std::string detail;
    if (auto ec = worker_->start(detail)) {
      last_error_ = detail;
      spdlog::error("event=sync_start_failed detail={:?}", detail);
      worker_.reset();
      return;
    }
    kind_ = "userspace";
  } else {
    kind_ = std::string(backend->name());
  }
  last_error_.clear();
  spdlog::info("event=sync_started backend={} interface={} group={} port={} syncid={} role={}{}",
               kind_, cfg_->interface, cfg_->group.to_string(), cfg_->port, cfg_->syncid,
               role_name(cfg_->role.kind),
               cfg_->role.kind == config::SyncRoleKind::follow ? " instance=" + cfg_->role.follow
                                                               : std::string());
  apply_role();
}

void SyncModule::apply_role() {
  if (!cfg_ || kind_.empty()) return;
  const bool send = should_send();
  const bool receive = should_receive();
  ++role_changes_;
  spdlog::info("event=sync_role send={} receive={} vrrp_state={}", send, receive, vrrp_state_);
  events_.publish("sync", {{"send", send}, {"receive", receive}, {"vrrp_state", vrrp_state_}});
  if (worker_) {
    worker_->set_roles(send, receive);
    return;
  }
  // The kernel's sync daemons.
  auto* backend = forwarding_.backend();
  if (!backend) return;
  auto daemon_cfg = [&](forwarding::SyncState st) {
    forwarding::SyncDaemonConfig c;
    c.state = st;
    c.interface = cfg_->interface;
    c.syncid = cfg_->syncid;
    c.maxlen = cfg_->maxlen;
    c.group = cfg_->group;
    c.port = cfg_->port;
    c.ttl = cfg_->ttl;
    return c;
  };
  auto set = [&](forwarding::SyncState st, bool want, bool& have) {
    if (want == have) return;
    std::error_code ec =
        want ? backend->start_sync_daemon(daemon_cfg(st)) : backend->stop_sync_daemon(st);
    if (ec && !(want && ec == std::errc::file_exists) &&
        !(!want && ec == std::errc::no_such_process)) {
      last_error_ = fmt::format("{} {} sync daemon: {}", want ? "start" : "stop",
                                forwarding::to_string(st), ec.message());
      spdlog::error("event=sync_kernel_daemon error={:?}", last_error_);
      return;
    }
    have = want;
    spdlog::info("event=sync_kernel_daemon state={} running={}", forwarding::to_string(st), want);
  };
  set(forwarding::SyncState::master, send, kernel_master_);
  set(forwarding::SyncState::backup, receive, kernel_backup_);
}

void SyncModule::teardown() {
  if (worker_) {
    worker_->set_roles(false, false);
    worker_->stop();
    worker_.reset();
  }
  if (auto* backend = forwarding_.backend(); backend && kind_ == "ipvs") {
    if (kernel_master_) backend->stop_sync_daemon(forwarding::SyncState::master);
    if (kernel_backup_) backend->stop_sync_daemon(forwarding::SyncState::backup);
  }
  kernel_master_ = kernel_backup_ = false;
  kind_.clear();
}

void SyncModule::register_commands(core::StatusServer& server) {
  server.add_command("sync", [this](const json&) { return snapshot(); });
}

json SyncModule::snapshot() const {
  if (!cfg_) return json{{"enabled", false}};
  json j = {{"enabled", true},
            {"source", "lvsd"},
            {"backend", kind_.empty() ? json() : json(kind_)},
            {"role", role_name(cfg_->role.kind)},
            {"following",
             cfg_->role.kind == config::SyncRoleKind::follow ? json(cfg_->role.follow) : json()},
            {"vrrp_state", vrrp_state_},
            {"sending", should_send()},
            {"receiving", should_receive()},
            {"interface", cfg_->interface},
            {"group", cfg_->group.to_string()},
            {"port", cfg_->port},
            {"syncid", cfg_->syncid},
            {"role_changes", role_changes_},
            {"last_error", last_error_}};
  if (worker_) {
    const auto& c = worker_->counters();
    auto g = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    j["sent"] = {{"messages", g(c.messages_sent)},
                 {"entries", g(c.entries_sent)},
                 {"errors", g(c.send_errors)}};
    j["received"] = {{"messages", g(c.messages_received)},
                     {"entries", g(c.entries_received)},
                     {"ignored_not_backup", g(c.entries_ignored_not_backup)},
                     {"queue_full", g(c.entries_applied_queue_full)}};
    j["full_resync"] = {{"enabled", cfg_->full_resync},
                        {"requests_sent", g(c.resync_requests_sent)},
                        {"requests_received", g(c.resync_requests_received)}};
    j["auth"] = {{"enabled", cfg_->auth.has_value()}, {"failed", g(c.auth_failed)}};
    json drops = json::object();
    for (std::size_t i = 0; i < sync::kDropReasonCount; ++i) {
      auto n = g(c.drops[i]);
      if (n) drops[std::string(sync::to_string(static_cast<sync::DropReason>(i)))] = n;
    }
    j["drops"] = drops;
    j["peers"] = worker_->peers();
    auto* us = dynamic_cast<forwarding::userspace::UserspaceBackend*>(forwarding_.backend());
    if (us) {
      j["queue_depth"] = us->sync_channel().out.size();
      j["full_resync"]["dumps"] = g(us->sync_channel().resyncs);
      j["full_resync"]["entries_dumped"] = g(us->sync_channel().resync_entries);
      auto eng = us->engine_counters();
      j["engine"] = {{"queued", eng["sync_queued"]},
                     {"queue_full", eng["sync_queue_full"]},
                     {"applied", eng["sync_applied"]},
                     {"unknown", eng["sync_unknown"]},
                     {"refused", eng["sync_refused"]}};
    }
  } else if (kind_ == "ipvs") {
    j["kernel_daemons"] = {{"master", kernel_master_}, {"backup", kernel_backup_}};
  }
  return j;
}

}  // namespace lvsd::modules
