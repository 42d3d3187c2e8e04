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

// `t` rounded up to the next multiple of `grid` on the steady clock (t itself
// when grid is zero or t is on the grid).
TimePoint align_up(TimePoint t, Duration grid);

// The real clock: std::chrono::steady_clock and Asio steady timers on `io`.
//
// With a non-zero `slack`, every deadline is moved up to the next multiple of
// slack (never earlier than asked, at most slack later), like the kernel's
// timer slack: timers due within the same window then expire together and the
// thread wakes once for all of them. At thousands of checks a second this is
// the difference between one wakeup per check (connect completions follow
// their launches) and one per window; see docs/config.md, `checks`.
class AsioClock final : public Clock {
 public:
  explicit AsioClock(boost::asio::io_context& io, Duration slack = Duration::zero())
      : io_(io), slack_(slack) {}
  TimePoint now() const override { return SteadyClock::now(); }
  std::unique_ptr<Timer> make_timer() override;
  Duration slack() const { return slack_; }

 private:
  boost::asio::io_context& io_;
  Duration slack_;
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
