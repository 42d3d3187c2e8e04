#pragma once
// The drivers' test bench shared by driver_test.cpp and driver_vmac_test.cpp:
// Drivers on the fake network (real encoded adverts through the real receive
// path), fake kernels (addresses, interfaces) and a manual clock, with the
// hooks' calls recorded per host.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "vrrp/driver.hpp"
#include "vrrp/fake_address_manager.hpp"
#include "vrrp/fake_transport.hpp"

namespace lvsd::vrrp::driver_lab {

// Host n's eth0: 192.0.2.n, fe80::n, MAC 02:00:00:00:00:n.
inline InterfaceInfo eth0(int host) {
  InterfaceInfo i;
  i.name = "eth0";
  i.index = 2;
  i.mac = {0x02, 0, 0, 0, 0, static_cast<std::uint8_t>(host)};
  i.up = i.running = true;
  i.ipv4 = {boost::asio::ip::make_address_v4("192.0.2." + std::to_string(host))};
  i.ipv6_link_local = {boost::asio::ip::make_address_v6("fe80::" + std::to_string(host))};
  return i;
}

struct Host {
  std::string name;
  FakeAddressManager kernel;
  std::unique_ptr<Driver> driver;
  std::vector<TransitionEvent> events;                // on_transition
  std::vector<std::pair<std::string, bool>> holding;  // on_holding
};

class DriverLab : public ::testing::Test {
 protected:
  Host& add(int n) {
    auto h = std::make_unique<Host>();
    h->name = "dir" + std::to_string(n);
    h->kernel.set_interface(eth0(n));
    net.add_address(h->name, boost::asio::ip::make_address("192.0.2." + std::to_string(n)));
    Host* raw = h.get();
    Driver::Hooks hooks;
    hooks.on_transition = [raw](const TransitionEvent& e) { raw->events.push_back(e); };
    hooks.on_holding = [raw](const std::string& i, bool on) { raw->holding.emplace_back(i, on); };
    h->driver =
        std::make_unique<Driver>(io, clock, net.transport(h->name), h->kernel, std::move(hooks));
    hosts.push_back(std::move(h));
    return *raw;
  }

  // Runs the deliveries posted so far (restart(): an io_context that ran out
  // of work is stopped until then).
  void pump() {
    io.restart();
    io.poll();
  }

  // Runs timers and deliveries in time order up to now + d.
  void run_for(Duration d) {
    const TimePoint end = clock.now() + d;
    pump();
    for (int guard = 0; guard < 100000; ++guard) {
      const auto next = clock.next_deadline();
      if (!next || *next > end) break;
      clock.advance_to(*next);
      pump();
    }
    clock.advance_to(end);
    pump();
  }

  // Time until `h` reaches `state`, stepping event by event (at most `limit`).
  std::optional<Duration> time_to(Host& h, State state, Duration limit) {
    const TimePoint start = clock.now();
    pump();
    for (int guard = 0; guard < 100000; ++guard) {
      if (status(h).state == state) return clock.now() - start;
      const auto next = clock.next_deadline();
      if (!next || *next > start + limit) return std::nullopt;
      clock.advance_to(*next);
      pump();
    }
    return std::nullopt;
  }

  static InstanceStatus status(Host& h) {
    const auto s = h.driver->status();
    return s.instances.empty() ? InstanceStatus{} : s.instances.front();
  }

  boost::asio::io_context io;
  checkers::ManualClock clock;
  FakeNetwork net{io};
  std::vector<std::unique_ptr<Host>> hosts;
};

}  // namespace lvsd::vrrp::driver_lab
