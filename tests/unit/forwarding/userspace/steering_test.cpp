#include "forwarding/userspace/steering.hpp"

#include <gtest/gtest.h>

namespace lvsd::forwarding::userspace {
namespace {

using boost::asio::ip::make_address;

SteeringTarget nat_web() {
  SteeringTarget t{ServiceKey::inet(Protocol::tcp, make_address("192.0.2.200"), 80), {}};
  t.nat_dests = {DestKey{make_address("192.0.2.21"), 8080},
                 DestKey{make_address("192.0.2.22"), 8080}};
  return t;
}

TEST(UserspaceSteering, AddressServiceIsUntrackedThenQueued) {
  const std::string r = steering_ruleset(Family::inet, {nat_web()}, {100, 1});
  EXPECT_NE(r.find("*raw\n:LVSD-PRE - [0:0]\n"), std::string::npos) << r;
  const std::string match = "-A LVSD-PRE -d 192.0.2.200/32 -p tcp -m tcp --dport 80";
  auto notrack = r.find(match + " -j CT --notrack\n");
  auto queue = r.find(match + " -j NFQUEUE --queue-num 100 --queue-bypass\n");
  ASSERT_NE(notrack, std::string::npos) << r;
  ASSERT_NE(queue, std::string::npos) << r;
  EXPECT_LT(notrack, queue);  // NFQUEUE is terminal: untrack first
}

TEST(UserspaceSteering, NatRepliesFromEachRealserverToNonLocalAddresses) {
  const std::string r = steering_ruleset(Family::inet, {nat_web()}, {100, 1});
  for (const char* rs : {"192.0.2.21", "192.0.2.22"}) {
    const std::string m = std::string("-A LVSD-PRE -s ") + rs +
                          "/32 -p tcp -m tcp --sport 8080 -m addrtype ! --dst-type LOCAL";
    EXPECT_NE(r.find(m + " -j CT --notrack\n"), std::string::npos) << r;
    EXPECT_NE(r.find(m + " -j NFQUEUE"), std::string::npos) << r;
  }
}

TEST(UserspaceSteering, IcmpErrorsToTheVipAreQueued) {
  const std::string r = steering_ruleset(Family::inet, {nat_web()}, {100, 1});
  for (const char* type : {"3", "11", "12"}) {
    EXPECT_NE(r.find(std::string("-A LVSD-PRE -d 192.0.2.200/32 -p icmp -m icmp --icmp-type ") +
                     type + " -j NFQUEUE"),
              std::string::npos)
        << r;
  }
}

TEST(UserspaceSteering, SeveralQueuesAreBalanced) {
  const std::string r = steering_ruleset(Family::inet, {nat_web()}, {100, 4});
  EXPECT_NE(r.find("-j NFQUEUE --queue-balance 100:103 --queue-bypass"), std::string::npos) << r;
  EXPECT_EQ(r.find("--queue-num"), std::string::npos);
}

TEST(UserspaceSteering, DirectRoutingServicesUseThePlainQueues) {
  SteeringTarget dr{ServiceKey::inet(Protocol::tcp, make_address("192.0.2.201"), 80), {}};
  dr.nat_only = false;
  const std::string r = steering_ruleset(Family::inet, {nat_web(), dr}, {100, 2});
  EXPECT_NE(r.find("-d 192.0.2.201/32 -p tcp -m tcp --dport 80 -j NFQUEUE --queue-balance 102:103"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("-d 192.0.2.200/32 -p tcp -m tcp --dport 80 -j NFQUEUE --queue-balance 100:101"),
            std::string::npos)
      << r;
}

TEST(UserspaceSteering, FamiliesAreSeparated) {
  SteeringTarget v6{ServiceKey::inet(Protocol::udp, make_address("2001:db8::200"), 53), {}};
  const std::string r4 = steering_ruleset(Family::inet, {nat_web(), v6}, {100, 1});
  const std::string r6 = steering_ruleset(Family::inet6, {nat_web(), v6}, {100, 1});
  EXPECT_EQ(r4.find("2001:db8::200"), std::string::npos);
  EXPECT_EQ(r6.find("192.0.2.200"), std::string::npos);
  EXPECT_NE(r6.find("-d 2001:db8::200/128 -p udp -m udp --dport 53"), std::string::npos) << r6;
  EXPECT_NE(r6.find("-p ipv6-icmp -m icmp6 --icmpv6-type 2"), std::string::npos) << r6;
}

TEST(UserspaceSteering, AllPortServiceAndFwmarkService) {
  SteeringTarget all{ServiceKey::inet(Protocol::tcp, make_address("192.0.2.201"), 0), {}};
  SteeringTarget mark{ServiceKey::mark(7), {}};
  const std::string r = steering_ruleset(Family::inet, {all, mark}, {5, 1});
  EXPECT_NE(r.find("-A LVSD-PRE -d 192.0.2.201/32 -p tcp -j NFQUEUE --queue-num 5"),
            std::string::npos)
      << r;
  // fwmark services are matched in mangle, after the operator's MARK rules.
  EXPECT_NE(
      r.find(
          "*mangle\n:LVSD-MARK - [0:0]\n-A LVSD-MARK -m mark --mark 0x7 -j NFQUEUE --queue-num 5"),
      std::string::npos)
      << r;
}

TEST(UserspaceSteering, EmptyTargetsStillDeclareTheChains) {
  const std::string r = steering_ruleset(Family::inet, {}, {100, 1});
  EXPECT_EQ(r, "*raw\n:LVSD-PRE - [0:0]\nCOMMIT\n*mangle\n:LVSD-MARK - [0:0]\nCOMMIT\n");
}

}  // namespace
}  // namespace lvsd::forwarding::userspace
