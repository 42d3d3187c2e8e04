// AsioClock's timer slack: deadlines move up to the next multiple of the
// slack, never earlier than asked, so timers due in one window fire together.
#include "checkers/clock.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;

TEST(AlignUp, RoundsUpToTheGrid) {
  const TimePoint base{Duration(1'000'000'000)};  // on every grid below
  EXPECT_EQ(align_up(base, 10ms), base);
  EXPECT_EQ(align_up(base + 1ns, 10ms), base + 10ms);
  EXPECT_EQ(align_up(base + 9999us, 10ms), base + 10ms);
  EXPECT_EQ(align_up(base + 10ms, 10ms), base + 10ms);
  EXPECT_EQ(align_up(base + 10ms + 1ns, 10ms), base + 20ms);
  EXPECT_EQ(align_up(base + 3ms, Duration::zero()), base + 3ms);
}

TEST(AsioClock, WithoutSlackTimersKeepTheirDeadlines) {
  boost::asio::io_context io;
  AsioClock clock(io);
  auto timer = clock.make_timer();
  const auto armed = SteadyClock::now();
  TimePoint fired{};
  timer->arm(2ms, [&] { fired = SteadyClock::now(); });
  io.run_for(1s);
  EXPECT_GE(fired - armed, 2ms);
  EXPECT_EQ(clock.slack(), Duration::zero());
}

TEST(AsioClock, SlackMakesTimersInOneWindowFireTogetherAndNeverEarly) {
  boost::asio::io_context io;
  constexpr Duration kSlack = 100ms;
  AsioClock clock(io, kSlack);
  // Two deadlines in the same window: 1 ms from now, and 1 ms before the
  // window ends (if the window is long enough for both to differ).
  const auto now = SteadyClock::now();
  const TimePoint window_end = align_up(now + 1ms, kSlack);
  const Duration early = 1ms;
  const Duration late = std::max<Duration>(early, window_end - now - 1ms);
  auto t1 = clock.make_timer();
  auto t2 = clock.make_timer();
  TimePoint f1{}, f2{};
  t1->arm(early, [&] { f1 = SteadyClock::now(); });
  t2->arm(late, [&] { f2 = SteadyClock::now(); });
  io.run_for(2 * kSlack + 500ms);
  ASSERT_NE(f1, TimePoint{});
  ASSERT_NE(f2, TimePoint{});
  // Neither fired before its own deadline, and the early one waited for the
  // window's end instead of waking the thread on its own.
  EXPECT_GE(f1, now + early);
  EXPECT_GE(f2, now + late);
  EXPECT_GE(f1, window_end);
  EXPECT_GE(f2, window_end);
}

TEST(AsioClock, CancelAndRearmStillWorkWithSlack) {
  boost::asio::io_context io;
  AsioClock clock(io, 10ms);
  auto timer = clock.make_timer();
  int fired = 0;
  timer->arm(1ms, [&] { fired += 1; });
  timer->cancel();
  timer->arm(1ms, [&] { fired += 10; });
  timer->arm(2ms, [&] { fired += 100; });  // replaces the pending expiry
  io.run_for(200ms);
  EXPECT_EQ(fired, 100);
}

}  // namespace
}  // namespace lvsd::checkers
