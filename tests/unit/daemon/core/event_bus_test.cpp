#include "daemon/core/event_bus.hpp"

#include <gtest/gtest.h>

namespace lvsd::core {
namespace {

using nlohmann::json;

TEST(EventBus, StampsSeqTimeAndTypeAndDeliversToEverySubscriber) {
  EventBus bus;
  std::vector<json> a, b;
  auto sa = bus.subscribe([&](const json& e) { a.push_back(e); });
  auto sb = bus.subscribe([&](const json& e) { b.push_back(e); });
  bus.publish("reload", {{"ok", true}});
  bus.publish("stopping");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(a[0]["seq"], 1);
  EXPECT_EQ(a[1]["seq"], 2);
  EXPECT_EQ(a[0]["type"], "reload");
  EXPECT_EQ(a[0]["ok"], true);
  EXPECT_EQ(a[0]["time"].get<std::string>().size(), std::string("2026-01-01T00:00:00.000Z").size());
  EXPECT_EQ(bus.subscriber_count(), 2u);
}

TEST(EventBus, DroppingTheTokenUnsubscribes) {
  EventBus bus;
  int n = 0;
  auto s = bus.subscribe([&](const json&) { ++n; });
  bus.publish("x");
  s.reset();
  bus.publish("y");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(bus.subscriber_count(), 0u);
  EXPECT_EQ(bus.last_seq(), 2u);
}

TEST(EventBus, HandlerMayUnsubscribeItselfDuringDelivery) {
  EventBus bus;
  EventBus::Subscription s;
  int n = 0;
  s = bus.subscribe([&](const json&) {
    ++n;
    s.reset();
  });
  bus.publish("x");
  bus.publish("y");
  EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace lvsd::core
