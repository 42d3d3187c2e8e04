#include "daemon/modules/forwarding_module.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "daemon/core/config_views.hpp"
#include "daemon/core/logging.hpp"
#include "daemon/core/status_server.hpp"

namespace lvsd::modules {

using nlohmann::json;
namespace fwd = lvsd::forwarding;
using core::kv_quote;

namespace {

json stats_json(const fwd::Stats& s) {
  return {{"conns", s.conns},
          {"inpkts", s.inpkts},
          {"outpkts", s.outpkts},
          {"inbytes", s.inbytes},
          {"outbytes", s.outbytes}};
}

json rates_json(const fwd::Stats& s) {
  return {{"cps", s.cps},
          {"inpps", s.inpps},
          {"outpps", s.outpps},
          {"inbps", s.inbps},
          {"outbps", s.outbps}};
}

std::vector<std::string> flag_names(const fwd::VirtualService& s) {
  std::vector<std::string> out;
  const std::string prefix = s.scheduler == "mh" ? "mh-" : "sh-";
  if (s.scheduler_flags.fallback) out.push_back(prefix + "fallback");
  if (s.scheduler_flags.port) out.push_back(prefix + "port");
  return out;
}

double ms_since(std::chrono::steady_clock::time_point& mark) {
  const auto now = std::chrono::steady_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(now - mark).count();
  mark = now;
  return ms;
}

}  // namespace

ForwardingModule::ForwardingModule(boost::asio::io_context& io, core::EventBus& events,
                                   BackendFactory factory)
    : io_(io), events_(events), factory_(std::move(factory)), timer_(io) {}

ForwardingModule::~ForwardingModule() = default;

void ForwardingModule::open_backend(const config::Config& cfg) {
  const auto requested = cfg.forwarding.backend;
  auto try_open = [&](config::ForwardingBackend kind) -> std::optional<std::string> {
    auto r = factory_(kind, cfg);
    if (auto* b = std::get_if<std::unique_ptr<fwd::Backend>>(&r)) {
      backend_ = std::move(*b);
      return std::nullopt;
    }
    return std::get<BackendOpenError>(r).message;
  };

  if (requested != config::ForwardingBackend::automatic) {
    if (auto err = try_open(requested)) {
      throw std::runtime_error(
          fmt::format("forwarding.backend is {}: {}", config::to_string(requested), *err));
    }
    backend_note_ = fmt::format("{} (configured)", config::to_string(requested));
  } else if (auto ipvs_err = try_open(config::ForwardingBackend::ipvs)) {
    if (auto us_err = try_open(config::ForwardingBackend::userspace)) {
      backend_note_ = fmt::format("none: ip_vs: {}; userspace: {}", *ipvs_err, *us_err);
      spdlog::warn("event=forwarding_no_backend ipvs={} userspace={}", kv_quote(*ipvs_err),
                   kv_quote(*us_err));
      return;
    }
    backend_note_ = fmt::format("userspace (auto; ip_vs: {})", *ipvs_err);
  } else {
    backend_note_ = "ipvs (auto)";
  }
  auto info = backend_->info();
  if (info) info_ = *info;
  spdlog::info("event=forwarding_backend backend={} version={} conn_table_size={} choice={}",
               backend_->name(), info_ ? info_->version : "?", info_ ? info_->conn_table_size : 0,
               kv_quote(backend_note_));
}

void ForwardingModule::start(const config::Config& cfg) {
  cfg_ = cfg;
  open_backend(cfg);
  if (!backend_) return;
  apply_timeouts();
  reconcile("start");
  arm_timer();
}

void ForwardingModule::reconfigure(const config::Config& cfg, const config::ConfigDiff& diff) {
  const auto old_forwarding = cfg_.forwarding;
  cfg_ = cfg;
  if (cfg.forwarding.backend != old_forwarding.backend) {
    spdlog::warn("event=forwarding_backend_change_ignored from={} to={} hint=\"restart lvsd\"",
                 config::to_string(old_forwarding.backend),
                 config::to_string(cfg.forwarding.backend));
  }
  if (!backend_) return;
  if (cfg.forwarding.timeouts != old_forwarding.timeouts) apply_timeouts();
  (void)diff;  // the plan is recomputed whole; compute_delta finds what changed
  reconcile("reload");
  if (cfg.forwarding.reconcile_interval != old_forwarding.reconcile_interval) arm_timer();
}

void ForwardingModule::stop() {
  stopped_ = true;
  timer_.cancel();
  if (!backend_) return;
  if (cfg_.forwarding.on_stop != config::OnStop::flush) {
    spdlog::info("event=forwarding_stop action=keep services={}", owned_.size());
    return;
  }
  auto rb = backend_->read_back();
  if (!rb) {
    spdlog::error("event=forwarding_stop action=flush error={}", kv_quote(rb.error().message()));
    return;
  }
  fwd::ForwardingPlan current;
  for (const auto& [key, entry] : rb->plan.services) {
    if (owned_.count(key)) current.services.emplace(key, entry);
  }
  std::size_t failed = 0;
  for (const auto& op : fwd::compute_delta(current, {})) {
    if (auto ec = backend_->apply(op)) {
      ++failed;
      spdlog::error("event=forwarding_op reason=stop {} error={}", fwd::to_string(op),
                    kv_quote(ec.message()));
    }
  }
  if (auto ec = backend_->commit()) ++failed;
  spdlog::info("event=forwarding_stop action=flush services={} failed={}", current.services.size(),
               failed);
}

void ForwardingModule::set_plan_inputs(fwd::PlanInputs inputs) {
  inputs_ = std::move(inputs);
}

void ForwardingModule::apply_timeouts() {
  const auto t = fwd::timeouts_from_config(cfg_.forwarding);
  if (auto ec = backend_->set_timeouts(t)) {
    last_error_ = fmt::format("set timeouts: {}", ec.message());
    spdlog::error("event=forwarding_timeouts result=error error={}", kv_quote(ec.message()));
  } else {
    spdlog::info("event=forwarding_timeouts tcp={} tcp_fin={} udp={}", t.tcp, t.tcp_fin, t.udp);
  }
}

void ForwardingModule::arm_timer() {
  timer_.cancel();
  const auto interval = cfg_.forwarding.reconcile_interval;
  if (interval.count() <= 0 || stopped_) return;
  timer_.expires_after(interval);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    reconcile("periodic");
    arm_timer();
  });
}

std::set<fwd::ServiceKey> ForwardingModule::owned_keys(const fwd::ForwardingPlan& desired) const {
  std::set<fwd::ServiceKey> keys = owned_;
  for (const auto& [key, _] : desired.services)
    keys.insert(key);
  return keys;
}

void ForwardingModule::reconcile_soon(std::string_view why) {
  if (!backend_ || stopped_) return;
  if (reconcile_pending_) {
    ++counters_.coalesced;
    return;
  }
  reconcile_pending_ = true;
  pending_why_ = std::string(why);
  boost::asio::post(io_, [this] {
    reconcile_pending_ = false;
    reconcile(pending_why_);
  });
}

void ForwardingModule::reconcile(std::string_view why) {
  if (!backend_ || stopped_) return;
  ++counters_.reconciles;
  last_reconcile_ = core::utc_timestamp();
  last_reason_ = std::string(why);
  const auto started = std::chrono::steady_clock::now();
  auto mark = started;
  ReconcileTiming timing;
  // The live table: read back, unless the backend is its only writer and has
  // not changed it since we last did (then table_, kept in step with our
  // successful ops, is it). At 10,000 realservers the read-back (table and
  // counters copied) was a third of a one-realserver reconcile.
  const auto generation = backend_->table_generation();
  const bool known = have_table_ && generation && generation == table_generation_;
  if (!known) {
    have_table_ = false;
    auto rb = backend_->read_back();
    if (!rb) {
      timing.readback_ms = ms_since(mark);
      ++counters_.readback_errors;
      last_error_ = fmt::format("read back: {}", rb.error().message());
      spdlog::error("event=forwarding_readback reason={} error={}", why,
                    kv_quote(rb.error().message()));
      return;
    }
    table_ = std::move(rb->plan);
    have_table_ = true;
  }
  timing.readback_ms = ms_since(mark);
  fwd::ForwardingPlan desired = fwd::plan_from_config(cfg_, inputs_);
  timing.plan_ms = ms_since(mark);
  const bool remove_foreign = cfg_.forwarding.foreign_services == config::ForeignServices::remove;
  const auto owned = owned_keys(desired);

  // The part of the live table lvsd answers for (the whole table, without a
  // copy, when nothing in it is foreign), and what it last left there.
  std::size_t foreign = 0;
  for (const auto& [key, entry] : table_.services) {
    if (!owned.count(key) && !remove_foreign) ++foreign;
  }
  fwd::ForwardingPlan filtered;
  if (foreign > 0) {
    for (const auto& [key, entry] : table_.services) {
      if (owned.count(key) || remove_foreign) filtered.services.emplace(key, entry);
    }
  }
  const fwd::ForwardingPlan& current = foreign > 0 ? filtered : table_;
  // Drift: differences between what we left and what is there now. A table
  // we did not read back is the one we left (nobody else writes it).
  std::set<std::string> drift;
  if (have_applied_ && !known) {
    fwd::ForwardingPlan expected;
    for (const auto& [key, entry] : applied_.services) {
      if (owned.count(key)) expected.services.emplace(key, entry);
    }
    for (const auto& op : fwd::compute_delta(expected, current)) {
      drift.insert(fwd::to_string(op));
      spdlog::warn("event=forwarding_drift reason={} found={}", why, kv_quote(fwd::to_string(op)));
    }
  }

  const fwd::PlanDelta delta = fwd::compute_delta(current, desired);
  timing.compare_ms = ms_since(mark);
  std::size_t ok = 0;
  std::size_t failed = 0;
  std::set<fwd::ServiceKey> still_there;
  for (const auto& op : delta) {
    if (auto ec = backend_->apply(op)) {
      ++failed;
      ++counters_.ops_failed;
      last_error_ = fmt::format("{}: {}", fwd::to_string(op), ec.message());
      spdlog::error("event=forwarding_op reason={} {} result=error error={}", why,
                    fwd::to_string(op), kv_quote(ec.message()));
      if (const auto* del = std::get_if<fwd::DelService>(&op)) still_there.insert(del->service);
    } else {
      ++ok;
      ++counters_.ops_applied;
      // to_string() only when the line is written: a start at 10,000
      // realservers applies 10,100 ops.
      if (spdlog::should_log(spdlog::level::info))
        spdlog::info("event=forwarding_op reason={} {} result=ok", why, fwd::to_string(op));
      // The backend took it: so does our copy (same ip_vs semantics, so the
      // same result; a mismatch means the copy is wrong: read back next time).
      if (fwd::apply_op(table_, op)) have_table_ = false;
    }
  }
  timing.apply_ms = ms_since(mark);
  if (auto ec = backend_->commit()) {
    ++failed;
    ++counters_.ops_failed;
    last_error_ = fmt::format("commit: {}", ec.message());
    spdlog::error("event=forwarding_commit reason={} result=error error={}", why,
                  kv_quote(ec.message()));
  }
  if (!drift.empty() && failed == 0) counters_.drift_repairs += drift.size();

  // What we now own: the plan, plus services we failed to remove.
  owned_.clear();
  for (const auto& [key, _] : desired.services)
    owned_.insert(key);
  owned_.insert(still_there.begin(), still_there.end());
  applied_ = std::move(desired);
  have_applied_ = true;
  // Read after our own ops: a later reconcile that finds the same number
  // knows table_ is the live table.
  table_generation_ = backend_->table_generation();
  timing.commit_ms = ms_since(mark);
  timing.total_ms = std::chrono::duration<double, std::milli>(mark - started).count();
  last_timing_ = timing;
  max_reconcile_ms_ = std::max(max_reconcile_ms_, timing.total_ms);

  if (ok + failed > 0 || !drift.empty()) {
    events_.publish("forwarding", {{"reason", std::string(why)},
                                   {"applied", ok},
                                   {"failed", failed},
                                   {"drift", drift.size()},
                                   {"foreign_services", foreign}});
    spdlog::info(
        "event=forwarding_reconciled reason={} applied={} failed={} drift={} foreign={} "
        "duration_ms={:.2f} readback_ms={:.2f} plan_ms={:.2f} compare_ms={:.2f} apply_ms={:.2f} "
        "commit_ms={:.2f}",
        why, ok, failed, drift.size(), foreign, timing.total_ms, timing.readback_ms, timing.plan_ms,
        timing.compare_ms, timing.apply_ms, timing.commit_ms);
  }
}

json ForwardingModule::services_json() {
  if (!backend_) {
    json view = core::services_view(cfg_);
    view["dataplane"] = backend_note_;
    if (health_provider_) {
      for (std::size_t i = 0; i < cfg_.services.size() && i < view["services"].size(); ++i) {
        auto& rss = view["services"][i]["realservers"];
        for (auto& r : rss) {
          const std::string rk = config::format_endpoint(
              boost::asio::ip::make_address(r["address"].get<std::string>()),
              r["port"].get<uint16_t>());
          const json h = health_provider_(cfg_.services[i].key(), rk);
          if (h.is_object()) {
            for (const auto& [k, v] : h.items())
              r[k] = v;
          }
        }
      }
    }
    return view;
  }
  auto rb = backend_->read_back();
  if (!rb)
    throw core::CommandError(
        fmt::format("{}: read back failed: {}", backend_->name(), rb.error().message()));
  std::map<fwd::ServiceKey, const config::Service*> by_key;
  for (const auto& s : cfg_.services)
    by_key[fwd::service_key(s)] = &s;

  json services = json::array();
  for (const auto& [key, entry] : rb->plan.services) {
    const auto& vs = entry.service;
    const auto cfg_it = by_key.find(key);
    const config::Service* cs = cfg_it == by_key.end() ? nullptr : cfg_it->second;
    const auto st_it = rb->status.find(key);
    json j = {
        {"name", cs ? json(cs->name) : json()},
        {"key", key.to_string()},
        {"owned", owned_.count(key) > 0},
        {"protocol", std::string(fwd::to_string(key.protocol))},
        {"address", key.is_fwmark() ? json() : json(key.address.to_string())},
        {"port", key.port},
        {"fwmark", key.fwmark},
        {"family", std::string(fwd::to_string(key.family))},
        {"scheduler", vs.scheduler},
        {"scheduler_flags", flag_names(vs)},
        {"one_packet", vs.one_packet},
        {"stats", st_it != rb->status.end() ? stats_json(st_it->second.stats) : json()},
        {"rates", st_it != rb->status.end() ? rates_json(st_it->second.stats) : json()},
    };
    if (vs.persistence) {
      json p = {{"timeout_seconds", vs.persistence->timeout}};
      if (key.family == fwd::Family::inet) {
        p["netmask"] = vs.persistence->netmask.to_string();
      } else {
        p["prefix"] = vs.persistence->prefix;
      }
      j["persistence"] = p;
    } else {
      j["persistence"] = nullptr;
    }
    json rss = json::array();
    for (const auto& [dkey, d] : entry.dests) {
      json r = {{"address", d.address.to_string()},
                {"port", d.port},
                {"weight", d.weight},
                {"method", std::string(fwd::to_string(d.method))},
                {"upper_threshold", d.upper_threshold},
                {"lower_threshold", d.lower_threshold},
                {"health", nullptr}};
      if (cs && cs->sorry_server && cs->sorry_server->address == d.address &&
          cs->sorry_server->port == d.port) {
        r["health"] = "sorry";
      } else if (cs && health_provider_) {
        const json h = health_provider_(cs->key(), dkey.to_string());
        if (h.is_object()) {
          for (const auto& [k, v] : h.items())
            r[k] = v;
        }
      }
      if (st_it != rb->status.end()) {
        if (auto ds = st_it->second.dests.find(dkey); ds != st_it->second.dests.end()) {
          r["active_conns"] = ds->second.active_conns;
          r["inactive_conns"] = ds->second.inactive_conns;
          r["persistent_conns"] = ds->second.persistent_conns;
          r["stats"] = stats_json(ds->second.stats);
          r["rates"] = rates_json(ds->second.stats);
        }
      }
      rss.push_back(r);
    }
    // Configured realservers the plan left out (down, or the sorry server's
    // outage): listed too, so an operator sees why they get no traffic.
    if (cs) {
      for (const auto& r : cs->realservers) {
        if (!r.enabled || entry.dests.count(fwd::DestKey{r.address, r.port})) continue;
        json row = {{"address", r.address.to_string()},
                    {"port", r.port},
                    {"weight", nullptr},
                    {"method", std::string(config::to_string(r.method))},
                    {"in_table", false},
                    {"health", nullptr}};
        if (health_provider_) {
          const json h = health_provider_(cs->key(), r.key());
          if (h.is_object()) {
            for (const auto& [k, v] : h.items())
              row[k] = v;
          }
        }
        rss.push_back(row);
      }
    }
    j["realservers"] = rss;
    services.push_back(j);
  }
  json view = {{"source", std::string(backend_->name())}, {"services", services}};
  if (info_)
    view["info"] = {{"version", info_->version}, {"conn_table_size", info_->conn_table_size}};
  return view;
}

void ForwardingModule::register_commands(core::StatusServer& server) {
  server.add_command("services", [this](const json&) { return services_json(); });
  server.add_command("forwarding", [this](const json&) { return snapshot(); });
}

json ForwardingModule::snapshot() const {
  json j = {
      {"backend", backend_ ? json(std::string(backend_->name())) : json()},
      {"choice", backend_note_},
      {"owned_services", owned_.size()},
      {"last_reconcile", last_reconcile_},
      {"last_reconcile_reason", last_reason_},
      {"last_reconcile_ms", last_timing_.total_ms},
      {"last_reconcile_phases_ms",
       {{"readback", last_timing_.readback_ms},
        {"plan", last_timing_.plan_ms},
        {"compare", last_timing_.compare_ms},
        {"apply", last_timing_.apply_ms},
        {"commit", last_timing_.commit_ms}}},
      {"max_reconcile_ms", max_reconcile_ms_},
      {"last_error", last_error_},
      {"counters",
       {{"reconciles", counters_.reconciles},
        {"reconciles_coalesced", counters_.coalesced},
        {"ops_applied", counters_.ops_applied},
        {"ops_failed", counters_.ops_failed},
        {"drift_repairs", counters_.drift_repairs},
        {"readback_errors", counters_.readback_errors}}},
  };
  if (info_) j["info"] = {{"version", info_->version}, {"conn_table_size", info_->conn_table_size}};
  if (backend_) {
    auto engine = backend_->engine_counters();
    if (!engine.empty()) j["engine"] = engine;
  }
  return j;
}

}  // namespace lvsd::modules
