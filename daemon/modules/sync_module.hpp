#pragma once
// SyncModule: connection sync, following the configured role.
//
//  - role `follow: <vrrp instance>` (the usual): the director whose instance
//    is MASTER sends, the others receive; `master`, `backup` or `both`
//    (active/active) fix it.
//  - userspace engine: lvsd's own sender/receiver (sync/worker.hpp) on the
//    dataplane's sync rings (ip_vs sync v1 on the wire, so a kernel backup can
//    read it too).
//  - ip_vs backend: starts and stops the kernel's own sync daemons over
//    netlink as the role changes (master and/or backup).
// `sync` on the status socket: role, peers seen, messages and entries sent
// and received, drops by reason, queue depth.
#include <memory>
#include <optional>
#include <string>

#include "daemon/core/event_bus.hpp"
#include "daemon/core/module.hpp"
#include "daemon/modules/forwarding_module.hpp"
#include "sync/worker.hpp"

namespace lvsd::modules {

class SyncModule : public core::Module {
 public:
  SyncModule(core::EventBus& events, ForwardingModule& forwarding);
  ~SyncModule() override;

  std::string_view name() const override { return "sync"; }
  void start(const config::Config& cfg) override;
  void reconfigure(const config::Config& cfg, const config::ConfigDiff& diff) override;
  void stop() override;
  void register_commands(core::StatusServer& server) override;
  nlohmann::json snapshot() const override;

 private:
  void configure();
  void teardown();
  void apply_role();
  bool should_send() const;
  bool should_receive() const;

  core::EventBus& events_;
  ForwardingModule& forwarding_;
  core::EventBus::Subscription subscription_;
  std::optional<config::Sync> cfg_;
  std::string vrrp_state_ = "unknown";  // of the followed instance
  std::unique_ptr<sync::SyncWorker> worker_;
  std::string kind_;  // "userspace", "ipvs", "" (not running)
  std::string last_error_;
  bool kernel_master_ = false;
  bool kernel_backup_ = false;
  uint64_t role_changes_ = 0;
};

}  // namespace lvsd::modules
