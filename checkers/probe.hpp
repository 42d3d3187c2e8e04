#pragma once
// A Probe runs one health check of one realserver: the protocol part only.
// Scheduling (interval, jitter, timeout, rise/fall, alpha) is CheckerBase's.
//
// Contract: run() starts one attempt on the control io_context and returns at
// once (nothing blocks); `done` is called exactly once, on the io_context
// thread, with the outcome, no later than `timeout` after run() (a probe that
// times out reports ok=false, reason "timeout after ..."). cancel() aborts an
// attempt in flight; `done` is then not called. A Probe object runs at most one
// attempt at a time and may be reused for the next one.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include "daemon/config/config.hpp"

namespace lvsd::checkers {

// Where to probe: the realserver's address and port, already overridden by the
// check's connect_address / connect_port when those are set.
struct ProbeTarget {
  boost::asio::ip::address address;
  uint16_t port = 0;
  bool operator==(const ProbeTarget&) const = default;
};

struct ProbeResult {
  bool ok = false;
  // Why it failed ("connection refused", "status 503 not in 200-299",
  // "timeout after 3s"), or a short note on success ("200 OK").
  std::string reason;
  std::chrono::microseconds latency{0};
  // misc checks with dynamic_weight: exit code - 2 (exit 2..255).
  std::optional<uint32_t> weight;
  // ssl/https: days until the peer certificate expires, when known.
  std::optional<int> cert_days_left;
};

class Probe {
 public:
  virtual ~Probe() = default;
  virtual void run(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) = 0;
  virtual void cancel() = 0;
};

// Builds the probe for `check.type` (defined in probe_factory.cpp).
std::unique_ptr<Probe> make_probe(boost::asio::io_context& io, const config::Check& check,
                                  const ProbeTarget& target);

}  // namespace lvsd::checkers
