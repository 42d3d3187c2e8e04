// YAML spellings of the config enums, shared by the loader, dump and diff.
// Internal to daemon/config/.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "daemon/config/config.hpp"

namespace lvsd::config::detail {

template <class E>
struct EnumNames;

#define LVSD_ENUM_NAMES(E, ...)                                                   \
  template <>                                                                     \
  struct EnumNames<E> {                                                           \
    static constexpr std::string_view kNames[] = {__VA_ARGS__};                   \
    static constexpr std::span<const std::string_view> names() { return kNames; } \
  }

LVSD_ENUM_NAMES(LogTarget, "console", "syslog", "journald");
LVSD_ENUM_NAMES(LogLevel, "trace", "debug", "info", "warn", "error", "critical", "off");
LVSD_ENUM_NAMES(ForwardingBackend, "auto", "ipvs", "userspace");
LVSD_ENUM_NAMES(OnStop, "keep", "flush");
LVSD_ENUM_NAMES(ForeignServices, "keep", "remove");
LVSD_ENUM_NAMES(Steering, "auto", "iptables", "nftables");
LVSD_ENUM_NAMES(CheckType, "tcp", "http", "https", "ssl", "misc", "dns", "smtp", "udp", "icmp");
LVSD_ENUM_NAMES(DnsType, "A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "PTR", "SRV");
LVSD_ENUM_NAMES(Protocol, "tcp", "udp", "sctp");
LVSD_ENUM_NAMES(Family, "inet", "inet6");
LVSD_ENUM_NAMES(Method, "nat", "dr", "tun");
LVSD_ENUM_NAMES(TunnelType, "ipip", "gue", "gre");
LVSD_ENUM_NAMES(TunnelChecksum, "none", "remote", "local");
LVSD_ENUM_NAMES(InitialState, "backup", "master");
LVSD_ENUM_NAMES(SyncRoleKind, "follow", "master", "backup", "both");

#undef LVSD_ENUM_NAMES

template <class E>
std::optional<E> enum_from_string(std::string_view s) {
  auto names = EnumNames<E>::names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

// "'a', 'b' or 'c'"
template <class E>
std::string enum_choices() {
  std::string out;
  auto names = EnumNames<E>::names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += "'";
    out += names[i];
    out += "'";
  }
  return out;
}

}  // namespace lvsd::config::detail
