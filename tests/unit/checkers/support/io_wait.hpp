#pragma once
// Bounded waits for component tests: run the io_context until a condition
// holds or a deadline passes. Real sockets need real time; nothing here
// sleeps to make time pass.
#include <chrono>
#include <functional>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "checkers/probe.hpp"

namespace lvsd::checkers::test {

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Runs one attempt of `probe` and waits for its result (at most timeout + 5s).
inline std::optional<ProbeResult> run_probe(boost::asio::io_context& io, Probe& probe,
                                            std::chrono::milliseconds timeout) {
  std::optional<ProbeResult> result;
  int calls = 0;
  probe.run(timeout, [&](ProbeResult r) {
    ++calls;
    result = std::move(r);
  });
  run_until(
      io, [&] { return result.has_value(); }, timeout + std::chrono::seconds(5));
  // `done` exactly once: give a stray second call a chance to show up.
  io.restart();
  io.poll();
  if (calls > 1) return ProbeResult{false, "done called more than once", {}, {}, {}};
  return result;
}

}  // namespace lvsd::checkers::test
