#pragma once
// A Probe the test answers by hand: it records each run() and its timeout;
// the test calls answer() to complete the attempt in flight.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "checkers/probe.hpp"

namespace lvsd::checkers::test {

struct FakeProbeLog {
  std::vector<std::chrono::milliseconds> runs;  // timeout of each run()
  int cancels = 0;
  int in_flight = 0;
  int max_in_flight = 0;
  std::function<void(ProbeResult)> done;

  bool pending() const { return static_cast<bool>(done); }
  void answer(bool ok, std::string reason = {}) {
    ASSERT_TRUE(done) << "no attempt in flight";
    auto d = std::move(done);
    done = nullptr;
    --in_flight;
    ProbeResult r;
    r.ok = ok;
    r.reason = reason.empty() ? (ok ? "ok" : "failed") : std::move(reason);
    d(std::move(r));
  }
};

class FakeProbe final : public Probe {
 public:
  explicit FakeProbe(std::shared_ptr<FakeProbeLog> log) : log_(std::move(log)) {}
  void run(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) override {
    log_->runs.push_back(timeout);
    log_->done = std::move(done);
    log_->max_in_flight = std::max(log_->max_in_flight, ++log_->in_flight);
  }
  void cancel() override {
    ++log_->cancels;
    if (log_->done) --log_->in_flight;
    log_->done = nullptr;
  }

 private:
  std::shared_ptr<FakeProbeLog> log_;
};

}  // namespace lvsd::checkers::test
