#pragma once
// Test helpers for the probe tests: run one probe attempt on an io_context
// and wait, bounded, for its result.
#include <chrono>
#include <functional>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "checkers/probe.hpp"

namespace lvsd::checkers::probe_loop {

// Runs `io` until `pred` holds or `limit` passes; returns pred().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// Runs the probe once; nullopt when done was not called within `limit`.
// Also counts the calls of done, to check "exactly once".
struct Outcome {
  std::optional<ProbeResult> result;
  int calls = 0;
};

inline Outcome run_probe(boost::asio::io_context& io, Probe& probe,
                         std::chrono::milliseconds timeout,
                         std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto out = std::make_shared<Outcome>();
  probe.run(timeout, [out](ProbeResult r) {
    ++out->calls;
    out->result = std::move(r);
  });
  run_until(
      io, [&] { return out->calls > 0; }, limit);
  // Let anything that would call done a second time have its chance.
  for (int i = 0; i < 20; ++i)
    io.poll();
  return *out;
}

}  // namespace lvsd::checkers::probe_loop
