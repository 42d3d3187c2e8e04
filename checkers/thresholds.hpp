#pragma once
// Rise/fall counting for one check of one realserver: a pure class fed probe
// results plus `now`, returning the transitions it causes. No clock reads, no
// I/O, no logging.
//
// - Without `alpha` a realserver starts up (keepalived): it goes down after
//   `fall` consecutive failures.
// - With `alpha` it starts down and goes up on its first success; after that
//   (and always without alpha) going up takes `rise` consecutive successes.
// - A result agreeing with the state resets the opposite streak, so counting
//   works in both directions and only consecutive results count.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "checkers/clock.hpp"

namespace lvsd::checkers {

enum class Health { up, down };
std::string_view to_string(Health h);

struct Transition {
  Health from = Health::up;
  Health to = Health::down;
  std::string reason;  // the probe's reason for the result that tipped it
  TimePoint at{};
  bool operator==(const Transition&) const = default;
};

class Thresholds {
 public:
  Thresholds(unsigned rise, unsigned fall, bool alpha, TimePoint now);

  // Feeds one probe result; returns the transition it causes, if any.
  std::optional<Transition> feed(bool ok, std::string_view reason, TimePoint now);

  Health state() const { return state_; }
  TimePoint since() const { return since_; }  // when the current state began
  uint64_t flaps() const { return flaps_; }   // transitions so far
  // Consecutive results disagreeing with the state (towards rise/fall).
  unsigned pending() const { return pending_; }
  // Results differ from the state and the transition has not happened yet:
  // the checker uses fast_interval meanwhile.
  bool changing() const { return pending_ > 0; }
  // Consecutive results of the current kind, agreeing or not.
  unsigned streak() const { return streak_; }
  bool last_ok() const { return last_ok_; }
  unsigned rise() const { return rise_; }
  unsigned fall() const { return fall_; }
  // alpha and no success yet: the next success brings the realserver up.
  bool awaiting_first_success() const { return awaiting_first_; }

 private:
  unsigned rise_;
  unsigned fall_;
  Health state_;
  TimePoint since_;
  bool awaiting_first_;
  unsigned pending_ = 0;
  unsigned streak_ = 0;
  bool last_ok_ = false;
  uint64_t flaps_ = 0;
};

}  // namespace lvsd::checkers
