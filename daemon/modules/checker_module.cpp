#include "daemon/modules/checker_module.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "daemon/core/logging.hpp"
#include "daemon/core/status_server.hpp"
#include "util/nearest.hpp"

namespace lvsd::modules {

using core::kv_quote;
using nlohmann::json;
namespace chk = lvsd::checkers;

namespace {

double seconds_since(chk::TimePoint since, chk::TimePoint now) {
  return std::chrono::duration<double>(now - since).count();
}

json opt_json(std::optional<uint32_t> v) {
  return v ? json(*v) : json();
}

std::string opt_kv(std::optional<uint32_t> v) {
  return v ? std::to_string(*v) : "-";
}

// ` (did you mean "x"?)` for the closest candidate within a third of its
// length (at least 2 edits), else "".
std::string did_you_mean(const std::string& what, const std::vector<std::string>& candidates) {
  const auto best = util::nearest(what, candidates);
  if (!best || best->distance > std::max<std::size_t>(2, best->candidate.size() / 3)) return "";
  return fmt::format(" (did you mean \"{}\"?)", best->candidate);
}

struct Endpoint {
  config::Address address;
  std::optional<uint16_t> port;
};

// "192.0.2.21", "192.0.2.21:80", "2001:db8::21", "[2001:db8::21]:80".
std::optional<Endpoint> parse_endpoint(const std::string& s) {
  boost::system::error_code ec;
  const auto whole = boost::asio::ip::make_address(s, ec);
  if (!ec) return Endpoint{whole, std::nullopt};
  std::string host;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    const std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  Endpoint ep{address, std::nullopt};
  if (!port.empty()) {
    uint16_t p = 0;
    const auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (err != std::errc() || end != port.data() + port.size()) return std::nullopt;
    ep.port = p;
  }
  return ep;
}

// The "weight" argument: an integer 0..65535 (the config's range), or null /
// "reset" for "back to the configured (or dynamic) weight".
std::optional<uint32_t> parse_weight(const json& w) {
  if (w.is_null() || (w.is_string() && w.get<std::string>() == "reset")) return std::nullopt;
  if (w.is_number_unsigned() && w.get<uint64_t>() <= 65535)
    return static_cast<uint32_t>(w.get<uint64_t>());
  if (w.is_number_integer() && !w.is_number_unsigned() && w.get<int64_t>() >= 0 &&
      w.get<int64_t>() <= 65535)
    return static_cast<uint32_t>(w.get<int64_t>());
  throw core::CommandError(fmt::format(
      "bad weight {}: expected an integer 0..65535, or null or \"reset\" for the configured "
      "weight",
      w.dump()));
}

}  // namespace

CheckerModule::CheckerModule(boost::asio::io_context& io, core::EventBus& events,
                             ForwardingModule& forwarding, chk::Clock& clock, ProbeFactory probes)
    : io_(io),
      events_(events),
      forwarding_(forwarding),
      clock_(clock),
      probes_(std::move(probes)),
      slow_start_timer_(io) {}

CheckerModule::~CheckerModule() = default;

std::string CheckerModule::fingerprint(const chk::ProbeTarget& t, const config::Check& c) {
  return fmt::format("{}|{}|{}|{}", t.address.to_string(), t.port, c.name,
                     config::to_string(c.type));
}

void CheckerModule::start(const config::Config& cfg) {
  cfg_ = cfg;
  handle(health_.configure(cfg, clock_.now()));
  forwarding::PlanInputs inputs;
  inputs.weight = [this](const config::Service& s, const config::RealServer& r) {
    return health_.weight(s, r, clock_.now());
  };
  inputs.sorry_mode = [this](const config::Service& s) { return health_.sorry_mode(s); };
  // The plan asks per service with its position in the forwarding module's
  // config, the same config as ours after a reload: HealthState answers from
  // its vectors (a position that does not match falls back to a lookup), and
  // the clock is read once per service, not per realserver.
  inputs.service_weights = [this](std::size_t i, const config::Service& s,
                                  std::vector<std::optional<uint32_t>>& out) {
    health_.weights(i, s, clock_.now(), out);
  };
  forwarding_.set_plan_inputs(std::move(inputs));
  forwarding_.set_health_provider(
      [this](const std::string& svc, const std::string& rs) { return rs_health(svc, rs); });
  build(cfg);
  arm_slow_start();
}

void CheckerModule::reconfigure(const config::Config& cfg, const config::ConfigDiff&) {
  cfg_ = cfg;
  handle(health_.configure(cfg, clock_.now()));
  build(cfg);
  arm_slow_start();
  // The forwarding module re-plans after us in the same reload.
}

void CheckerModule::build(const config::Config& cfg) {
  // Index what runs now, so unchanged checkers (same target, same check) keep
  // their state across a reload.
  std::map<std::string, std::vector<std::unique_ptr<Entry>>> old;
  for (auto& e : entries_)
    old[fingerprint(e->target, e->check)].push_back(std::move(e));
  entries_.clear();
  by_user_.clear();
  std::size_t kept = 0;
  std::size_t started = 0;

  auto find_or_make = [&](const chk::ProbeTarget& target, const config::Check& check) -> Entry* {
    const std::string fp = fingerprint(target, check);
    for (auto& e : entries_) {
      if (e->target == target && e->check == check) return e.get();
    }
    auto it = old.find(fp);
    if (it != old.end()) {
      for (auto& e : it->second) {
        if (e && e->target == target && e->check == check) {
          e->users.clear();
          entries_.push_back(std::move(e));
          ++kept;
          return entries_.back().get();
        }
      }
    }
    auto e = std::make_unique<Entry>();
    e->target = target;
    e->check = check;
    chk::CheckerBase::Options opts;
    opts.seed = chk::jitter_seed(check, target);
    e->checker =
        std::make_unique<chk::CheckerBase>(clock_, check, probes_(io_, check, target), opts);
    Entry* raw = e.get();
    e->checker->on_transition([this, raw](const chk::Transition& t) { on_transition(*raw, t); });
    e->checker->on_result([this, raw](const chk::ProbeResult& r) { on_result(*raw, r); });
    entries_.push_back(std::move(e));
    ++started;
    return raw;
  };

  for (const auto& s : cfg.services) {
    for (const auto& r : s.realservers) {
      if (!r.enabled || !r.check) continue;
      const chk::ProbeTarget target{r.check->connect_address.value_or(r.address),
                                    r.check->connect_port != 0 ? r.check->connect_port : r.port};
      Entry* e = find_or_make(target, *r.check);
      e->users.push_back({s.key(), r.key()});
      by_user_[s.key() + "|" + r.key()] = e;
    }
  }
  // Checkers no longer used stop here (their destructors cancel the probes).
  std::size_t stopped = 0;
  for (auto& [_, v] : old) {
    for (auto& e : v) {
      if (e) {
        e->checker->stop();
        ++stopped;
      }
    }
  }
  old.clear();
  for (auto& e : entries_) {
    if (!e->checker->running()) e->checker->start();
  }
  spdlog::info("event=checkers_configured checkers={} kept={} started={} stopped={}",
               entries_.size(), kept, started, stopped);
}

void CheckerModule::on_result(Entry& e, const chk::ProbeResult& r) {
  if (!e.check.misc.dynamic_weight) return;
  std::vector<chk::HealthEvent> events;
  for (const auto& u : e.users) {
    auto ev = health_.set_dynamic_weight(u.service, u.realserver, r.weight, clock_.now());
    events.insert(events.end(), ev.begin(), ev.end());
  }
  handle(events);
  replan("dynamic_weight");
}

void CheckerModule::on_transition(Entry& e, const chk::Transition& t) {
  ++transitions_;
  const bool up = t.to == chk::Health::up;
  spdlog::info("event=check_transition target={}:{} check={} type={} from={} to={} reason={}",
               e.target.address.to_string(), e.target.port, kv_quote(e.check.name),
               config::to_string(e.check.type), chk::to_string(t.from), chk::to_string(t.to),
               kv_quote(t.reason));
  std::vector<chk::HealthEvent> events;
  for (const auto& u : e.users) {
    auto ev = health_.set_health(u.service, u.realserver, up, t.reason, clock_.now());
    events.insert(events.end(), ev.begin(), ev.end());
  }
  handle(events);
  replan("health");
  arm_slow_start();
}

void CheckerModule::handle(const std::vector<chk::HealthEvent>& events) {
  for (const auto& ev : events) {
    switch (ev.kind) {
      case chk::HealthEvent::Kind::rs_up:
      case chk::HealthEvent::Kind::rs_down: {
        const bool up = ev.kind == chk::HealthEvent::Kind::rs_up;
        spdlog::info("event=realserver_{} service={} realserver={} reason={}", up ? "up" : "down",
                     kv_quote(ev.service), ev.realserver, kv_quote(ev.reason));
        events_.publish("health", {{"service", ev.service},
                                   {"realserver", ev.realserver},
                                   {"state", up ? "up" : "down"},
                                   {"reason", ev.reason}});
        break;
      }
      case chk::HealthEvent::Kind::quorum_up:
      case chk::HealthEvent::Kind::quorum_down: {
        const bool up = ev.kind == chk::HealthEvent::Kind::quorum_up;
        spdlog::log(up ? spdlog::level::info : spdlog::level::warn,
                    "event=quorum_{} service={} reason={}", up ? "up" : "down",
                    kv_quote(ev.service), kv_quote(ev.reason));
        events_.publish(
            "quorum",
            {{"service", ev.service}, {"state", up ? "up" : "down"}, {"reason", ev.reason}});
        run_quorum_command(ev.service, up);
        break;
      }
    }
  }
}

void CheckerModule::run_quorum_command(const std::string& service, bool up) {
  const config::Service* svc = nullptr;
  for (const auto& s : cfg_.services) {
    if (s.key() == service) svc = &s;
  }
  if (!svc) return;
  const config::Command& command = up ? svc->quorum.on_up : svc->quorum.on_down;
  if (command.empty() || stopped_) return;
  config::Check c;
  c.name = fmt::format("quorum_{}", up ? "up" : "down");
  c.type = config::CheckType::misc;
  c.misc.command = command;
  c.misc.user = cfg_.global.script_user;
  c.timeout = std::chrono::seconds(30);
  const chk::ProbeTarget target{svc->address.value_or(boost::asio::ip::address_v4::any()),
                                svc->port};
  const uint64_t id = next_command_++;
  auto probe = probes_(io_, c, target);
  auto* raw = probe.get();
  commands_.emplace(id, std::move(probe));
  spdlog::info("event=quorum_command service={} state={} command={}", kv_quote(service),
               up ? "up" : "down", kv_quote(command.front()));
  raw->run(std::chrono::duration_cast<std::chrono::milliseconds>(c.timeout),
           [this, id, service, up](const chk::ProbeResult& r) {
             spdlog::log(r.ok ? spdlog::level::info : spdlog::level::warn,
                         "event=quorum_command_done service={} state={} ok={} reason={}",
                         kv_quote(service), up ? "up" : "down", r.ok, kv_quote(r.reason));
             // Free the probe outside its own callback.
             boost::asio::post(io_, [this, id] { commands_.erase(id); });
           });
}

void CheckerModule::replan(std::string_view why, bool now) {
  if (stopped_) return;
  if (now)
    forwarding_.reconcile(why);
  else
    forwarding_.reconcile_soon(why);
}

void CheckerModule::arm_slow_start() {
  slow_start_timer_.cancel();
  if (stopped_) return;
  const auto next = health_.next_change(clock_.now());
  if (!next) return;
  slow_start_timer_.expires_after(*next - clock_.now());
  slow_start_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    replan("slow_start");
    arm_slow_start();
  });
}

void CheckerModule::stop() {
  stopped_ = true;
  slow_start_timer_.cancel();
  for (auto& [_, p] : commands_)
    p->cancel();
  commands_.clear();
  for (auto& e : entries_)
    e->checker->stop();
}

json CheckerModule::rs_health(const std::string& service, const std::string& realserver) const {
  const auto* st = health_.realserver(service, realserver);
  if (!st) return nullptr;
  const auto now = clock_.now();
  json j = {{"health", std::string(chk::to_string(st->state))},
            {"since", fmt::format("{:.0f}s", seconds_since(st->since, now))},
            {"flaps", st->flaps},
            {"checked", st->checked},
            {"admin", std::string(chk::to_string(st->admin))},
            {"weight_override", opt_json(st->weight_override)}};
  if (!st->reason.empty()) j["reason"] = st->reason;
  if (auto it = by_user_.find(service + "|" + realserver); it != by_user_.end()) {
    const auto cs = it->second->checker->status();
    if (cs.last) {
      j["last_result"] = cs.last->ok ? "ok" : "failed";
      j["last_reason"] = cs.last->reason;
      j["latency_ms"] = static_cast<double>(cs.last->latency.count()) / 1000.0;
    }
  }
  return j;
}

const config::Service& CheckerModule::find_service(const std::string& what) const {
  for (const auto& s : cfg_.services) {
    if (s.name == what || s.key() == what) return s;
  }
  // "192.0.2.200:80": the address service(s) on that endpoint.
  std::vector<const config::Service*> hits;
  if (const auto ep = parse_endpoint(what); ep && ep->port) {
    for (const auto& s : cfg_.services) {
      if (s.fwmark == 0 && s.address == ep->address && s.port == *ep->port) hits.push_back(&s);
    }
  }
  if (hits.size() == 1) return *hits.front();
  auto describe = [](const config::Service& s) { return fmt::format("{} ({})", s.name, s.key()); };
  std::string list;
  if (!hits.empty()) {
    for (const auto* s : hits)
      list += (list.empty() ? "" : ", ") + describe(*s);
    throw core::CommandError(
        fmt::format("service \"{}\" is ambiguous: {}; give the name or the key", what, list));
  }
  if (cfg_.services.empty())
    throw core::CommandError(fmt::format("unknown service \"{}\": no services configured", what));
  std::vector<std::string> candidates;
  for (const auto& s : cfg_.services) {
    list += (list.empty() ? "" : ", ") + describe(s);
    candidates.push_back(s.name);
    candidates.push_back(s.key());
  }
  throw core::CommandError(fmt::format("unknown service \"{}\"{}; services: {}", what,
                                       did_you_mean(what, candidates), list));
}

const config::RealServer& CheckerModule::find_realserver(const config::Service& s,
                                                         const std::string& what) {
  std::vector<const config::RealServer*> hits;
  const auto ep = parse_endpoint(what);
  for (const auto& r : s.realservers) {
    if (r.key() == what) {
      hits = {&r};
      break;
    }
    if (ep && r.address == ep->address && (!ep->port || r.port == *ep->port)) hits.push_back(&r);
  }
  std::string list;
  std::vector<std::string> candidates;
  for (const auto& r : s.realservers) {
    if (!r.enabled) continue;
    list += (list.empty() ? "" : ", ") + r.key();
    candidates.push_back(r.key());
  }
  if (hits.size() == 1) {
    if (!hits.front()->enabled)
      throw core::CommandError(
          fmt::format("realserver {} of service {} is disabled in the config (enabled: false)",
                      hits.front()->key(), s.name));
    return *hits.front();
  }
  if (hits.size() > 1)
    throw core::CommandError(
        fmt::format("realserver \"{}\" is ambiguous in service {}: realservers: {}; give the port",
                    what, s.name, list));
  throw core::CommandError(fmt::format("service {} has no realserver \"{}\"{}; realservers: {}",
                                       s.name, what, did_you_mean(what, candidates),
                                       list.empty() ? "(none)" : list));
}

json CheckerModule::realserver_command(const json& request) {
  static const std::set<std::string> kFields = {"command", "service", "realserver", "admin",
                                                "weight"};
  for (const auto& [k, _] : request.items()) {
    if (!kFields.count(k))
      throw core::CommandError(
          fmt::format("unknown field \"{}\" (expected service, realserver, admin, weight)", k));
  }
  for (const char* f : {"service", "realserver"}) {
    if (!request.contains(f) || !request[f].is_string())
      throw core::CommandError(fmt::format("missing \"{}\" (a string: {})", f,
                                           std::string_view(f) == "service"
                                               ? "a service name, key or address:port"
                                               : "the realserver's address[:port]"));
  }
  chk::HealthState::RuntimeChange change;
  if (request.contains("admin")) {
    const json& a = request["admin"];
    if (a.is_string()) change.admin = chk::parse_admin_state(a.get<std::string>());
    if (!change.admin)
      throw core::CommandError(
          fmt::format("bad admin {}: expected \"ready\", \"drain\" or \"maint\"", a.dump()));
  }
  if (request.contains("weight")) {
    change.set_weight = true;
    change.weight = parse_weight(request["weight"]);
  }
  const config::Service& svc = find_service(request["service"].get<std::string>());
  const config::RealServer& rs = find_realserver(svc, request["realserver"].get<std::string>());
  const std::string sk = svc.key();
  const std::string rk = rs.key();
  const chk::RsStatus* st = health_.realserver(sk, rk);
  if (!st) throw core::CommandError(fmt::format("realserver {} of {} has no state", rk, svc.name));
  const chk::AdminState prev_admin = st->admin;
  const std::optional<uint32_t> prev_weight = st->weight_override;
  const bool changed = (change.admin && *change.admin != prev_admin) ||
                       (change.set_weight && change.weight != prev_weight);
  if (changed) {
    // The same path as a check verdict: HealthState, then one re-plan.
    const auto events = health_.change(sk, rk, change, clock_.now());
    spdlog::info(
        "event=realserver_admin service={} realserver={} admin={} previous_admin={} "
        "weight_override={} previous_weight_override={} state={}",
        kv_quote(sk), rk, chk::to_string(st->admin), chk::to_string(prev_admin),
        opt_kv(st->weight_override), opt_kv(prev_weight), chk::to_string(st->state));
    events_.publish("admin", {{"service", sk},
                              {"realserver", rk},
                              {"admin", std::string(chk::to_string(st->admin))},
                              {"previous_admin", std::string(chk::to_string(prev_admin))},
                              {"weight_override", opt_json(st->weight_override)},
                              {"previous_weight_override", opt_json(prev_weight)},
                              {"state", std::string(chk::to_string(st->state))}});
    handle(events);
    replan("admin", true);
    arm_slow_start();
  }
  const auto now = clock_.now();
  return {{"service", sk},
          {"name", svc.name},
          {"realserver", rk},
          {"changed", changed},
          {"admin", std::string(chk::to_string(st->admin))},
          {"weight_override", opt_json(st->weight_override)},
          {"previous",
           {{"admin", std::string(chk::to_string(prev_admin))},
            {"weight_override", opt_json(prev_weight)}}},
          {"state", std::string(chk::to_string(st->state))},
          {"healthy", st->healthy},
          {"checked", st->checked},
          {"configured_weight", rs.weight},
          {"weight", opt_json(health_.weight(svc, rs, now))},
          {"sorry_mode", health_.sorry_mode(svc)}};
}

void CheckerModule::register_commands(core::StatusServer& server) {
  server.add_command("checks", [this](const json&) { return snapshot(); });
  server.add_command("realserver", [this](const json& r) { return realserver_command(r); });
}

json CheckerModule::snapshot() const {
  json checks = json::array();
  const auto now = clock_.now();
  for (const auto& e : entries_) {
    const auto cs = e->checker->status();
    json users = json::array();
    for (const auto& u : e->users)
      users.push_back(u.service + " " + u.realserver);
    json c = {{"target", fmt::format("{}:{}", e->target.address.to_string(), e->target.port)},
              {"check", e->check.name},
              {"type", std::string(config::to_string(e->check.type))},
              {"state", std::string(chk::to_string(cs.state))},
              {"since_seconds", seconds_since(cs.since, now)},
              {"flaps", cs.flaps},
              {"attempts", cs.attempts}};
    c["users"] = std::move(users);
    if (cs.last) {
      c["last_ok"] = cs.last->ok;
      c["last_reason"] = cs.last->reason;
      c["latency_ms"] = static_cast<double>(cs.last->latency.count()) / 1000.0;
    }
    checks.push_back(std::move(c));
  }
  json services = json::array();
  // cfg_ is the config HealthState was configured with: positions find the
  // state without formatting and hashing keys (10,000 realservers).
  for (std::size_t i = 0; i < cfg_.services.size(); ++i) {
    const config::Service& s = cfg_.services[i];
    if (const auto* st = health_.service(i, s)) {
      // Every realserver with its effective state, what its checks say and
      // the operator's runtime settings.
      json rss = json::array();
      for (std::size_t j = 0; j < s.realservers.size(); ++j) {
        const config::RealServer& r = s.realservers[j];
        const auto* rst = health_.realserver(i, j, s, r);
        if (!rst) continue;
        rss.push_back({{"realserver", r.key()},
                       {"state", std::string(chk::to_string(rst->state))},
                       {"healthy", rst->healthy},
                       {"checked", rst->checked},
                       {"admin", std::string(chk::to_string(rst->admin))},
                       {"weight_override", opt_json(rst->weight_override)},
                       {"weight", opt_json(health_.weight(i, j, s, r, now))}});
      }
      json svc = {{"service", s.key()},
                  {"name", s.name},
                  {"quorum", st->quorum_up ? "up" : "down"},
                  {"healthy_weight", st->healthy_weight},
                  {"quorum_weight", s.quorum.weight},
                  {"sorry_mode", health_.sorry_mode(s)}};
      svc["realservers"] = std::move(rss);
      services.push_back(std::move(svc));
    }
  }
  json out = {{"transitions", transitions_}};
  out["checkers"] = std::move(checks);
  out["services"] = std::move(services);
  return out;
}

}  // namespace lvsd::modules
