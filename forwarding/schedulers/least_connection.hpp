// The schedulers that scan the list and compare loads, with no state of their
// own: lc, wlc, sed, nq (ip_vs_{lc,wlc,sed,nq}.c), fo, ovf (ip_vs_fo.c,
// ip_vs_ovf.c) and twos (ip_vs_twos.c). Ties go to the first destination in
// list order (the newest).
#pragma once

#include <random>

#include "forwarding/schedulers/scheduler.hpp"

namespace lvsd::forwarding::schedulers {

// Least connections: the least overhead (active * 256 + inactive) among usable
// destinations; weights only exclude 0.
class LeastConnection final : public Scheduler {
 public:
  std::string_view name() const override { return "lc"; }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;
};

// Weighted least connections: the least overhead / weight, compared as
// overhead1 * weight2 > overhead2 * weight1 in 64 bits.
class WeightedLeastConnection final : public Scheduler {
 public:
  std::string_view name() const override { return "wlc"; }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;
};

// Shortest expected delay: as wlc with overhead = active + 1.
class ShortestExpectedDelay final : public Scheduler {
 public:
  std::string_view name() const override { return "sed"; }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;
};

// Never queue: the first usable destination with no active connection, else
// as sed.
class NeverQueue final : public Scheduler {
 public:
  std::string_view name() const override { return "nq"; }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;
};

// Weighted failover: the usable destination with the highest weight.
class WeightedFailover final : public Scheduler {
 public:
  std::string_view name() const override { return "fo"; }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;
};

// Overflow: the highest-weight usable destination whose active connections do
// not exceed its weight.
class Overflow final : public Scheduler {
 public:
  std::string_view name() const override { return "ovf"; }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;
};

// Power of two choices: two destinations drawn at random in proportion to
// their weights; the one with the lower overhead / weight wins.
class TwoRandomChoices final : public Scheduler {
 public:
  explicit TwoRandomChoices(uint64_t seed);
  std::string_view name() const override { return "twos"; }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;

 private:
  std::mt19937 rng_;
};

}  // namespace lvsd::forwarding::schedulers
