#include "checkers/health_state.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lvsd::checkers {

std::string_view to_string(RsState s) {
  switch (s) {
    case RsState::up:
      return "up";
    case RsState::down:
      return "down";
    case RsState::draining:
      return "draining";
    case RsState::maint:
      return "maint";
  }
  return "?";
}

std::string_view to_string(AdminState s) {
  switch (s) {
    case AdminState::ready:
      return "ready";
    case AdminState::drain:
      return "drain";
    case AdminState::maint:
      return "maint";
  }
  return "?";
}

std::optional<AdminState> parse_admin_state(std::string_view s) {
  for (const auto a : {AdminState::ready, AdminState::drain, AdminState::maint}) {
    if (s == to_string(a)) return a;
  }
  return std::nullopt;
}

bool HealthState::update_state(RsStatus& st, TimePoint now) {
  RsState next = RsState::up;
  if (st.admin == AdminState::maint) {
    next = RsState::maint;
  } else if (!st.healthy) {
    next = RsState::down;
  } else if (st.admin == AdminState::drain) {
    next = RsState::draining;
  }
  if (next == st.state) return false;
  st.state = next;
  st.since = now;
  return true;
}

const config::RealServer* HealthState::find_rs(const Svc& svc, const std::string& key) const {
  for (const auto& r : svc.cfg.realservers) {
    if (r.key() == key) return &r;
  }
  return nullptr;
}

std::vector<HealthEvent> HealthState::configure(const config::Config& cfg, TimePoint now) {
  std::map<std::string, Svc> next;
  for (const auto& s : cfg.services) {
    const std::string key = s.key();
    Svc svc;
    svc.cfg = s;
    svc.status.since = now;
    const auto old = services_.find(key);
    if (old != services_.end()) {
      svc.status = old->second.status;
      svc.evaluated = old->second.evaluated;
    }
    for (const auto& r : s.realservers) {
      if (!r.enabled) continue;
      const std::string rk = r.key();
      RsStatus st;
      st.checked = r.check.has_value();
      if (old != services_.end()) {
        if (auto it = old->second.rs.find(rk); it != old->second.rs.end()) {
          // Health and the operator's runtime state (admin, weight override)
          // survive the reload.
          st = it->second;
          // A check removed by the reload makes the realserver healthy.
          if (st.checked != r.check.has_value()) {
            st.checked = r.check.has_value();
            if (!st.checked) st.healthy = true;
            update_state(st, now);
          }
          svc.rs.emplace(rk, st);
          continue;
        }
      }
      st.healthy = !(st.checked && r.check->alpha);
      st.state = st.healthy ? RsState::up : RsState::down;
      st.since = now;
      // A realserver present from the start does not slow-start.
      st.up_since = now - s.slow_start;
      svc.rs.emplace(rk, st);
    }
    next.emplace(key, std::move(svc));
  }
  services_ = std::move(next);
  std::vector<HealthEvent> events;
  for (auto& [_, svc] : services_) {
    auto e = evaluate_quorum(svc, now);
    events.insert(events.end(), e.begin(), e.end());
  }
  return events;
}

uint32_t HealthState::base_weight(const Svc&, const config::RealServer& rs,
                                  const RsStatus& st) const {
  if (st.weight_override) return *st.weight_override;
  return st.dynamic_weight.value_or(rs.weight);
}

std::vector<HealthEvent> HealthState::evaluate_quorum(Svc& svc, TimePoint now) {
  uint64_t sum = 0;
  for (const auto& r : svc.cfg.realservers) {
    auto it = svc.rs.find(r.key());
    if (it == svc.rs.end() || it->second.state != RsState::up) continue;
    sum += base_weight(svc, r, it->second);
  }
  svc.status.healthy_weight = sum;
  const uint64_t q = svc.cfg.quorum.weight;
  const uint64_t h = svc.cfg.quorum.hysteresis;
  bool up = svc.status.quorum_up;
  if (!svc.evaluated) {
    up = sum >= q;
  } else if (svc.status.quorum_up) {
    up = !(sum + h < q);  // down below quorum - hysteresis
  } else {
    up = sum >= q + h;
  }
  std::vector<HealthEvent> events;
  const bool changed = svc.evaluated ? up != svc.status.quorum_up : !up;
  svc.evaluated = true;
  if (changed) {
    svc.status.quorum_up = up;
    svc.status.since = now;
    events.push_back({up ? HealthEvent::Kind::quorum_up : HealthEvent::Kind::quorum_down,
                      svc.cfg.key(), "",
                      fmt::format("healthy weight {} {} quorum {} (hysteresis {})", sum,
                                  up ? ">=" : "<", q, h)});
  }
  svc.status.quorum_up = up;
  return events;
}

std::vector<HealthEvent> HealthState::set_health(const std::string& service,
                                                 const std::string& realserver, bool up,
                                                 const std::string& reason, TimePoint now) {
  auto sit = services_.find(service);
  if (sit == services_.end()) return {};
  auto& svc = sit->second;
  auto rit = svc.rs.find(realserver);
  if (rit == svc.rs.end()) return {};
  auto& st = rit->second;
  std::vector<HealthEvent> events;
  if (st.healthy != up) {
    st.healthy = up;
    st.reason = reason;
    ++st.flaps;
    if (up) st.up_since = now;
    events.push_back(
        {up ? HealthEvent::Kind::rs_up : HealthEvent::Kind::rs_down, service, realserver, reason});
  }
  // In maint or drain the effective state may not move; the verdict is kept.
  update_state(st, now);
  auto q = evaluate_quorum(svc, now);
  events.insert(events.end(), q.begin(), q.end());
  return events;
}

std::vector<HealthEvent> HealthState::set_dynamic_weight(const std::string& service,
                                                         const std::string& realserver,
                                                         std::optional<uint32_t> weight,
                                                         TimePoint now) {
  auto sit = services_.find(service);
  if (sit == services_.end()) return {};
  auto rit = sit->second.rs.find(realserver);
  if (rit == sit->second.rs.end()) return {};
  rit->second.dynamic_weight = weight;
  return evaluate_quorum(sit->second, now);
}

std::vector<HealthEvent> HealthState::change(const std::string& service,
                                             const std::string& realserver, const RuntimeChange& c,
                                             TimePoint now) {
  auto sit = services_.find(service);
  if (sit == services_.end()) return {};
  auto rit = sit->second.rs.find(realserver);
  if (rit == sit->second.rs.end()) return {};
  auto& st = rit->second;
  if (c.set_weight) st.weight_override = c.weight;
  if (c.admin) {
    const RsState before = st.state;
    st.admin = *c.admin;
    update_state(st, now);
    // Back from maint to serving: ramp like a realserver that just came up
    // (HAProxy applies slowstart when a server leaves maintenance).
    if (before == RsState::maint && st.state == RsState::up) st.up_since = now;
  }
  return evaluate_quorum(sit->second, now);
}

std::vector<HealthEvent> HealthState::set_admin(const std::string& service,
                                                const std::string& realserver, AdminState admin,
                                                TimePoint now) {
  RuntimeChange c;
  c.admin = admin;
  return change(service, realserver, c, now);
}

std::vector<HealthEvent> HealthState::set_weight_override(const std::string& service,
                                                          const std::string& realserver,
                                                          std::optional<uint32_t> weight,
                                                          TimePoint now) {
  RuntimeChange c;
  c.set_weight = true;
  c.weight = weight;
  return change(service, realserver, c, now);
}

std::optional<uint32_t> HealthState::weight(const config::Service& s, const config::RealServer& rs,
                                            TimePoint now) const {
  const auto sit = services_.find(s.key());
  if (sit == services_.end()) return rs.weight;
  const auto rit = sit->second.rs.find(rs.key());
  if (rit == sit->second.rs.end()) return rs.weight;
  const auto& st = rit->second;
  switch (st.state) {
    case RsState::down:
    case RsState::maint:
      if (s.inhibit_on_failure) return 0u;
      return std::nullopt;
    case RsState::draining:
      return 0u;
    case RsState::up:
      break;
  }
  const uint32_t full = base_weight(sit->second, rs, st);
  if (s.slow_start.count() > 0 && full > 1) {
    const auto elapsed = now - st.up_since;
    if (elapsed < s.slow_start) {
      const auto num = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
      const auto den = s.slow_start.count();
      const uint64_t w = static_cast<uint64_t>(full) *
                         static_cast<uint64_t>(std::max<long long>(num, 0)) /
                         static_cast<uint64_t>(den);
      return static_cast<uint32_t>(std::clamp<uint64_t>(w, 1, full));
    }
  }
  return full;
}

bool HealthState::sorry_mode(const config::Service& s) const {
  if (!s.sorry_server) return false;
  const auto sit = services_.find(s.key());
  return sit != services_.end() && !sit->second.status.quorum_up;
}

std::optional<TimePoint> HealthState::next_change(TimePoint now) const {
  std::optional<TimePoint> next;
  for (const auto& [_, svc] : services_) {
    if (svc.cfg.slow_start.count() <= 0) continue;
    for (const auto& [__, st] : svc.rs) {
      if (st.state != RsState::up) continue;
      const TimePoint end = st.up_since + svc.cfg.slow_start;
      if (end <= now) continue;
      // Re-plan in steps of a tenth of the ramp (at least every second).
      const auto step = std::max<std::chrono::steady_clock::duration>(
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(svc.cfg.slow_start) / 10,
          std::chrono::milliseconds(100));
      const TimePoint t = std::min(
          now + std::min<std::chrono::steady_clock::duration>(step, std::chrono::seconds(1)), end);
      if (!next || t < *next) next = t;
    }
  }
  return next;
}

const RsStatus* HealthState::realserver(const std::string& service,
                                        const std::string& realserver) const {
  const auto sit = services_.find(service);
  if (sit == services_.end()) return nullptr;
  const auto rit = sit->second.rs.find(realserver);
  return rit == sit->second.rs.end() ? nullptr : &rit->second;
}

const ServiceStatus* HealthState::service(const std::string& service) const {
  const auto sit = services_.find(service);
  return sit == services_.end() ? nullptr : &sit->second.status;
}

}  // namespace lvsd::checkers
