#include "vrrp/driver.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

namespace lvsd::vrrp {

namespace ip = boost::asio::ip;

namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

// A log value, quoted when it has spaces or quotes (key=value lines).
std::string quote(const std::string& s) {
  if (!s.empty() && s.find_first_of(" \"=") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string family_name(Family f) {
  return f == Family::inet ? "inet" : "inet6";
}

constexpr auto kMismatchLogEvery = std::chrono::seconds(60);

}  // namespace

struct Driver::ChannelEntry {
  ChannelKey key;
  int ifindex = 0;
  std::unique_ptr<Channel> channel;
  std::map<std::uint8_t, Instance*> by_vrid;
  int multicast_users = 0;
  ChannelStatus st;
};

struct Driver::Instance {
  InstanceConfig cfg;
  std::optional<InstanceFsm> fsm;
  std::unique_ptr<checkers::Timer> timers[3];
  std::unique_ptr<checkers::Timer> garp_timer;
  GarpSchedule garp;
  VipSet vips;
  InstanceStatus st;
  RxInstance rx;
  ChannelEntry* channel = nullptr;
  bool multicast_member = false;
  std::optional<ip::address> source;
  std::string fault;        // the interface's problem, "" = none
  std::string track_fault;  // a weight-0 tracker's failure, "" = none
  std::string fsm_fault;    // what the FSM was told ("" = no fault)
  std::vector<TrackerStatus> trackers;
  bool want_master = false;  // sync group: Master_Down_Timer expired, held back
  std::string last_send_error;
  std::optional<TimePoint> last_mismatch_log;
  bool vmac_ready = false;  // ensure_vmac() succeeded for the current macvlan
  std::string vmac_error;   // the last failure, logged once
};

Driver::Driver(boost::asio::io_context& io, checkers::Clock& clock, Transport& transport,
               AddressManager& addresses, Hooks hooks)
    : io_(io),
      clock_(clock),
      transport_(transport),
      addresses_(addresses),
      hooks_(std::move(hooks)),
      alive_(std::make_shared<bool>(true)) {
  std::weak_ptr<bool> alive = alive_;
  addresses_.watch([this, alive] {
    if (alive.expired() || stopping_) return;
    evaluate_all();
    publish();
  });
}

Driver::~Driver() {
  alive_.reset();
  for (auto& i : instances_) {
    for (auto& t : i->timers)
      t->cancel();
    i->garp_timer->cancel();
  }
}

// ------------------------------------------------------------------ config

void Driver::rebuild_rx(Instance& i) {
  const auto& c = i.cfg;
  auto& e = i.rx.expect;
  e.version = static_cast<std::uint8_t>(c.fsm.version);
  e.vrid = c.fsm.vrid;
  e.owner = c.fsm.priority == kPriorityOwner;
  e.auth_type = c.auth_type;
  e.auth_data =
      c.auth_type == AuthType::simple_text ? simple_password(c.password) : decltype(e.auth_data){};
  e.adver_int = static_cast<std::uint8_t>(c.fsm.advert_interval.count() / 100);
  e.addresses.clear();
  for (const auto& v : c.vips)
    e.addresses.push_back(v.address);
  i.rx.v3_checksum_pseudo_header = c.v3_checksum_pseudo_header;
}

void Driver::configure(std::vector<InstanceConfig> configs) {
  if (stopping_) return;
  std::vector<std::unique_ptr<Instance>> next;
  std::vector<Instance*> fresh;
  for (auto& cfg : configs) {
    auto it = std::find_if(instances_.begin(), instances_.end(),
                           [&](const auto& p) { return p && p->cfg.name == cfg.name; });
    if (it != instances_.end()) {
      Instance& old = **it;
      // A new vmac (or none any more) moves the VIPs and the channel to
      // another device: a restart, like a new interface.
      const bool restart = old.cfg.interface != cfg.interface || old.cfg.family != cfg.family ||
                           old.cfg.fsm.vrid != cfg.fsm.vrid ||
                           old.cfg.fsm.version != cfg.fsm.version || old.cfg.vmac != cfg.vmac;
      if (!restart) {
        if (!(old.cfg == cfg)) {
          // (With a vmac this also moves the channel between the macvlan and
          // the interface: channel_interface().)
          const bool multicast_changed = old.cfg.unicast_peers.empty() != cfg.unicast_peers.empty();
          old.cfg = cfg;
          log_report(old, "update", old.vips.update(addresses_, cfg.vips, cfg.routes));
          old.garp.set_config(cfg.garp);
          rebuild_rx(old);
          if (multicast_changed) detach(old);
          if (old.fsm && old.source) {
            InstanceParams p = cfg.fsm;
            p.primary_address = *old.source;
            execute(old, old.fsm->reconfigure(clock_.now(), p));
          }
          fresh.push_back(&old);  // re-evaluated below (source, channel)
          spdlog::info("event=vrrp_instance_updated instance={}", quote(cfg.name));
        }
        next.push_back(std::move(*it));
        continue;
      }
      stop_instance(old, false);
      instances_.erase(it);
    }
    auto inst = std::make_unique<Instance>();
    inst->cfg = std::move(cfg);
    for (auto& t : inst->timers)
      t = clock_.make_timer();
    inst->garp_timer = clock_.make_timer();
    inst->garp.set_config(inst->cfg.garp);
    inst->vips = VipSet(inst->cfg.vips, inst->cfg.routes);
    rebuild_rx(*inst);
    fresh.push_back(inst.get());
    next.push_back(std::move(inst));
  }
  for (auto& old : instances_) {
    if (!old) continue;
    stop_instance(*old, false);
    spdlog::info("event=vrrp_instance_removed instance={}", quote(old->cfg.name));
  }
  instances_ = std::move(next);
  for (Instance* i : fresh)
    evaluate(*i);
  // Groups whose membership changed: re-derive the faults and common state.
  std::set<std::string> groups;
  for (auto& i : instances_)
    if (!i->cfg.sync_group.empty()) groups.insert(i->cfg.sync_group);
  for (auto it = group_state_.begin(); it != group_state_.end();) {
    it = groups.count(it->first) ? std::next(it) : group_state_.erase(it);
  }
  for (const auto& g : groups) {
    for (Instance* m : group_members(g))
      apply_fault(*m);
    update_group_state(g, "configuration");
  }
  publish();
}

void Driver::stop_instance(Instance& i, bool resign_hold) {
  if (i.fsm) execute(i, i.fsm->shutdown(clock_.now()));
  if (!resign_hold) {
    for (auto& t : i.timers)
      t->cancel();
    i.garp.stop();
    i.garp_timer->cancel();
    if (i.vips.holding() || !i.vips.owned_addresses().empty() || !i.vips.owned_routes().empty())
      log_report(i, "release", i.vips.release(addresses_));
    detach(i);
    remove_vmac(i);
  }
}

// ---------------------------------------------------------------- vmac

std::string Driver::channel_interface(const InstanceConfig& c) {
  return c.vmac && c.unicast_peers.empty() ? c.vmac->name : c.interface;
}

bool Driver::ensure_vmac(Instance& i, std::string& fault) {
  const VmacSpec& spec = *i.cfg.vmac;
  if (i.vmac_ready) {
    // Still there as we left it? (An operator may delete it; the kernel
    // deletes it with its base.) Then nothing to do: this runs on every
    // netlink event.
    auto info = addresses_.interface(spec.name);
    if (info && info->up && info->mac == spec.mac) return true;
    // Lost (its VIPs went with it): a Fault now, like a lost interface — a
    // master leaves the RFC way — and made again right after, then the
    // instance restarts as Backup.
    i.vmac_ready = false;
    fault = "vmac " + spec.name + " disappeared";
    spdlog::warn("event=vrrp_vmac_lost instance={} vmac={}", quote(i.cfg.name), spec.name);
    std::weak_ptr<bool> alive = alive_;
    boost::asio::post(io_, [this, alive] {
      if (alive.expired() || stopping_) return;
      evaluate_all();
      publish();
    });
    return false;
  }
  auto r = addresses_.ensure_vmac(spec);
  if (!r) {
    fault = "vmac " + spec.name + ": " + r.error();
    if (r.error() != i.vmac_error) {
      spdlog::warn("event=vrrp_vmac_failed instance={} vmac={} error={}", quote(i.cfg.name),
                   spec.name, quote(r.error()));
    }
    i.vmac_error = r.error();
    return false;
  }
  i.vmac_error.clear();
  i.vmac_ready = true;
  spdlog::info("event=vrrp_vmac instance={} vmac={} base={} mac={} op={}", quote(i.cfg.name),
               spec.name, spec.base, mac_string(spec.mac), *r ? "created" : "adopted");
  return true;
}

void Driver::remove_vmac(Instance& i) {
  if (!i.cfg.vmac) return;
  // Also when ensure_vmac() never succeeded: a leftover of ours is removed,
  // a foreign interface is refused (EPERM) by the address manager.
  if (auto ec = addresses_.remove_vmac(*i.cfg.vmac)) {
    spdlog::warn("event=vrrp_vmac_remove_failed instance={} vmac={} error={}", quote(i.cfg.name),
                 i.cfg.vmac->name, quote(ec.message()));
  } else if (i.vmac_ready) {
    spdlog::info("event=vrrp_vmac_removed instance={} vmac={}", quote(i.cfg.name),
                 i.cfg.vmac->name);
  }
  i.vmac_ready = false;
}

// ---------------------------------------------------------- interface state

Driver::ChannelEntry* Driver::attach(Instance& i, std::string& error) {
  const ChannelKey key{channel_interface(i.cfg), i.cfg.family};
  auto info = addresses_.interface(key.first);
  const int ifindex = info ? info->index : 0;
  auto it = channels_.find(key);
  if (it != channels_.end() && it->second->ifindex != ifindex) {
    // The interface was re-created: the old socket is bound to a stale index.
    ChannelEntry& c = *it->second;
    c.channel.reset();
    c.ifindex = ifindex;
  }
  if (it == channels_.end()) {
    auto c = std::make_unique<ChannelEntry>();
    c->key = key;
    c->ifindex = ifindex;
    c->st.interface = key.first;
    c->st.family = key.second;
    it = channels_.emplace(key, std::move(c)).first;
  }
  ChannelEntry& c = *it->second;
  if (!c.channel) {
    std::weak_ptr<bool> alive = alive_;
    ChannelEntry* cp = &c;
    auto opened = transport_.open(key.first, key.second, [this, alive, cp](const RawDatagram& d) {
      if (alive.expired()) return;
      on_datagram(*cp, d);
    });
    if (!opened) {
      error = opened.error();
      if (c.by_vrid.empty()) channels_.erase(it);
      return nullptr;
    }
    c.channel = std::move(*opened);
    if (c.multicast_users > 0) {
      if (auto ec = c.channel->join()) {
        spdlog::warn("event=vrrp_join_failed interface={} family={} error={}", key.first,
                     family_name(key.second), quote(ec.message()));
      }
      c.st.joined = true;
    }
    spdlog::info("event=vrrp_channel_open interface={} family={} ifindex={}", key.first,
                 family_name(key.second), ifindex);
  }
  c.by_vrid[i.cfg.fsm.vrid] = &i;
  i.channel = &c;
  const bool multicast = i.cfg.unicast_peers.empty();
  if (multicast && !i.multicast_member) {
    i.multicast_member = true;
    if (c.multicast_users++ == 0) {
      if (auto ec = c.channel->join()) {
        spdlog::warn("event=vrrp_join_failed interface={} family={} error={}", key.first,
                     family_name(key.second), quote(ec.message()));
      }
      c.st.joined = true;
    }
  }
  return &c;
}

void Driver::detach(Instance& i) {
  if (!i.channel) return;
  ChannelEntry& c = *i.channel;
  c.by_vrid.erase(i.cfg.fsm.vrid);
  if (i.multicast_member) {
    i.multicast_member = false;
    if (--c.multicast_users == 0 && c.channel) {
      c.channel->leave();
      c.st.joined = false;
    }
  }
  i.channel = nullptr;
  if (c.by_vrid.empty()) channels_.erase(c.key);
}

void Driver::evaluate_all() {
  for (auto& i : instances_)
    evaluate(*i);
}

void Driver::evaluate(Instance& i) {
  if (stopping_) return;
  const auto& c = i.cfg;
  std::string fault;
  std::optional<ip::address> src;
  auto info = addresses_.interface(c.interface);
  auto is_vip = [&](const ip::address& a) {
    return std::any_of(c.vips.begin(), c.vips.end(), [&](const Vip& v) { return v.address == a; });
  };
  if (!info) {
    fault = "interface " + c.interface + " not found";
  } else if (!info->up) {
    fault = "interface " + c.interface + " is down";
  } else if (!info->running) {
    fault = "interface " + c.interface + " has no carrier";
  } else if (c.unicast_source) {
    src = *c.unicast_source;
  } else if (c.family == Family::inet) {
    for (const auto& a : info->ipv4) {
      if (!is_vip(a)) {
        src = a;
        break;
      }
    }
    if (!src) fault = "no IPv4 address on " + c.interface;
  } else {
    for (const auto& a : info->ipv6_link_local) {
      if (!is_vip(a)) {
        src = a;
        break;
      }
    }
    if (!src) fault = "no IPv6 link-local address on " + c.interface;
  }
  // Keep the source we had while it is still on the interface (a new
  // secondary address must not restart the instance).
  if (src && i.source && !c.unicast_source && info) {
    const bool still =
        c.family == Family::inet
            ? std::find(info->ipv4.begin(), info->ipv4.end(), i.source->to_v4()) != info->ipv4.end()
            : i.source->is_v6() &&
                  std::find(info->ipv6_link_local.begin(), info->ipv6_link_local.end(),
                            i.source->to_v6()) != info->ipv6_link_local.end();
    if (still) src = i.source;
  }
  if (fault.empty() && c.vmac) ensure_vmac(i, fault);
  if (fault.empty()) {
    std::string error;
    if (!attach(i, error))
      fault = "cannot open the VRRP socket on " + channel_interface(c) + ": " + error;
  }
  const TimePoint now = clock_.now();
  if (!i.fsm) {
    if (!src) {
      if (fault != i.fault) {
        spdlog::warn("event=vrrp_instance_not_running instance={} reason={}", quote(c.name),
                     quote(fault));
      }
      i.fault = fault;
      apply_tracking(i);  // a sync group's other members follow the fault
      return;
    }
    InstanceParams p = c.fsm;
    p.primary_address = *src;
    i.fsm.emplace(p);
    i.source = src;
    log_report(i, "clear_stale", i.vips.clear_stale(addresses_));
    i.fault = fault;
    // Trackers first: the instance starts with its effective priority (its
    // Skew_Time depends on it) and in Fault when a tracker says so.
    apply_tracking(i);
    execute(i, i.fsm->start(now));
    return;
  }
  if (src && src != i.source) {
    spdlog::info("event=vrrp_source_changed instance={} from={} to={}", quote(c.name),
                 i.source ? i.source->to_string() : "none", src->to_string());
    InstanceParams p = c.fsm;
    p.primary_address = *src;
    i.source = src;
    execute(i, i.fsm->reconfigure(now, p));
  }
  i.fault = fault;
  apply_tracking(i);
}

void Driver::apply_tracking(Instance& i) {
  const auto lookup = [this](const Tracker& t) -> std::optional<TrackValue> {
    if (t.kind == TrackKind::interface) {
      // keepalived's track_interface: up means IFF_UP and IFF_RUNNING
      // (carrier); a missing interface is down.
      auto info = addresses_.interface(t.name);
      return TrackValue{info && info->up && info->running, 0};
    }
    auto it = tracked_.find({t.kind, t.name});
    if (it == tracked_.end()) return std::nullopt;
    return it->second;
  };
  auto trackers = i.cfg.trackers;
  if (!i.cfg.sync_group.empty()) {
    // keepalived: a sync group member's tracker weights are set to 0, so that
    // the members' priorities never diverge (which would make the group thrash).
    for (auto& t : trackers)
      t.weight = 0;
  }
  auto outcome = apply_trackers(i.cfg.fsm.priority, trackers, lookup);
  i.trackers = std::move(outcome.trackers);
  if (outcome.fault != i.track_fault) {
    spdlog::log(outcome.fault.empty() ? spdlog::level::info : spdlog::level::warn,
                "event=vrrp_track_fault instance={} fault={}", quote(i.cfg.name),
                outcome.fault.empty() ? std::string("none") : quote(outcome.fault));
    i.track_fault = outcome.fault;
  }
  std::uint8_t before = 0, after = 0;
  if (i.fsm) {
    // The priority before the fault state: leaving Fault restarts the timers
    // with the new priority's Skew_Time.
    before = i.fsm->effective_priority();
    execute(i, i.fsm->set_priority(clock_.now(), outcome.priority));
    after = i.fsm->effective_priority();
  }
  if (i.cfg.sync_group.empty()) {
    apply_fault(i);
  } else {
    for (Instance* m : group_members(i.cfg.sync_group))
      apply_fault(*m);
  }
  if (i.fsm && before != after) {
    spdlog::info("event=vrrp_priority instance={} from={} to={}", quote(i.cfg.name), before, after);
    // Re-advertise at once (keepalived does the same on a priority change):
    // a preempting backup that now outranks us discards this advert (RFC
    // 5798 6.4.2) and so takes over one Master_Down_Interval after the last
    // advert it accepted, i.e. the switch-over starts now, not an interval
    // later; a lower backup learns the new priority at once.
    if (i.fsm->state() == State::master) {
      send_advert(i, SendAdvert{after, i.cfg.fsm.advert_interval});
    }
  }
}

namespace {
std::string own_fault_of(const std::string& interface_fault, const std::string& track) {
  return !interface_fault.empty() ? interface_fault : track;
}
}  // namespace

void Driver::apply_fault(Instance& i) {
  if (!i.fsm) return;
  std::string want = own_fault_of(i.fault, i.track_fault);
  if (want.empty() && !i.cfg.sync_group.empty()) {
    for (Instance* m : group_members(i.cfg.sync_group)) {
      if (m == &i) continue;
      // A member not evaluated yet (configure() in progress) has no fault.
      if (!own_fault_of(m->fault, m->track_fault).empty()) {
        want = "sync group " + i.cfg.sync_group + ": " + m->cfg.name + " in fault";
        break;
      }
    }
  }
  if (want == i.fsm_fault) return;
  i.fsm_fault = want;
  const TimePoint now = clock_.now();
  if (!want.empty()) {
    execute(i, i.fsm->fault(now, want));
  } else {
    execute(i, i.fsm->fault_cleared(now));
  }
}

// ------------------------------------------------------------ sync groups

std::vector<Driver::Instance*> Driver::group_members(const std::string& group) {
  std::vector<Instance*> out;
  if (group.empty()) return out;
  for (auto& p : instances_) {
    if (p && p->cfg.sync_group == group) out.push_back(p.get());
  }
  return out;
}

bool Driver::group_can_go_master(Instance& i) {
  const TimePoint now = clock_.now();
  for (Instance* m : group_members(i.cfg.sync_group)) {
    if (m == &i || !m->fsm || m->want_master) continue;
    if (m->fsm->state() != State::backup) continue;
    const auto d = m->fsm->timer_deadline(TimerId::master_down);
    if (!d || *d > now) return false;  // it still hears its master
  }
  return true;
}

void Driver::follow(Instance& i, State from, State to) {
  const TimePoint now = clock_.now();
  const std::string why = "sync group " + i.cfg.sync_group + ": " + i.cfg.name + " became " +
                          std::string(to_string(to));
  for (Instance* m : group_members(i.cfg.sync_group)) {
    if (m == &i || !m->fsm) continue;
    if (to == State::master) {
      execute(*m, m->fsm->sync_master(now, why));
    } else if (from == State::master && to == State::backup) {
      execute(*m, m->fsm->sync_backup(now, why));
    }
  }
}

void Driver::update_group_state(const std::string& group, const std::string& reason) {
  const auto members = group_members(group);
  if (members.empty()) return;
  bool any_fault = false;
  bool same = true;
  std::optional<State> common;
  for (Instance* m : members) {
    // A member without an FSM is in Fault when its interface is unusable,
    // else it is not evaluated yet (configure() in progress).
    const State st = m->fsm                                           ? m->fsm->state()
                     : own_fault_of(m->fault, m->track_fault).empty() ? State::initialize
                                                                      : State::fault;
    if (st == State::fault) any_fault = true;
    if (!common) {
      common = st;
    } else if (*common != st) {
      same = false;
    }
  }
  State st{};
  if (any_fault) {
    st = State::fault;
  } else if (same) {
    st = *common;
  } else {
    return;  // members in transit
  }
  auto [it, inserted] = group_state_.try_emplace(group, State::initialize);
  const State prev = it->second;
  if (prev == st) return;
  it->second = st;
  spdlog::log(st == State::fault ? spdlog::level::warn : spdlog::level::info,
              "event=vrrp_group_transition group={} from={} to={} reason={}", quote(group),
              to_string(prev), to_string(st), quote(reason));
  if (hooks_.on_group_transition) {
    hooks_.on_group_transition(
        GroupEvent{group, prev, st, reason, std::chrono::system_clock::now()});
  }
}

void Driver::set_tracked(TrackKind kind, const std::string& name, TrackValue value) {
  auto [it, inserted] = tracked_.try_emplace({kind, name}, value);
  const bool changed = inserted || !(it->second == value);
  it->second = value;
  if (!changed || stopping_) return;
  spdlog::info("event=vrrp_tracked kind={} name={} ok={} value={}", to_string(kind), quote(name),
               value.ok, value.value);
  for (auto& i : instances_) {
    const bool uses =
        std::any_of(i->cfg.trackers.begin(), i->cfg.trackers.end(),
                    [&](const Tracker& t) { return t.kind == kind && t.name == name; });
    if (uses) apply_tracking(*i);
  }
  publish();
}

// ----------------------------------------------------------------- actions

void Driver::execute(Instance& i, const Actions& actions) {
  // Adverts go last: becoming master adds and announces the VIPs before the
  // first advert tells the old master to let them go (see the header).
  std::vector<SendAdvert> adverts;
  const TimePoint now = clock_.now();
  for (const auto& action : actions) {
    std::visit(
        Overload{
            [&](const SendAdvert& a) { adverts.push_back(a); },
            [&](const ArmTimer& a) {
              const auto id = a.id;
              if (id == TimerId::master_down) i.want_master = false;
              std::weak_ptr<bool> alive = alive_;
              Instance* ip = &i;
              i.timers[static_cast<int>(id)]->arm(std::max(a.at - now, Duration::zero()),
                                                  [this, alive, ip, id] {
                                                    if (alive.expired()) return;
                                                    on_timer(*ip, id);
                                                  });
            },
            [&](const CancelTimer& a) { i.timers[static_cast<int>(a.id)]->cancel(); },
            [&](const Transition& t) {
              const auto at = std::chrono::system_clock::now();
              i.st.last_transition = TransitionRecord{t.from, t.to, t.reason, at};
              if (t.to == State::master) ++i.st.became_master;
              i.want_master = false;
              // Sync groups: followed once this event's actions are done
              // (the group's own forced transitions are not followed again).
              if (!i.cfg.sync_group.empty() && !following_)
                pending_follow_.push_back({&i, t.from, t.to, t.reason});
              const std::uint8_t prio = i.fsm ? i.fsm->effective_priority() : i.cfg.fsm.priority;
              spdlog::log(t.to == State::fault ? spdlog::level::warn : spdlog::level::info,
                          "event=vrrp_transition instance={} interface={} vrid={} from={} to={} "
                          "priority={} reason={}",
                          quote(i.cfg.name), i.cfg.interface, i.cfg.fsm.vrid, to_string(t.from),
                          to_string(t.to), prio, quote(t.reason));
              if (hooks_.on_transition) {
                hooks_.on_transition(TransitionEvent{i.cfg.name, i.cfg.interface, i.cfg.fsm.vrid,
                                                     t.from, t.to, t.reason, prio, at});
              }
            },
            [&](const AddVips&) { log_report(i, "acquire", i.vips.acquire(addresses_)); },
            [&](const RemoveVips&) {
              i.garp.stop();
              i.garp_timer->cancel();
              // Stopping: released together after the linger (see
              // check_shutdown_done), not at the backup's first advert.
              if (stopping_) return;
              log_report(i, "release", i.vips.release(addresses_));
            },
            [&](const SendGratuitous&) {
              i.garp.start(now);
              on_garp(i);
            },
        },
        action);
  }
  for (const auto& a : adverts)
    send_advert(i, a);
  if (!following_ && !pending_follow_.empty()) {
    following_ = true;
    auto pending = std::move(pending_follow_);
    pending_follow_.clear();
    for (const auto& p : pending)
      follow(*p.instance, p.from, p.to);
    following_ = false;
    for (const auto& p : pending)
      update_group_state(p.instance->cfg.sync_group, p.instance->cfg.name + ": " + p.reason);
  }
  if (stopping_) check_shutdown_done();
}

void Driver::send_advert(Instance& i, const SendAdvert& a) {
  const auto& c = i.cfg;
  if (!i.channel || !i.channel->channel || !i.source) {
    ++i.st.send_errors;
    return;
  }
  Advert adv;
  adv.version = static_cast<std::uint8_t>(c.fsm.version);
  adv.vrid = c.fsm.vrid;
  adv.priority = a.priority;
  if (adv.version == 2) {
    adv.auth_type = c.auth_type;
    if (c.auth_type == AuthType::simple_text) adv.auth_data = simple_password(c.password);
    adv.adver_int = static_cast<std::uint8_t>(a.max_adver_int.count() / 100);
  } else {
    adv.max_adver_int = static_cast<std::uint16_t>(a.max_adver_int.count());
  }
  for (const auto& v : c.vips) {
    if (adv.addresses.size() == 255) break;
    adv.addresses.push_back(v.address);
  }
  std::vector<ip::address> destinations = c.unicast_peers;
  if (destinations.empty()) {
    destinations.push_back(c.family == Family::inet ? ip::address(multicast_group_v4())
                                                    : ip::address(multicast_group_v6()));
  }
  bool any = false;
  std::string error;
  for (const auto& d : destinations) {
    ChecksumContext ctx;
    ctx.source = *i.source;
    ctx.destination = d;
    ctx.v3_checksum_pseudo_header = c.v3_checksum_pseudo_header;
    const Bytes bytes = encode(adv, ctx);
    if (auto ec = i.channel->channel->send(*i.source, d, bytes)) {
      error = d.to_string() + ": " + ec.message();
    } else {
      any = true;
    }
  }
  if (any) {
    ++i.st.adverts_sent;
    if (a.priority == kPriorityResign) ++i.st.priority_zero_sent;
  }
  if (!error.empty()) {
    ++i.st.send_errors;
    if (error != i.last_send_error) {
      spdlog::warn("event=vrrp_send_failed instance={} error={}", quote(c.name), quote(error));
    }
  } else if (!i.last_send_error.empty()) {
    spdlog::info("event=vrrp_send_recovered instance={}", quote(c.name));
  }
  i.last_send_error = error;
}

void Driver::on_timer(Instance& i, TimerId id) {
  if (!i.fsm) return;
  if (id == TimerId::master_down && !i.cfg.sync_group.empty() && i.fsm->state() == State::backup) {
    const auto d = i.fsm->timer_deadline(TimerId::master_down);
    if (d && clock_.now() >= *d && !group_can_go_master(i)) {
      // keepalived's vrrp_sync_can_goto_master: wait (still Backup) until
      // every member can go; the last one to expire takes the group along.
      if (!i.want_master) {
        spdlog::info("event=vrrp_sync_wait instance={} group={}", quote(i.cfg.name),
                     quote(i.cfg.sync_group));
      }
      i.want_master = true;
      publish();
      return;
    }
  }
  execute(i, i.fsm->timer_fired(clock_.now(), id));
  publish();
}

void Driver::on_garp(Instance& i) {
  const TimePoint now = clock_.now();
  const auto step = i.garp.fire(now);
  for (unsigned r = 0; r < step.rounds; ++r) {
    for (const auto& v : i.vips.vips()) {
      if (auto ec = addresses_.announce(v.device, v.address)) {
        spdlog::warn("event=vrrp_announce_failed instance={} address={} error={}",
                     quote(i.cfg.name), v.address.to_string(), quote(ec.message()));
      } else {
        ++i.st.announcements_sent;
      }
    }
  }
  if (step.next) {
    std::weak_ptr<bool> alive = alive_;
    Instance* ip = &i;
    i.garp_timer->arm(std::max(*step.next - now, Duration::zero()), [this, alive, ip] {
      if (alive.expired()) return;
      on_garp(*ip);
      publish();
    });
  }
}

void Driver::log_report(const Instance& i, const char* what, const VipSet::Report& r) {
  if (r.added || r.adopted || r.removed) {
    spdlog::info("event=vrrp_addresses instance={} op={} added={} adopted={} removed={}",
                 quote(i.cfg.name), what, r.added, r.adopted, r.removed);
  }
  for (const auto& p : r.problems) {
    spdlog::warn("event=vrrp_address_problem instance={} op={} detail={}", quote(i.cfg.name), what,
                 quote(p));
  }
}

// ----------------------------------------------------------------- receive

void Driver::on_datagram(ChannelEntry& c, const RawDatagram& d) {
  ++c.st.received;
  const RxResult r = receive(d, [&](std::uint8_t vrid) -> const RxInstance* {
    auto it = c.by_vrid.find(vrid);
    return it == c.by_vrid.end() ? nullptr : &it->second->rx;
  });
  Instance* inst = nullptr;
  if (r.instance && r.vrid) {
    auto it = c.by_vrid.find(*r.vrid);
    if (it != c.by_vrid.end()) inst = it->second;
  }
  if (inst && r.address_list_mismatch) {
    ++inst->st.address_list_mismatches;
    const TimePoint now = clock_.now();
    if (!inst->last_mismatch_log || now - *inst->last_mismatch_log >= kMismatchLogEvery) {
      inst->last_mismatch_log = now;
      spdlog::warn(
          "event=vrrp_address_list_mismatch instance={} source={} count={} (RFC 5798 7.1; logged "
          "at most once a minute)",
          quote(inst->cfg.name), r.source.to_string(), r.advert.addresses.size());
    }
  }
  if (!r.accepted()) {
    if (inst) {
      inst->st.drops.add(*r.drop);
    } else {
      c.st.drops.add(*r.drop);
    }
    publish();
    return;
  }
  ++inst->st.adverts_received;
  if (r.advert.priority == kPriorityResign) ++inst->st.priority_zero_received;
  if (!inst->fsm) return;
  AdvertIn a;
  a.priority = r.advert.priority;
  a.max_adver_int = r.advert.version == 3 ? Centiseconds(r.advert.max_adver_int)
                                          : Centiseconds(std::int64_t{r.advert.adver_int} * 100);
  a.source = r.source;
  execute(*inst, inst->fsm->advert_received(clock_.now(), a));
  publish();
}

// ---------------------------------------------------------------- shutdown

void Driver::shutdown(std::function<void()> done) {
  if (stopped_) {
    if (done) done();
    return;
  }
  on_stopped_ = std::move(done);
  if (stopping_) return;
  stopping_ = true;
  for (auto& i : instances_) {
    i->garp.stop();
    i->garp_timer->cancel();
    if (i->fsm) execute(*i, i->fsm->shutdown(clock_.now()));
  }
  check_shutdown_done();
  publish();
}

void Driver::check_shutdown_done() {
  if (!stopping_ || stopped_) return;
  for (const auto& i : instances_) {
    if (i->fsm && i->fsm->holds_vips()) return;
  }
  stopped_ = true;
  // The backup has announced itself (or the hold ran out). Its first advert
  // went out with its gratuitous ARP / unsolicited NA; a client may still be
  // sending to our MAC until it has processed them, so the VIPs stay a
  // moment longer: removing them at once lost a probe now and then on a
  // graceful IPv6 handover in the lab (one of 142 at 10 ms, max gap 20 ms).
  release_linger_ = clock_.make_timer();
  std::weak_ptr<bool> alive = alive_;
  release_linger_->arm(kReleaseLinger, [this, alive] {
    if (alive.expired()) return;
    for (auto& i : instances_) {
      for (auto& t : i->timers)
        t->cancel();
      if (i->vips.holding() || !i->vips.owned_addresses().empty())
        log_report(*i, "release", i->vips.release(addresses_));
      detach(*i);
      remove_vmac(*i);
    }
    channels_.clear();
    publish();
    spdlog::info("event=vrrp_stopped instances={}", instances_.size());
    if (auto cb = std::move(on_stopped_)) cb();
  });
}

// ------------------------------------------------------------------ status

void Driver::publish() {
  DriverStatus s;
  for (const auto& p : instances_) {
    const Instance& i = *p;
    InstanceStatus st = i.st;
    st.name = i.cfg.name;
    st.interface = i.cfg.interface;
    st.family = i.cfg.family;
    st.vrid = i.cfg.fsm.vrid;
    st.version = i.cfg.fsm.version;
    st.priority = i.cfg.fsm.priority;
    st.advert_interval = i.cfg.fsm.advert_interval;
    st.unicast = !i.cfg.unicast_peers.empty();
    st.source = i.source;
    st.running = i.fsm.has_value();
    st.trackers = i.trackers;
    if (i.cfg.vmac) {
      st.vmac = i.cfg.vmac->name;
      st.vmac_mac = mac_string(i.cfg.vmac->mac);
      st.vmac_ready = i.vmac_ready;
    }
    st.vips.clear();
    for (const auto& v : i.cfg.vips)
      st.vips.push_back(v.str());
    if (i.fsm) {
      st.state = i.fsm->state();
      st.effective_priority = i.fsm->effective_priority();
      st.master_adver_interval = i.fsm->master_adver_interval();
      st.master = i.fsm->current_master();
      st.master_priority = i.fsm->master_priority();
      st.holds_vips = i.fsm->holds_vips();
      st.fault_reason = i.fsm->in_fault() ? i.fsm->fault_reason() : std::string();
    } else {
      st.state = stopped_ ? State::initialize : State::fault;
      st.effective_priority = i.cfg.fsm.priority;
      st.fault_reason = i.fault;
    }
    s.instances.push_back(std::move(st));
  }
  for (const auto& [key, c] : channels_)
    s.channels.push_back(c->st);
  std::map<std::string, GroupStatus> groups;
  for (const auto& p : instances_) {
    if (!p || p->cfg.sync_group.empty()) continue;
    auto& g = groups[p->cfg.sync_group];
    g.name = p->cfg.sync_group;
    g.instances.push_back(p->cfg.name);
    if (p->want_master) g.waiting.push_back(p->cfg.name);
    if (auto it = group_state_.find(g.name); it != group_state_.end()) g.state = it->second;
  }
  for (auto& [name, g] : groups)
    s.groups.push_back(std::move(g));
  if (hooks_.on_holding) {
    std::map<std::string, bool> holding;
    for (const auto& st : s.instances)
      holding[st.name] = st.holds_vips;
    for (const auto& [name, h] : holding) {
      auto it = holding_.find(name);
      if (it == holding_.end() ? h : it->second != h) hooks_.on_holding(name, h);
    }
    for (const auto& [name, h] : holding_) {
      if (h && !holding.count(name)) hooks_.on_holding(name, false);  // removed
    }
    holding_ = std::move(holding);
  }
  std::lock_guard lock(status_mutex_);
  status_ = std::move(s);
}

DriverStatus Driver::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

}  // namespace lvsd::vrrp
