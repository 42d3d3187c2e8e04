#include "forwarding/schedulers/scheduler.hpp"

#include <array>
#include <stdexcept>
#include <string>

#include "forwarding/schedulers/hashing.hpp"
#include "forwarding/schedulers/least_connection.hpp"
#include "forwarding/schedulers/locality.hpp"
#include "forwarding/schedulers/maglev.hpp"
#include "forwarding/schedulers/round_robin.hpp"

namespace lvsd::forwarding::schedulers {

namespace {
constexpr std::array<std::string_view, 14> kNames = {
    "rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr", "mh", "fo", "ovf", "twos"};
}

std::span<const std::string_view> scheduler_names() {
  return kNames;
}

std::unique_ptr<Scheduler> make_scheduler(std::string_view name, const SchedulerOptions& o) {
  if (name == "rr") return std::make_unique<RoundRobin>();
  if (name == "wrr") return std::make_unique<WeightedRoundRobin>();
  if (name == "lc") return std::make_unique<LeastConnection>();
  if (name == "wlc") return std::make_unique<WeightedLeastConnection>();
  if (name == "sed") return std::make_unique<ShortestExpectedDelay>();
  if (name == "nq") return std::make_unique<NeverQueue>();
  if (name == "sh") return std::make_unique<SourceHashing>(o.flags);
  if (name == "dh") return std::make_unique<DestinationHashing>();
  if (name == "lblc") return std::make_unique<LocalityLeastConnection>(o.lblc_expiration);
  if (name == "lblcr")
    return std::make_unique<LocalityLeastConnectionReplication>(o.lblc_expiration);
  if (name == "mh") return std::make_unique<MaglevHashing>(o.flags, o.mh);
  if (name == "fo") return std::make_unique<WeightedFailover>();
  if (name == "ovf") return std::make_unique<Overflow>();
  if (name == "twos") return std::make_unique<TwoRandomChoices>(o.twos_seed);
  return nullptr;
}

ScheduledService::ScheduledService(std::unique_ptr<Scheduler> scheduler)
    : scheduler_(std::move(scheduler)) {
  if (!scheduler_) throw std::invalid_argument("ScheduledService: no scheduler");
  scheduler_->init(dests_);
}

ScheduledService::ScheduledService(std::string_view scheduler_name, const SchedulerOptions& options)
    : scheduler_(make_scheduler(scheduler_name, options)) {
  if (!scheduler_)
    throw std::invalid_argument("unknown scheduler \"" + std::string(scheduler_name) + "\"");
  scheduler_->init(dests_);
}

void ScheduledService::add(const RealServer& rs) {
  const std::size_t i = dests_.add(rs);
  scheduler_->dest_added(dests_, i);
}

bool ScheduledService::update(const RealServer& rs) {
  const auto i = dests_.find(rs.key());
  if (!i) return false;
  dests_.update(*i, rs);
  scheduler_->dest_updated(dests_, *i);
  return true;
}

bool ScheduledService::remove(const DestKey& key) {
  const auto i = dests_.find(key);
  if (!i) return false;
  const Dest removed = dests_.remove(*i);
  scheduler_->dest_removed(dests_, *i, removed);
  return true;
}

}  // namespace lvsd::forwarding::schedulers
