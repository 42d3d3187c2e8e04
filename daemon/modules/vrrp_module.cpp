#include "daemon/modules/vrrp_module.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <set>

#include <pthread.h>
#include <sched.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "daemon/core/logging.hpp"
#include "daemon/core/status_server.hpp"
#include "vrrp/netlink_address_manager.hpp"
#include "vrrp/raw_transport.hpp"

namespace lvsd::modules {

using core::kv_quote;
using nlohmann::json;
namespace asio = boost::asio;

namespace {

vrrp::Duration ns(config::Duration d) {
  return std::chrono::duration_cast<vrrp::Duration>(d);
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

json drops_json(const vrrp::DropCounters& d) {
  json j = json::object();
  for (std::size_t k = 0; k < vrrp::kRxDropCount; ++k) {
    j[std::string(vrrp::to_string(static_cast<vrrp::RxDrop>(k)))] = d.by_reason[k];
  }
  return j;
}

std::string family_name(vrrp::Family f) {
  return f == vrrp::Family::inet ? "inet" : "inet6";
}

}  // namespace

VrrpModule::Backend VrrpModule::real_backend() {
  return {[](asio::io_context& io) -> std::unique_ptr<vrrp::Transport> {
            return std::make_unique<vrrp::RawTransport>(io);
          },
          [](asio::io_context& io) -> std::unique_ptr<vrrp::AddressManager> {
            return std::make_unique<vrrp::NetlinkAddressManager>(io);
          },
          [] { return std::make_unique<vrrp::AcceptRules>(); }};
}

VrrpModule::VrrpModule(asio::io_context& io, core::EventBus& events, Backend backend,
                       NotifyFactory notify)
    : io_(io), events_(events), backend_(std::move(backend)), notify_(std::move(notify)) {}

VrrpModule::~VrrpModule() {
  // stop() normally did this; an aborted start-up may not have.
  if (thread_.joinable()) {
    work_.reset();
    vrrp_io_.stop();
    thread_.join();
  }
  driver_.reset();
  addresses_.reset();
  transport_.reset();
}

// ------------------------------------------------------------- config

std::vector<vrrp::InstanceConfig> VrrpModule::instances_from(const config::Config& cfg) {
  std::vector<vrrp::InstanceConfig> out;
  // The vmac names, from the whole configuration at once (defaults must not
  // collide: keepalived's vrrp.<vrid>, vrrp6.<vrid>, vrrp1.<vrid>...).
  std::vector<vrrp::VmacRequest> requests;
  for (const auto& i : cfg.vrrp.instances) {
    if (!i.use_vmac) continue;
    requests.push_back(
        {i.vmac_name,
         i.family() == config::Family::inet6 ? vrrp::Family::inet6 : vrrp::Family::inet, i.vrid});
  }
  const auto vmac_names = vrrp::assign_vmac_names(requests);
  std::size_t next_vmac = 0;
  for (const auto& i : cfg.vrrp.instances) {
    vrrp::InstanceConfig c;
    c.name = i.name;
    c.interface = i.interface;
    c.family = i.family() == config::Family::inet6 ? vrrp::Family::inet6 : vrrp::Family::inet;
    c.fsm.vrid = i.vrid;
    c.fsm.version = i.version;
    c.fsm.priority = i.priority;
    // The loader allows only whole centiseconds (v3) or seconds (v2).
    c.fsm.advert_interval = vrrp::Centiseconds(i.advert_interval.count() / 10);
    // A resigning master keeps its VIPs until the new master speaks, at most
    // 2 x the interval (more than any backup's Skew_Time), capped so that a
    // stop never waits long for a backup that does not exist.
    c.fsm.resign_hold =
        std::min<vrrp::Duration>(2 * ns(i.advert_interval), std::chrono::seconds(3));
    c.fsm.preempt = i.preempt;
    c.fsm.preempt_delay = ns(i.preempt_delay);
    c.fsm.accept = i.accept;
    c.fsm.initial_state = i.initial_state == config::InitialState::master
                              ? vrrp::InitialState::master
                              : vrrp::InitialState::backup;
    if (i.use_vmac) {
      c.vmac = vrrp::make_vmac_spec(vmac_names[next_vmac++], i.interface, c.family, i.vrid);
    }
    for (const auto& v : i.virtual_addresses) {
      vrrp::Vip vip;
      vip.address = v.address;
      vip.prefix = v.prefix;
      vip.device = v.device.empty() ? i.interface : v.device;
      // keepalived: with use_vmac the VIPs that name no other interface are
      // configured on the macvlan.
      if (c.vmac && vip.device == i.interface) vip.device = c.vmac->name;
      vip.label = v.label;
      vip.scope = vrrp::scope_from_string(v.scope).value_or(vrrp::Scope::global);
      c.vips.push_back(vip);
    }
    for (const auto& r : i.virtual_routes) {
      vrrp::VirtualRoute vr;
      vr.to = r.to.address;
      vr.prefix = r.to.length;
      vr.via = r.via;
      vr.device = r.device.empty() && !r.via ? i.interface : r.device;
      vr.table = r.table;
      c.routes.push_back(vr);
    }
    c.unicast_source = i.unicast_source;
    c.unicast_peers = i.unicast_peers;
    if (i.auth) {
      c.auth_type = vrrp::AuthType::simple_text;
      c.password = i.auth->password;
    }
    c.v3_checksum_pseudo_header = i.v3_checksum_pseudo_header;
    c.garp.count = i.garp.count;
    c.garp.interval = ns(i.garp.interval);
    c.garp.repeat_delay = ns(i.garp.repeat_delay);
    c.garp.refresh = ns(i.garp.refresh);
    for (const auto& t : i.track.interfaces)
      c.trackers.push_back({vrrp::TrackKind::interface, t.name, t.weight});
    for (const auto& t : i.track.services)
      c.trackers.push_back({vrrp::TrackKind::service, t.name, t.weight});
    // A script or file listed without a weight of its own uses the one of
    // its definition (docs/config.md).
    for (const auto& t : i.track.scripts) {
      int w = t.weight;
      for (const auto& d : cfg.vrrp.scripts)
        if (d.name == t.name && w == 0) w = d.weight;
      c.trackers.push_back({vrrp::TrackKind::script, t.name, w});
    }
    for (const auto& t : i.track.files) {
      int w = t.weight;
      for (const auto& d : cfg.vrrp.files)
        if (d.name == t.name && w == 0) w = d.weight;
      c.trackers.push_back({vrrp::TrackKind::file, t.name, w});
    }
    for (const auto& g : cfg.vrrp.sync_groups) {
      if (std::find(g.instances.begin(), g.instances.end(), i.name) != g.instances.end())
        c.sync_group = g.name;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<boost::asio::ip::address> VrrpModule::accept_drop_vips(
    const config::Config& cfg, const std::map<std::string, bool>& holding) {
  std::vector<boost::asio::ip::address> out;
  for (const auto& i : cfg.vrrp.instances) {
    // RFC 5798 6.4.3: the owner always accepts; Accept_Mode True accepts.
    if (i.accept || i.priority == vrrp::kPriorityOwner) continue;
    auto it = holding.find(i.name);
    if (it == holding.end() || !it->second) continue;
    for (const auto& v : i.virtual_addresses)
      out.push_back(v.address);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// filter INPUT (priority 0) runs before ip_vs's LOCAL_IN hooks
// (NF_IP_PRI_NAT_SRC - 2 / - 1, net/netfilter/ipvs/ip_vs_core.c): a VIP whose
// packets Accept_Mode drops cannot be an ip_vs service address. The
// userspace engine takes its services' packets in raw PREROUTING instead.
void VrrpModule::warn_accept_with_ipvs(const config::Config& cfg) const {
  if (cfg.forwarding.backend == config::ForwardingBackend::userspace) return;
  for (const auto& i : cfg.vrrp.instances) {
    if (i.accept || i.priority == vrrp::kPriorityOwner) continue;
    for (const auto& s : cfg.services) {
      if (!s.address) continue;
      for (const auto& v : i.virtual_addresses) {
        if (v.address != *s.address) continue;
        spdlog::warn(
            "event=vrrp_accept_blocks_ipvs instance={} service={} reason={}", kv_quote(i.name),
            kv_quote(s.key()),
            kv_quote("accept: false drops packets to the VIP in filter INPUT, before ip_vs "
                     "(LOCAL_IN) sees them: the service gets no traffic while this director is "
                     "master; use accept: true or the userspace backend"));
      }
    }
  }
}

// ------------------------------------------------------------- lifecycle

void VrrpModule::ensure_running() {
  if (driver_) return;
  // Built here so that a host without VRRP instances opens no raw or netlink
  // socket at all; NetlinkAddressManager throws when netlink is unusable,
  // which aborts start-up with its reason.
  transport_ = backend_.transport(vrrp_io_);
  addresses_ = backend_.addresses(vrrp_io_);
  clock_ = std::make_unique<checkers::AsioClock>(vrrp_io_);
  vrrp::Driver::Hooks hooks;
  // Transitions reach the control loop by post; while stop() waits for the
  // driver's shutdown the control loop is blocked (and ends right after), so
  // those last ones (to Initialize: notify.stop) are kept for stop() itself.
  hooks.on_transition = [this](const vrrp::TransitionEvent& ev) {
    std::lock_guard lock(late_mu_);
    if (capture_late_)
      late_.push_back([this, ev] { on_transition(ev); });
    else
      asio::post(io_, [this, ev] { on_transition(ev); });
  };
  hooks.on_group_transition = [this](const vrrp::GroupEvent& ev) {
    std::lock_guard lock(late_mu_);
    if (capture_late_)
      late_.push_back([this, ev] { on_group_transition(ev); });
    else
      asio::post(io_, [this, ev] { on_group_transition(ev); });
  };
  hooks.on_holding = [this](const std::string& instance, bool holding) {
    asio::post(io_, [this, instance, holding] { on_holding(instance, holding); });
  };
  driver_ = std::make_unique<vrrp::Driver>(vrrp_io_, *clock_, *transport_, *addresses_, hooks);
  work_.emplace(vrrp_io_.get_executor());
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lvsd-vrrp");
    // Real-time round robin at the lowest RT priority (keepalived's
    // vrrp_rt_priority): with 10 ms adverts a 36 ms stall of this thread
    // behind busy cores is a needless failover. The thread only wakes for
    // packets and timers, so it cannot starve the rest. Needs CAP_SYS_NICE
    // (and no RestrictRealtime= under systemd); without it, normal scheduling.
    sched_param sp{};
    sp.sched_priority = 1;
    if (int rc = pthread_setschedparam(pthread_self(), SCHED_RR, &sp); rc != 0) {
      spdlog::info("event=vrrp_thread_realtime ok=false reason={}", kv_quote(std::strerror(rc)));
    } else {
      spdlog::info("event=vrrp_thread_realtime ok=true policy=SCHED_RR priority=1");
    }
    try {
      vrrp_io_.run();
    } catch (const std::exception& e) {
      // A bug on the VRRP thread: the instances stop advertising, so the peer
      // takes over; say why loudly rather than die silently.
      spdlog::critical("event=vrrp_thread_failed reason={}", kv_quote(e.what()));
    }
  });
  spdlog::info("event=vrrp_thread_started");
}

void VrrpModule::apply(const config::Config& cfg) {
  cfg_ = cfg;
  warn_accept_with_ipvs(cfg);
  auto instances = instances_from(cfg);
  if (instances.empty() && !driver_) return;
  if (!accept_rules_ && backend_.accept_rules) accept_rules_ = backend_.accept_rules();
  if (accept_rules_ && !accept_leftovers_checked_) {
    // A killed lvsd's Accept_Mode rules would keep dropping packets to VIPs.
    accept_leftovers_checked_ = true;
    std::string detail;
    if (auto ec = accept_rules_->remove(detail)) {
      spdlog::warn("event=vrrp_accept_rules_cleanup_failed error={}", kv_quote(detail));
    }
  }
  update_accept_rules();  // an instance's accept or VIPs may have changed
  ensure_running();
  asio::post(vrrp_io_, [this, instances = std::move(instances)]() mutable {
    driver_->configure(std::move(instances));
  });
  setup_trackers();
}

// ------------------------------------------------------------- trackers

struct VrrpModule::Script {
  config::VrrpScript cfg;
  std::unique_ptr<asio::steady_timer> timer;
  std::unique_ptr<checkers::Probe> probe;
  bool running = false;
  std::optional<bool> ok;  // reported state; none yet = OK (keepalived without init_fail)
  unsigned successes = 0;  // consecutive
  unsigned failures = 0;
  ~Script() {
    if (timer) timer->cancel();
    if (probe && running) probe->cancel();
  }
};

void VrrpModule::post_tracked(vrrp::TrackKind kind, const std::string& name, vrrp::TrackValue v) {
  if (!driver_) return;
  asio::post(vrrp_io_, [this, kind, name, v] { driver_->set_tracked(kind, name, v); });
}

void VrrpModule::on_event(const json& ev) {
  if (ev.value("type", "") != "quorum") return;
  const std::string key = ev.value("service", "");
  const bool up = ev.value("state", "") == "up";
  quorum_[key] = up;
  post_service_states();
}

// Trackers name a service by name or key; the checker's events carry the key.
void VrrpModule::post_service_states() {
  for (const auto& i : cfg_.vrrp.instances) {
    for (const auto& t : i.track.services) {
      for (const auto& s : cfg_.services) {
        if (t.name != s.name && t.name != s.key()) continue;
        if (auto it = quorum_.find(s.key()); it != quorum_.end())
          post_tracked(vrrp::TrackKind::service, t.name, {it->second, 0});
      }
    }
  }
}

void VrrpModule::setup_trackers() {
  if (!events_sub_) {
    events_sub_ = events_.subscribe([this](const json& ev) { on_event(ev); });
  }
  post_service_states();
  // Files and scripts that some instance tracks.
  std::set<std::string> files, scripts;
  for (const auto& i : cfg_.vrrp.instances) {
    for (const auto& t : i.track.files)
      files.insert(t.name);
    for (const auto& t : i.track.scripts)
      scripts.insert(t.name);
  }
  if (files.empty()) {
    files_timer_.reset();
  } else {
    if (!files_timer_) files_timer_ = std::make_unique<asio::steady_timer>(io_);
    poll_files();
  }
  std::map<std::string, std::shared_ptr<Script>> next;
  for (const auto& d : cfg_.vrrp.scripts) {
    if (!scripts.count(d.name)) continue;
    auto it = scripts_.find(d.name);
    if (it != scripts_.end() && it->second->cfg == d) {
      next.emplace(d.name, it->second);
      continue;
    }
    auto sc = std::make_shared<Script>();
    sc->cfg = d;
    sc->timer = std::make_unique<asio::steady_timer>(io_);
    next.emplace(d.name, sc);
    run_script(sc);
  }
  scripts_ = std::move(next);
}

// keepalived's track_file: the file holds an integer. lvsd reads it every
// second; a missing or unparsable file counts as 0 (logged when it changes).
void VrrpModule::poll_files() {
  if (!files_timer_ || stopped_) return;
  for (const auto& d : cfg_.vrrp.files) {
    bool used = false;
    for (const auto& i : cfg_.vrrp.instances)
      for (const auto& t : i.track.files)
        used = used || t.name == d.name;
    if (!used) continue;
    std::int64_t v = 0;
    if (FILE* f = std::fopen(d.path.c_str(), "re")) {
      long long x = 0;
      if (std::fscanf(f, "%lld", &x) == 1) v = x;
      std::fclose(f);
    }
    post_tracked(vrrp::TrackKind::file, d.name, {true, v});
  }
  files_timer_->expires_after(std::chrono::seconds(1));
  files_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) poll_files();
  });
}

void VrrpModule::run_script(const std::shared_ptr<Script>& sc) {
  if (stopped_) return;
  std::weak_ptr<Script> weak = sc;
  // Next run one interval after this one started; a run still going then is
  // not doubled (the next starts at the following tick).
  sc->timer->expires_after(sc->cfg.interval);
  sc->timer->async_wait([this, weak](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto s = weak.lock()) run_script(s);
  });
  if (sc->running) return;
  config::Check c;
  c.name = fmt::format("vrrp_script_{}", sc->cfg.name);
  c.type = config::CheckType::misc;
  c.misc.command = sc->cfg.command;
  c.misc.user = sc->cfg.user.empty() ? cfg_.global.script_user : sc->cfg.user;
  c.timeout = sc->cfg.timeout;
  const checkers::ProbeTarget target{boost::asio::ip::address_v4::any(), 0};
  if (!sc->probe) sc->probe = notify_(io_, c, target);
  sc->running = true;
  sc->probe->run(std::chrono::duration_cast<std::chrono::milliseconds>(c.timeout),
                 [this, weak](const checkers::ProbeResult& r) {
                   auto s = weak.lock();
                   if (!s) return;
                   s->running = false;
                   if (r.ok) {
                     ++s->successes;
                     s->failures = 0;
                   } else {
                     ++s->failures;
                     s->successes = 0;
                   }
                   // rise/fall as keepalived: `fall` failures in a row to go
                   // down, `rise` successes in a row to come back.
                   std::optional<bool> next = s->ok;
                   const bool currently_ok = s->ok.value_or(true);
                   if (currently_ok && s->failures >= s->cfg.fall) next = false;
                   if (!currently_ok && s->successes >= s->cfg.rise) next = true;
                   if (!s->ok && r.ok) next = true;  // first result, OK: now known
                   if (next != s->ok) {
                     s->ok = next;
                     spdlog::log(*next ? spdlog::level::info : spdlog::level::warn,
                                 "event=vrrp_script script={} ok={} reason={}",
                                 kv_quote(s->cfg.name), *next, kv_quote(r.reason));
                     post_tracked(vrrp::TrackKind::script, s->cfg.name, {*next, 0});
                   }
                 });
}

void VrrpModule::start(const config::Config& cfg) {
  apply(cfg);
}

void VrrpModule::reconfigure(const config::Config& cfg, const config::ConfigDiff&) {
  if (stopped_) return;
  apply(cfg);
}

void VrrpModule::stop() {
  if (stopped_) return;
  stopped_ = true;
  events_sub_.reset();
  files_timer_.reset();
  scripts_.clear();
  if (!driver_) return;
  // Whatever happens below, Accept_Mode's rules go with lvsd (the VIPs go
  // too, at the end of the resign hold; dropping traffic to them a few
  // hundred ms earlier than that would only lose packets).
  struct RemoveRules {
    VrrpModule* m;
    ~RemoveRules() {
      if (!m->accept_rules_ || !m->accept_installed_) return;
      std::string detail;
      if (auto ec = m->accept_rules_->remove(detail)) {
        spdlog::warn("event=vrrp_accept_rules_failed op=remove error={}", kv_quote(detail));
      } else {
        spdlog::info("event=vrrp_accept_rules op=remove");
      }
      m->accept_installed_.reset();
    }
  } remove_rules{this};
  // The longest resign hold is 3 s (instances_from); add slack for the loop
  // itself. A VRRP thread that does not answer in time is left to the
  // process exit (the kernel then drops the sockets).
  const vrrp::Duration bound = std::chrono::seconds(4);  // resign hold (<= 3 s) + slack
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  {
    std::lock_guard lock(late_mu_);
    capture_late_ = true;
  }
  asio::post(vrrp_io_, [this, done] { driver_->shutdown([done] { done->set_value(); }); });
  const auto t0 = std::chrono::steady_clock::now();
  if (future.wait_for(bound) != std::future_status::ready) {
    spdlog::warn("event=vrrp_stop_timeout waited_ms={}",
                 std::chrono::duration_cast<std::chrono::milliseconds>(bound).count());
  }
  work_.reset();
  vrrp_io_.stop();
  thread_.join();
  run_late_transitions();
  spdlog::info(
      "event=vrrp_stopped_thread waited_ms={}",
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}

// ------------------------------------------------------------- accept mode

void VrrpModule::on_holding(const std::string& instance, bool holding) {
  if (stopped_) return;
  holding_[instance] = holding;
  update_accept_rules();
}

void VrrpModule::update_accept_rules() {
  if (!accept_rules_ || stopped_) return;
  const auto vips = accept_drop_vips(cfg_, holding_);
  if (vips.empty()) {
    if (!accept_installed_) return;
    std::string detail;
    if (auto ec = accept_rules_->remove(detail)) {
      spdlog::warn("event=vrrp_accept_rules_failed op=remove error={}", kv_quote(detail));
      return;
    }
    accept_installed_.reset();
    spdlog::info("event=vrrp_accept_rules op=remove");
    return;
  }
  if (accept_installed_ && *accept_installed_ == vips) return;
  std::string detail;
  if (auto ec = accept_rules_->install(vips, detail)) {
    spdlog::error("event=vrrp_accept_rules_failed op=install vips={} error={}", vips.size(),
                  kv_quote(detail));
    return;
  }
  accept_installed_ = vips;
  std::string list;
  for (const auto& v : vips)
    list += (list.empty() ? "" : ",") + v.to_string();
  spdlog::info("event=vrrp_accept_rules op=install chain={} drop={}", vrrp::kAcceptChain, list);
}

// ------------------------------------------------------------- transitions

void VrrpModule::run_late_transitions() {
  std::vector<std::function<void()>> late;
  {
    std::lock_guard lock(late_mu_);
    late.swap(late_);
  }
  if (late.empty()) return;
  // The control loop ends after stop(): the notify commands of these
  // transitions run on a loop of their own, waited for a bounded time
  // (keepalived does not wait at all; a stop notify cut short is worse).
  asio::io_context stop_io;
  notify_io_ = &stop_io;
  const auto before = notifies_started_;
  const auto first_id = next_notify_;
  for (auto& f : late)
    f();
  if (notifies_started_ != before) {
    const auto t0 = std::chrono::steady_clock::now();
    stop_io.run_for(std::chrono::seconds(5));
    spdlog::info(
        "event=vrrp_stop_notifies started={} waited_ms={}", notifies_started_ - before,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  // Probes still bound to stop_io (past the bound) must not outlive it.
  for (auto it = notifies_.begin(); it != notifies_.end();)
    it = it->first >= first_id ? notifies_.erase(it) : std::next(it);
  notify_io_ = nullptr;
}

void VrrpModule::on_transition(const vrrp::TransitionEvent& ev) {
  ++transitions_;
  events_.publish("vrrp", {{"instance", ev.instance},
                           {"interface", ev.interface},
                           {"vrid", ev.vrid},
                           {"from", std::string(vrrp::to_string(ev.from))},
                           {"to", std::string(vrrp::to_string(ev.to))},
                           {"priority", ev.priority},
                           {"reason", ev.reason},
                           {"at", rfc3339(ev.at)}});
  run_notify(ev);
}

void VrrpModule::run_notify(const vrrp::TransitionEvent& ev) {
  const config::VrrpInstance* inst = nullptr;
  for (const auto& i : cfg_.vrrp.instances) {
    if (i.name == ev.instance) inst = &i;
  }
  if (!inst) return;
  const config::Command* command = nullptr;
  std::string state;
  switch (ev.to) {
    case vrrp::State::master:
      command = &inst->notify.master;
      break;
    case vrrp::State::backup:
      command = &inst->notify.backup;
      break;
    case vrrp::State::fault:
      command = &inst->notify.fault;
      break;
    case vrrp::State::initialize:
      command = &inst->notify.stop;
      state = "STOP";
      break;
  }
  if (!command || command->empty()) return;
  if (state.empty()) state = upper(vrrp::to_string(ev.to));
  // keepalived's notify arguments, in its order: name, state, priority.
  run_command(*command, ev.instance, {ev.instance, state, std::to_string(ev.priority)});
}

void VrrpModule::on_group_transition(const vrrp::GroupEvent& ev) {
  events_.publish("vrrp_group", {{"group", ev.group},
                                 {"from", std::string(vrrp::to_string(ev.from))},
                                 {"to", std::string(vrrp::to_string(ev.to))},
                                 {"reason", ev.reason},
                                 {"at", rfc3339(ev.at)}});
  const config::VrrpSyncGroup* group = nullptr;
  for (const auto& g : cfg_.vrrp.sync_groups) {
    if (g.name == ev.group) group = &g;
  }
  if (!group) return;
  const config::Command* command = nullptr;
  switch (ev.to) {
    case vrrp::State::master:
      command = &group->notify.master;
      break;
    case vrrp::State::backup:
      command = &group->notify.backup;
      break;
    case vrrp::State::fault:
      command = &group->notify.fault;
      break;
    case vrrp::State::initialize:
      command = &group->notify.stop;
      break;
  }
  if (!command || command->empty()) return;
  const std::string state =
      ev.to == vrrp::State::initialize ? "STOP" : upper(vrrp::to_string(ev.to));
  // A group has no priority of its own: name and state.
  run_command(*command, ev.group, {ev.group, state});
}

void VrrpModule::run_command(const config::Command& command, const std::string& what,
                             std::vector<std::string> args) {
  const std::string instance = what;
  const std::string state = args.size() >= 2 ? args[1] : std::string();
  config::Check c;
  c.name = fmt::format("notify_{}", what);
  c.type = config::CheckType::misc;
  c.misc.command = command;
  for (auto& a : args)
    c.misc.command.push_back(std::move(a));
  c.misc.user = cfg_.global.script_user;
  c.timeout = std::chrono::seconds(30);
  const checkers::ProbeTarget target{boost::asio::ip::address_v4::any(), 0};
  const std::uint64_t id = next_notify_++;
  auto& io = notify_io_ ? *notify_io_ : io_;
  auto probe = notify_(io, c, target);
  auto* raw = probe.get();
  notifies_.emplace(id, std::move(probe));
  ++notifies_started_;
  spdlog::info("event=vrrp_notify instance={} state={} command={}", kv_quote(what), state,
               kv_quote(command.front()));
  raw->run(std::chrono::duration_cast<std::chrono::milliseconds>(c.timeout),
           [this, &io, id, instance, state](const checkers::ProbeResult& r) {
             spdlog::log(r.ok ? spdlog::level::info : spdlog::level::warn,
                         "event=vrrp_notify_done instance={} state={} ok={} reason={}",
                         kv_quote(instance), state, r.ok, kv_quote(r.reason));
             // Free the probe outside its own callback.
             asio::post(io, [this, id] { notifies_.erase(id); });
           });
}

// ------------------------------------------------------------- status

vrrp::DriverStatus VrrpModule::status() const {
  if (!driver_) return {};
  return driver_->status();
}

void VrrpModule::register_commands(core::StatusServer& server) {
  server.add_command("vrrp", [this](const json&) { return snapshot(); });
}

json VrrpModule::snapshot() const {
  const auto st = status();
  json instances = json::array();
  for (const auto& i : st.instances) {
    json j = {
        {"name", i.name},
        {"interface", i.interface},
        {"family", family_name(i.family)},
        {"vrid", i.vrid},
        {"version", i.version},
        {"state", std::string(vrrp::to_string(i.state))},
        {"running", i.running},
        {"priority", i.priority},
        {"effective_priority", i.effective_priority},
        {"advert_interval",
         config::format_duration(std::chrono::duration_cast<config::Duration>(i.advert_interval))},
        {"master_adver_interval",
         config::format_duration(
             std::chrono::duration_cast<config::Duration>(i.master_adver_interval))},
        {"source", i.source ? json(i.source->to_string()) : json(nullptr)},
        {"master", i.master ? json(i.master->to_string()) : json(nullptr)},
        {"master_priority", i.master_priority ? json(*i.master_priority) : json(nullptr)},
        {"unicast", i.unicast},
        {"holds_vips", i.holds_vips},
        {"virtual_addresses", i.vips},
        {"adverts",
         {{"sent", i.adverts_sent},
          {"received", i.adverts_received},
          {"priority_zero_sent", i.priority_zero_sent},
          {"priority_zero_received", i.priority_zero_received},
          {"send_errors", i.send_errors}}},
        {"became_master", i.became_master},
        {"announcements_sent", i.announcements_sent},
        {"address_list_mismatches", i.address_list_mismatches},
        {"drops", drops_json(i.drops)},
        {"dropped", i.drops.total()}};
    if (!i.fault_reason.empty()) j["fault_reason"] = i.fault_reason;
    if (i.last_transition) {
      j["last_transition"] = {{"from", std::string(vrrp::to_string(i.last_transition->from))},
                              {"to", std::string(vrrp::to_string(i.last_transition->to))},
                              {"reason", i.last_transition->reason},
                              {"time", rfc3339(i.last_transition->at)}};
    } else {
      j["last_transition"] = nullptr;
    }
    json trackers = json::array();
    for (const auto& t : i.trackers) {
      json tj = {{"kind", std::string(vrrp::to_string(t.tracker.kind))},
                 {"name", t.tracker.name},
                 {"weight", t.tracker.weight},
                 {"known", t.known},
                 {"delta", t.delta},
                 {"fault", t.fault}};
      if (t.tracker.kind == vrrp::TrackKind::file) {
        tj["value"] = t.value.value;
      } else {
        tj["ok"] = t.value.ok;
      }
      trackers.push_back(std::move(tj));
    }
    j["trackers"] = std::move(trackers);
    if (!i.vmac.empty()) {
      j["vmac"] = {{"name", i.vmac}, {"mac", i.vmac_mac}, {"ready", i.vmac_ready}};
    } else {
      j["vmac"] = nullptr;
    }
    // Accept_Mode (RFC 5798 6.1) and whether its drop rules cover this
    // instance's VIPs right now.
    for (const auto& ci : cfg_.vrrp.instances) {
      if (ci.name != i.name) continue;
      j["accept"] = ci.accept;
      bool enforced = false;
      if (accept_installed_ && !ci.virtual_addresses.empty()) {
        enforced = std::binary_search(accept_installed_->begin(), accept_installed_->end(),
                                      ci.virtual_addresses.front().address);
      }
      j["accept_enforced"] = enforced;
    }
    instances.push_back(std::move(j));
  }
  json channels = json::array();
  for (const auto& c : st.channels) {
    channels.push_back({{"interface", c.interface},
                        {"family", family_name(c.family)},
                        {"joined", c.joined},
                        {"received", c.received},
                        {"drops", drops_json(c.drops)},
                        {"dropped", c.drops.total()}});
  }
  json groups = json::array();
  for (const auto& g : st.groups) {
    groups.push_back({{"name", g.name},
                      {"instances", g.instances},
                      {"state", std::string(vrrp::to_string(g.state))},
                      {"waiting", g.waiting}});
  }
  return {{"source", "vrrp"},
          {"instances", instances},
          {"channels", channels},
          {"sync_groups", groups},
          {"transitions", transitions_}};
}

}  // namespace lvsd::modules
