#include "forwarding/schedulers/round_robin.hpp"

#include <numeric>

namespace lvsd::forwarding::schedulers {

void RoundRobin::dest_added(const DestList&, std::size_t index) {
  // Positions are indices: an insertion before the position shifts it.
  if (pos_ >= 0 && static_cast<long>(index) <= pos_) ++pos_;
}

void RoundRobin::dest_removed(const DestList&, std::size_t old_index, const Dest&) {
  const long i = static_cast<long>(old_index);
  // sched_data = p->next->prev: the entry before the removed one (or head).
  if (pos_ >= i) --pos_;
}

std::optional<std::size_t> RoundRobin::pick(const DestList& dests, const Packet&) {
  const long n = static_cast<long>(dests.size());
  if (pos_ >= n) pos_ = -1;  // defensive: list shrank without notice
  // Entries after the position, then (only if the position is not the head)
  // from the first entry up to and including the position.
  for (long i = pos_ + 1; i < n; ++i) {
    if (dests[i].usable()) return static_cast<std::size_t>(pos_ = i);
  }
  if (pos_ >= 0) {
    for (long i = 0; i <= pos_; ++i) {
      if (dests[i].usable()) return static_cast<std::size_t>(pos_ = i);
    }
  }
  return std::nullopt;
}

void WeightedRoundRobin::changed(const DestList& dests) {
  int g = 0;
  int maxw = 0;
  for (const Dest& d : dests) {
    if (d.weight > 0) g = g > 0 ? std::gcd(d.weight, g) : d.weight;
    if (d.weight > maxw) maxw = d.weight;
  }
  cl_ = -1;
  di_ = g ? g : 1;
  mw_ = maxw - (di_ - 1);
  if (cw_ > mw_ || cw_ == 0)
    cw_ = mw_;
  else if (di_ > 1)
    cw_ = (cw_ / di_) * di_ + 1;
}

std::optional<std::size_t> WeightedRoundRobin::pick(const DestList& dests, const Packet&) {
  const long n = static_cast<long>(dests.size());
  long i = cl_ < n ? cl_ : -1;
  if (mw_ == 0) {
    cl_ = i;
    return std::nullopt;
  }
  const long last = i;
  long stop = -2;  // none
  bool last_pass = false;
  bool restarted = false;
  while (true) {
    for (++i; i < n; ++i) {
      const Dest& d = dests[i];
      if (!d.overloaded && d.weight >= cw_) {
        cl_ = i;
        return static_cast<std::size_t>(i);
      }
      if (i == stop) {
        cl_ = i;
        return std::nullopt;
      }
    }
    i = -1;  // back at the head
    cw_ -= di_;
    if (cw_ <= 0) {
      cw_ = mw_;
      // Stop if the last pass (weight >= 1) already covered every dest.
      if (last_pass || last == -1) {
        cl_ = -1;
        return std::nullopt;
      }
      restarted = true;
    }
    last_pass = cw_ <= di_;
    if (last_pass && restarted && last != -1) stop = last;
  }
}

}  // namespace lvsd::forwarding::schedulers
