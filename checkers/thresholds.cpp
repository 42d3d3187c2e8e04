#include "checkers/thresholds.hpp"

#include <algorithm>

namespace lvsd::checkers {

std::string_view to_string(Health h) {
  return h == Health::up ? "up" : "down";
}

Thresholds::Thresholds(unsigned rise, unsigned fall, bool alpha, TimePoint now)
    : rise_(std::max(rise, 1u)),
      fall_(std::max(fall, 1u)),
      state_(alpha ? Health::down : Health::up),
      since_(now),
      awaiting_first_(alpha) {}

std::optional<Transition> Thresholds::feed(bool ok, std::string_view reason, TimePoint now) {
  streak_ = (ok == last_ok_ && streak_ > 0) ? streak_ + 1 : 1;
  last_ok_ = ok;

  bool agrees = ok == (state_ == Health::up);
  if (agrees) {
    pending_ = 0;
    return std::nullopt;
  }
  ++pending_;
  unsigned needed = ok ? (awaiting_first_ ? 1 : rise_) : fall_;
  if (ok) awaiting_first_ = false;
  if (pending_ < needed) return std::nullopt;

  Transition t{state_, ok ? Health::up : Health::down, std::string(reason), now};
  state_ = t.to;
  since_ = now;
  pending_ = 0;
  ++flaps_;
  return t;
}

}  // namespace lvsd::checkers
