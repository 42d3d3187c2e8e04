#include "vrrp/tracking.hpp"

#include <algorithm>

#include "vrrp/advert_codec.hpp"  // kPriorityOwner

namespace lvsd::vrrp {

std::string_view to_string(TrackKind k) {
  switch (k) {
    case TrackKind::interface:
      return "interface";
    case TrackKind::service:
      return "service";
    case TrackKind::file:
      return "file";
    case TrackKind::script:
      return "script";
  }
  return "?";
}

TrackOutcome apply_trackers(std::uint8_t base_priority, const std::vector<Tracker>& trackers,
                            const TrackLookup& lookup) {
  TrackOutcome out;
  long sum = base_priority;
  for (const auto& t : trackers) {
    TrackerStatus s;
    s.tracker = t;
    if (auto v = lookup(t)) {
      s.known = true;
      s.value = *v;
    }
    if (t.kind == TrackKind::file) {
      // keepalived's track_file: weight 0 = any non-zero value is a failure;
      // otherwise value x weight, Fault at -254 or below.
      const std::int64_t v = s.value.value;
      if (t.weight == 0) {
        s.fault = v != 0;
      } else {
        const std::int64_t d = std::clamp<std::int64_t>(v * t.weight, -100000, 100000);
        if (d <= -254) {
          s.fault = true;
        } else {
          s.delta = static_cast<int>(d);
        }
      }
    } else if (t.weight == 0) {
      s.fault = !s.value.ok;
    } else if (t.weight > 0) {
      s.delta = s.value.ok ? t.weight : 0;
    } else {
      s.delta = s.value.ok ? 0 : t.weight;
    }
    sum += s.delta;
    if (s.fault && out.fault.empty()) {
      out.fault = "tracked " + std::string(to_string(t.kind)) + " " + t.name +
                  (t.kind == TrackKind::file ? " value " + std::to_string(s.value.value)
                                             : std::string(" down"));
    }
    out.trackers.push_back(std::move(s));
  }
  out.priority = base_priority == kPriorityOwner
                     ? kPriorityOwner
                     : static_cast<std::uint8_t>(std::clamp<long>(sum, 1, 254));
  return out;
}

}  // namespace lvsd::vrrp
