#include "forwarding/userspace/backend.hpp"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "forwarding/schedulers/scheduler.hpp"

namespace lvsd::forwarding::userspace {
namespace {

bool write_sysctl(const char* path, const char* value) {
  std::ofstream f(path);
  if (!f) return false;
  f << value;
  return static_cast<bool>(f);
}

std::string read_sysctl(const char* path) {
  std::ifstream f(path);
  std::string v;
  f >> v;
  return v;
}

// The steering target of one service: its NAT realservers' replies are
// steered too; a service with any DR/TUN realserver uses the plain queues.
SteeringTarget target_of(const ServiceKey& key, const ServiceEntry& entry) {
  SteeringTarget t{key, {}};
  for (const auto& [dk, d] : entry.dests) {
    if (d.method == Method::nat)
      t.nat_dests.push_back(dk);
    else
      t.nat_only = false;
  }
  return t;
}

// Value checks of the userspace engine, on top of apply_op's structural ones
// (same errnos as ip_vs where ip_vs has the check).
std::error_code check_op(const PlanOp& op) {
  auto check_service = [](const VirtualService& s) -> std::error_code {
    if (!schedulers::make_scheduler(s.scheduler))
      return std::make_error_code(std::errc::no_such_file_or_directory);
    if (!s.pe_name.empty()) return std::make_error_code(std::errc::no_such_file_or_directory);
    if (s.key.protocol == Protocol::sctp && !s.key.is_fwmark())
      return std::make_error_code(std::errc::not_supported);
    return {};
  };
  auto check_dest = [](const ServiceKey& svc, const RealServer& d) -> std::error_code {
    if (d.weight > 0x7fffffffu) return std::make_error_code(std::errc::result_out_of_range);
    if (d.lower_threshold > d.upper_threshold && d.upper_threshold != 0)
      return std::make_error_code(std::errc::result_out_of_range);
    if (d.method != Method::tun && d.family() != svc.family)
      return std::make_error_code(std::errc::invalid_argument);
    if (d.method == Method::tun && d.tunnel.type != TunnelType::ipip)
      return std::make_error_code(std::errc::not_supported);
    if (d.method == Method::tun && d.family() != svc.family && !svc.is_fwmark())
      return std::make_error_code(std::errc::not_supported);
    return {};
  };
  if (auto* a = std::get_if<AddService>(&op)) return check_service(a->service);
  if (auto* e = std::get_if<EditService>(&op)) return check_service(e->service);
  if (auto* a = std::get_if<AddDest>(&op)) return check_dest(a->service, a->dest);
  if (auto* e = std::get_if<EditDest>(&op)) return check_dest(e->service, e->dest);
  return {};
}

ServiceKey service_of(const AddService& o) {
  return o.service.key;
}
ServiceKey service_of(const EditService& o) {
  return o.service.key;
}
ServiceKey service_of(const DelService& o) {
  return o.service;
}
ServiceKey service_of(const AddDest& o) {
  return o.service;
}
ServiceKey service_of(const EditDest& o) {
  return o.service;
}
ServiceKey service_of(const DelDest& o) {
  return o.service;
}

}  // namespace

UserspaceBackend::UserspaceBackend(const UserspaceOptions& options)
    : options_(options), steering_(options.iptables, options.ip6tables, options.ipset) {}

std::unique_ptr<UserspaceBackend> UserspaceBackend::open(const UserspaceOptions& options,
                                                         std::string& error) {
  std::unique_ptr<UserspaceBackend> b(new UserspaceBackend(options));
  // Leftovers of a run that did not stop cleanly.
  std::string detail;
  if (auto ec = b->steering_.remove(detail)) {
    error = fmt::format("removing old steering rules: {}", detail);
    return nullptr;
  }
  b->engine_ = std::make_unique<Engine>(options.limits, b->slot_);
  b->slot_.publish(std::make_shared<Snapshot>());
  b->dataplane_ = std::make_unique<Dataplane>(options.dataplane, *b->engine_);
  if (auto ec = b->dataplane_->start(detail)) {
    error = detail;
    return nullptr;
  }
  if (options.manage_forwarding_sysctl) {
    // NAT and TUN replies are forwarded by the kernel after the engine
    // rewrote them: the director must route (as for any LVS-NAT director).
    for (const char* p :
         {"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"}) {
      if (read_sysctl(p) != "1") {
        if (write_sysctl(p, "1"))
          spdlog::warn("event=userspace_sysctl path={} value=1 reason=\"NAT forwarding\"", p);
        else
          spdlog::warn("event=userspace_sysctl_failed path={} hint=\"set it to 1 for NAT\"", p);
      }
    }
  }
  b->resolver_ = std::thread([raw = b.get()] { raw->resolver_loop(); });
  return b;
}

UserspaceBackend::~UserspaceBackend() {
  {
    std::lock_guard lock(mu_);
    resolver_stop_ = true;
  }
  resolver_cv_.notify_all();
  if (resolver_.joinable()) resolver_.join();
  // Rules first: with the queue gone and rules left, --queue-bypass would
  // still let packets through, but there is no reason to keep them.
  std::string detail;
  if (auto ec = steering_.remove(detail))
    spdlog::error("event=userspace_steering_remove_failed detail={}", detail);
  if (dataplane_) dataplane_->stop();
}

Result<BackendInfo> UserspaceBackend::info() {
  BackendInfo i;
  i.version = "lvsd-userspace";
  i.conn_table_size = options_.limits.max_connections;
  return i;
}

std::error_code UserspaceBackend::apply(const PlanOp& op) {
  if (auto ec = check_op(op)) return ec;
  std::lock_guard lock(mu_);
  if (auto ec = apply_op(plan_, op)) return ec;
  std::visit([&](const auto& o) { touched_.insert(service_of(o)); }, op);
  ++generation_;
  dirty_ = true;
  return {};
}

void UserspaceBackend::publish_locked() {
  auto s = std::make_shared<Snapshot>();
  s->version = ++published_;
  s->services = published_services_;
  s->timeouts = timeouts_;
  if (l2_changed_) {
    published_l2_ = std::make_shared<const L2Map>(l2_);
    l2_changed_ = false;
  }
  s->l2 = published_l2_;
  slot_.publish(std::move(s));
}

std::optional<uint64_t> UserspaceBackend::table_generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

std::error_code UserspaceBackend::commit() {
  // Only the services apply() touched are looked at again (a reconcile
  // after one realserver changed costs that service, not the table).
  std::vector<SteeringChange> changes;
  // The resolver walks the whole plan: woken now only for what it resolves
  // (a new realserver address, a DR/TUN service's change); the rest waits
  // for its periodic round.
  bool kick = false;
  {
    std::lock_guard lock(mu_);
    if (!dirty_ && steering_.installed()) return {};
    for (const ServiceKey& key : touched_) {
      auto pos = std::lower_bound(
          targets_.begin(), targets_.end(), key,
          [](const SteeringTarget& t, const ServiceKey& k) { return t.service < k; });
      const bool had = pos != targets_.end() && pos->service == key;
      auto it = plan_.services.find(key);
      std::optional<SteeringTarget> now;
      if (it != plan_.services.end()) {
        now = target_of(key, it->second);
        published_services_[key] = std::make_shared<const ServiceEntry>(it->second);
        // L2 facts for new DR/TUN destinations before their first packet.
        for (const auto& [dk, d] : it->second.dests)
          if (l2_.try_emplace(d.address).second) l2_changed_ = kick = true;
        if (!now->nat_only) kick = true;
      } else {
        published_services_.erase(key);
      }
      if (had && !pos->nat_only) kick = true;
      if (had && now && *pos == *now) continue;
      SteeringChange c;
      if (had) c.before = *pos;
      c.after = now;
      if (had && now) {
        *pos = *now;
      } else if (had) {
        targets_.erase(pos);
      } else if (now) {
        targets_.insert(pos, *now);
      }
      changes.push_back(std::move(c));
    }
    touched_.clear();
    dirty_ = false;
    if (kick) kick_ = true;
    publish_locked();
  }
  if (kick) resolver_cv_.notify_all();
  if (steering_.installed() && changes.empty()) return {};
  std::string detail;
  SteeringQueues q{options_.dataplane.queue_first, options_.dataplane.queue_count};
  if (auto ec = steering_.update(targets_, changes, q, detail)) {
    steering_error_ = detail;
    spdlog::error("event=userspace_steering_failed detail={}", detail);
    std::lock_guard lock(mu_);
    dirty_ = true;  // retried at the next reconciliation (as a full install)
    return ec;
  }
  steering_error_.clear();
  return {};
}

void UserspaceBackend::resolver_loop() {
  L2Resolver resolver;
  std::unique_lock lock(mu_);
  while (!resolver_stop_) {
    // Which addresses need what (DR: the MAC; TUN: route, MTU, source).
    std::map<Address, bool> wanted;
    std::map<Address, std::set<Address>> vips_of;  // DR/TUN realserver -> its VIPs
    for (const auto& [k, e] : plan_.services)
      for (const auto& [dk, d] : e.dests) {
        wanted[d.address] = wanted[d.address] || d.method == Method::dr;
        if (d.method != Method::nat && !k.is_fwmark()) vips_of[d.address].insert(k.address);
      }
    lock.unlock();
    std::map<Address, L2Info> fresh;
    for (const auto& [addr, want_mac] : wanted)
      fresh[addr] = resolver.resolve(addr, want_mac);
    // The "ARP problem": a DR/TUN realserver answering ARP for its VIP takes
    // the clients away from the director. Asked again at every refresh,
    // logged when it starts and when it stops.
    std::set<std::pair<Address, Address>> problems;
    for (const auto& [rs, vips] : vips_of) {
      const L2Info& li = fresh[rs];
      if (!li.mac_ok || !rs.is_v4()) continue;
      for (const auto& vip : vips)
        if (realserver_answers_arp(li.ifindex, li.mac, li.source, vip, 100))
          problems.insert({rs, vip});
    }
    lock.lock();
    for (const auto& p : problems)
      if (!arp_problems_.count(p))
        spdlog::warn(
            "event=userspace_arp_problem realserver={} vip={} hint=\"the realserver answers ARP "
            "for "
            "the VIP: set arp_ignore=1 and arp_announce=2 there (docs/userspace.md)\"",
            p.first.to_string(), p.second.to_string());
    for (const auto& p : arp_problems_)
      if (!problems.count(p))
        spdlog::info("event=userspace_arp_problem_gone realserver={} vip={}", p.first.to_string(),
                     p.second.to_string());
    arp_problems_ = std::move(problems);
    bool all_ok = true;
    for (const auto& [addr, info] : fresh) {
      bool ok = info.route_ok && (!wanted[addr] || info.mac_ok);
      all_ok = all_ok && ok;
      auto it = l2_.find(addr);
      if (it != l2_.end() && it->second == info) continue;
      if (!ok)
        spdlog::warn("event=userspace_l2 address={} ok=false detail={:?}", addr.to_string(),
                     info.error);
      else
        spdlog::info("event=userspace_l2 address={} dev={} mac={} mtu={} source={}",
                     addr.to_string(), info.ifname, format_mac(info.mac), info.mtu,
                     info.source.to_string());
    }
    // NAT replies come back rewritten to the VIP's (local) source address on
    // the interface toward the realservers: without accept_local the kernel
    // drops them as martians (fib_validate_source).
    if (options_.manage_forwarding_sysctl) {
      for (const auto& [addr, info] : fresh) {
        if (!addr.is_v4() || info.ifname.empty() || accept_local_.count(info.ifname)) continue;
        const std::string path = "/proc/sys/net/ipv4/conf/" + info.ifname + "/accept_local";
        if (read_sysctl(path.c_str()) != "1" && write_sysctl(path.c_str(), "1"))
          spdlog::warn("event=userspace_sysctl path={} value=1 reason=\"NAT replies\"", path);
        accept_local_.insert(info.ifname);
      }
    }
    if (fresh != l2_) {
      l2_ = std::move(fresh);
      l2_changed_ = true;
      publish_locked();
    }
    // Unresolved neighbours are asked for again soon; resolved ones are
    // refreshed (a realserver's MAC may change) every few seconds.
    resolver_cv_.wait_for(lock,
                          all_ok ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(200),
                          [&] { return resolver_stop_ || kick_; });
    kick_ = false;
  }
}

Result<ReadBack> UserspaceBackend::read_back() {
  ReadBack rb;
  {
    std::lock_guard lock(mu_);
    rb.plan = plan_;
  }
  auto index = engine_->stats_index();
  const auto now = std::chrono::steady_clock::now();
  auto rate = [&](RateSample& prev, const Stats& cur) {
    double secs = std::chrono::duration<double>(now - prev.at).count();
    if (prev.at.time_since_epoch().count() != 0 && secs >= 1.0) {
      auto r = [&](uint64_t a, uint64_t b) {
        return b >= a ? static_cast<uint64_t>(static_cast<double>(b - a) / secs) : 0;
      };
      prev.rates.cps = r(prev.stats.conns, cur.conns);
      prev.rates.inpps = r(prev.stats.inpkts, cur.inpkts);
      prev.rates.outpps = r(prev.stats.outpkts, cur.outpkts);
      prev.rates.inbps = r(prev.stats.inbytes, cur.inbytes);
      prev.rates.outbps = r(prev.stats.outbytes, cur.outbytes);
      prev.at = now;
      prev.stats = cur;
    } else if (prev.at.time_since_epoch().count() == 0) {
      prev.at = now;
      prev.stats = cur;
    }
    Stats out = cur;
    out.cps = prev.rates.cps;
    out.inpps = prev.rates.inpps;
    out.outpps = prev.rates.outpps;
    out.inbps = prev.rates.inbps;
    out.outbps = prev.rates.outbps;
    return out;
  };
  for (const auto& [key, entry] : rb.plan.services) {
    ServiceStatus st;
    const StatsIndex::Service* si = nullptr;
    if (index) {
      auto it = index->services.find(key);
      if (it != index->services.end()) si = &it->second;
    }
    if (si && si->counters) st.stats = rate(service_rates_[key], si->counters->stats());
    for (const auto& [dk, d] : entry.dests) {
      DestStatus ds;
      if (si) {
        auto dit = si->dests.find(dk);
        if (dit != si->dests.end() && dit->second) {
          ds.stats = rate(rates_[{key, dk}], dit->second->stats());
          ds.active_conns = dit->second->active.load(std::memory_order_relaxed);
          ds.inactive_conns = dit->second->inactive.load(std::memory_order_relaxed);
          ds.persistent_conns = dit->second->persistent.load(std::memory_order_relaxed);
        }
      }
      st.dests[dk] = ds;
    }
    rb.status[key] = std::move(st);
  }
  return rb;
}

std::error_code UserspaceBackend::set_timeouts(const Timeouts& t) {
  std::lock_guard lock(mu_);
  if (t.tcp) timeouts_.tcp = t.tcp;
  if (t.tcp_fin) timeouts_.tcp_fin = t.tcp_fin;
  if (t.udp) timeouts_.udp = t.udp;
  publish_locked();
  return {};
}

Result<Timeouts> UserspaceBackend::get_timeouts() {
  std::lock_guard lock(mu_);
  return timeouts_;
}

// Connection sync of the userspace engine is lvsd's own (sync/), not a
// kernel daemon.
std::error_code UserspaceBackend::start_sync_daemon(const SyncDaemonConfig&) {
  return std::make_error_code(std::errc::operation_not_supported);
}
std::error_code UserspaceBackend::stop_sync_daemon(SyncState) {
  return std::make_error_code(std::errc::no_such_process);
}
Result<std::vector<SyncDaemonConfig>> UserspaceBackend::sync_daemons() {
  return std::vector<SyncDaemonConfig>{};
}

std::map<std::string, uint64_t> UserspaceBackend::engine_counters() const {
  std::map<std::string, uint64_t> m;
  const auto& c = engine_->counters();
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  m["packets"] = get(c.packets);
  m["malformed"] = get(c.malformed);
  m["fragments"] = get(c.fragments);
  m["not_ours"] = get(c.not_ours);
  m["no_dest"] = get(c.no_dest);
  m["table_full"] = get(c.table_full);
  m["l2_unresolved"] = get(c.l2_unresolved);
  m["too_big"] = get(c.too_big);
  m["icmp_translated"] = get(c.icmp_translated);
  m["unsupported"] = get(c.unsupported);
  m["snapshots"] = get(c.snapshots);
  m["expired"] = get(c.expired);
  m["connections"] = engine_->connections();
  m["sync_queued"] = get(c.sync_queued);
  m["sync_queue_full"] = get(c.sync_queue_full);
  m["sync_applied"] = get(c.sync_applied);
  m["sync_unknown"] = get(c.sync_unknown);
  m["sync_refused"] = get(c.sync_refused);
  const auto& tx = dataplane_->tx_counters();
  m["tx_l2"] = get(tx.l2_sent);
  m["tx_raw"] = get(tx.raw_sent);
  m["tx_errors"] = get(tx.send_errors);
  m["verdict_errors"] = dataplane_->verdict_errors();
  {
    std::lock_guard lock(mu_);
    m["arp_problems"] = arp_problems_.size();
  }
  m["steering_ok"] = steering_.installed() && steering_error_.empty() ? 1 : 0;
  return m;
}

}  // namespace lvsd::forwarding::userspace
