#include "vrrp/garp_schedule.hpp"

namespace lvsd::vrrp {

void GarpSchedule::start(TimePoint now) {
  started_ = now;
  burst_start_ = now;
  sent_in_burst_ = 0;
  phase_ = Phase::first;
  next_ = now;
  if (config_.count == 0) {
    // No burst; only a periodic refresh, if any.
    phase_ = Phase::refresh;
    next_.reset();
    if (config_.refresh > Duration::zero()) {
      burst_start_ = now + config_.refresh;
      next_ = burst_start_;
    }
  }
}

void GarpSchedule::stop() {
  next_.reset();
}

// After one round: the next round of this burst, or the next burst.
void GarpSchedule::advance() {
  ++sent_in_burst_;
  const unsigned burst_len = phase_ == Phase::refresh ? 1 : config_.count;
  if (sent_in_burst_ < burst_len) {
    next_ = burst_start_ + sent_in_burst_ * config_.interval;
    return;
  }
  sent_in_burst_ = 0;
  if (phase_ == Phase::first && config_.repeat_delay > Duration::zero()) {
    phase_ = Phase::repeat;
    burst_start_ = started_ + config_.repeat_delay;
    next_ = burst_start_;
    return;
  }
  if (config_.refresh > Duration::zero()) {
    phase_ = Phase::refresh;
    burst_start_ = burst_start_ + (burst_len - 1) * config_.interval + config_.refresh;
    next_ = burst_start_;
    return;
  }
  next_.reset();
}

GarpSchedule::Step GarpSchedule::fire(TimePoint now) {
  Step s;
  // At most one burst's worth per call: a long stall does not replay every
  // refresh it missed.
  const TimePoint due_start = burst_start_;
  while (next_ && *next_ <= now && burst_start_ == due_start) {
    ++s.rounds;
    advance();
  }
  if (next_ && *next_ <= now) {
    // The next burst is overdue too (the loop stalled): a repeat burst starts
    // now; a refresh just counts its period from now.
    burst_start_ = phase_ == Phase::refresh ? now + config_.refresh : now;
    next_ = burst_start_;
  }
  s.next = next_;
  return s;
}

}  // namespace lvsd::vrrp
