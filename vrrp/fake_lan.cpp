#include "vrrp/fake_lan.hpp"

#include <set>
#include <stdexcept>

namespace lvsd::vrrp {

FakeLan::FakeLan(std::uint64_t seed)
    : rng_(seed), t0_(TimePoint{} + std::chrono::hours(1)), now_(t0_) {}

FakeLan::NodeId FakeLan::add(InstanceParams params) {
  Node node;
  node.fsm.emplace(std::move(params));
  nodes_.push_back(std::move(node));
  return nodes_.size() - 1;
}

// ---------------------------------------------------------------- links

FakeLan::Link& FakeLan::link(NodeId from, NodeId to) {
  auto [it, inserted] = links_.try_emplace({from, to}, default_link_);
  return it->second;
}

void FakeLan::set_link(NodeId from, NodeId to, Link l) {
  link(from, to) = l;
}

void FakeLan::set_latency(Duration latency) {
  default_link_.latency = latency;
  for (auto& [k, l] : links_)
    l.latency = latency;
}

void FakeLan::set_loss(double loss) {
  default_link_.loss = loss;
  for (auto& [k, l] : links_)
    l.loss = loss;
}

void FakeLan::partition(const std::vector<std::vector<NodeId>>& groups) {
  std::vector<std::size_t> group(nodes_.size(), static_cast<std::size_t>(-1));
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (NodeId n : groups[g])
      group.at(n) = g;
  for (NodeId a = 0; a < nodes_.size(); ++a)
    for (NodeId b = 0; b < nodes_.size(); ++b)
      if (a != b) link(a, b).up = group[a] == group[b] && group[a] != static_cast<std::size_t>(-1);
}

void FakeLan::heal() {
  for (auto& [k, l] : links_)
    l.up = true;
}

// ---------------------------------------------------------------- inputs

void FakeLan::start(NodeId n) {
  if (nodes_.at(n).alive) apply(n, fsm(n).start(now_));
}

void FakeLan::start_all() {
  for (NodeId n = 0; n < nodes_.size(); ++n)
    start(n);
}

void FakeLan::shutdown(NodeId n) {
  if (nodes_.at(n).alive) apply(n, fsm(n).shutdown(now_));
}

void FakeLan::fault(NodeId n, std::string reason) {
  if (nodes_.at(n).alive) apply(n, fsm(n).fault(now_, std::move(reason)));
}

void FakeLan::fault_cleared(NodeId n) {
  if (nodes_.at(n).alive) apply(n, fsm(n).fault_cleared(now_));
}

void FakeLan::set_priority(NodeId n, std::uint8_t priority) {
  if (nodes_.at(n).alive) apply(n, fsm(n).set_priority(now_, priority));
}

void FakeLan::reconfigure(NodeId n, InstanceParams params) {
  if (nodes_.at(n).alive) apply(n, fsm(n).reconfigure(now_, std::move(params)));
}

void FakeLan::crash(NodeId n) {
  Node& node = nodes_.at(n);
  node.alive = false;
  node.vips = false;
  ++node.epoch;
  for (auto& g : node.timer_gen)
    ++g;
}

void FakeLan::revive(NodeId n) {
  Node& node = nodes_.at(n);
  InstanceParams params = node.fsm->params();
  node.fsm.emplace(std::move(params));
  node.alive = true;
  node.vips = false;
  ++node.epoch;
  start(n);
}

// ---------------------------------------------------------------- actions

void FakeLan::apply(NodeId n, const Actions& actions) {
  for (const Action& a : actions) {
    records_.push_back({now_, n, a});
    Node& node = nodes_[n];
    if (const auto* arm = std::get_if<ArmTimer>(&a)) {
      const auto id = static_cast<int>(arm->id);
      schedule(arm->at, TimerEv{n, arm->id, ++node.timer_gen[id]});
    } else if (const auto* c = std::get_if<CancelTimer>(&a)) {
      ++node.timer_gen[static_cast<int>(c->id)];
    } else if (const auto* s = std::get_if<SendAdvert>(&a)) {
      broadcast(n, *s);
    } else if (std::holds_alternative<AddVips>(a)) {
      node.vips = true;
    } else if (std::holds_alternative<RemoveVips>(a)) {
      node.vips = false;
    }
  }
}

bool FakeLan::lose(NodeId from, NodeId to, const SendAdvert& a) {
  const Link& l = link(from, to);
  if (!l.up) return true;
  if (drop_ && drop_(from, to, a, now_)) return true;
  if (l.loss <= 0.0) return false;
  // 53 random bits -> [0, 1): the same on every standard library.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  return u < l.loss;
}

void FakeLan::broadcast(NodeId from, const SendAdvert& a) {
  const AdvertIn in{a.priority, a.max_adver_int, fsm(from).params().primary_address};
  for (NodeId to = 0; to < nodes_.size(); ++to) {
    if (to == from || !nodes_[to].alive) continue;
    if (lose(from, to, a)) {
      records_.push_back({now_, from, Lost{to, a}});
      continue;
    }
    schedule(now_ + link(from, to).latency, DeliverEv{from, to, nodes_[to].epoch, in});
  }
}

void FakeLan::schedule(TimePoint at, Event ev) {
  if (at < now_) at = now_;
  queue_.emplace(std::make_pair(at, seq_++), std::move(ev));
}

// ---------------------------------------------------------------- running

bool FakeLan::step() {
  if (queue_.empty()) return false;
  auto it = queue_.begin();
  const TimePoint at = it->first.first;
  Event ev = std::move(it->second);
  queue_.erase(it);
  now_ = at;
  ++steps_;
  if (const auto* t = std::get_if<TimerEv>(&ev)) {
    Node& node = nodes_[t->node];
    if (node.alive && node.timer_gen[static_cast<int>(t->id)] == t->gen)
      apply(t->node, node.fsm->timer_fired(now_, t->id));
  } else {
    const auto& d = std::get<DeliverEv>(ev);
    Node& node = nodes_[d.to];
    if (node.alive && node.epoch == d.epoch) apply(d.to, node.fsm->advert_received(now_, d.advert));
  }
  return true;
}

void FakeLan::run_until(TimePoint t, std::size_t max_steps) {
  std::size_t n = 0;
  while (!queue_.empty() && queue_.begin()->first.first <= t) {
    if (++n > max_steps) throw std::runtime_error("FakeLan: step bound exceeded");
    step();
  }
  if (t > now_) now_ = t;
}

// ---------------------------------------------------------------- observations

std::vector<FakeLan::NodeId> FakeLan::masters() const {
  std::vector<NodeId> out;
  for (NodeId n = 0; n < nodes_.size(); ++n)
    if (nodes_[n].alive && nodes_[n].fsm->state() == State::master) out.push_back(n);
  return out;
}

std::vector<FakeLan::NodeId> FakeLan::vip_holders() const {
  std::vector<NodeId> out;
  for (NodeId n = 0; n < nodes_.size(); ++n)
    if (holds_vips(n)) out.push_back(n);
  return out;
}

std::vector<std::pair<TimePoint, Transition>> FakeLan::transitions(NodeId n,
                                                                   std::optional<State> to) const {
  std::vector<std::pair<TimePoint, Transition>> out;
  for (const Record& r : records_) {
    if (r.node != n) continue;
    const auto* a = std::get_if<Action>(&r.what);
    if (!a) continue;
    if (const auto* t = std::get_if<Transition>(a); t && (!to || t->to == *to))
      out.emplace_back(r.at, *t);
  }
  return out;
}

std::optional<TimePoint> FakeLan::when(NodeId n, State to, TimePoint after) const {
  for (const auto& [at, t] : transitions(n, to))
    if (at >= after) return at;
  return std::nullopt;
}

std::vector<TimePoint> FakeLan::adverts(NodeId n, std::optional<std::uint8_t> priority) const {
  std::vector<TimePoint> out;
  for (const Record& r : records_) {
    if (r.node != n) continue;
    const auto* a = std::get_if<Action>(&r.what);
    if (!a) continue;
    if (const auto* s = std::get_if<SendAdvert>(a); s && (!priority || s->priority == *priority))
      out.push_back(r.at);
  }
  return out;
}

std::vector<TimePoint> FakeLan::vip_changes(NodeId n, bool added) const {
  std::vector<TimePoint> out;
  for (const Record& r : records_) {
    if (r.node != n) continue;
    const auto* a = std::get_if<Action>(&r.what);
    if (!a) continue;
    if (added ? std::holds_alternative<AddVips>(*a) : std::holds_alternative<RemoveVips>(*a))
      out.push_back(r.at);
  }
  return out;
}

std::size_t FakeLan::lost(NodeId from, NodeId to) const {
  std::size_t count = 0;
  for (const Record& r : records_)
    if (const auto* l = std::get_if<Lost>(&r.what); l && r.node == from && l->to == to) ++count;
  return count;
}

}  // namespace lvsd::vrrp
