// InstanceFsm: the state machine of one VRRP instance (RFC 5798 §6.4 as updated
// by RFC 9568 for v3, RFC 3768 §6.4 for v2), pure: it is fed events plus the
// current time and returns the actions a driver performs (send an advert, arm or
// cancel a timer, add or remove the VIPs, send gratuitous ARP/NA). No sockets,
// no clock reads, no logging. Validation of received packets (RFC 5798 §7.1:
// TTL, checksum, VRID, auth, v2 interval mismatch) is the driver's job; only
// adverts that passed it reach advert_received().
//
// Timers follow the RFC exactly:
//   Skew_Time            = ((256 - Priority) * Master_Adver_Interval) / 256  (v3)
//                        = (256 - Priority) / 256 s                          (v2)
//   Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time
// where Priority is the local effective priority. Master_Adver_Interval is in
// whole centiseconds (as on the wire); the formula is evaluated in nanoseconds
// (truncated below 1 ns) rather than rounded to centiseconds, so that a 1 cs
// interval keeps a non-zero skew (keepalived evaluates it in microseconds).
// v3 backups learn Master_Adver_Interval from the master's adverts; v2 uses the
// local Advertisement_Interval (the driver drops v2 adverts whose interval
// differs).
//
// Choices beyond the RFC (keepalived-compatible):
// - initial_state master (keepalived's `state MASTER`) for a non-owner: the
//   instance still starts in Backup, but its first Master_Down_Timer is
//   Master_Adver_Interval + Skew_Time instead of Master_Down_Interval. It takes
//   over quickly when nobody is advertising and yields to any master it would
//   not preempt anyway. Applies at start and on leaving Fault.
// - preempt_delay: when a Backup (preempt on) first hears a lower-priority
//   master, it starts a delay of preempt_delay; until it has elapsed such
//   adverts are accepted as with nopreempt (they reset Master_Down_Timer), after
//   that they are discarded as the RFC says, so the takeover happens
//   Master_Down_Interval after the last accepted advert. An advert of priority
//   >= ours stops the delay; each entry into Backup (start, fault cleared, step
//   down) starts afresh.
// - Fault (trackers): entering Fault as Master sends one advert with priority 0
//   (so the backup takes over after Skew_Time) and removes the VIPs; adverts are
//   ignored in Fault; fault_cleared() re-enters as from Initialize. fault() and
//   fault_cleared() carry the aggregate of all trackers (the caller combines).
// - Graceful shutdown as Master: advert with priority 0, transition to
//   Initialize, but the VIPs stay until a new master's advert arrives or
//   resign_hold elapses (default 2 x Advertisement_Interval, which bounds any
//   backup's Skew_Time), so a planned switchover loses no packets.
// - The Adver_Timer is re-armed from its deadline (drift-free) rather than from
//   `now`, unless the fire was more than one interval late.
// - Adverts whose source is our own primary address are ignored (looped back).
#pragma once

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vrrp/advert_codec.hpp"  // kPriorityOwner, kPriorityResign

namespace lvsd::vrrp {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::nanoseconds;
using Centiseconds = std::chrono::duration<std::int64_t, std::centi>;

enum class State { initialize, backup, master, fault };
std::string_view to_string(State s);

enum class TimerId { master_down, adver, resign_hold };
std::string_view to_string(TimerId t);

enum class InitialState { backup, master };

struct InstanceParams {
  std::uint8_t vrid = 1;        // 1..255
  unsigned version = 3;         // 2 or 3
  std::uint8_t priority = 100;  // 1..255, 255 = address owner
  // Advertisement_Interval: v3 1..4095 cs; v2 whole seconds 1..255.
  Centiseconds advert_interval{100};
  bool preempt = true;  // false = keepalived's nopreempt (ignored by an owner)
  Duration preempt_delay{0};
  bool accept = false;  // Accept_Mode (an owner always accepts)
  InitialState initial_state = InitialState::backup;
  // Our primary address on the interface: the advert's source, and the
  // tie-break when priorities are equal (higher address wins).
  boost::asio::ip::address primary_address;
  // How long a resigning master keeps the VIPs at most; nullopt = 2 x
  // advert_interval, zero = remove them at once.
  std::optional<Duration> resign_hold;
  bool operator==(const InstanceParams&) const = default;
};

// Empty when valid, otherwise what is wrong.
std::optional<std::string> validate(const InstanceParams& p);

// A received advertisement that passed the driver's validation.
struct AdvertIn {
  std::uint8_t priority = 0;
  Centiseconds max_adver_int{0};  // v3: from the packet; v2: Adver Int seconds x 100
  boost::asio::ip::address source;
};

// ---------------------------------------------------------------- actions

struct SendAdvert {
  std::uint8_t priority = 0;
  Centiseconds max_adver_int{0};  // our Advertisement_Interval
  bool operator==(const SendAdvert&) const = default;
};
// (Re)arm a timer; replaces any earlier arming of the same id.
struct ArmTimer {
  TimerId id{};
  TimePoint at{};
  bool operator==(const ArmTimer&) const = default;
};
struct CancelTimer {
  TimerId id{};
  bool operator==(const CancelTimer&) const = default;
};
struct Transition {
  State from{};
  State to{};
  std::string reason;
  bool operator==(const Transition&) const = default;
};
// Add the VIPs (and virtual routes). accept = Accept_Mode || owner: whether
// the VIPs may accept traffic addressed to them.
struct AddVips {
  bool accept = false;
  bool operator==(const AddVips&) const = default;
};
struct RemoveVips {
  bool operator==(const RemoveVips&) const = default;
};
// Start the gratuitous ARP / unsolicited NA burst(s) for the VIPs.
struct SendGratuitous {
  bool operator==(const SendGratuitous&) const = default;
};

using Action = std::variant<SendAdvert, ArmTimer, CancelTimer, Transition, AddVips, RemoveVips,
                            SendGratuitous>;
using Actions = std::vector<Action>;

std::string to_string(const Action& a);

// ---------------------------------------------------------------- the FSM

class InstanceFsm {
 public:
  // Throws std::invalid_argument when validate(params) fails.
  explicit InstanceFsm(InstanceParams params);

  // Initialize -> Master (owner) or Backup, or Fault when a fault is active.
  Actions start(TimePoint now);
  Actions advert_received(TimePoint now, const AdvertIn& advert);
  // Stale fires (cancelled, re-armed later, or early) are ignored.
  Actions timer_fired(TimePoint now, TimerId id);
  // Graceful: as Master, an advert with priority 0. Back to Initialize.
  Actions shutdown(TimePoint now);
  Actions fault(TimePoint now, std::string reason);
  Actions fault_cleared(TimePoint now);
  // Sync groups (keepalived's vrrp_sync_group): a member follows another
  // member's transition. sync_master: as Backup, become Master now (as if the
  // Master_Down_Timer had expired). sync_backup: as Master (not an owner),
  // step down to Backup without resigning — the peer's members follow their
  // own group's member — removing the VIPs and arming Master_Down_Timer.
  // No-ops in any other state.
  Actions sync_master(TimePoint now, std::string reason);
  Actions sync_backup(TimePoint now, std::string reason);
  // The effective priority from tracker weights, clamped to 1..254; an owner
  // stays 255. Takes effect in the next advert sent and the next timer reset.
  Actions set_priority(TimePoint now, std::uint8_t priority);
  // Keeps the state. A change of vrid, version or primary address restarts the
  // instance (shutdown + start); a new priority resets the effective priority
  // (the caller re-applies tracker weights); a new interval takes effect now.
  // Throws std::invalid_argument when validate(params) fails.
  Actions reconfigure(TimePoint now, InstanceParams params);

  State state() const { return state_; }
  const InstanceParams& params() const { return params_; }
  bool owner() const { return params_.priority == kPriorityOwner; }
  bool in_fault() const { return fault_; }
  const std::string& fault_reason() const { return fault_reason_; }
  std::uint8_t effective_priority() const { return priority_; }
  Centiseconds master_adver_interval() const { return master_adver_int_; }
  Duration skew_time() const;
  Duration master_down_interval() const;
  // The master last heard from (Backup), ourselves (Master), or none.
  std::optional<boost::asio::ip::address> current_master() const { return current_master_; }
  std::optional<std::uint8_t> master_priority() const { return master_priority_; }
  // Whether the VIPs are (meant to be) configured: Master, or a resign hold.
  bool holds_vips() const { return holds_vips_; }
  std::optional<TimePoint> timer_deadline(TimerId id) const;
  std::optional<TimePoint> preempt_deadline() const { return preempt_deadline_; }

 private:
  enum class DownCause { no_master, resigned, preempting, initial_master };

  void arm(Actions& out, TimerId id, TimePoint at);
  void cancel(Actions& out, TimerId id);
  void transition(Actions& out, State to, std::string reason);
  void enter_running(Actions& out, TimePoint now, const std::string& why);
  void become_master(Actions& out, TimePoint now, std::string reason);
  void become_backup(Actions& out, TimePoint now, std::string reason, bool initial);
  void leave_master(Actions& out, TimePoint now, State to, std::string reason, bool resign);
  void release_vips(Actions& out);
  void learn_interval(const AdvertIn& a);
  Duration down_interval_for(Centiseconds mai) const;
  Duration adver_interval() const { return params_.advert_interval; }
  SendAdvert advert(std::uint8_t priority) const { return {priority, params_.advert_interval}; }

  InstanceParams params_;
  State state_ = State::initialize;
  std::uint8_t priority_;
  Centiseconds master_adver_int_;
  bool fault_ = false;
  std::string fault_reason_;
  bool holds_vips_ = false;
  std::optional<boost::asio::ip::address> current_master_;
  std::optional<std::uint8_t> master_priority_;
  std::optional<TimePoint> preempt_deadline_;
  DownCause down_cause_ = DownCause::no_master;
  std::optional<TimePoint> deadlines_[3];
};

}  // namespace lvsd::vrrp
