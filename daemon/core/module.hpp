#pragma once
// A Module is one subsystem of the daemon (forwarding, checkers, VRRP, sync).
// The Daemon owns the control io_context and the running Config; modules plug
// in here so that later engines add behaviour without reshaping the core.
//
// Contract:
//  - start() is called once with the first valid config, before READY=1.
//    It may throw std::runtime_error to abort start-up with a clear message.
//  - reconfigure() is called after a reload has been parsed and validated as a
//    whole, with the new config and the diff against the previous one. A module
//    keeps the state of everything the diff says is unchanged.
//  - stop() is called once on SIGTERM/SIGINT, in reverse order of start().
//  - status commands are registered on the StatusServer by register_commands();
//    snapshot() feeds the SIGUSR1 state dump.
// All calls happen on the control io_context thread.
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/config/config.hpp"
#include "daemon/config/diff.hpp"

namespace lvsd::core {

class StatusServer;

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string_view name() const = 0;
  virtual void start(const config::Config& cfg) = 0;
  virtual void reconfigure(const config::Config& cfg, const config::ConfigDiff& diff) = 0;
  virtual void stop() = 0;
  virtual void register_commands(StatusServer& server) = 0;
  virtual nlohmann::json snapshot() const = 0;
};

}  // namespace lvsd::core
