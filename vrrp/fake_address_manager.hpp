// FakeAddressManager: test support. The kernel's address and route tables of
// one host in memory, with the kernel's errors (EEXIST, EADDRNOTAVAIL, ESRCH,
// ENODEV), the mark lvsd puts on what it adds, and a log of the
// announcements (gratuitous ARP / NA) sent.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "vrrp/address_manager.hpp"

namespace lvsd::vrrp {

class FakeAddressManager final : public AddressManager {
 public:
  struct Entry {
    Vip vip;
    bool marked = false;
  };
  struct Route {
    VirtualRoute route;
    bool marked = false;
  };
  struct Announcement {
    std::string device;
    boost::asio::ip::address address;
  };

  // Interfaces as the kernel reports them; set_interface() notifies watchers.
  void set_interface(InterfaceInfo info);
  void remove_interface(const std::string& name);
  // An address present without lvsd's mark (an operator's) or with it (left
  // by a killed lvsd).
  void preset_address(const Vip& vip, bool marked) { addresses_.push_back({vip, marked}); }
  void preset_route(const VirtualRoute& r, bool marked) { routes_.push_back({r, marked}); }

  bool has_address(const boost::asio::ip::address& a) const;
  const std::vector<Entry>& addresses() const { return addresses_; }
  const std::vector<Route>& routes() const { return routes_; }
  const std::vector<Announcement>& announcements() const { return announcements_; }

  std::optional<InterfaceInfo> interface(const std::string& name) override;
  void watch(std::function<void()> changed) override { watchers_.push_back(std::move(changed)); }
  std::error_code add_address(const Vip& vip) override;
  std::error_code remove_address(const Vip& vip) override;
  bool marked(const Vip& vip) override;
  std::error_code add_route(const VirtualRoute& route) override;
  std::error_code remove_route(const VirtualRoute& route) override;
  std::error_code announce(const std::string& device,
                           const boost::asio::ip::address& address) override;
  Result<bool, std::string> ensure_vmac(const VmacSpec& spec) override;
  std::error_code remove_vmac(const VmacSpec& spec) override;

  // A macvlan left by a killed lvsd (ours) or an unrelated interface of that
  // name (set_interface) before the driver starts.
  void preset_vmac(const VmacSpec& spec);
  // The vmacs present, by name, and how many were created.
  const std::map<std::string, VmacSpec>& vmacs() const { return vmacs_; }
  int vmacs_created() const { return vmacs_created_; }

 private:
  void drop_interface(const std::string& name);  // and its addresses, no notification

  std::map<std::string, InterfaceInfo> interfaces_;
  std::vector<Entry> addresses_;
  std::vector<Route> routes_;
  std::vector<Announcement> announcements_;
  std::vector<std::function<void()>> watchers_;
  std::map<std::string, VmacSpec> vmacs_;
  int vmacs_created_ = 0;
  int next_index_ = 100;
};

}  // namespace lvsd::vrrp
