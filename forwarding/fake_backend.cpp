#include "forwarding/fake_backend.hpp"

#include <cerrno>
#include <climits>
#include <type_traits>
#include <utility>
#include <variant>

namespace lvsd::forwarding {

namespace {

std::error_code err(int e) {
  return {e, std::generic_category()};
}

// The fake assumes HZ=1000, the smallest INT_MAX/HZ a kernel can have.
constexpr uint32_t kMaxTimeout = INT_MAX / 1000;

const ServiceKey& service_of(const PlanOp& op) {
  return std::visit(
      [](const auto& o) -> const ServiceKey& {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, AddService> || std::is_same_v<T, EditService>) {
          return o.service.key;
        } else {
          return o.service;
        }
      },
      op);
}

}  // namespace

std::size_t FakeBackend::Calls::total() const {
  return info + apply + read_back + set_timeouts + get_timeouts + start_sync_daemon +
         stop_sync_daemon + sync_daemons;
}

FakeBackend::FakeBackend(ForwardingPlan initial)
    : plan_(std::move(initial)), schedulers_{"rr", "wrr",  "lc",    "wlc", "sed", "nq",  "sh",
                                             "dh", "lblc", "lblcr", "mh",  "fo",  "ovf", "twos"} {}

void FakeBackend::fail_next(std::size_t n, std::errc error) {
  fail_count_ = n;
  fail_error_ = error;
}

bool FakeBackend::take_failure(std::error_code& ec) {
  if (fail_count_ == 0) return false;
  --fail_count_;
  ec = std::make_error_code(fail_error_);
  return true;
}

void FakeBackend::set_stats(const ServiceKey& service, const Stats& stats) {
  status_[service].stats = stats;
}

void FakeBackend::set_dest_status(const ServiceKey& service, const DestKey& dest,
                                  const DestStatus& status) {
  status_[service].dests[dest] = status;
}

Result<BackendInfo> FakeBackend::info() {
  ++calls_.info;
  std::error_code ec;
  if (take_failure(ec)) return ec;
  return info_;
}

std::error_code FakeBackend::check_service(const VirtualService& s) const {
  if (s.key.family == Family::inet6 && s.persistence &&
      (s.persistence->prefix < 1 || s.persistence->prefix > 128)) {
    return err(EINVAL);
  }
  if (!schedulers_.contains(s.scheduler)) return err(ENOENT);
  if (!s.pe_name.empty() && !pes_.contains(s.pe_name)) return err(ENOENT);
  return {};
}

bool FakeBackend::has_mixed_family_dests() const {
  for (const auto& [key, entry] : plan_.services) {
    for (const auto& [dk, d] : entry.dests) {
      if (d.family() != key.family) return true;
    }
  }
  return false;
}

std::error_code FakeBackend::check_dest(const ServiceKey& service, const RealServer& d) const {
  if (d.family() != service.family) {
    if (!daemons_.empty()) return err(EINVAL);
    if (d.method != Method::tun) return err(EINVAL);
  }
  if (d.weight > static_cast<uint32_t>(INT_MAX)) return err(ERANGE);
  if (d.lower_threshold > d.upper_threshold) return err(ERANGE);
  if (d.method == Method::tun && d.tunnel.type == TunnelType::gue && d.tunnel.port == 0) {
    return err(EINVAL);
  }
  return {};
}

std::error_code FakeBackend::apply(const PlanOp& op) {
  ++calls_.apply;
  std::error_code ec;
  if (take_failure(ec)) return ec;

  const ServiceKey& key = service_of(op);
  const bool exists = plan_.services.contains(key);
  if (const auto* o = std::get_if<AddService>(&op)) {
    if (exists) return err(EEXIST);
    ec = check_service(o->service);
  } else if (!exists) {
    return err(ESRCH);
  } else if (const auto* o = std::get_if<EditService>(&op)) {
    ec = check_service(o->service);
  } else if (const auto* o = std::get_if<AddDest>(&op)) {
    ec = check_dest(key, o->dest);
  } else if (const auto* o = std::get_if<EditDest>(&op)) {
    ec = check_dest(key, o->dest);
  }
  if (ec) return ec;
  if ((ec = apply_op(plan_, op))) return ec;
  // Counters go with their entry (the kernel's trash of recently deleted
  // dests, which keeps them for a quick re-add, is not modelled).
  if (std::holds_alternative<DelService>(op)) status_.erase(key);
  if (const auto* o = std::get_if<DelDest>(&op)) {
    if (auto it = status_.find(key); it != status_.end()) it->second.dests.erase(o->dest);
  }
  applied_.push_back(op);
  return {};
}

Result<ReadBack> FakeBackend::read_back() {
  ++calls_.read_back;
  std::error_code ec;
  if (take_failure(ec)) return ec;

  // Drop counters of entries that are gone; report zero for new ones.
  std::map<ServiceKey, ServiceStatus> status;
  for (const auto& [key, entry] : plan_.services) {
    ServiceStatus s;
    auto it = status_.find(key);
    if (it != status_.end()) s.stats = it->second.stats;
    for (const auto& [dk, d] : entry.dests) {
      DestStatus ds;
      if (it != status_.end()) {
        auto dit = it->second.dests.find(dk);
        if (dit != it->second.dests.end()) ds = dit->second;
      }
      s.dests.emplace(dk, ds);
    }
    status.emplace(key, std::move(s));
  }
  status_ = status;
  return ReadBack{plan_, std::move(status)};
}

std::error_code FakeBackend::set_timeouts(const Timeouts& t) {
  ++calls_.set_timeouts;
  std::error_code ec;
  if (take_failure(ec)) return ec;
  if (t.tcp > kMaxTimeout || t.tcp_fin > kMaxTimeout || t.udp > kMaxTimeout) return err(EINVAL);
  if (t.tcp != 0) timeouts_.tcp = t.tcp;
  if (t.tcp_fin != 0) timeouts_.tcp_fin = t.tcp_fin;
  if (t.udp != 0) timeouts_.udp = t.udp;
  return {};
}

Result<Timeouts> FakeBackend::get_timeouts() {
  ++calls_.get_timeouts;
  std::error_code ec;
  if (take_failure(ec)) return ec;
  return timeouts_;
}

std::error_code FakeBackend::start_sync_daemon(const SyncDaemonConfig& c) {
  ++calls_.start_sync_daemon;
  std::error_code ec;
  if (take_failure(ec)) return ec;
  for (const auto& d : daemons_) {
    if (d.state == c.state) return err(EEXIST);
  }
  if (has_mixed_family_dests()) return err(EINVAL);
  if (!interfaces_.empty() && !interfaces_.contains(c.interface)) return err(ENODEV);
  daemons_.push_back(c);
  return {};
}

std::error_code FakeBackend::stop_sync_daemon(SyncState state) {
  ++calls_.stop_sync_daemon;
  std::error_code ec;
  if (take_failure(ec)) return ec;
  for (auto it = daemons_.begin(); it != daemons_.end(); ++it) {
    if (it->state == state) {
      daemons_.erase(it);
      return {};
    }
  }
  return err(ESRCH);
}

Result<std::vector<SyncDaemonConfig>> FakeBackend::sync_daemons() {
  ++calls_.sync_daemons;
  std::error_code ec;
  if (take_failure(ec)) return ec;
  return daemons_;
}

}  // namespace lvsd::forwarding
