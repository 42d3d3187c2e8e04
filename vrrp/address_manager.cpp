#include "vrrp/address_manager.hpp"

namespace lvsd::vrrp {

std::string_view to_string(Scope s) noexcept {
  switch (s) {
    case Scope::global:
      return "global";
    case Scope::site:
      return "site";
    case Scope::link:
      return "link";
    case Scope::host:
      return "host";
  }
  return "?";
}

std::optional<Scope> scope_from_string(std::string_view s) noexcept {
  if (s == "global") return Scope::global;
  if (s == "site") return Scope::site;
  if (s == "link") return Scope::link;
  if (s == "host") return Scope::host;
  return std::nullopt;
}

std::string Vip::str() const {
  return address.to_string() + "/" + std::to_string(prefix) + " dev " + device;
}

std::string VirtualRoute::str() const {
  std::string s = to.to_string() + "/" + std::to_string(prefix);
  if (via) s += " via " + via->to_string();
  if (!device.empty()) s += " dev " + device;
  if (table != 0) s += " table " + std::to_string(table);
  return s;
}

}  // namespace lvsd::vrrp
