#include "vrrp/instance_fsm.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace lvsd::vrrp {

std::string_view to_string(State s) {
  switch (s) {
    case State::initialize:
      return "initialize";
    case State::backup:
      return "backup";
    case State::master:
      return "master";
    case State::fault:
      return "fault";
  }
  return "?";
}

std::string_view to_string(TimerId t) {
  switch (t) {
    case TimerId::master_down:
      return "master_down";
    case TimerId::adver:
      return "adver";
    case TimerId::resign_hold:
      return "resign_hold";
  }
  return "?";
}

namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

std::string ns_string(TimePoint t) {
  return std::to_string(std::chrono::duration_cast<Duration>(t.time_since_epoch()).count()) + "ns";
}

}  // namespace

std::string to_string(const Action& a) {
  return std::visit(
      Overload{
          [](const SendAdvert& x) {
            return "SendAdvert{prio=" + std::to_string(x.priority) +
                   ", int=" + std::to_string(x.max_adver_int.count()) + "cs}";
          },
          [](const ArmTimer& x) {
            return "ArmTimer{" + std::string(to_string(x.id)) + ", " + ns_string(x.at) + "}";
          },
          [](const CancelTimer& x) { return "CancelTimer{" + std::string(to_string(x.id)) + "}"; },
          [](const Transition& x) {
            return "Transition{" + std::string(to_string(x.from)) + "->" +
                   std::string(to_string(x.to)) + ", " + x.reason + "}";
          },
          [](const AddVips& x) {
            return std::string("AddVips{accept=") + (x.accept ? "true" : "false") + "}";
          },
          [](const RemoveVips&) { return std::string("RemoveVips{}"); },
          [](const SendGratuitous&) { return std::string("SendGratuitous{}"); },
      },
      a);
}

std::optional<std::string> validate(const InstanceParams& p) {
  if (p.vrid == 0) return "vrid must be 1..255";
  if (p.version != 2 && p.version != 3) return "version must be 2 or 3";
  if (p.priority == 0) return "priority must be 1..255";
  const auto cs = p.advert_interval.count();
  if (p.version == 3 && (cs < 1 || cs > 4095))
    return "v3 advert_interval must be 10ms..40.95s in whole centiseconds";
  if (p.version == 2 && (cs < 100 || cs > 25500 || cs % 100 != 0))
    return "v2 advert_interval must be 1..255 whole seconds";
  if (p.preempt_delay < Duration::zero()) return "preempt_delay must not be negative";
  if (p.resign_hold && *p.resign_hold < Duration::zero()) return "resign_hold must not be negative";
  if (p.primary_address.is_unspecified()) return "primary address is required";
  return std::nullopt;
}

namespace {
InstanceParams checked(InstanceParams p) {
  if (auto err = validate(p)) throw std::invalid_argument("vrrp instance: " + *err);
  return p;
}
}  // namespace

InstanceFsm::InstanceFsm(InstanceParams params)
    : params_(checked(std::move(params))),
      priority_(params_.priority),
      master_adver_int_(params_.advert_interval) {}

// ---------------------------------------------------------------- timers

Duration InstanceFsm::down_interval_for(Centiseconds mai) const {
  const auto mai_ns = std::chrono::duration_cast<Duration>(mai);
  const std::int64_t weight = 256 - priority_;
  const Duration skew =
      params_.version == 3
          ? Duration(weight * mai_ns.count() / 256)
          : Duration(weight * std::chrono::nanoseconds(std::chrono::seconds(1)).count() / 256);
  return 3 * mai_ns + skew;
}

Duration InstanceFsm::skew_time() const {
  return master_down_interval() - 3 * std::chrono::duration_cast<Duration>(master_adver_int_);
}

Duration InstanceFsm::master_down_interval() const {
  return down_interval_for(master_adver_int_);
}

std::optional<TimePoint> InstanceFsm::timer_deadline(TimerId id) const {
  return deadlines_[static_cast<int>(id)];
}

void InstanceFsm::arm(Actions& out, TimerId id, TimePoint at) {
  deadlines_[static_cast<int>(id)] = at;
  out.push_back(ArmTimer{id, at});
}

void InstanceFsm::cancel(Actions& out, TimerId id) {
  auto& d = deadlines_[static_cast<int>(id)];
  if (!d) return;
  d.reset();
  out.push_back(CancelTimer{id});
}

void InstanceFsm::transition(Actions& out, State to, std::string reason) {
  out.push_back(Transition{state_, to, std::move(reason)});
  state_ = to;
}

// ---------------------------------------------------------------- entering states

void InstanceFsm::release_vips(Actions& out) {
  cancel(out, TimerId::resign_hold);
  if (!holds_vips_) return;
  holds_vips_ = false;
  out.push_back(RemoveVips{});
}

void InstanceFsm::become_master(Actions& out, TimePoint now, std::string reason) {
  cancel(out, TimerId::master_down);
  master_adver_int_ = params_.advert_interval;
  transition(out, State::master, std::move(reason));
  out.push_back(advert(priority_));
  holds_vips_ = true;
  out.push_back(AddVips{params_.accept || owner()});
  out.push_back(SendGratuitous{});
  arm(out, TimerId::adver, now + adver_interval());
  current_master_ = params_.primary_address;
  master_priority_ = priority_;
  preempt_deadline_.reset();
}

void InstanceFsm::become_backup(Actions& out, TimePoint now, std::string reason, bool initial) {
  transition(out, State::backup, std::move(reason));
  preempt_deadline_.reset();
  if (initial) {
    // RFC 5798 §6.4.1: Master_Adver_Interval = Advertisement_Interval.
    master_adver_int_ = params_.advert_interval;
    current_master_.reset();
    master_priority_.reset();
    if (params_.initial_state == InitialState::master) {
      down_cause_ = DownCause::initial_master;
      arm(out, TimerId::master_down,
          now + std::chrono::duration_cast<Duration>(master_adver_int_) + skew_time());
      return;
    }
  }
  down_cause_ = DownCause::no_master;
  arm(out, TimerId::master_down, now + master_down_interval());
}

void InstanceFsm::enter_running(Actions& out, TimePoint now, const std::string& why) {
  if (fault_) {
    transition(out, State::fault, "fault: " + fault_reason_);
    return;
  }
  if (owner()) {
    become_master(out, now, why + ": address owner (priority 255)");
    return;
  }
  become_backup(out, now, why, true);
}

void InstanceFsm::leave_master(Actions& out, TimePoint now, State to, std::string reason,
                               bool resign) {
  cancel(out, TimerId::adver);
  if (resign) out.push_back(advert(kPriorityResign));
  transition(out, to, std::move(reason));
  const Duration hold = params_.resign_hold.value_or(2 * adver_interval());
  if (to == State::initialize && hold > Duration::zero()) {
    arm(out, TimerId::resign_hold, now + hold);  // VIPs stay until a new master speaks
  } else {
    release_vips(out);
  }
}

void InstanceFsm::learn_interval(const AdvertIn& a) {
  // RFC 5798 §6.4.2: Master_Adver_Interval := the advert's Max Adver Int (v3
  // only; v2 has no such learning and the driver enforces equal intervals).
  if (params_.version == 3 && a.max_adver_int.count() > 0)
    master_adver_int_ = std::min(a.max_adver_int, Centiseconds(4095));
}

// ---------------------------------------------------------------- events

Actions InstanceFsm::start(TimePoint now) {
  Actions out;
  if (state_ != State::initialize) return out;
  release_vips(out);  // a restart during a resign hold: the hold is over
  enter_running(out, now, "start");
  return out;
}

Actions InstanceFsm::advert_received(TimePoint now, const AdvertIn& a) {
  Actions out;
  if (a.source == params_.primary_address) return out;
  switch (state_) {
    case State::initialize:
      // A resigning master keeps the VIPs until someone else is master.
      if (holds_vips_ && a.priority != kPriorityResign) release_vips(out);
      return out;
    case State::fault:
      return out;
    case State::backup: {
      current_master_ = a.source;
      master_priority_ = a.priority;
      if (a.priority == kPriorityResign) {
        // §6.4.2: Set the Master_Down_Timer to Skew_Time.
        down_cause_ = DownCause::resigned;
        arm(out, TimerId::master_down, now + skew_time());
        return out;
      }
      const bool preempt = params_.preempt || owner();  // an owner always preempts
      bool accept = !preempt || a.priority >= priority_;
      if (!accept && params_.preempt_delay > Duration::zero()) {
        // keepalived's preempt_delay: keep accepting a lower-priority master
        // until preempt_delay after we first heard it.
        if (!preempt_deadline_) preempt_deadline_ = now + params_.preempt_delay;
        accept = now < *preempt_deadline_;
      }
      if (a.priority >= priority_) preempt_deadline_.reset();
      if (accept) {
        learn_interval(a);
        down_cause_ = DownCause::no_master;
        arm(out, TimerId::master_down, now + master_down_interval());
      } else {
        // Preempting: discard; the Master_Down_Timer keeps running.
        down_cause_ = DownCause::preempting;
      }
      return out;
    }
    case State::master: {
      if (a.priority == kPriorityResign) {
        // §6.4.3: send an ADVERTISEMENT, reset the Adver_Timer.
        out.push_back(advert(priority_));
        arm(out, TimerId::adver, now + adver_interval());
        return out;
      }
      const bool higher =
          a.priority > priority_ || (a.priority == priority_ && params_.primary_address < a.source);
      if (!higher) return out;  // discard
      std::string why = "higher priority master " + a.source.to_string() + " (priority " +
                        std::to_string(a.priority) + ")";
      leave_master(out, now, State::backup, std::move(why), false);
      learn_interval(a);
      current_master_ = a.source;
      master_priority_ = a.priority;
      preempt_deadline_.reset();
      down_cause_ = DownCause::no_master;
      arm(out, TimerId::master_down, now + master_down_interval());
      return out;
    }
  }
  return out;
}

Actions InstanceFsm::timer_fired(TimePoint now, TimerId id) {
  Actions out;
  auto& deadline = deadlines_[static_cast<int>(id)];
  if (!deadline || now < *deadline) return out;  // stale
  const TimePoint due = *deadline;
  deadline.reset();
  switch (id) {
    case TimerId::master_down: {
      if (state_ != State::backup) return out;
      std::string why;
      switch (down_cause_) {
        case DownCause::no_master:
          why = "master down timer expired";
          break;
        case DownCause::resigned:
          why = "master resigned (priority 0)";
          break;
        case DownCause::preempting:
          why = "preempting lower priority master";
          break;
        case DownCause::initial_master:
          why = "no master seen (initial_state master)";
          break;
      }
      become_master(out, now, std::move(why));
      return out;
    }
    case TimerId::adver: {
      if (state_ != State::master) return out;
      out.push_back(advert(priority_));
      TimePoint next = due + adver_interval();
      if (next <= now) next = now + adver_interval();
      arm(out, TimerId::adver, next);
      return out;
    }
    case TimerId::resign_hold:
      if (state_ == State::initialize) release_vips(out);
      return out;
  }
  return out;
}

Actions InstanceFsm::shutdown(TimePoint now) {
  Actions out;
  switch (state_) {
    case State::initialize:
      return out;
    case State::master:
      leave_master(out, now, State::initialize, "shutdown", true);
      break;
    case State::backup:
      cancel(out, TimerId::master_down);
      transition(out, State::initialize, "shutdown");
      break;
    case State::fault:
      transition(out, State::initialize, "shutdown");
      break;
  }
  current_master_.reset();
  master_priority_.reset();
  preempt_deadline_.reset();
  return out;
}

Actions InstanceFsm::fault(TimePoint now, std::string reason) {
  Actions out;
  fault_ = true;
  fault_reason_ = std::move(reason);
  switch (state_) {
    case State::initialize:
    case State::fault:
      return out;
    case State::master:
      leave_master(out, now, State::fault, "fault: " + fault_reason_, true);
      break;
    case State::backup:
      cancel(out, TimerId::master_down);
      transition(out, State::fault, "fault: " + fault_reason_);
      break;
  }
  current_master_.reset();
  master_priority_.reset();
  preempt_deadline_.reset();
  return out;
}

Actions InstanceFsm::fault_cleared(TimePoint now) {
  Actions out;
  fault_ = false;
  fault_reason_.clear();
  if (state_ == State::fault) enter_running(out, now, "fault cleared");
  return out;
}

Actions InstanceFsm::sync_master(TimePoint now, std::string reason) {
  Actions out;
  if (state_ != State::backup) return out;
  become_master(out, now, std::move(reason));
  return out;
}

Actions InstanceFsm::sync_backup(TimePoint now, std::string reason) {
  Actions out;
  if (state_ != State::master || owner()) return out;
  leave_master(out, now, State::backup, std::move(reason), false);
  current_master_.reset();
  master_priority_.reset();
  preempt_deadline_.reset();
  down_cause_ = DownCause::no_master;
  arm(out, TimerId::master_down, now + master_down_interval());
  return out;
}

Actions InstanceFsm::set_priority(TimePoint, std::uint8_t priority) {
  if (owner()) return {};
  priority_ = std::clamp<std::uint8_t>(priority, 1, 254);
  if (state_ == State::master) master_priority_ = priority_;
  return {};
}

Actions InstanceFsm::reconfigure(TimePoint now, InstanceParams params) {
  params = checked(std::move(params));
  Actions out;
  const InstanceParams old = params_;
  if (params.vrid != old.vrid || params.version != old.version ||
      params.primary_address != old.primary_address) {
    const bool running = state_ != State::initialize;
    params_.resign_hold = Duration::zero();  // a different instance: no hold
    out = shutdown(now);
    release_vips(out);
    params_ = std::move(params);
    priority_ = params_.priority;
    master_adver_int_ = params_.advert_interval;
    if (running) {
      auto more = start(now);
      out.insert(out.end(), more.begin(), more.end());
    }
    return out;
  }
  params_ = std::move(params);
  if (params_.priority != old.priority) priority_ = params_.priority;
  if (params_.advert_interval != old.advert_interval) {
    if (state_ == State::master) {
      master_adver_int_ = params_.advert_interval;
      const TimePoint next = now + adver_interval();
      const auto& d = deadlines_[static_cast<int>(TimerId::adver)];
      if (!d || next < *d) arm(out, TimerId::adver, next);
    } else if (params_.version == 2 || state_ != State::backup) {
      master_adver_int_ = params_.advert_interval;
    }
  }
  if (state_ == State::master && params_.accept != old.accept && !owner())
    out.push_back(AddVips{params_.accept});
  if (state_ == State::backup && owner())
    become_master(out, now, "reconfigured: address owner (priority 255)");
  return out;
}

}  // namespace lvsd::vrrp
