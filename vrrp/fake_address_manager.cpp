#include "vrrp/fake_address_manager.hpp"

#include <algorithm>
#include <cerrno>

namespace lvsd::vrrp {

namespace {
std::error_code err(int e) {
  return {e, std::generic_category()};
}
// The kernel identifies an address by device, local address and prefix
// length (inet_rtm_deladdr / inet6_rtm_deladdr); label and scope are attributes.
bool same_address(const Vip& a, const Vip& b) {
  return a.device == b.device && a.address == b.address && a.prefix == b.prefix;
}
// A route by table, destination and prefix (fib_table_delete's match, with
// the protocol compared by the caller).
bool same_route(const VirtualRoute& a, const VirtualRoute& b) {
  return a.table == b.table && a.to == b.to && a.prefix == b.prefix;
}
}  // namespace

void FakeAddressManager::set_interface(InterfaceInfo info) {
  interfaces_[info.name] = std::move(info);
  for (auto& w : watchers_)
    w();
}

void FakeAddressManager::remove_interface(const std::string& name) {
  drop_interface(name);
  for (auto& w : watchers_)
    w();
}

void FakeAddressManager::drop_interface(const std::string& name) {
  interfaces_.erase(name);
  addresses_.erase(std::remove_if(addresses_.begin(), addresses_.end(),
                                  [&](const Entry& e) { return e.vip.device == name; }),
                   addresses_.end());
}

bool FakeAddressManager::has_address(const boost::asio::ip::address& a) const {
  return std::any_of(addresses_.begin(), addresses_.end(),
                     [&](const Entry& e) { return e.vip.address == a; });
}

std::optional<InterfaceInfo> FakeAddressManager::interface(const std::string& name) {
  auto it = interfaces_.find(name);
  if (it == interfaces_.end()) return std::nullopt;
  InterfaceInfo info = it->second;
  if (auto v = vmacs_.find(name); v != vmacs_.end()) {
    // A macvlan's carrier is its lower device's (netif_stacked_transfer_operstate).
    auto base = interfaces_.find(v->second.base);
    info.running = info.up && base != interfaces_.end() && base->second.up && base->second.running;
  }
  return info;
}

std::error_code FakeAddressManager::add_address(const Vip& vip) {
  if (!interfaces_.count(vip.device)) return err(ENODEV);
  for (const auto& e : addresses_) {
    if (same_address(e.vip, vip)) return err(EEXIST);
  }
  addresses_.push_back({vip, true});
  return {};
}

std::error_code FakeAddressManager::remove_address(const Vip& vip) {
  auto it = std::find_if(addresses_.begin(), addresses_.end(),
                         [&](const Entry& e) { return same_address(e.vip, vip); });
  if (it == addresses_.end()) return err(EADDRNOTAVAIL);
  addresses_.erase(it);
  return {};
}

bool FakeAddressManager::marked(const Vip& vip) {
  return std::any_of(addresses_.begin(), addresses_.end(),
                     [&](const Entry& e) { return same_address(e.vip, vip) && e.marked; });
}

std::error_code FakeAddressManager::add_route(const VirtualRoute& route) {
  for (const auto& r : routes_) {
    if (same_route(r.route, route)) return err(EEXIST);
  }
  routes_.push_back({route, true});
  return {};
}

std::error_code FakeAddressManager::remove_route(const VirtualRoute& route) {
  auto it = std::find_if(routes_.begin(), routes_.end(),
                         [&](const Route& r) { return same_route(r.route, route) && r.marked; });
  if (it == routes_.end()) return err(ESRCH);
  routes_.erase(it);
  return {};
}

std::error_code FakeAddressManager::announce(const std::string& device,
                                             const boost::asio::ip::address& address) {
  if (!interfaces_.count(device)) return err(ENODEV);
  announcements_.push_back({device, address});
  return {};
}

void FakeAddressManager::preset_vmac(const VmacSpec& spec) {
  InterfaceInfo info;
  info.name = spec.name;
  info.index = next_index_++;
  info.mac = spec.mac;
  info.up = info.running = true;
  interfaces_[spec.name] = info;
  vmacs_[spec.name] = spec;
}

Result<bool, std::string> FakeAddressManager::ensure_vmac(const VmacSpec& spec) {
  using R = Result<bool, std::string>;
  auto base = interfaces_.find(spec.base);
  if (base == interfaces_.end()) return R::failure("interface " + spec.base + " not found");
  if (interfaces_.count(spec.name)) {
    auto v = vmacs_.find(spec.name);
    if (v == vmacs_.end() || v->second.mac != spec.mac)
      return R::failure("interface " + spec.name + " exists and is not lvsd's vmac");
    if (v->second == spec) return R(false);
    drop_interface(spec.name);  // ours on another base: re-created
    vmacs_.erase(spec.name);
  }
  InterfaceInfo info;
  info.name = spec.name;
  info.index = next_index_++;
  info.mac = spec.mac;
  info.up = true;
  // IPv6: the base's link-local address is copied (the adverts' source).
  if (spec.family == Family::inet6) info.ipv6_link_local = base->second.ipv6_link_local;
  interfaces_[spec.name] = info;
  vmacs_[spec.name] = spec;
  ++vmacs_created_;
  // No watcher call here: the kernel's events reach the real manager's
  // watchers later, on the io_context, never inside this call.
  return R(true);
}

std::error_code FakeAddressManager::remove_vmac(const VmacSpec& spec) {
  if (!interfaces_.count(spec.name)) return {};
  auto v = vmacs_.find(spec.name);
  if (v == vmacs_.end() || v->second.mac != spec.mac) return err(EPERM);
  vmacs_.erase(v);
  drop_interface(spec.name);
  return {};
}

}  // namespace lvsd::vrrp
