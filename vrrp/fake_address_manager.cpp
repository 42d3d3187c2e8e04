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
  interfaces_.erase(name);
  addresses_.erase(std::remove_if(addresses_.begin(), addresses_.end(),
                                  [&](const Entry& e) { return e.vip.device == name; }),
                   addresses_.end());
  for (auto& w : watchers_)
    w();
}

bool FakeAddressManager::has_address(const boost::asio::ip::address& a) const {
  return std::any_of(addresses_.begin(), addresses_.end(),
                     [&](const Entry& e) { return e.vip.address == a; });
}

std::optional<InterfaceInfo> FakeAddressManager::interface(const std::string& name) {
  auto it = interfaces_.find(name);
  if (it == interfaces_.end()) return std::nullopt;
  return it->second;
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

}  // namespace lvsd::vrrp
