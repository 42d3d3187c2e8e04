// When the gratuitous ARP / NA rounds go out: bursts, the repeat, refreshes.
#include "vrrp/garp_schedule.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace lvsd::vrrp {
namespace {

using namespace std::chrono_literals;

const TimePoint T0 = TimePoint{} + 1h;

// Every round's time over [T0, T0 + horizon], following next() like a timer.
std::vector<Duration> rounds(GarpConfig c, Duration horizon) {
  GarpSchedule s(c);
  s.start(T0);
  std::vector<Duration> out;
  for (int guard = 0; guard < 1000 && s.next() && *s.next() <= T0 + horizon; ++guard) {
    const TimePoint at = *s.next();
    const auto step = s.fire(at);
    for (unsigned r = 0; r < step.rounds; ++r)
      out.push_back(at - T0);
  }
  return out;
}

TEST(VrrpGarpSchedule, DefaultBurstNowAndAgainAfterFiveSeconds) {
  // keepalived's defaults: 5 at once, 5 more after 5 s, no refresh.
  const auto r = rounds({}, 60s);
  const std::vector<Duration> want = {0s, 0s, 0s, 0s, 0s, 5s, 5s, 5s, 5s, 5s};
  EXPECT_EQ(r, want);
}

TEST(VrrpGarpSchedule, SpacedBurstNoRepeatWithRefresh) {
  GarpConfig c;
  c.count = 3;
  c.interval = 100ms;
  c.repeat_delay = 0s;
  c.refresh = 10s;
  const auto r = rounds(c, 30s);
  const std::vector<Duration> want = {0ms, 100ms, 200ms, 10200ms, 20200ms};
  EXPECT_EQ(r, want);
}

TEST(VrrpGarpSchedule, CountZeroSendsNothingUnlessRefresh) {
  GarpConfig c;
  c.count = 0;
  EXPECT_TRUE(rounds(c, 60s).empty());
  c.refresh = 20s;
  const std::vector<Duration> want = {20s, 40s, 60s};
  EXPECT_EQ(rounds(c, 60s), want);
}

TEST(VrrpGarpSchedule, StopEndsItAndALateFireDoesNotReplayMissedRefreshes) {
  GarpConfig c;
  c.count = 1;
  c.repeat_delay = 0s;
  c.refresh = 1s;
  GarpSchedule s(c);
  s.start(T0);
  EXPECT_EQ(s.fire(T0).rounds, 1u);
  // Ten seconds late: one round, and the next one a refresh period later.
  const auto late = s.fire(T0 + 10s);
  EXPECT_EQ(late.rounds, 1u);
  ASSERT_TRUE(late.next);
  EXPECT_EQ(*late.next, T0 + 11s);
  s.stop();
  EXPECT_FALSE(s.active());
  EXPECT_EQ(s.fire(T0 + 20s).rounds, 0u);
}

}  // namespace
}  // namespace lvsd::vrrp
