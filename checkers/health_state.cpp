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

HealthState::SvcId HealthState::id_of(const config::Service& s) {
  SvcId id;
  id.fwmark = s.fwmark;
  if (s.fwmark != 0) {
    // "fwmark 7 inet6": protocol, address and port are not in the key.
    id.family = s.family;
  } else {
    id.protocol = s.protocol;
    id.address = s.address;
    id.port = s.port;
  }
  return id;
}

namespace {

std::size_t mix(std::size_t h, std::size_t v) {
  // boost::hash_combine's step.
  return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

std::size_t hash_address(const config::Address& a) {
  if (a.is_v4()) return std::hash<uint32_t>{}(a.to_v4().to_uint());
  const auto v6 = a.to_v6();
  const auto bytes = v6.to_bytes();
  uint64_t hi = 0;
  uint64_t lo = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    hi = (hi << 8) | bytes[i];
    lo = (lo << 8) | bytes[i + 8];
  }
  return mix(mix(std::hash<uint64_t>{}(hi), std::hash<uint64_t>{}(lo)), v6.scope_id());
}

}  // namespace

std::size_t HealthState::IdHash::operator()(const SvcId& id) const {
  std::size_t h = std::hash<uint32_t>{}(id.fwmark);
  h = mix(h, static_cast<std::size_t>(id.family));
  h = mix(h, static_cast<std::size_t>(id.protocol));
  h = mix(h, id.address ? hash_address(*id.address) : 0);
  return mix(h, id.port);
}

std::size_t HealthState::IdHash::operator()(const RsId& id) const {
  return mix(hash_address(id.address), id.port);
}

HealthState::Svc* HealthState::find(const std::string& service) {
  const auto it = by_key_.find(service);
  return it == by_key_.end() ? nullptr : &services_[it->second];
}

const HealthState::Svc* HealthState::find(const config::Service& s) const {
  const auto it = by_id_.find(id_of(s));
  return it == by_id_.end() ? nullptr : &services_[it->second];
}

const HealthState::Svc* HealthState::find(std::size_t service_index,
                                          const config::Service& s) const {
  if (service_index < services_.size()) {
    const Svc& svc = services_[service_index];
    if (id_of(svc.cfg) == id_of(s)) return &svc;
  }
  return find(s);
}

RsStatus* HealthState::find(Svc& svc, const std::string& realserver) {
  const auto it = svc.by_key.find(realserver);
  return it == svc.by_key.end() ? nullptr : &svc.rs[it->second];
}

const RsStatus* HealthState::find(const Svc& svc, const config::RealServer& rs) {
  const auto it = svc.by_id.find(id_of(rs));
  return it == svc.by_id.end() ? nullptr : &svc.rs[it->second];
}

const RsStatus* HealthState::find(const Svc& svc, std::size_t rs_index,
                                  const config::RealServer& rs) {
  if (rs_index < svc.slot.size()) {
    const config::RealServer& mine = svc.cfg.realservers[rs_index];
    if (mine.address == rs.address && mine.port == rs.port) {
      const std::size_t i = svc.slot[rs_index];
      return i == npos ? nullptr : &svc.rs[i];
    }
  }
  return find(svc, rs);
}

std::vector<HealthEvent> HealthState::configure(const config::Config& cfg, TimePoint now) {
  std::vector<Svc> next;
  std::unordered_map<std::string, std::size_t> next_by_key;
  std::unordered_map<SvcId, std::size_t, IdHash> next_by_id;
  next.reserve(cfg.services.size());
  for (const auto& s : cfg.services) {
    std::string key = s.key();
    // The first of duplicate services wins (as a map's emplace did).
    if (next_by_key.count(key)) continue;
    Svc svc;
    svc.cfg = s;
    svc.status.since = now;
    const Svc* old = find(key);
    if (old) {
      svc.status = old->status;
      svc.evaluated = old->evaluated;
    }
    svc.slot.assign(s.realservers.size(), npos);
    svc.rs.reserve(s.realservers.size());
    for (std::size_t j = 0; j < s.realservers.size(); ++j) {
      const auto& r = s.realservers[j];
      if (!r.enabled) continue;
      std::string rk = r.key();
      if (const auto dup = svc.by_key.find(rk); dup != svc.by_key.end()) {
        // A duplicate realserver shares the first one's state.
        svc.slot[j] = dup->second;
        continue;
      }
      RsStatus st;
      st.checked = r.check.has_value();
      const RsStatus* prev = nullptr;
      if (old) {
        if (const auto it = old->by_key.find(rk); it != old->by_key.end())
          prev = &old->rs[it->second];
      }
      if (prev) {
        // Health and the operator's runtime state (admin, weight override)
        // survive the reload.
        st = *prev;
        // A check removed by the reload makes the realserver healthy.
        if (st.checked != r.check.has_value()) {
          st.checked = r.check.has_value();
          if (!st.checked) st.healthy = true;
          update_state(st, now);
        }
      } else {
        st.healthy = !(st.checked && r.check->alpha);
        st.state = st.healthy ? RsState::up : RsState::down;
        st.since = now;
        // A realserver present from the start does not slow-start.
        st.up_since = now - s.slow_start;
      }
      const std::size_t i = svc.rs.size();
      svc.rs.push_back(st);
      svc.slot[j] = i;
      svc.by_key.emplace(std::move(rk), i);
      svc.by_id.emplace(id_of(r), i);
    }
    const std::size_t si = next.size();
    next_by_key.emplace(std::move(key), si);
    next_by_id.emplace(id_of(s), si);
    next.push_back(std::move(svc));
  }
  services_ = std::move(next);
  by_key_ = std::move(next_by_key);
  by_id_ = std::move(next_by_id);
  std::vector<HealthEvent> events;
  for (auto& svc : services_) {
    auto e = evaluate_quorum(svc, now);
    events.insert(events.end(), e.begin(), e.end());
  }
  // In service key order, as ever (at most one event per service).
  std::stable_sort(events.begin(), events.end(), [](const HealthEvent& a, const HealthEvent& b) {
    return a.service < b.service;
  });
  return events;
}

uint32_t HealthState::base_weight(const Svc&, const config::RealServer& rs,
                                  const RsStatus& st) const {
  if (st.weight_override) return *st.weight_override;
  return st.dynamic_weight.value_or(rs.weight);
}

std::vector<HealthEvent> HealthState::evaluate_quorum(Svc& svc, TimePoint now) {
  uint64_t sum = 0;
  for (std::size_t j = 0; j < svc.cfg.realservers.size(); ++j) {
    const std::size_t i = svc.slot[j];
    if (i == npos || svc.rs[i].state != RsState::up) continue;
    sum += base_weight(svc, svc.cfg.realservers[j], svc.rs[i]);
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
  Svc* svc = find(service);
  if (!svc) return {};
  RsStatus* found = find(*svc, realserver);
  if (!found) return {};
  auto& st = *found;
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
  auto q = evaluate_quorum(*svc, now);
  events.insert(events.end(), q.begin(), q.end());
  return events;
}

std::vector<HealthEvent> HealthState::set_dynamic_weight(const std::string& service,
                                                         const std::string& realserver,
                                                         std::optional<uint32_t> weight,
                                                         TimePoint now) {
  Svc* svc = find(service);
  if (!svc) return {};
  RsStatus* st = find(*svc, realserver);
  if (!st) return {};
  st->dynamic_weight = weight;
  return evaluate_quorum(*svc, now);
}

std::vector<HealthEvent> HealthState::change(const std::string& service,
                                             const std::string& realserver, const RuntimeChange& c,
                                             TimePoint now) {
  Svc* svc = find(service);
  if (!svc) return {};
  RsStatus* found = find(*svc, realserver);
  if (!found) return {};
  auto& st = *found;
  if (c.set_weight) st.weight_override = c.weight;
  if (c.admin) {
    const RsState before = st.state;
    st.admin = *c.admin;
    update_state(st, now);
    // Back from maint to serving: ramp like a realserver that just came up
    // (HAProxy applies slowstart when a server leaves maintenance).
    if (before == RsState::maint && st.state == RsState::up) st.up_since = now;
  }
  return evaluate_quorum(*svc, now);
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

std::optional<uint32_t> HealthState::weight_of(const Svc* svc, const RsStatus* found,
                                               const config::Service& s,
                                               const config::RealServer& rs, TimePoint now) const {
  if (!svc || !found) return rs.weight;
  const auto& st = *found;
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
  const uint32_t full = base_weight(*svc, rs, st);
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

std::optional<uint32_t> HealthState::weight(const config::Service& s, const config::RealServer& rs,
                                            TimePoint now) const {
  const Svc* svc = find(s);
  return weight_of(svc, svc ? find(*svc, rs) : nullptr, s, rs, now);
}

std::optional<uint32_t> HealthState::weight(std::size_t service_index, std::size_t rs_index,
                                            const config::Service& s, const config::RealServer& rs,
                                            TimePoint now) const {
  const Svc* svc = find(service_index, s);
  return weight_of(svc, svc ? find(*svc, rs_index, rs) : nullptr, s, rs, now);
}

void HealthState::weights(std::size_t service_index, const config::Service& s, TimePoint now,
                          std::vector<std::optional<uint32_t>>& out) const {
  out.resize(s.realservers.size());
  const Svc* svc = find(service_index, s);
  for (std::size_t j = 0; j < s.realservers.size(); ++j) {
    const auto& rs = s.realservers[j];
    out[j] = weight_of(svc, svc ? find(*svc, j, rs) : nullptr, s, rs, now);
  }
}

bool HealthState::sorry_mode(const config::Service& s) const {
  if (!s.sorry_server) return false;
  const Svc* svc = find(s);
  return svc && !svc->status.quorum_up;
}

std::optional<TimePoint> HealthState::next_change(TimePoint now) const {
  std::optional<TimePoint> next;
  for (const auto& svc : services_) {
    if (svc.cfg.slow_start.count() <= 0) continue;
    for (const auto& st : svc.rs) {
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
  const auto it = by_key_.find(service);
  if (it == by_key_.end()) return nullptr;
  const Svc& svc = services_[it->second];
  const auto rit = svc.by_key.find(realserver);
  return rit == svc.by_key.end() ? nullptr : &svc.rs[rit->second];
}

const ServiceStatus* HealthState::service(const std::string& service) const {
  const auto it = by_key_.find(service);
  return it == by_key_.end() ? nullptr : &services_[it->second].status;
}

const RsStatus* HealthState::realserver(const config::Service& s,
                                        const config::RealServer& rs) const {
  const Svc* svc = find(s);
  return svc ? find(*svc, rs) : nullptr;
}

const ServiceStatus* HealthState::service(const config::Service& s) const {
  const Svc* svc = find(s);
  return svc ? &svc->status : nullptr;
}

const RsStatus* HealthState::realserver(std::size_t service_index, std::size_t rs_index,
                                        const config::Service& s,
                                        const config::RealServer& rs) const {
  const Svc* svc = find(service_index, s);
  return svc ? find(*svc, rs_index, rs) : nullptr;
}

const ServiceStatus* HealthState::service(std::size_t service_index,
                                          const config::Service& s) const {
  const Svc* svc = find(service_index, s);
  return svc ? &svc->status : nullptr;
}

}  // namespace lvsd::checkers
