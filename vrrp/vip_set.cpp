#include "vrrp/vip_set.hpp"

#include <algorithm>
#include <cerrno>

namespace lvsd::vrrp {

namespace {
template <class T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
template <class T>
void erase(std::vector<T>& v, const T& x) {
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
}
}  // namespace

void VipSet::add_vip(AddressManager& am, const Vip& v, Report& r) {
  if (contains(owned_vips_, v)) return;
  const auto ec = am.add_address(v);
  if (!ec) {
    owned_vips_.push_back(v);
    ++r.added;
  } else if (ec.value() == EEXIST && am.marked(v)) {
    owned_vips_.push_back(v);
    ++r.adopted;
  } else if (ec.value() == EEXIST) {
    r.problems.push_back(v.str() + ": present without lvsd's mark, left alone");
  } else {
    r.problems.push_back(v.str() + ": add failed: " + ec.message());
  }
}

void VipSet::add_route(AddressManager& am, const VirtualRoute& rt, Report& r) {
  if (contains(owned_routes_, rt)) return;
  const auto ec = am.add_route(rt);
  if (!ec) {
    owned_routes_.push_back(rt);
    ++r.added;
  } else if (ec.value() == EEXIST) {
    // Ours (a predecessor's, with our protocol) or someone else's: only a
    // delete with our protocol can tell, and remove_route() does exactly that
    // at release, so taking it as ours is safe.
    owned_routes_.push_back(rt);
    ++r.adopted;
  } else {
    r.problems.push_back("route " + rt.str() + ": add failed: " + ec.message());
  }
}

void VipSet::remove_vip(AddressManager& am, const Vip& v, Report& r) {
  const auto ec = am.remove_address(v);
  if (!ec) {
    ++r.removed;
  } else if (ec.value() != EADDRNOTAVAIL) {
    r.problems.push_back(v.str() + ": remove failed: " + ec.message());
  }
  erase(owned_vips_, v);
}

void VipSet::remove_route(AddressManager& am, const VirtualRoute& rt, Report& r) {
  const auto ec = am.remove_route(rt);
  if (!ec) {
    ++r.removed;
  } else if (ec.value() != ESRCH) {
    r.problems.push_back("route " + rt.str() + ": remove failed: " + ec.message());
  }
  erase(owned_routes_, rt);
}

VipSet::Report VipSet::acquire(AddressManager& am) {
  Report r;
  holding_ = true;
  for (const auto& v : vips_)
    add_vip(am, v, r);
  for (const auto& rt : routes_)
    add_route(am, rt, r);
  return r;
}

VipSet::Report VipSet::release(AddressManager& am) {
  Report r;
  holding_ = false;
  for (const auto& rt : std::vector<VirtualRoute>(owned_routes_))
    remove_route(am, rt, r);
  for (const auto& v : std::vector<Vip>(owned_vips_))
    remove_vip(am, v, r);
  return r;
}

VipSet::Report VipSet::clear_stale(AddressManager& am) {
  Report r;
  if (holding_) return r;
  for (const auto& rt : routes_) {
    if (!am.remove_route(rt)) ++r.removed;
  }
  for (const auto& v : vips_) {
    if (am.marked(v)) remove_vip(am, v, r);
  }
  return r;
}

VipSet::Report VipSet::update(AddressManager& am, std::vector<Vip> vips,
                              std::vector<VirtualRoute> routes) {
  Report r;
  vips_ = std::move(vips);
  routes_ = std::move(routes);
  for (const auto& rt : std::vector<VirtualRoute>(owned_routes_)) {
    if (!contains(routes_, rt)) remove_route(am, rt, r);
  }
  for (const auto& v : std::vector<Vip>(owned_vips_)) {
    if (!contains(vips_, v)) remove_vip(am, v, r);
  }
  if (holding_) {
    for (const auto& v : vips_)
      add_vip(am, v, r);
    for (const auto& rt : routes_)
      add_route(am, rt, r);
  }
  return r;
}

}  // namespace lvsd::vrrp
