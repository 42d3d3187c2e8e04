#include "daemon/lvsctl/requests.hpp"

#include <gtest/gtest.h>

namespace lvsd::ctl {
namespace {

using nlohmann::json;

TEST(RealserverRequest, AdminSubcommands) {
  for (const char* sub : {"drain", "ready", "maint"}) {
    const json r = realserver_request(sub, "web", "192.0.2.22", "");
    EXPECT_EQ(r, (json{{"command", "realserver"},
                       {"service", "web"},
                       {"realserver", "192.0.2.22"},
                       {"admin", sub}}));
  }
}

TEST(RealserverRequest, WeightNumberResetOrLeftToTheDaemon) {
  EXPECT_EQ(realserver_request("weight", "web", "192.0.2.21:80", "3")["weight"], 3);
  EXPECT_EQ(realserver_request("weight", "web", "192.0.2.21:80", "0")["weight"], 0);
  EXPECT_TRUE(realserver_request("weight", "web", "192.0.2.21:80", "reset")["weight"].is_null());
  // Not ours to judge: the daemon refuses with its message (exit 1).
  EXPECT_EQ(realserver_request("weight", "web", "192.0.2.21:80", "70000")["weight"], 70000);
  EXPECT_EQ(realserver_request("weight", "web", "192.0.2.21:80", "-1")["weight"], -1);
  EXPECT_EQ(realserver_request("weight", "web", "192.0.2.21:80", "3x")["weight"], "3x");
  EXPECT_EQ(realserver_request("weight", "web", "192.0.2.21:80", "")["weight"], "");
  EXPECT_FALSE(realserver_request("weight", "web", "192.0.2.21:80", "3").contains("admin"));
}

}  // namespace
}  // namespace lvsd::ctl
