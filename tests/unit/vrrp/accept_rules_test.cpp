#include "vrrp/accept_rules.hpp"

#include <gtest/gtest.h>

namespace lvsd::vrrp {
namespace {

using boost::asio::ip::make_address;

TEST(VrrpAcceptRules, Ipv4DropsAllButVrrp) {
  const std::vector<boost::asio::ip::address> vips = {
      make_address("192.0.2.200"), make_address("2001:db8::200"), make_address("192.0.2.201")};
  EXPECT_EQ(accept_ruleset(Family::inet, vips),
            "*filter\n"
            ":LVSD-VRRP-ACCEPT - [0:0]\n"
            "-A LVSD-VRRP-ACCEPT -d 192.0.2.200/32 -p 112 -j RETURN\n"
            "-A LVSD-VRRP-ACCEPT -d 192.0.2.200/32 -j DROP\n"
            "-A LVSD-VRRP-ACCEPT -d 192.0.2.201/32 -p 112 -j RETURN\n"
            "-A LVSD-VRRP-ACCEPT -d 192.0.2.201/32 -j DROP\n"
            "COMMIT\n");
}

TEST(VrrpAcceptRules, Ipv6LetsNeighbourDiscoveryThrough) {
  const std::vector<boost::asio::ip::address> vips = {make_address("192.0.2.200"),
                                                      make_address("2001:db8::200")};
  EXPECT_EQ(accept_ruleset(Family::inet6, vips),
            "*filter\n"
            ":LVSD-VRRP-ACCEPT - [0:0]\n"
            "-A LVSD-VRRP-ACCEPT -d 2001:db8::200/128 -p 112 -j RETURN\n"
            "-A LVSD-VRRP-ACCEPT -d 2001:db8::200/128 -p ipv6-icmp -m icmp6 --icmpv6-type 135 "
            "-j RETURN\n"
            "-A LVSD-VRRP-ACCEPT -d 2001:db8::200/128 -p ipv6-icmp -m icmp6 --icmpv6-type 136 "
            "-j RETURN\n"
            "-A LVSD-VRRP-ACCEPT -d 2001:db8::200/128 -j DROP\n"
            "COMMIT\n");
}

TEST(VrrpAcceptRules, NoVipsIsAnEmptyChain) {
  // Declaring the chain in iptables-restore --noflush empties it.
  EXPECT_EQ(accept_ruleset(Family::inet, {}), "*filter\n:LVSD-VRRP-ACCEPT - [0:0]\nCOMMIT\n");
}

TEST(VrrpAcceptRules, MissingCommandIsAnError) {
  AcceptRules rules("/nonexistent/iptables", "/nonexistent/ip6tables");
  std::string detail;
  EXPECT_TRUE(rules.install({make_address("192.0.2.200")}, detail));
  EXPECT_NE(detail.find("/nonexistent/iptables-restore"), std::string::npos) << detail;
}

}  // namespace
}  // namespace lvsd::vrrp
