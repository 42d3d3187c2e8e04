// rr and wrr (ip_vs_rr.c, ip_vs_wrr.c).
#pragma once

#include "forwarding/schedulers/scheduler.hpp"

namespace lvsd::forwarding::schedulers {

// Round robin: the next usable destination after the last one picked, in list
// order. The position survives adds; when the destination at the position is
// removed it moves back to the one before it (ip_vs_rr_del_dest).
class RoundRobin final : public Scheduler {
 public:
  std::string_view name() const override { return "rr"; }
  void init(const DestList&) override { pos_ = -1; }
  void dest_added(const DestList& dests, std::size_t index) override;
  void dest_removed(const DestList& dests, std::size_t old_index, const Dest& removed) override;
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;

 private:
  long pos_ = -1;  // index of the last pick; -1 = the list head
};

// Weighted round robin. mw = max weight - (gcd - 1), di = gcd of the non-zero
// weights; passes with cw = mw, mw - di, ... down to >= 1 pick every usable
// destination with weight >= cw. Any change of the list resets the position
// to the head and keeps cw (rounded down to the gcd grid, + 1), as
// ip_vs_wrr_dest_changed.
class WeightedRoundRobin final : public Scheduler {
 public:
  std::string_view name() const override { return "wrr"; }
  void init(const DestList& dests) override {
    cw_ = 0;
    changed(dests);
  }
  void dest_added(const DestList& dests, std::size_t) override { changed(dests); }
  void dest_removed(const DestList& dests, std::size_t, const Dest&) override { changed(dests); }
  void dest_updated(const DestList& dests, std::size_t) override { changed(dests); }
  std::optional<std::size_t> pick(const DestList& dests, const Packet& packet) override;

  int current_weight() const { return cw_; }

 private:
  void changed(const DestList& dests);
  long cl_ = -1;  // current dest; -1 = head
  int cw_ = 0;
  int mw_ = 0;
  int di_ = 1;
};

}  // namespace lvsd::forwarding::schedulers
