// Every example under etc/ loads without errors and survives a dump round trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "daemon/config/dump.hpp"
#include "daemon/config/loader.hpp"

namespace lvsd::config {
namespace {

std::vector<std::string> example_files() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(LVSD_SOURCE_DIR) + "/etc")) {
    if (e.path().extension() == ".yaml") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ConfigExamples, TheExpectedExamplesExist) {
  auto files = example_files();
  for (const char* name :
       {"lvsd.yaml", "nat-web.yaml", "dr.yaml", "tun.yaml", "active-standby-director1.yaml",
        "active-standby-director2.yaml", "ipv6.yaml", "lab.yaml"}) {
    std::string want = std::string(LVSD_SOURCE_DIR) + "/etc/" + name;
    EXPECT_NE(std::find(files.begin(), files.end(), want), files.end()) << want;
  }
}

TEST(ConfigExamples, EveryExampleLoadsWithoutErrors) {
  auto files = example_files();
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    auto r = load_file(f);
    for (const auto& e : r.errors)
      ADD_FAILURE() << e.str();
    EXPECT_TRUE(r.ok());
  }
}

TEST(ConfigExamples, EveryExampleRoundTripsThroughDump) {
  for (const auto& f : example_files()) {
    SCOPED_TRACE(f);
    auto r = load_file(f);
    ASSERT_TRUE(r.ok());
    std::string dumped = dump_yaml(*r.config);
    auto again = load_string(dumped, "dump of " + f);
    for (const auto& e : again.errors)
      ADD_FAILURE() << e.str() << "\n" << dumped;
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again.config, *r.config) << dumped;
    EXPECT_EQ(dump_yaml(*again.config), dumped);  // the dump is a fixed point
  }
}

TEST(ConfigExamples, LabMatchesTheDemo) {
  auto r = load_file(std::string(LVSD_SOURCE_DIR) + "/etc/lab.yaml");
  ASSERT_TRUE(r.ok());
  const auto& c = *r.config;
  ASSERT_EQ(c.services.size(), 2u);  // web, and echo for the failover demo
  const auto& s = c.services[0];
  EXPECT_EQ(s.key(), "tcp 192.0.2.200:80");
  EXPECT_EQ(c.services[1].key(), "tcp 192.0.2.200:7");
  EXPECT_EQ(s.scheduler, "wlc");
  EXPECT_EQ(s.method, Method::nat);
  ASSERT_EQ(s.realservers.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(s.realservers[i].key(), "192.0.2.2" + std::to_string(i + 1) + ":80");
    ASSERT_TRUE(s.realservers[i].check);
    EXPECT_EQ(s.realservers[i].check->type, CheckType::http);
    EXPECT_EQ(s.realservers[i].check->http.path, "/healthz");
  }
  ASSERT_EQ(c.vrrp.instances.size(), 1u);
  EXPECT_EQ(c.vrrp.instances[0].name, "VI_LAB");
  EXPECT_EQ(c.vrrp.instances[0].interface, "eth0");
  EXPECT_EQ(c.vrrp.instances[0].vrid, 51);
  ASSERT_EQ(c.vrrp.instances[0].virtual_addresses.size(), 2u);  // VIP and the RS gateway
  ASSERT_TRUE(c.sync.has_value());
  EXPECT_EQ(c.sync->role.follow, "VI_LAB");
  EXPECT_EQ(c.vrrp.instances[0].virtual_addresses[0].address.to_string(), "192.0.2.200");
  EXPECT_EQ(c.vrrp.instances[0].virtual_addresses[0].prefix, 24u);
  EXPECT_EQ(c.global.status_socket.path, "/run/lvsd/lvsd.sock");
}

}  // namespace
}  // namespace lvsd::config
