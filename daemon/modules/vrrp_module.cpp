#include "daemon/modules/vrrp_module.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <future>

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
          }};
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
    for (const auto& v : i.virtual_addresses) {
      vrrp::Vip vip;
      vip.address = v.address;
      vip.prefix = v.prefix;
      vip.device = v.device.empty() ? i.interface : v.device;
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
    out.push_back(std::move(c));
  }
  return out;
}

std::map<std::string, std::vector<std::string>> VrrpModule::unsupported(const config::Config& cfg) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& i : cfg.vrrp.instances) {
    auto& v = out[i.name];
    if (!i.track.interfaces.empty()) v.push_back("track.interfaces");
    if (!i.track.scripts.empty()) v.push_back("track.scripts");
    if (!i.track.files.empty()) v.push_back("track.files");
    if (!i.track.services.empty()) v.push_back("track.services");
    if (i.use_vmac) v.push_back("use_vmac");
    for (const auto& g : cfg.vrrp.sync_groups) {
      if (std::find(g.instances.begin(), g.instances.end(), i.name) != g.instances.end())
        v.push_back("sync_group " + g.name);
    }
    if (v.empty()) out.erase(i.name);
  }
  return out;
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
  hooks.on_transition = [this](const vrrp::TransitionEvent& ev) {
    asio::post(io_, [this, ev] { on_transition(ev); });
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
  for (const auto& [name, what] : unsupported(cfg)) {
    std::string list;
    for (const auto& w : what)
      list += (list.empty() ? "" : ",") + w;
    spdlog::warn("event=vrrp_unsupported instance={} ignored={}", kv_quote(name), kv_quote(list));
  }
  auto instances = instances_from(cfg);
  if (instances.empty() && !driver_) return;
  ensure_running();
  asio::post(vrrp_io_, [this, instances = std::move(instances)]() mutable {
    driver_->configure(std::move(instances));
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
  if (!driver_) return;
  // The longest resign hold is 3 s (instances_from); add slack for the loop
  // itself. A VRRP thread that does not answer in time is left to the
  // process exit (the kernel then drops the sockets).
  const vrrp::Duration bound = std::chrono::seconds(4);  // resign hold (<= 3 s) + slack
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  asio::post(vrrp_io_, [this, done] { driver_->shutdown([done] { done->set_value(); }); });
  const auto t0 = std::chrono::steady_clock::now();
  if (future.wait_for(bound) != std::future_status::ready) {
    spdlog::warn("event=vrrp_stop_timeout waited_ms={}",
                 std::chrono::duration_cast<std::chrono::milliseconds>(bound).count());
  }
  work_.reset();
  vrrp_io_.stop();
  thread_.join();
  spdlog::info(
      "event=vrrp_stopped_thread waited_ms={}",
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}

// ------------------------------------------------------------- transitions

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
  config::Check c;
  c.name = fmt::format("notify_{}", ev.instance);
  c.type = config::CheckType::misc;
  c.misc.command = *command;
  // keepalived's notify arguments, in its order: name, state, priority.
  c.misc.command.push_back(ev.instance);
  c.misc.command.push_back(state);
  c.misc.command.push_back(std::to_string(ev.priority));
  c.misc.user = cfg_.global.script_user;
  c.timeout = std::chrono::seconds(30);
  const checkers::ProbeTarget target{boost::asio::ip::address_v4::any(), 0};
  const std::uint64_t id = next_notify_++;
  auto probe = notify_(io_, c, target);
  auto* raw = probe.get();
  notifies_.emplace(id, std::move(probe));
  ++notifies_started_;
  spdlog::info("event=vrrp_notify instance={} state={} command={}", kv_quote(ev.instance), state,
               kv_quote(command->front()));
  const std::string instance = ev.instance;
  raw->run(std::chrono::duration_cast<std::chrono::milliseconds>(c.timeout),
           [this, id, instance, state](const checkers::ProbeResult& r) {
             spdlog::log(r.ok ? spdlog::level::info : spdlog::level::warn,
                         "event=vrrp_notify_done instance={} state={} ok={} reason={}",
                         kv_quote(instance), state, r.ok, kv_quote(r.reason));
             // Free the probe outside its own callback.
             asio::post(io_, [this, id] { notifies_.erase(id); });
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
  const auto unsup = unsupported(cfg_);
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
    if (auto it = unsup.find(i.name); it != unsup.end()) j["unsupported"] = it->second;
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
  for (const auto& g : cfg_.vrrp.sync_groups) {
    groups.push_back({{"name", g.name}, {"instances", g.instances}, {"state", "not implemented"}});
  }
  return {{"source", "vrrp"},
          {"instances", instances},
          {"channels", channels},
          {"sync_groups", groups},
          {"transitions", transitions_}};
}

}  // namespace lvsd::modules
