#pragma once
// sd_notify(3) for Type=notify units: READY, RELOADING, STOPPING, STATUS and
// the watchdog. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
#include <chrono>
#include <optional>
#include <string>

namespace lvsd::core {

class SystemdNotifier {
 public:
  void ready(const std::string& status = {});
  // RELOADING=1 with MONOTONIC_USEC, as systemd >= 253 asks of Type=notify-reload
  // units; older systemd ignores the extra field.
  void reloading();
  void stopping();
  void status(const std::string& text);
  void watchdog();
  // Interval at which to call watchdog(): half of WatchdogSec, if enabled.
  std::optional<std::chrono::microseconds> watchdog_interval() const;
};

}  // namespace lvsd::core
