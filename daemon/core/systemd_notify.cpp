#include "daemon/core/systemd_notify.hpp"

#include <time.h>

#include <systemd/sd-daemon.h>

#include <fmt/format.h>

namespace lvsd::core {

void SystemdNotifier::ready(const std::string& status) {
  if (status.empty()) {
    sd_notify(0, "READY=1");
  } else {
    sd_notify(0, fmt::format("READY=1\nSTATUS={}", status).c_str());
  }
}

void SystemdNotifier::reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  sd_notify(0, fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec).c_str());
}

void SystemdNotifier::stopping() {
  sd_notify(0, "STOPPING=1");
}

void SystemdNotifier::status(const std::string& text) {
  sd_notify(0, fmt::format("STATUS={}", text).c_str());
}

void SystemdNotifier::watchdog() {
  sd_notify(0, "WATCHDOG=1");
}

std::optional<std::chrono::microseconds> SystemdNotifier::watchdog_interval() const {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    return std::chrono::microseconds(usec / 2);
  }
  return std::nullopt;
}

}  // namespace lvsd::core
