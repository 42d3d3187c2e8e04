// Tracking: what tracked objects (interfaces, services' quorum, files,
// scripts) do to a VRRP instance, pure. keepalived's semantics
// (keepalived.conf(5) track_interface / track_script / track_file):
//   - weight 0: the object failing puts the instance in Fault;
//   - weight > 0: the priority rises by weight while the object is OK;
//   - weight < 0: the priority falls by |weight| while the object fails;
//   - a file holds an integer v: with weight 0, v != 0 is a failure (Fault);
//     otherwise v x weight is added to the priority, and v x weight <= -254
//     puts the instance in Fault;
//   - the sum is clamped to 1..254; an address owner (255) keeps 255 (weights
//     do not apply), but a weight-0 failure still faults it.
// An object not observed yet counts as OK (value 0 for a file): the checkers
// start with quorum up, and keepalived's scripts start OK unless init_fail.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lvsd::vrrp {

enum class TrackKind { interface, service, file, script };
std::string_view to_string(TrackKind k);

// One tracked object of one instance (weight already resolved: an entry's own
// non-zero weight, else the script's / file's).
struct Tracker {
  TrackKind kind = TrackKind::interface;
  std::string name;
  int weight = 0;
  bool operator==(const Tracker&) const = default;
};

// What is known about a tracked object: ok for interfaces, services and
// scripts; value for files.
struct TrackValue {
  bool ok = true;
  std::int64_t value = 0;
  bool operator==(const TrackValue&) const = default;
};

struct TrackerStatus {
  Tracker tracker;
  bool known = false;  // observed at least once
  TrackValue value;
  int delta = 0;       // what it adds to the priority
  bool fault = false;  // it faults the instance
};

struct TrackOutcome {
  std::uint8_t priority = 0;  // effective
  std::string fault;          // "" = none, else the first faulting tracker
  std::vector<TrackerStatus> trackers;
};

using TrackLookup = std::function<std::optional<TrackValue>(const Tracker&)>;

TrackOutcome apply_trackers(std::uint8_t base_priority, const std::vector<Tracker>& trackers,
                            const TrackLookup& lookup);

}  // namespace lvsd::vrrp
