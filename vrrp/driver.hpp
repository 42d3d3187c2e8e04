// Driver: runs VRRP instances. It turns each InstanceFsm's actions into
// socket writes (Transport), timers (an injected checkers::Clock: Asio steady
// timers in the daemon, a ManualClock in tests), virtual addresses, routes and
// announcements (AddressManager), and feeds it received adverts that passed
// the receive path (receive_path.hpp) and interface changes.
//
// Threading: every member function except status() must be called on the
// thread that runs the io_context given to the constructor — in the daemon
// the VRRP thread, which runs nothing else, so a burst of work on the control
// thread never delays an advert. status() returns a copy of the state
// published under a mutex after each event, for any thread. Hooks are called
// on the driver's thread; the daemon posts them on to the control thread.
//
// Per instance:
//   - the interface decides whether the instance can run: missing, down
//     (not IFF_UP or not IFF_RUNNING), without an address of the family, or a
//     channel that cannot be opened puts the FSM in Fault with that reason
//     (leaving Master the RFC way: priority 0, VIPs removed), and the fault
//     clears when the interface comes back (netlink events);
//   - the advert's source is unicast_source, else the interface's primary
//     IPv4 address / first IPv6 link-local address (RFC 5798 §5.1.2.1), never
//     one of the instance's own VIPs;
//   - adverts go to 224.0.0.18 / ff02::12 (joined on the interface), or to
//     each unicast peer;
//   - on becoming master the VIPs are added and announced before the first
//     advert goes out: the old master drops the VIPs when it hears that
//     advert, and by then the LAN has been told where they went;
//   - trackers (tracking.hpp) set the effective priority and may fault the
//     instance; the instance's own interface fault is reported first;
//   - with a vmac (vmac.hpp) the macvlan is made (or adopted) before the FSM
//     starts and re-made when it disappears (a failure is a Fault); the
//     VIPs are on it (the caller sets Vip::device), and a multicast
//     instance's channel is on it too — adverts leave with the virtual MAC,
//     and the peer's adverts from that same MAC only arrive there (macvlan
//     private mode); a unicast one keeps its channel on the interface
//     (keepalived forces vmac_xmit_base then). The macvlan is deleted when
//     the instance stops or restarts, kept across an unchanged reload.
//
// Sync groups (keepalived's vrrp_sync_group, for the instances of one
// director): members move together.
//   - Trackers of a member have their weights set to 0 (a failure faults it),
//     as keepalived does without sync_group_tracking_weight: differing
//     priorities across members would make the group thrash.
//   - A member in Fault (its interface or a tracker) holds every other member
//     in Fault ("sync group G: member X in fault"); when no member has a
//     fault of its own any more they all restart as Backup.
//   - A member that becomes Master pulls the group's Backups to Master at
//     once; a Master that steps down to Backup (a higher priority heard)
//     pulls the group's other Masters to Backup (no priority 0: the peer's
//     group follows its own member).
//   - A Backup whose Master_Down_Timer expires becomes Master only if every
//     other Backup member could too (its timer expired as well, or it is
//     waiting likewise); otherwise it waits, still Backup, and the group goes
//     Master when the last member's timer expires (keepalived's
//     vrrp_sync_can_goto_master: prefer Backup to avoid thrashing).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "checkers/clock.hpp"
#include "vrrp/address_manager.hpp"
#include "vrrp/garp_schedule.hpp"
#include "vrrp/instance_fsm.hpp"
#include "vrrp/receive_path.hpp"
#include "vrrp/tracking.hpp"
#include "vrrp/transport.hpp"
#include "vrrp/vip_set.hpp"

namespace lvsd::vrrp {

// One instance as the driver runs it (built from config::VrrpInstance).
struct InstanceConfig {
  std::string name;
  std::string interface;
  Family family = Family::inet;
  // The FSM's parameters; primary_address is ignored (the driver resolves it).
  InstanceParams fsm;
  std::vector<Vip> vips;
  std::vector<VirtualRoute> routes;
  std::optional<boost::asio::ip::address> unicast_source;
  std::vector<boost::asio::ip::address> unicast_peers;  // empty: multicast
  AuthType auth_type = AuthType::none;                  // v2
  std::string password;                                 // v2, simple text
  bool v3_checksum_pseudo_header = true;
  GarpConfig garp;
  // Tracked objects (tracking.hpp). Interfaces are watched by the driver
  // (up and carrier, from the address manager's netlink view); services,
  // files and scripts are fed in with Driver::set_tracked().
  std::vector<Tracker> trackers;
  // The sync group this instance belongs to ("" = none); see the header.
  std::string sync_group;
  // use_vmac: the macvlan (its base is `interface`); see the header.
  std::optional<VmacSpec> vmac;
  bool operator==(const InstanceConfig&) const = default;
};

struct TransitionRecord {
  State from{};
  State to{};
  std::string reason;
  std::chrono::system_clock::time_point at{};
};

struct InstanceStatus {
  std::string name;
  std::string interface;
  Family family = Family::inet;
  std::uint8_t vrid = 0;
  unsigned version = 0;
  State state = State::initialize;
  bool running = false;                 // an FSM exists (the interface had an address once)
  std::string fault_reason;             // when in Fault (or not running): why
  std::uint8_t priority = 0;            // configured
  std::uint8_t effective_priority = 0;  // what the adverts carry
  Centiseconds advert_interval{0};
  Centiseconds master_adver_interval{0};
  std::optional<boost::asio::ip::address> source;  // our advert source
  std::optional<boost::asio::ip::address> master;  // the current master (us when master)
  std::optional<std::uint8_t> master_priority;
  bool unicast = false;
  bool holds_vips = false;
  std::vector<std::string> vips;  // Vip::str()
  std::uint64_t adverts_sent = 0;
  std::uint64_t adverts_received = 0;  // accepted
  std::uint64_t priority_zero_sent = 0;
  std::uint64_t priority_zero_received = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t became_master = 0;
  std::uint64_t address_list_mismatches = 0;
  std::uint64_t announcements_sent = 0;  // gratuitous ARP / NA packets
  DropCounters drops;
  std::optional<TransitionRecord> last_transition;
  std::vector<TrackerStatus> trackers;
  std::string vmac;         // the macvlan's name ("" = no vmac)
  std::string vmac_mac;     // "00:00:5e:00:01:33"
  bool vmac_ready = false;  // made or adopted, with its sysctls, up
};

// Packets of a channel that matched no instance.
struct ChannelStatus {
  std::string interface;
  Family family = Family::inet;
  bool joined = false;
  std::uint64_t received = 0;  // every datagram read from the socket
  DropCounters drops;          // dropped before an instance was known
};

struct GroupStatus {
  std::string name;
  std::vector<std::string> instances;
  State state = State::initialize;   // the members' common state (Fault if any is)
  std::vector<std::string> waiting;  // Backups whose Master_Down_Timer expired, held back
};

struct DriverStatus {
  std::vector<InstanceStatus> instances;  // in configuration order
  std::vector<ChannelStatus> channels;
  std::vector<GroupStatus> groups;  // by name
};

struct TransitionEvent {
  std::string instance;
  std::string interface;
  std::uint8_t vrid = 0;
  State from{};
  State to{};
  std::string reason;
  std::uint8_t priority = 0;  // effective, when it happened
  std::chrono::system_clock::time_point at{};
};

// A sync group reached a new common state.
struct GroupEvent {
  std::string group;
  State from{};
  State to{};
  std::string reason;  // the member transition that completed it
  std::chrono::system_clock::time_point at{};
};

class Driver {
 public:
  struct Hooks {
    std::function<void(const TransitionEvent&)> on_transition;
    std::function<void(const GroupEvent&)> on_group_transition;
    // An instance started or stopped holding its VIPs (after the kernel was
    // told); for what depends on it, e.g. Accept_Mode's filter rules.
    std::function<void(const std::string& instance, bool holding)> on_holding;
  };

  Driver(boost::asio::io_context& io, checkers::Clock& clock, Transport& transport,
         AddressManager& addresses, Hooks hooks = {});
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Adds, changes and removes instances (matched by name). An unchanged
  // instance keeps everything; a changed one keeps its state unless its VRID,
  // version, interface or family changed (then it restarts); a removed one
  // resigns (priority 0 when master) and drops its VIPs at once.
  void configure(std::vector<InstanceConfig> instances);

  // Graceful stop: every master sends priority 0 and keeps its VIPs until a
  // new master is heard or the resign hold (2 x advert interval) ends; then
  // the VIPs go, the channels close and `done` is called (on this thread).
  void shutdown(std::function<void()> done);
  bool stopped() const { return stopped_; }

  // The state of a tracked service, file or script (interfaces are watched by
  // the driver itself). Every instance tracking it recomputes its effective
  // priority and tracker fault at once; a master re-advertises a changed
  // priority at once, so a backup that now outranks it preempts without
  // waiting for the next advert.
  void set_tracked(TrackKind kind, const std::string& name, TrackValue value);

  // Thread-safe copy of the state after the last event.
  DriverStatus status() const;

 private:
  struct Instance;
  struct ChannelEntry;
  using ChannelKey = std::pair<std::string, Family>;

  void start_instance(Instance& i);
  void stop_instance(Instance& i, bool resign_hold);
  void evaluate(Instance& i);
  void evaluate_all();
  void apply_tracking(Instance& i);
  void apply_fault(Instance& i);
  std::vector<Instance*> group_members(const std::string& group);
  bool group_can_go_master(Instance& i);
  void follow(Instance& i, State from, State to);
  void update_group_state(const std::string& group, const std::string& reason);
  void execute(Instance& i, const Actions& actions);
  void send_advert(Instance& i, const SendAdvert& a);
  void on_timer(Instance& i, TimerId id);
  void on_datagram(ChannelEntry& c, const RawDatagram& d);
  void on_garp(Instance& i);
  void arm_garp(Instance& i);
  void log_report(const Instance& i, const char* what, const VipSet::Report& r);
  ChannelEntry* attach(Instance& i, std::string& error);
  void detach(Instance& i);
  void rebuild_rx(Instance& i);
  void check_shutdown_done();
  bool ensure_vmac(Instance& i, std::string& fault);
  void remove_vmac(Instance& i);
  static std::string channel_interface(const InstanceConfig& c);
  void publish();

  boost::asio::io_context& io_;
  checkers::Clock& clock_;
  Transport& transport_;
  AddressManager& addresses_;
  Hooks hooks_;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::map<ChannelKey, std::unique_ptr<ChannelEntry>> channels_;
  std::map<std::pair<TrackKind, std::string>, TrackValue> tracked_;
  // Sync groups: transitions to follow once the current execute() is done,
  // and whether a follow is running (its forced transitions are not
  // followed again).
  struct Pending {
    Instance* instance;
    State from;
    State to;
    std::string reason;
  };
  std::vector<Pending> pending_follow_;
  bool following_ = false;
  std::map<std::string, State> group_state_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::function<void()> on_stopped_;
  // After a graceful stop's handover, how long the VIPs stay before they are
  // removed (see check_shutdown_done).
  static constexpr std::chrono::milliseconds kReleaseLinger{50};
  std::unique_ptr<checkers::Timer> release_linger_;
  mutable std::mutex status_mutex_;
  DriverStatus status_;
  std::map<std::string, bool> holding_;  // last on_holding per instance
  std::shared_ptr<bool> alive_;
};

}  // namespace lvsd::vrrp
