// The virtual addresses and routes of one instance, and which of them this
// lvsd owns: the ones it added, or adopted because they carry lvsd's mark (a
// predecessor that was killed left them). release() removes only those, so an
// address an operator configured by hand survives every transition.
//
// Works on any AddressManager; each call returns what happened so the Driver
// logs it (one line per operation that did not go as planned).
#pragma once

#include <string>
#include <vector>

#include "vrrp/address_manager.hpp"

namespace lvsd::vrrp {

class VipSet {
 public:
  VipSet() = default;
  VipSet(std::vector<Vip> vips, std::vector<VirtualRoute> routes)
      : vips_(std::move(vips)), routes_(std::move(routes)) {}

  struct Report {
    std::size_t added = 0;    // added by us now
    std::size_t adopted = 0;  // present with our mark: ours from now on
    std::size_t removed = 0;
    // "192.0.2.200/24 dev eth0: present without lvsd's mark, left alone", ...
    std::vector<std::string> problems;
  };

  // Becoming master: add every address and route. A present address with our
  // mark is adopted; one without it is left to its owner (a problem). Routes
  // are added after the addresses (a route via a VIP's subnet needs it).
  Report acquire(AddressManager& am);
  // Removes what we own: routes first, then addresses.
  Report release(AddressManager& am);
  // At start (not master): removes addresses and routes of this instance that
  // carry lvsd's mark, left by an lvsd that did not stop cleanly.
  Report clear_stale(AddressManager& am);
  // A reload changed the lists. While holding, adds the new entries and
  // removes owned ones no longer listed; otherwise only records them.
  Report update(AddressManager& am, std::vector<Vip> vips, std::vector<VirtualRoute> routes);

  bool holding() const { return holding_; }
  const std::vector<Vip>& vips() const { return vips_; }
  const std::vector<VirtualRoute>& routes() const { return routes_; }
  const std::vector<Vip>& owned_addresses() const { return owned_vips_; }
  const std::vector<VirtualRoute>& owned_routes() const { return owned_routes_; }

 private:
  void add_vip(AddressManager& am, const Vip& v, Report& r);
  void add_route(AddressManager& am, const VirtualRoute& rt, Report& r);
  void remove_vip(AddressManager& am, const Vip& v, Report& r);
  void remove_route(AddressManager& am, const VirtualRoute& rt, Report& r);

  std::vector<Vip> vips_;
  std::vector<VirtualRoute> routes_;
  std::vector<Vip> owned_vips_;
  std::vector<VirtualRoute> owned_routes_;
  bool holding_ = false;
};

}  // namespace lvsd::vrrp
