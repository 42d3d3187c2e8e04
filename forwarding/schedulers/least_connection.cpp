#include "forwarding/schedulers/least_connection.hpp"

namespace lvsd::forwarding::schedulers {

namespace {

// The wlc/sed loop: the first usable dest, then any non-overloaded dest whose
// overhead/weight is strictly lower (a weight-0 dest never is: loh * 0 >
// doh * w is false for doh >= 0).
template <typename Overhead>
std::optional<std::size_t> weighted_least(const DestList& dests, Overhead overhead) {
  const std::size_t n = dests.size();
  std::size_t i = 0;
  while (i < n && !dests[i].usable())
    ++i;
  if (i == n) return std::nullopt;
  std::size_t least = i;
  int64_t loh = overhead(dests[i]);
  for (++i; i < n; ++i) {
    const Dest& d = dests[i];
    if (d.overloaded) continue;
    const int64_t doh = overhead(d);
    if (loh * d.weight > doh * dests[least].weight) {
      least = i;
      loh = doh;
    }
  }
  return least;
}

int64_t sed_overhead(const Dest& d) {
  return int64_t{d.active_conns} + 1;
}

}  // namespace

std::optional<std::size_t> LeastConnection::pick(const DestList& dests, const Packet&) {
  std::optional<std::size_t> least;
  int64_t loh = 0;
  for (std::size_t i = 0; i < dests.size(); ++i) {
    const Dest& d = dests[i];
    if (d.overloaded || d.weight == 0) continue;
    const int64_t doh = d.overhead();
    if (!least || doh < loh) {
      least = i;
      loh = doh;
    }
  }
  return least;
}

std::optional<std::size_t> WeightedLeastConnection::pick(const DestList& dests, const Packet&) {
  return weighted_least(dests, [](const Dest& d) { return d.overhead(); });
}

std::optional<std::size_t> ShortestExpectedDelay::pick(const DestList& dests, const Packet&) {
  return weighted_least(dests, sed_overhead);
}

std::optional<std::size_t> NeverQueue::pick(const DestList& dests, const Packet&) {
  std::optional<std::size_t> least;
  int64_t loh = 0;
  for (std::size_t i = 0; i < dests.size(); ++i) {
    const Dest& d = dests[i];
    if (d.overloaded || d.weight == 0) continue;
    const int64_t doh = sed_overhead(d);
    if (d.active_conns == 0) return i;  // idle: take it at once
    if (!least || loh * d.weight > doh * dests[*least].weight) {
      least = i;
      loh = doh;
    }
  }
  return least;
}

std::optional<std::size_t> WeightedFailover::pick(const DestList& dests, const Packet&) {
  std::optional<std::size_t> best;
  int32_t hw = 0;
  for (std::size_t i = 0; i < dests.size(); ++i) {
    const Dest& d = dests[i];
    if (!d.overloaded && d.weight > hw) {
      best = i;
      hw = d.weight;
    }
  }
  return best;
}

std::optional<std::size_t> Overflow::pick(const DestList& dests, const Packet&) {
  std::optional<std::size_t> best;
  int32_t hw = 0;
  for (std::size_t i = 0; i < dests.size(); ++i) {
    const Dest& d = dests[i];
    const int32_t w = d.weight;
    if (d.overloaded || d.active_conns > w || w == 0) continue;
    if (!best || w > hw) {
      best = i;
      hw = w;
    }
  }
  return best;
}

TwoRandomChoices::TwoRandomChoices(uint64_t seed)
    : rng_(static_cast<std::mt19937::result_type>(seed != 0 ? seed : std::random_device{}())) {}

std::optional<std::size_t> TwoRandomChoices::pick(const DestList& dests, const Packet&) {
  int64_t total = 0;
  std::optional<std::size_t> choice1;
  for (std::size_t i = 0; i < dests.size(); ++i) {
    if (dests[i].usable()) {
      total += dests[i].weight;
      choice1 = i;
    }
  }
  if (!choice1) return std::nullopt;
  // [0, total] inclusive, as the kernel's prandom_u32() % (total + 1).
  total += 1;
  int64_t r1 = static_cast<int64_t>(rng_() % static_cast<uint64_t>(total));
  int64_t r2 = static_cast<int64_t>(rng_() % static_cast<uint64_t>(total));
  std::optional<std::size_t> choice2;
  int64_t w1 = -1, w2 = -1, oh1 = 0, oh2 = 0;
  for (std::size_t i = 0; i < dests.size(); ++i) {
    const Dest& d = dests[i];
    if (!d.usable()) continue;
    r1 -= d.weight;
    r2 -= d.weight;
    if (r1 <= 0 && w1 == -1) {
      choice1 = i;
      w1 = d.weight;
      oh1 = d.overhead();
    }
    if (r2 <= 0 && w2 == -1) {
      choice2 = i;
      w2 = d.weight;
      oh2 = d.overhead();
    }
    if (w1 != -1 && w2 != -1) break;
  }
  if (choice2 && w2 * oh1 > w1 * oh2) choice1 = choice2;
  return choice1;
}

}  // namespace lvsd::forwarding::schedulers
