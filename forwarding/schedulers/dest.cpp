#include "forwarding/schedulers/dest.hpp"

#include <limits>
#include <stdexcept>

namespace lvsd::forwarding::schedulers {

namespace {
int32_t clamp_weight(uint32_t w) {
  return w > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())
             ? std::numeric_limits<int32_t>::max()
             : static_cast<int32_t>(w);
}
}  // namespace

void update_overload(Dest& d) {
  const uint32_t u = d.upper_threshold;
  if (u == 0) {
    d.overloaded = false;
    return;
  }
  const int64_t conns = d.total_conns();
  if (conns >= u) {
    d.overloaded = true;
    return;
  }
  const uint32_t l = d.lower_threshold != 0 ? d.lower_threshold : u - (u >> 2);
  if (conns >= l) return;  // hysteresis: keep the flag as it is
  d.overloaded = false;
}

std::optional<std::size_t> DestList::find(const DestKey& key) const {
  for (std::size_t i = 0; i < dests_.size(); ++i)
    if (dests_[i].key == key) return i;
  return std::nullopt;
}

std::size_t DestList::add(const RealServer& rs) {
  if (find(rs.key()))
    throw std::invalid_argument("DestList::add: " + rs.key().to_string() + " exists");
  Dest d;
  d.key = rs.key();
  d.weight = clamp_weight(rs.weight);
  d.last_weight = d.weight;  // "if (add || udest->weight != 0)"
  d.upper_threshold = rs.upper_threshold;
  d.lower_threshold = rs.lower_threshold;
  for (auto it = trash_.begin(); it != trash_.end(); ++it) {
    if (it->key == d.key) {
      d.active_conns = it->active_conns;
      d.inactive_conns = it->inactive_conns;
      d.overloaded = it->overloaded;
      trash_.erase(it);
      break;
    }
  }
  update_overload(d);
  dests_.insert(dests_.begin(), d);
  return 0;
}

void DestList::update(std::size_t i, const RealServer& rs) {
  Dest& d = dests_.at(i);
  d.weight = clamp_weight(rs.weight);
  if (d.weight != 0) d.last_weight = d.weight;
  if (d.upper_threshold != rs.upper_threshold || d.lower_threshold != rs.lower_threshold) {
    d.upper_threshold = rs.upper_threshold;
    d.lower_threshold = rs.lower_threshold;
    update_overload(d);
  }
}

Dest DestList::remove(std::size_t i) {
  Dest d = dests_.at(i);
  dests_.erase(dests_.begin() + static_cast<std::ptrdiff_t>(i));
  if (d.total_conns() > 0) trash_.push_back(d);
  return d;
}

bool DestList::deactivate_trashed(const DestKey& key) {
  for (Dest& d : trash_) {
    if (d.key == key) {
      d.active_conns--;
      d.inactive_conns++;
      return true;
    }
  }
  return false;
}

bool DestList::unbind_trashed(const DestKey& key, bool active) {
  for (auto it = trash_.begin(); it != trash_.end(); ++it) {
    if (it->key == key) {
      (active ? it->active_conns : it->inactive_conns)--;
      if (it->total_conns() <= 0) trash_.erase(it);
      return true;
    }
  }
  return false;
}

void DestList::bind(std::size_t i, bool active) {
  Dest& d = dests_.at(i);
  (active ? d.active_conns : d.inactive_conns)++;
  update_overload(d);
}

void DestList::unbind(std::size_t i, bool active) {
  Dest& d = dests_.at(i);
  (active ? d.active_conns : d.inactive_conns)--;
  if (d.overloaded) update_overload(d);
}

void DestList::activate(std::size_t i) {
  Dest& d = dests_.at(i);
  d.inactive_conns--;
  d.active_conns++;
}

void DestList::deactivate(std::size_t i) {
  Dest& d = dests_.at(i);
  d.active_conns--;
  d.inactive_conns++;
}

void DestList::set_counts(std::size_t i, int32_t active, int32_t inactive) {
  Dest& d = dests_.at(i);
  d.active_conns = active;
  d.inactive_conns = inactive;
  d.overloaded = false;
  update_overload(d);
}

}  // namespace lvsd::forwarding::schedulers
