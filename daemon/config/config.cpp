#include "daemon/config/config.hpp"

#include <fmt/format.h>

#include "daemon/config/enum_names.hpp"

namespace lvsd::config {

namespace {
template <class E>
std::string_view name_of(E v) {
  auto names = detail::EnumNames<E>::names();
  auto i = static_cast<std::size_t>(v);
  return i < names.size() ? names[i] : std::string_view("?");
}
}  // namespace

std::string_view to_string(LogLevel v) {
  return name_of(v);
}
std::string_view to_string(LogTarget v) {
  return name_of(v);
}
std::string_view to_string(ForwardingBackend v) {
  return name_of(v);
}
std::string_view to_string(OnStop v) {
  return name_of(v);
}
std::string_view to_string(ForeignServices v) {
  return name_of(v);
}
std::string_view to_string(Steering v) {
  return name_of(v);
}
std::string_view to_string(CheckType v) {
  return name_of(v);
}
std::string_view to_string(DnsType v) {
  return name_of(v);
}
std::string_view to_string(Protocol v) {
  return name_of(v);
}
std::string_view to_string(Family v) {
  return name_of(v);
}
std::string_view to_string(Method v) {
  return name_of(v);
}
std::string_view to_string(TunnelType v) {
  return name_of(v);
}
std::string_view to_string(TunnelChecksum v) {
  return name_of(v);
}
std::string_view to_string(InitialState v) {
  return name_of(v);
}
std::string_view to_string(SyncRoleKind v) {
  return name_of(v);
}

std::string format_duration(Duration d) {
  using std::chrono::milliseconds;
  auto ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    long long ms;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {
      {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& u : kUnits) {
    if (ms >= u.ms) {
      out += fmt::format("{}{}", ms / u.ms, u.suffix);
      ms %= u.ms;
    }
  }
  return out;
}

std::string format_endpoint(const Address& a, uint16_t port) {
  if (a.is_v6()) return fmt::format("[{}]:{}", a.to_string(), port);
  return fmt::format("{}:{}", a.to_string(), port);
}

std::string RealServer::key() const {
  return format_endpoint(address, port);
}

std::string Service::key() const {
  if (fwmark != 0) return fmt::format("fwmark {} {}", fwmark, to_string(family));
  std::string addr = address ? format_endpoint(*address, port) : fmt::format("?:{}", port);
  return fmt::format("{} {}", to_string(protocol), addr);
}

std::string Prefix::str() const {
  return fmt::format("{}/{}", address.to_string(), length);
}

Family VrrpInstance::family() const {
  if (!virtual_addresses.empty() && virtual_addresses.front().address.is_v6()) {
    return Family::inet6;
  }
  return Family::inet;
}

}  // namespace lvsd::config
