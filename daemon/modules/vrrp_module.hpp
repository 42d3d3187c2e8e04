#pragma once
// The VRRP module: runs the configured VRRP instances on a vrrp::Driver that
// lives on its own thread and io_context (the VRRP thread), so no amount of
// work on the control thread can delay an advertisement.
//
//   - start/reconfigure convert the config into vrrp::InstanceConfig and post
//     them to the VRRP thread; unchanged instances keep their state, changed
//     ones keep it unless their VRID, version, interface or family changed.
//     With no instance configured no thread, socket or netlink socket exists.
//   - Every transition is logged once (by the driver, on the VRRP thread, so
//     the log time is the transition's) and posted to the control thread,
//     where it is published as a `vrrp` event on the EventBus, in order, and
//     the instance's notify command for the new state runs asynchronously
//     through the misc probe's runner (script user, no capabilities, 30 s
//     timeout) with the instance name, the state (MASTER, BACKUP, FAULT, STOP)
//     and the effective priority appended to its argv.
//   - stop(): a master resigns (priority 0) and keeps its VIPs until the new
//     master is heard or 2 x its advert interval (at most 3 s) passed; stop()
//     waits for that (bounded) and joins the thread.
//   - `vrrp` on the status socket: per instance the state, configured and
//     effective priority, master, advert and drop counters, last transition;
//     per channel the packets that matched no instance.
//   - Trackers (vrrp/tracking.hpp): interfaces are watched by the driver;
//     a service's quorum comes from the checker module's `quorum` events
//     (subscribed on the control thread); files are read every second and
//     scripts run every `interval` (misc probe runner: script user, no
//     capabilities, timeout, rise/fall) on the control thread. Each state is
//     posted to the VRRP thread (Driver::set_tracked).
//   - Sync groups: members are tagged with their group (the driver moves
//     them together, vrrp/driver.hpp); a group's new common state is
//     published as a `vrrp_group` event and runs the group's notify command
//     (group name and state appended).
//   - use_vmac: each such instance gets a vrrp::VmacSpec (names assigned
//     here, vrrp::assign_vmac_names) and its VIPs on the instance's interface
//     move to the macvlan; the driver makes and removes it.
//   - Accept_Mode false (vrrp/accept_rules.hpp): while such an instance holds
//     its VIPs (the driver's on_holding hook) the filter rules dropping
//     packets to them are installed, on the control thread; removed when no
//     instance needs them and at stop; a start removes what a killed lvsd
//     left. Logged (event=vrrp_accept_blocks_ipvs) when a service of the
//     kernel ip_vs backend uses such a VIP: filter INPUT runs before ip_vs.
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "checkers/clock.hpp"
#include "checkers/probe.hpp"
#include "daemon/core/event_bus.hpp"
#include "daemon/core/module.hpp"
#include "vrrp/accept_rules.hpp"
#include "vrrp/address_manager.hpp"
#include "vrrp/driver.hpp"
#include "vrrp/transport.hpp"

namespace lvsd::modules {

class VrrpModule : public core::Module {
 public:
  // What the driver runs on, built on the VRRP io_context at first use. The
  // real ones are raw sockets and netlink; tests pass fakes.
  struct Backend {
    std::function<std::unique_ptr<vrrp::Transport>(boost::asio::io_context&)> transport;
    std::function<std::unique_ptr<vrrp::AddressManager>(boost::asio::io_context&)> addresses;
    // Accept_Mode's filter rules (iptables); none = not managed (tests).
    std::function<std::unique_ptr<vrrp::AcceptRules>()> accept_rules = nullptr;
  };
  static Backend real_backend();
  using NotifyFactory = std::function<std::unique_ptr<checkers::Probe>(
      boost::asio::io_context&, const config::Check&, const checkers::ProbeTarget&)>;

  VrrpModule(boost::asio::io_context& io, core::EventBus& events, Backend backend = real_backend(),
             NotifyFactory notify = checkers::make_probe);
  ~VrrpModule() override;

  std::string_view name() const override { return "vrrp"; }
  void start(const config::Config& cfg) override;
  void reconfigure(const config::Config& cfg, const config::ConfigDiff& diff) override;
  void stop() override;
  void register_commands(core::StatusServer& server) override;
  nlohmann::json snapshot() const override;

  // The driver's state (empty before the first instance is configured).
  vrrp::DriverStatus status() const;
  // Notify commands started so far (for tests).
  std::uint64_t notifies_started() const { return notifies_started_; }

  // Config -> what the driver runs (pure; unit-tested).
  static std::vector<vrrp::InstanceConfig> instances_from(const config::Config& cfg);
  // The VIPs whose packets Accept_Mode false drops now: those of every
  // instance with accept false, priority < 255 (not the owner), holding its
  // VIPs (pure; unit-tested).
  static std::vector<boost::asio::ip::address> accept_drop_vips(
      const config::Config& cfg, const std::map<std::string, bool>& holding);

 private:
  void apply(const config::Config& cfg);
  void ensure_running();
  void on_transition(const vrrp::TransitionEvent& ev);
  void run_notify(const vrrp::TransitionEvent& ev);
  void on_group_transition(const vrrp::GroupEvent& ev);
  // Runs the transitions kept during stop() (publish, notify.stop) and waits
  // a bounded time for their commands.
  void run_late_transitions();
  void on_holding(const std::string& instance, bool holding);
  void update_accept_rules();
  void warn_accept_with_ipvs(const config::Config& cfg) const;
  void run_command(const config::Command& command, const std::string& what,
                   std::vector<std::string> args);
  void post_tracked(vrrp::TrackKind kind, const std::string& name, vrrp::TrackValue v);
  void on_event(const nlohmann::json& ev);
  void post_service_states();
  void setup_trackers();
  void poll_files();
  struct Script;
  void run_script(const std::shared_ptr<Script>& s);

  boost::asio::io_context& io_;
  core::EventBus& events_;
  Backend backend_;
  NotifyFactory notify_;
  config::Config cfg_;
  bool stopped_ = false;

  // The VRRP thread and what lives on it.
  boost::asio::io_context vrrp_io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<checkers::AsioClock> clock_;
  std::unique_ptr<vrrp::Transport> transport_;
  std::unique_ptr<vrrp::AddressManager> addresses_;
  std::unique_ptr<vrrp::Driver> driver_;
  std::thread thread_;

  std::map<std::uint64_t, std::unique_ptr<checkers::Probe>> notifies_;
  // Transitions reported while stop() waits for the driver (see ensure_running).
  std::mutex late_mu_;
  bool capture_late_ = false;
  std::vector<std::function<void()>> late_;
  // Where notify commands run: io_, or stop()'s own loop for the late ones.
  boost::asio::io_context* notify_io_ = nullptr;
  std::uint64_t next_notify_ = 0;
  std::uint64_t notifies_started_ = 0;
  std::uint64_t transitions_ = 0;

  // Trackers fed from the control thread.
  core::EventBus::Subscription events_sub_;
  std::map<std::string, bool> quorum_;  // service key -> quorum up (last event)
  std::unique_ptr<boost::asio::steady_timer> files_timer_;
  std::map<std::string, std::shared_ptr<Script>> scripts_;

  // Accept_Mode (control thread).
  std::unique_ptr<vrrp::AcceptRules> accept_rules_;
  std::map<std::string, bool> holding_;  // instance -> holds its VIPs
  std::optional<std::vector<boost::asio::ip::address>> accept_installed_;  // nullopt: none
  bool accept_leftovers_checked_ = false;
};

}  // namespace lvsd::modules
