// FakeLan: test support. Several InstanceFsm joined by a fake broadcast medium
// with per-link latency and loss, driven by a fake clock: a discrete-event
// simulation that jumps to the next timer expiry or packet delivery. Fully
// deterministic: events at the same instant run in the order they were
// scheduled, and random loss draws from a seeded generator (only on links whose
// loss is non-zero). No sleeping, no threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "vrrp/instance_fsm.hpp"

namespace lvsd::vrrp {

class FakeLan {
 public:
  using NodeId = std::size_t;

  struct Link {
    Duration latency{0};
    double loss = 0.0;  // probability that one advert is lost, 0..1
    bool up = true;     // false: everything is lost (partition)
  };

  // Everything that happened, in order: each action of each FSM, plus adverts
  // lost on the medium.
  struct Lost {
    NodeId to = 0;
    SendAdvert advert;
  };
  struct Record {
    TimePoint at;
    NodeId node = 0;  // the FSM that acted (for Lost: the sender)
    std::variant<Action, Lost> what;
  };

  // Returns true to drop the advert from `from` to `to` (scripted loss); called
  // before random loss is drawn.
  using DropFilter = std::function<bool(NodeId from, NodeId to, const SendAdvert&, TimePoint)>;

  explicit FakeLan(std::uint64_t seed = 1);

  NodeId add(InstanceParams params);
  std::size_t size() const { return nodes_.size(); }
  InstanceFsm& fsm(NodeId n) { return *nodes_.at(n).fsm; }
  const InstanceFsm& fsm(NodeId n) const { return *nodes_.at(n).fsm; }

  TimePoint t0() const { return t0_; }
  TimePoint now() const { return now_; }

  // Links are directional; set_latency/set_loss apply to every link.
  void set_link(NodeId from, NodeId to, Link link);
  Link& link(NodeId from, NodeId to);
  void set_latency(Duration latency);
  void set_loss(double loss);
  // Only nodes in the same group hear each other; heal() restores all links.
  void partition(const std::vector<std::vector<NodeId>>& groups);
  void heal();
  void set_drop_filter(DropFilter f) { drop_ = std::move(f); }

  // Inputs to one FSM, at now().
  void start(NodeId n);
  void start_all();
  void shutdown(NodeId n);
  void fault(NodeId n, std::string reason);
  void fault_cleared(NodeId n);
  void set_priority(NodeId n, std::uint8_t priority);
  void reconfigure(NodeId n, InstanceParams params);
  // The host dies: no more input, pending timers and deliveries to it vanish,
  // its VIPs are gone. revive() replaces its FSM with a fresh one (same params)
  // and starts it.
  void crash(NodeId n);
  void revive(NodeId n);
  bool alive(NodeId n) const { return nodes_.at(n).alive; }

  // Runs the next event; false when there is none.
  bool step();
  // Runs every event due at or before t, then sets now() to t. Throws
  // std::runtime_error after max_steps events (a livelock guard).
  void run_until(TimePoint t, std::size_t max_steps = 1'000'000);
  void run_for(Duration d, std::size_t max_steps = 1'000'000) { run_until(now_ + d, max_steps); }
  std::size_t steps() const { return steps_; }

  // Observations.
  const std::vector<Record>& records() const { return records_; }
  std::vector<NodeId> masters() const;      // alive nodes in State::master
  std::vector<NodeId> vip_holders() const;  // alive nodes whose VIPs are configured
  bool holds_vips(NodeId n) const { return nodes_.at(n).alive && nodes_.at(n).vips; }
  // Transitions of node n (optionally only into `to`), with their times.
  std::vector<std::pair<TimePoint, Transition>> transitions(NodeId n,
                                                            std::optional<State> to = {}) const;
  // First transition of n into `to` at or after `after`.
  std::optional<TimePoint> when(NodeId n, State to, TimePoint after = TimePoint::min()) const;
  // Times at which n sent adverts (optionally only with that priority).
  std::vector<TimePoint> adverts(NodeId n, std::optional<std::uint8_t> priority = {}) const;
  // Times at which n's VIPs were added / removed.
  std::vector<TimePoint> vip_changes(NodeId n, bool added) const;
  std::size_t lost(NodeId from, NodeId to) const;

 private:
  struct Node {
    std::optional<InstanceFsm> fsm;
    bool alive = true;
    bool vips = false;
    std::uint64_t epoch = 0;                 // bumped by crash/revive
    std::uint64_t timer_gen[3] = {0, 0, 0};  // bumped by each arm/cancel
  };
  struct TimerEv {
    NodeId node;
    TimerId id;
    std::uint64_t gen;
  };
  struct DeliverEv {
    NodeId from;
    NodeId to;
    std::uint64_t epoch;  // of the receiver when sent
    AdvertIn advert;
  };
  using Event = std::variant<TimerEv, DeliverEv>;

  void apply(NodeId n, const Actions& actions);
  void broadcast(NodeId from, const SendAdvert& a);
  void schedule(TimePoint at, Event ev);
  bool lose(NodeId from, NodeId to, const SendAdvert& a);

  std::mt19937_64 rng_;
  TimePoint t0_;
  TimePoint now_;
  std::uint64_t seq_ = 0;
  std::size_t steps_ = 0;
  std::vector<Node> nodes_;
  std::map<std::pair<NodeId, NodeId>, Link> links_;
  Link default_link_;
  DropFilter drop_;
  std::map<std::pair<TimePoint, std::uint64_t>, Event> queue_;
  std::vector<Record> records_;
};

}  // namespace lvsd::vrrp
