// Shared helpers for the scheduler tests.
#pragma once

#include <string>

#include "forwarding/schedulers/scheduler.hpp"

namespace lvsd::forwarding::schedulers::testing {

inline Address ip(const std::string& s) {
  return boost::asio::ip::make_address(s);
}

inline RealServer rs(const std::string& addr, uint32_t weight, uint16_t port = 80,
                     uint32_t upper = 0, uint32_t lower = 0) {
  RealServer r;
  r.address = ip(addr);
  r.port = port;
  r.weight = weight;
  r.upper_threshold = upper;
  r.lower_threshold = lower;
  return r;
}

inline Packet from(const std::string& saddr, uint16_t sport = 40000,
                   const std::string& daddr = "192.0.2.200") {
  Packet p;
  p.saddr = ip(saddr);
  p.sport = sport;
  p.daddr = ip(daddr);
  p.dport = 80;
  return p;
}

// The address ("192.0.2.21") of a pick, or "none".
inline std::string picked(ScheduledService& s, const Packet& p = {}) {
  const auto i = s.pick(p);
  return i ? s.dests()[*i].key.address.to_string() : "none";
}

}  // namespace lvsd::forwarding::schedulers::testing
