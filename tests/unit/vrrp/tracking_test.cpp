// The priority arithmetic of trackers (keepalived's track_interface /
// track_script / track_file semantics, see vrrp/tracking.hpp).
#include "vrrp/tracking.hpp"

#include <gtest/gtest.h>

#include <map>

namespace lvsd::vrrp {
namespace {

struct World {
  std::map<std::string, TrackValue> values;
  TrackLookup lookup() const {
    return [this](const Tracker& t) -> std::optional<TrackValue> {
      auto it = values.find(t.name);
      if (it == values.end()) return std::nullopt;
      return it->second;
    };
  }
};

TEST(VrrpTracking, NegativeWeightSubtractsOnlyWhileFailed) {
  World w;
  const std::vector<Tracker> t = {{TrackKind::service, "web", -60}};
  w.values["web"] = {true, 0};
  auto o = apply_trackers(200, t, w.lookup());
  EXPECT_EQ(o.priority, 200);
  EXPECT_TRUE(o.fault.empty());
  w.values["web"] = {false, 0};
  o = apply_trackers(200, t, w.lookup());
  EXPECT_EQ(o.priority, 140);
  EXPECT_TRUE(o.fault.empty());
  ASSERT_EQ(o.trackers.size(), 1u);
  EXPECT_EQ(o.trackers[0].delta, -60);
  EXPECT_TRUE(o.trackers[0].known);
}

TEST(VrrpTracking, PositiveWeightAddsOnlyWhileOk) {
  World w;
  const std::vector<Tracker> t = {{TrackKind::script, "chk", 20}};
  w.values["chk"] = {true, 0};
  EXPECT_EQ(apply_trackers(100, t, w.lookup()).priority, 120);
  w.values["chk"] = {false, 0};
  EXPECT_EQ(apply_trackers(100, t, w.lookup()).priority, 100);
}

TEST(VrrpTracking, WeightZeroFailureFaultsAndNamesTheTracker) {
  World w;
  const std::vector<Tracker> t = {{TrackKind::interface, "eth1", 0},
                                  {TrackKind::interface, "eth2", -10}};
  w.values["eth1"] = {false, 0};
  w.values["eth2"] = {false, 0};
  const auto o = apply_trackers(150, t, w.lookup());
  EXPECT_EQ(o.fault, "tracked interface eth1 down");
  EXPECT_EQ(o.priority, 140);  // the weighted one still counts
  w.values["eth1"] = {true, 0};
  EXPECT_TRUE(apply_trackers(150, t, w.lookup()).fault.empty());
}

TEST(VrrpTracking, UnknownCountsAsOk) {
  World w;
  const std::vector<Tracker> t = {{TrackKind::service, "a", 0},
                                  {TrackKind::service, "b", -50},
                                  {TrackKind::script, "c", 5},
                                  {TrackKind::file, "f", 10}};
  const auto o = apply_trackers(100, t, w.lookup());
  EXPECT_TRUE(o.fault.empty());
  EXPECT_EQ(o.priority, 105);
  EXPECT_FALSE(o.trackers[0].known);
}

TEST(VrrpTracking, SumIsClampedTo1Through254) {
  World w;
  w.values["x"] = {false, 0};
  w.values["y"] = {true, 0};
  EXPECT_EQ(apply_trackers(100, {{TrackKind::service, "x", -253}}, w.lookup()).priority, 1);
  EXPECT_EQ(apply_trackers(100, {{TrackKind::service, "y", 253}}, w.lookup()).priority, 254);
  EXPECT_EQ(apply_trackers(100, {{TrackKind::service, "x", -60}, {TrackKind::service, "y", 30}},
                           w.lookup())
                .priority,
            70);
}

TEST(VrrpTracking, OwnerKeeps255ButAFaultStillApplies) {
  World w;
  w.values["x"] = {false, 0};
  auto o = apply_trackers(255, {{TrackKind::service, "x", -100}}, w.lookup());
  EXPECT_EQ(o.priority, 255);
  EXPECT_TRUE(o.fault.empty());
  o = apply_trackers(255, {{TrackKind::service, "x", 0}}, w.lookup());
  EXPECT_EQ(o.priority, 255);
  EXPECT_FALSE(o.fault.empty());
}

TEST(VrrpTracking, FileValueTimesWeight) {
  World w;
  const std::vector<Tracker> t = {{TrackKind::file, "f", -5}};
  w.values["f"] = {true, 0};
  EXPECT_EQ(apply_trackers(100, t, w.lookup()).priority, 100);
  w.values["f"] = {true, 3};
  EXPECT_EQ(apply_trackers(100, t, w.lookup()).priority, 85);
  w.values["f"] = {true, -4};
  EXPECT_EQ(apply_trackers(100, t, w.lookup()).priority, 120);
  // value x weight <= -254: Fault (keepalived's track_file).
  w.values["f"] = {true, 51};
  auto o = apply_trackers(100, t, w.lookup());
  EXPECT_EQ(o.fault, "tracked file f value 51");
  EXPECT_EQ(o.priority, 100);
  w.values["f"] = {true, 50};
  o = apply_trackers(100, t, w.lookup());
  EXPECT_TRUE(o.fault.empty());
  EXPECT_EQ(o.priority, 1);
}

TEST(VrrpTracking, FileWeightZeroNonZeroValueIsAFault) {
  World w;
  const std::vector<Tracker> t = {{TrackKind::file, "f", 0}};
  w.values["f"] = {true, 0};
  EXPECT_TRUE(apply_trackers(100, t, w.lookup()).fault.empty());
  w.values["f"] = {true, 7};
  EXPECT_FALSE(apply_trackers(100, t, w.lookup()).fault.empty());
  // A huge value does not overflow.
  w.values["f"] = {true, INT64_MAX};
  EXPECT_FALSE(apply_trackers(100, {{TrackKind::file, "f", -3}}, w.lookup()).fault.empty());
}

}  // namespace
}  // namespace lvsd::vrrp
