#include "checkers/checker_base.hpp"

#include <gtest/gtest.h>

#include <set>

#include <boost/asio/ip/tcp.hpp>

#include "checkers/probes/probes.hpp"
#include "unit/checkers/support/fake_probe.hpp"
#include "unit/checkers/support/io_wait.hpp"

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;
using test::FakeProbe;
using test::FakeProbeLog;

config::Check make_check(bool alpha = false) {
  config::Check c;
  c.type = config::CheckType::tcp;
  c.interval = 10s;
  c.fast_interval = 2s;
  c.timeout = 3s;
  c.rise = 2;
  c.fall = 3;
  c.alpha = alpha;
  return c;
}

struct Fixture {
  explicit Fixture(config::Check c = make_check(), uint64_t seed = 42)
      : checker(clock, std::move(c), std::make_unique<FakeProbe>(log), {.seed = seed}) {
    checker.on_transition([this](const Transition& t) { transitions.push_back(t); });
    checker.on_result([this](const ProbeResult& r) { results.push_back(r); });
  }
  // Starts and runs to the first attempt.
  void start_and_reach_first() {
    checker.start();
    clock.advance(checker.jitter());
    ASSERT_TRUE(log->pending());
  }
  ManualClock clock;
  std::shared_ptr<FakeProbeLog> log = std::make_shared<FakeProbeLog>();
  CheckerBase checker;
  std::vector<Transition> transitions;
  std::vector<ProbeResult> results;
};

TEST(CheckerBase, FirstAttemptAfterTheJitterWithTheCheckTimeout) {
  Fixture f;
  TimePoint t0 = f.clock.now();
  EXPECT_GE(f.checker.jitter(), 0s);
  EXPECT_LT(f.checker.jitter(), 10s);
  f.checker.start();
  EXPECT_EQ(f.checker.next_attempt(), t0 + f.checker.jitter());
  if (f.checker.jitter() > 0s) {
    f.clock.advance(f.checker.jitter() - 1ns);
    EXPECT_TRUE(f.log->runs.empty());
  }
  f.clock.advance_to(t0 + f.checker.jitter());
  ASSERT_EQ(f.log->runs.size(), 1u);
  EXPECT_EQ(f.log->runs[0], 3s);
  EXPECT_TRUE(f.checker.status().in_flight);
}

TEST(CheckerBase, JitterIsDeterministicPerSeedAndSpreadsOverTheInterval) {
  ManualClock clock;
  std::set<Duration::rep> buckets;  // one per second of the 10s interval
  Duration first{};
  for (uint64_t seed = 0; seed < 200; ++seed) {
    CheckerBase a(clock, make_check(),
                  std::make_unique<FakeProbe>(std::make_shared<FakeProbeLog>()), {.seed = seed});
    CheckerBase b(clock, make_check(),
                  std::make_unique<FakeProbe>(std::make_shared<FakeProbeLog>()), {.seed = seed});
    EXPECT_EQ(a.jitter(), b.jitter());
    EXPECT_GE(a.jitter(), 0s);
    EXPECT_LT(a.jitter(), 10s);
    buckets.insert(std::chrono::duration_cast<std::chrono::seconds>(a.jitter()).count());
    if (seed == 0) first = a.jitter();
  }
  EXPECT_EQ(buckets.size(), 10u);  // every second of the interval gets some
  // A thousand checkers configured together do not all fire at once.
  std::map<Duration::rep, int> per_100ms;
  for (uint64_t seed = 1000; seed < 2000; ++seed) {
    CheckerBase c(clock, make_check(),
                  std::make_unique<FakeProbe>(std::make_shared<FakeProbeLog>()), {.seed = seed});
    ++per_100ms[std::chrono::duration_cast<std::chrono::milliseconds>(c.jitter()).count() / 100];
  }
  for (auto [slot, n] : per_100ms)
    EXPECT_LT(n, 40) << "slot " << slot;
}

TEST(CheckerBase, JitterSeedDiffersBetweenRealserversAndIsStable) {
  config::Check c = make_check();
  ProbeTarget a{boost::asio::ip::make_address("192.0.2.1"), 80};
  ProbeTarget b{boost::asio::ip::make_address("192.0.2.2"), 80};
  EXPECT_EQ(jitter_seed(c, a), jitter_seed(c, a));
  EXPECT_NE(jitter_seed(c, a), jitter_seed(c, b));
}

TEST(CheckerBase, RunsEveryIntervalFromTheStartOfTheLastAttempt) {
  Fixture f;
  f.start_and_reach_first();
  TimePoint first = f.clock.now();
  f.clock.advance(500ms);  // the probe takes 500ms
  f.log->answer(true);
  EXPECT_EQ(f.checker.next_attempt(), first + 10s);
  f.clock.advance_to(first + 10s - 1ms);
  EXPECT_EQ(f.log->runs.size(), 1u);
  f.clock.advance(1ms);
  EXPECT_EQ(f.log->runs.size(), 2u);
  ASSERT_EQ(f.results.size(), 1u);
  EXPECT_EQ(f.results[0].latency, 500ms);
  EXPECT_EQ(f.checker.status().last->latency, 500ms);
}

TEST(CheckerBase, NeverTwoAttemptsInFlight) {
  Fixture f;
  f.start_and_reach_first();
  // The probe never answers: CheckerBase's guard ends each attempt after
  // timeout + grace, and no attempt starts while one is in flight.
  for (int i = 0; i < 600; ++i) {
    f.clock.advance(100ms);
    ASSERT_LE(f.log->in_flight, 1);
  }
  EXPECT_EQ(f.log->max_in_flight, 1);
  EXPECT_GE(f.log->runs.size(), 6u);
  EXPECT_EQ(f.log->cancels + (f.log->pending() ? 1 : 0), static_cast<int>(f.log->runs.size()));
  // Answered attempts: the same.
  while (!f.log->pending())
    f.clock.advance(100ms);
  for (int round = 0; round < 5; ++round) {
    f.log->answer(round % 2 == 0);
    f.clock.advance_to(*f.checker.next_attempt());
  }
  EXPECT_EQ(f.log->max_in_flight, 1);
}

TEST(CheckerBase, AProbeThatDoesNotAnswerFailsAfterTimeoutPlusGrace) {
  Fixture f;
  f.start_and_reach_first();
  TimePoint started = f.clock.now();
  f.clock.advance(4s - 1ms);
  EXPECT_TRUE(f.results.empty());
  f.clock.advance(1ms);
  ASSERT_EQ(f.results.size(), 1u);
  EXPECT_FALSE(f.results[0].ok);
  EXPECT_EQ(f.results[0].reason, "timeout after 3s (probe did not answer)");
  EXPECT_EQ(f.log->cancels, 1);
  EXPECT_TRUE(f.checker.status().changing);
  // Changing: the next attempt is due fast_interval after the last started,
  // already past, so it starts at once.
  EXPECT_EQ(f.log->runs.size(), 2u);
  EXPECT_EQ(f.clock.now(), started + 4s);
}

TEST(CheckerBase, FastIntervalWhileChangingUntilTheTransition) {
  Fixture f;  // fall 3, rise 2, interval 10s, fast 2s
  f.start_and_reach_first();
  std::vector<TimePoint> starts{f.clock.now()};
  auto step = [&](bool ok) {
    f.log->answer(ok);
    ASSERT_TRUE(f.checker.next_attempt());
    f.clock.advance_to(*f.checker.next_attempt());
    starts.push_back(f.clock.now());
  };
  step(true);   // agrees: interval
  step(false);  // 1/3: fast
  step(false);  // 2/3: fast
  step(false);  // 3/3: down, back to interval
  step(true);   // 1/2: fast
  step(true);   // 2/2: up
  std::vector<Duration> gaps;
  for (size_t i = 1; i < starts.size(); ++i)
    gaps.push_back(starts[i] - starts[i - 1]);
  EXPECT_EQ(gaps, (std::vector<Duration>{10s, 2s, 2s, 10s, 2s, 10s}));
  ASSERT_EQ(f.transitions.size(), 2u);
  EXPECT_EQ(f.transitions[0].to, Health::down);
  EXPECT_EQ(f.transitions[0].at, starts[3]);
  EXPECT_EQ(f.transitions[1].to, Health::up);
  EXPECT_EQ(f.checker.status().flaps, 2u);
  EXPECT_EQ(f.checker.status().since, starts[5]);
}

TEST(CheckerBase, SingleDifferingResultReturnsToTheInterval) {
  Fixture f;
  f.start_and_reach_first();
  TimePoint s = f.clock.now();
  f.log->answer(false);
  EXPECT_EQ(f.checker.next_attempt(), s + 2s);
  f.clock.advance(2s);
  f.log->answer(true);
  EXPECT_EQ(f.checker.next_attempt(), s + 12s);
  EXPECT_TRUE(f.transitions.empty());
}

TEST(CheckerBase, AlphaStartsDownAndComesUpOnTheFirstSuccess) {
  Fixture f(make_check(true));
  EXPECT_EQ(f.checker.state(), Health::down);
  f.start_and_reach_first();
  f.log->answer(false, "refused");
  EXPECT_EQ(f.checker.state(), Health::down);
  EXPECT_TRUE(f.transitions.empty());
  f.clock.advance(10s);
  f.log->answer(true, "200");
  ASSERT_EQ(f.transitions.size(), 1u);
  EXPECT_EQ(f.transitions[0].from, Health::down);
  EXPECT_EQ(f.transitions[0].to, Health::up);
  EXPECT_EQ(f.transitions[0].reason, "200");
  EXPECT_EQ(f.checker.state(), Health::up);
}

TEST(CheckerBase, WithoutAlphaStartsUpAndFallsAfterFall) {
  Fixture f;
  EXPECT_EQ(f.checker.state(), Health::up);
  f.start_and_reach_first();
  for (int i = 0; i < 3; ++i) {
    f.log->answer(false, "connection refused");
    f.clock.advance_to(*f.checker.next_attempt());
  }
  ASSERT_EQ(f.transitions.size(), 1u);
  EXPECT_EQ(f.transitions[0].reason, "connection refused");
  auto st = f.checker.status();
  EXPECT_EQ(st.state, Health::down);
  EXPECT_EQ(st.last->reason, "connection refused");
  EXPECT_EQ(st.attempts, 3u);
}

TEST(CheckerBase, StopCancelsTheAttemptAndKeepsState) {
  Fixture f;
  f.start_and_reach_first();
  f.log->answer(false);
  f.clock.advance(2s);
  ASSERT_TRUE(f.log->pending());
  f.checker.stop();
  EXPECT_EQ(f.log->cancels, 1);
  EXPECT_FALSE(f.checker.status().in_flight);
  EXPECT_FALSE(f.checker.next_attempt());
  f.clock.advance(1h);
  EXPECT_EQ(f.log->runs.size(), 2u);
  EXPECT_EQ(f.clock.pending(), 0u);
  EXPECT_EQ(f.checker.status().pending, 1u);
  f.checker.start();
  f.clock.advance(f.checker.jitter());
  EXPECT_EQ(f.log->runs.size(), 3u);
}

TEST(CheckerBase, StaleCompletionAfterStopIsIgnored) {
  ManualClock clock;
  auto log = std::make_shared<FakeProbeLog>();
  // A probe breaking the contract: it answers after cancel().
  struct Rogue : Probe {
    std::function<void(ProbeResult)> done;
    void run(std::chrono::milliseconds, std::function<void(ProbeResult)> d) override {
      done = std::move(d);
    }
    void cancel() override {}
  };
  auto rogue = std::make_unique<Rogue>();
  Rogue* r = rogue.get();
  CheckerBase c(clock, make_check(), std::move(rogue), {.seed = 1});
  int results = 0;
  c.on_result([&](const ProbeResult&) { ++results; });
  c.start();
  clock.advance(c.jitter());
  ASSERT_TRUE(r->done);
  c.stop();
  r->done(ProbeResult{});
  EXPECT_EQ(results, 0);
  EXPECT_EQ(c.status().attempts, 0u);
}

TEST(CheckerBase, HandlersMayStopTheChecker) {
  Fixture f(make_check(), 7);
  f.checker.on_transition([&](const Transition&) { f.checker.stop(); });
  f.start_and_reach_first();
  for (int i = 0; i < 3; ++i) {
    f.log->answer(false);
    if (f.checker.next_attempt()) f.clock.advance_to(*f.checker.next_attempt());
  }
  EXPECT_FALSE(f.checker.running());
  EXPECT_EQ(f.clock.pending(), 0u);
}

TEST(CheckerBase, ManualClockFiresTimersInDeadlineOrder) {
  ManualClock clock;
  auto a = clock.make_timer();
  auto b = clock.make_timer();
  std::vector<std::string> fired;
  a->arm(2s, [&] { fired.push_back("a"); });
  b->arm(1s, [&] { fired.push_back("b"); });
  clock.advance(5s);
  EXPECT_EQ(fired, (std::vector<std::string>{"b", "a"}));
  a->arm(1s, [&] { fired.push_back("a2"); });
  a->cancel();
  b->arm(1s, [&] { fired.push_back("b2"); });
  b.reset();
  clock.advance(5s);
  EXPECT_EQ(fired.size(), 2u);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(CheckerBase, RealClockAndProbeOnTheIoContext) {
  // AsioClock + the tcp probe: a realserver whose port is closed goes down
  // after `fall` attempts, then comes back after `rise` once it listens.
  boost::asio::io_context io;
  AsioClock clock(io);
  auto local = boost::asio::ip::make_address("127.0.0.1");
  boost::asio::ip::tcp::acceptor acceptor(io);
  boost::asio::ip::tcp::endpoint ep(local, 0);
  acceptor.open(ep.protocol());
  acceptor.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true));
  acceptor.bind(ep);
  uint16_t port = acceptor.local_endpoint().port();  // bound, not listening: refused
  config::Check c = make_check();
  c.interval = 40ms;
  c.fast_interval = 10ms;
  c.timeout = 30ms;
  c.rise = 2;
  c.fall = 2;
  CheckerBase checker(clock, c, make_tcp_probe(io, c, {local, port}), {.seed = 3});
  std::vector<Transition> seen;
  checker.on_transition([&](const Transition& t) { seen.push_back(t); });
  checker.start();
  ASSERT_TRUE(test::run_until(
      io, [&] { return seen.size() == 1; }, 5s));
  EXPECT_EQ(seen[0].to, Health::down);
  EXPECT_EQ(seen[0].reason, "connect: connection refused");
  acceptor.listen();
  ASSERT_TRUE(test::run_until(
      io, [&] { return seen.size() == 2; }, 5s));
  EXPECT_EQ(seen[1].to, Health::up);
  EXPECT_EQ(checker.status().flaps, 2u);
  checker.stop();
}

TEST(CheckerBase, TimerSlackKeepsTheCadence) {
  // With slack, each launch is late by up to the slack; the next attempt is
  // still planned from when this one was due, so the rate stays 1/interval
  // (interval 50 ms, slack 40 ms: 20 a second; planned from the late start it
  // would be about 12).
  boost::asio::io_context io;
  AsioClock clock(io, 40ms);
  auto local = boost::asio::ip::make_address("127.0.0.1");
  boost::asio::ip::tcp::acceptor acceptor(io, {local, 0});
  config::Check c = make_check();
  c.interval = 50ms;
  c.fast_interval = 50ms;
  c.timeout = 40ms;
  CheckerBase checker(clock, c, make_tcp_probe(io, c, {local, acceptor.local_endpoint().port()}),
                      {.seed = 5});
  checker.start();
  io.run_for(1s + checker.jitter());
  checker.stop();
  EXPECT_GE(checker.status().attempts, 17u);
  EXPECT_LE(checker.status().attempts, 21u);
}

}  // namespace
}  // namespace lvsd::checkers
