#include "checkers/checker_base.hpp"

#include <random>
#include <string_view>

#include <fmt/format.h>

namespace lvsd::checkers {

namespace {

Duration draw_jitter(uint64_t seed, Duration interval) {
  if (interval <= Duration::zero()) return Duration::zero();
  std::mt19937_64 rng(seed);
  // Modulo bias is irrelevant here; the mapping is stable across platforms.
  return Duration(static_cast<Duration::rep>(rng() % static_cast<uint64_t>(interval.count())));
}

std::string format_ms(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return fmt::format("{}s", d.count() / 1000);
  return fmt::format("{}ms", d.count());
}

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

CheckerBase::CheckerBase(Clock& clock, config::Check check, std::unique_ptr<Probe> probe,
                         Options options)
    : clock_(clock),
      check_(std::move(check)),
      probe_(std::move(probe)),
      options_(options),
      thresholds_(check_.rise, check_.fall, check_.alpha, clock.now()),
      next_timer_(clock.make_timer()),
      guard_timer_(clock.make_timer()),
      jitter_(draw_jitter(options.seed, check_.interval)) {}

CheckerBase::~CheckerBase() {
  stop();
}

void CheckerBase::start() {
  if (running_) return;
  running_ = true;
  // The first start spreads; a resume after stop() keeps the phase simple:
  // jitter again, so resumed checkers do not fire together either.
  schedule(jitter_);
}

void CheckerBase::stop() {
  if (!running_) return;
  running_ = false;
  next_timer_->cancel();
  guard_timer_->cancel();
  next_at_.reset();
  if (in_flight_) {
    in_flight_ = false;
    ++attempt_id_;
    probe_->cancel();
  }
}

void CheckerBase::schedule(Duration after) {
  if (after < Duration::zero()) after = Duration::zero();
  next_at_ = clock_.now() + after;
  next_timer_->arm(after, [this] { launch(); });
}

void CheckerBase::launch() {
  const TimePoint planned = next_at_.value_or(clock_.now());
  next_at_.reset();
  if (!running_ || in_flight_) return;
  in_flight_ = true;
  started_at_ = clock_.now();
  // The cadence follows the plan, not the actual start: a timer that fires
  // late (timer slack, a busy loop) does not push every later check back.
  planned_at_ = std::min(planned, started_at_);
  uint64_t id = ++attempt_id_;
  guard_timer_->arm(check_.timeout + options_.guard_grace, [this, id] {
    if (!in_flight_ || id != attempt_id_) return;
    probe_->cancel();
    ProbeResult r;
    r.reason = "timeout after " + format_ms(check_.timeout) + " (probe did not answer)";
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(clock_.now() - started_at_);
    complete(id, std::move(r));
  });
  probe_->run(check_.timeout, [this, id](ProbeResult r) { complete(id, std::move(r)); });
}

void CheckerBase::complete(uint64_t attempt, ProbeResult r) {
  if (!in_flight_ || attempt != attempt_id_) return;  // stale: cancelled or replaced
  in_flight_ = false;
  guard_timer_->cancel();
  TimePoint now = clock_.now();
  if (r.latency <= std::chrono::microseconds::zero())
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(now - started_at_);
  ++attempts_;
  auto transition = thresholds_.feed(r.ok, r.reason, now);
  last_ = r;
  last_at_ = now;

  if (running_) {
    Duration period =
        thresholds_.changing() ? Duration(check_.fast_interval) : Duration(check_.interval);
    schedule(planned_at_ + period - now);
  }
  // Handlers last: they may stop() or start() this checker.
  if (on_result_) on_result_(r);
  if (transition && on_transition_) on_transition_(*transition);
}

CheckStatus CheckerBase::status() const {
  return CheckStatus{.state = thresholds_.state(),
                     .since = thresholds_.since(),
                     .flaps = thresholds_.flaps(),
                     .last = last_,
                     .last_at = last_at_,
                     .pending = thresholds_.pending(),
                     .changing = thresholds_.changing(),
                     .in_flight = in_flight_,
                     .attempts = attempts_};
}

uint64_t jitter_seed(const config::Check& check, const ProbeTarget& target) {
  uint64_t h = 14695981039346656037ull;
  h = fnv1a(h, check.name);
  h = fnv1a(h, std::to_string(static_cast<int>(check.type)));
  h = fnv1a(h, target.address.to_string());
  h = fnv1a(h, std::to_string(target.port));
  return h;
}

}  // namespace lvsd::checkers
