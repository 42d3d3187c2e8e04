#pragma once
// The time seam of the checkers: CheckerBase reads `now` and arms timers only
// through a Clock, so tests drive it with a ManualClock (no sleeps) and the
// daemon with an AsioClock on the control io_context.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/io_context.hpp>

namespace lvsd::checkers {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Duration = SteadyClock::duration;

// A one-shot timer. arm() replaces a pending expiry; cancel() drops it. The
// callback never runs after cancel(), re-arm or destruction.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void arm(Duration after, std::function<void()> fire) = 0;
  virtual void cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual std::unique_ptr<Timer> make_timer() = 0;
};

// The real clock: std::chrono::steady_clock and Asio steady timers on `io`.
class AsioClock final : public Clock {
 public:
  explicit AsioClock(boost::asio::io_context& io) : io_(io) {}
  TimePoint now() const override { return SteadyClock::now(); }
  std::unique_ptr<Timer> make_timer() override;

 private:
  boost::asio::io_context& io_;
};

// A clock that moves only when told: advance() fires the timers that fall due,
// in deadline order (ties in arming order), with now() set to each deadline.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(1)) : now_(start) {}
  TimePoint now() const override { return now_; }
  std::unique_ptr<Timer> make_timer() override;

  void advance(Duration by);
  void advance_to(TimePoint t);
  // Deadline of the earliest pending timer, if any.
  std::optional<TimePoint> next_deadline() const;
  std::size_t pending() const { return queue_.size(); }

 private:
  class ManualTimer;
  using Key = std::pair<TimePoint, uint64_t>;
  std::map<Key, std::function<void()>> queue_;
  TimePoint now_;
  uint64_t seq_ = 0;
};

}  // namespace lvsd::checkers
