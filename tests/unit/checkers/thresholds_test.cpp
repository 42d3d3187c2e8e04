#include "checkers/thresholds.hpp"

#include <gtest/gtest.h>

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint{} + 1h;

TEST(Thresholds, WithoutAlphaStartsUpAndFallsAfterFallFailures) {
  Thresholds th(2, 3, false, t0);
  EXPECT_EQ(th.state(), Health::up);
  EXPECT_EQ(th.since(), t0);
  EXPECT_FALSE(th.feed(false, "refused", t0 + 1s));
  EXPECT_TRUE(th.changing());
  EXPECT_EQ(th.pending(), 1u);
  EXPECT_FALSE(th.feed(false, "refused", t0 + 2s));
  auto t = th.feed(false, "connection refused", t0 + 3s);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, (Transition{Health::up, Health::down, "connection refused", t0 + 3s}));
  EXPECT_EQ(th.state(), Health::down);
  EXPECT_EQ(th.since(), t0 + 3s);
  EXPECT_EQ(th.flaps(), 1u);
  EXPECT_FALSE(th.changing());
}

TEST(Thresholds, SuccessesWhileUpResetTheFailureStreak) {
  Thresholds th(2, 3, false, t0);
  th.feed(false, "x", t0);
  th.feed(false, "x", t0);
  EXPECT_FALSE(th.feed(true, "ok", t0));
  EXPECT_EQ(th.pending(), 0u);
  EXPECT_FALSE(th.changing());
  EXPECT_FALSE(th.feed(false, "x", t0));
  EXPECT_FALSE(th.feed(false, "x", t0));
  EXPECT_TRUE(th.feed(false, "x", t0));
  EXPECT_EQ(th.flaps(), 1u);
}

TEST(Thresholds, RisesAfterRiseSuccessesAndFailuresResetTheSuccessStreak) {
  Thresholds th(3, 1, false, t0);
  ASSERT_TRUE(th.feed(false, "down", t0 + 1s));  // fall = 1
  EXPECT_FALSE(th.feed(true, "ok", t0 + 2s));
  EXPECT_FALSE(th.feed(true, "ok", t0 + 3s));
  EXPECT_FALSE(th.feed(false, "blip", t0 + 4s));  // resets
  EXPECT_EQ(th.pending(), 0u);
  EXPECT_FALSE(th.feed(true, "ok", t0 + 5s));
  EXPECT_FALSE(th.feed(true, "ok", t0 + 6s));
  auto t = th.feed(true, "200", t0 + 7s);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, (Transition{Health::down, Health::up, "200", t0 + 7s}));
  EXPECT_EQ(th.flaps(), 2u);
  EXPECT_EQ(th.since(), t0 + 7s);
}

TEST(Thresholds, AlphaStartsDownAndTheFirstSuccessBringsItUp) {
  Thresholds th(3, 2, true, t0);
  EXPECT_EQ(th.state(), Health::down);
  EXPECT_TRUE(th.awaiting_first_success());
  EXPECT_FALSE(th.feed(false, "refused", t0 + 1s));
  EXPECT_FALSE(th.feed(false, "refused", t0 + 2s));
  EXPECT_FALSE(th.changing());
  auto t = th.feed(true, "ok", t0 + 3s);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, Health::down);
  EXPECT_EQ(t->to, Health::up);
  EXPECT_FALSE(th.awaiting_first_success());
  // From then on, rise and fall as configured.
  EXPECT_FALSE(th.feed(false, "x", t0 + 4s));
  EXPECT_TRUE(th.feed(false, "x", t0 + 5s));
  EXPECT_FALSE(th.feed(true, "ok", t0 + 6s));
  EXPECT_FALSE(th.feed(true, "ok", t0 + 7s));
  EXPECT_TRUE(th.feed(true, "ok", t0 + 8s));
  EXPECT_EQ(th.flaps(), 3u);
}

TEST(Thresholds, WithoutAlphaAFirstSuccessIsNoTransition) {
  Thresholds th(2, 2, false, t0);
  EXPECT_FALSE(th.feed(true, "ok", t0));
  EXPECT_EQ(th.flaps(), 0u);
  EXPECT_EQ(th.since(), t0);
}

TEST(Thresholds, RiseAndFallOfOneFlipOnEveryChange) {
  Thresholds th(1, 1, false, t0);
  EXPECT_TRUE(th.feed(false, "a", t0));
  EXPECT_FALSE(th.feed(false, "a", t0));
  EXPECT_TRUE(th.feed(true, "b", t0));
  EXPECT_TRUE(th.feed(false, "c", t0));
  EXPECT_EQ(th.flaps(), 3u);
  EXPECT_FALSE(th.changing());
}

TEST(Thresholds, ZeroRiseOrFallCountsAsOne) {
  Thresholds th(0, 0, false, t0);
  EXPECT_EQ(th.rise(), 1u);
  EXPECT_EQ(th.fall(), 1u);
  EXPECT_TRUE(th.feed(false, "a", t0));
}

TEST(Thresholds, StreakCountsConsecutiveResultsOfOneKind) {
  Thresholds th(5, 5, false, t0);
  th.feed(true, "", t0);
  th.feed(true, "", t0);
  EXPECT_EQ(th.streak(), 2u);
  EXPECT_TRUE(th.last_ok());
  th.feed(false, "", t0);
  EXPECT_EQ(th.streak(), 1u);
  EXPECT_FALSE(th.last_ok());
}

TEST(Thresholds, ToString) {
  EXPECT_EQ(to_string(Health::up), "up");
  EXPECT_EQ(to_string(Health::down), "down");
}

}  // namespace
}  // namespace lvsd::checkers
