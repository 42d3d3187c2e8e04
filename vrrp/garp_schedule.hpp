// When a master announces its VIPs (gratuitous ARP / unsolicited NA): pure.
// keepalived's model, with its knobs:
//   - on becoming master, a burst of `count` rounds, `interval` apart
//     (garp_master_delay's first burst; one round = one packet per VIP);
//   - `repeat_delay` after becoming master, a second burst the same
//     (keepalived's garp_master_delay, default 5 s; 0 = none);
//   - every `refresh` after the last burst, one more round while master
//     (garp_master_refresh; 0 = off).
// fire(now) tells how many rounds are due and when to come back.
#pragma once

#include <optional>

#include "vrrp/instance_fsm.hpp"

namespace lvsd::vrrp {

struct GarpConfig {
  unsigned count = 5;
  Duration interval{0};
  Duration repeat_delay = std::chrono::seconds(5);
  Duration refresh{0};
  bool operator==(const GarpConfig&) const = default;
};

class GarpSchedule {
 public:
  explicit GarpSchedule(GarpConfig config = {}) : config_(config) {}

  void set_config(GarpConfig config) { config_ = config; }
  const GarpConfig& config() const { return config_; }

  // Becoming master at `now`: the first burst is due now.
  void start(TimePoint now);
  void stop();
  bool active() const { return next_.has_value(); }
  std::optional<TimePoint> next() const { return next_; }

  struct Step {
    unsigned rounds = 0;            // rounds due now (each: one packet per VIP)
    std::optional<TimePoint> next;  // come back then (nullopt: done)
  };
  // Rounds due at or before `now`. A fire that comes late still sends each
  // burst's rounds only once (a missed round is not made up twice).
  Step fire(TimePoint now);

 private:
  enum class Phase { first, repeat, refresh };
  void advance();

  GarpConfig config_;
  Phase phase_ = Phase::first;
  TimePoint started_{};
  TimePoint burst_start_{};
  unsigned sent_in_burst_ = 0;
  std::optional<TimePoint> next_;
};

}  // namespace lvsd::vrrp
