#pragma once
// CheckerBase: runs one check of one realserver. It owns the scheduling -
// start-up jitter, interval, fast_interval while the state is changing, the
// per-attempt timeout, never two attempts in flight - and the rise/fall
// counting (Thresholds); the Probe does only the protocol.
//
// Time comes from a Clock: AsioClock on the control io_context in the daemon,
// ManualClock in tests. Handlers run on that thread; they may call stop() and
// start() but must not destroy the CheckerBase (post the destruction).
//
// Cadence: the first attempt starts after a jitter in [0, interval) drawn from
// `seed`, so a thousand checks configured together spread over the interval
// (deterministically). Each next attempt starts `interval` (or `fast_interval`
// while results disagree with the state) after the previous one started, or at
// once when that attempt ran longer. A probe that breaks its contract and does
// not answer within timeout + guard_grace is cancelled and counted as failed.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "checkers/clock.hpp"
#include "checkers/probe.hpp"
#include "checkers/thresholds.hpp"
#include "daemon/config/config.hpp"

namespace lvsd::checkers {

// What `lvsctl services` shows for a check.
struct CheckStatus {
  Health state = Health::up;
  TimePoint since{};                // of the current state
  uint64_t flaps = 0;               // transitions so far
  std::optional<ProbeResult> last;  // the last result (latency, reason, weight, cert days)
  TimePoint last_at{};              // when it arrived
  unsigned pending = 0;             // consecutive results towards the next transition
  bool changing = false;
  bool in_flight = false;
  uint64_t attempts = 0;  // results so far
};

class CheckerBase {
 public:
  using TransitionHandler = std::function<void(const Transition&)>;
  using ResultHandler = std::function<void(const ProbeResult&)>;

  struct Options {
    uint64_t seed = 0;  // start-up jitter; see jitter_seed()
    Duration guard_grace = std::chrono::seconds(1);
  };

  CheckerBase(Clock& clock, config::Check check, std::unique_ptr<Probe> probe, Options options);
  ~CheckerBase();
  CheckerBase(const CheckerBase&) = delete;
  CheckerBase& operator=(const CheckerBase&) = delete;

  // Every transition (rise/fall reached), and every result.
  void on_transition(TransitionHandler h) { on_transition_ = std::move(h); }
  void on_result(ResultHandler h) { on_result_ = std::move(h); }

  // Schedules the first attempt after the start-up jitter. No-op when running.
  void start();
  // Cancels the timer and any attempt in flight; the state is kept, so a
  // later start() resumes (checker suspension, reload).
  void stop();
  bool running() const { return running_; }

  Health state() const { return thresholds_.state(); }
  CheckStatus status() const;
  const config::Check& check() const { return check_; }
  // The start-up delay drawn from the seed, in [0, interval).
  Duration jitter() const { return jitter_; }
  // When the next attempt starts (none while one is in flight or stopped).
  std::optional<TimePoint> next_attempt() const { return next_at_; }

 private:
  void schedule(Duration after);
  void launch();
  void complete(uint64_t attempt, ProbeResult r);

  Clock& clock_;
  config::Check check_;
  std::unique_ptr<Probe> probe_;
  Options options_;
  Thresholds thresholds_;
  std::unique_ptr<Timer> next_timer_;
  std::unique_ptr<Timer> guard_timer_;
  TransitionHandler on_transition_;
  ResultHandler on_result_;
  Duration jitter_{};
  bool running_ = false;
  bool in_flight_ = false;
  uint64_t attempt_id_ = 0;  // guards against stale probe completions
  uint64_t attempts_ = 0;
  TimePoint started_at_{};
  TimePoint planned_at_{};  // when the current attempt was due
  std::optional<TimePoint> next_at_;
  std::optional<ProbeResult> last_;
  TimePoint last_at_{};
};

// A seed for the start-up jitter from what identifies a check: stable across
// restarts, different between realservers.
uint64_t jitter_seed(const config::Check& check, const ProbeTarget& target);

}  // namespace lvsd::checkers
