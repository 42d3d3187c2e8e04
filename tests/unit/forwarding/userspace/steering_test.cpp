#include "forwarding/userspace/steering.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

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

TEST(UserspaceSteering, QueueChainsUntrackThenQueue) {
  const std::string r = steering_ruleset(Family::inet, {nat_web()}, {100, 1});
  EXPECT_NE(r.find("*raw\n:LVSD-PRE - [0:0]\n:LVSD-Q-GSO - [0:0]\n:LVSD-Q - [0:0]\n"),
            std::string::npos)
      << r;
  // NFQUEUE is terminal: untrack first. GSO queue 100, plain queue 101.
  EXPECT_NE(r.find("-A LVSD-Q-GSO -j CT --notrack\n"
                   "-A LVSD-Q-GSO -j NFQUEUE --queue-num 100 --queue-bypass\n"),
            std::string::npos)
      << r;
  EXPECT_NE(
      r.find("-A LVSD-Q -j CT --notrack\n-A LVSD-Q -j NFQUEUE --queue-num 101 --queue-bypass\n"),
      std::string::npos)
      << r;
}

TEST(UserspaceSteering, LoopbackLeavesBeforeAnySetLookup) {
  const std::string r = steering_ruleset(Family::inet, {nat_web()}, {100, 1});
  const auto lo = r.find("-A LVSD-PRE -i lo -j RETURN\n");
  ASSERT_NE(lo, std::string::npos) << r;
  EXPECT_LT(lo, r.find("-A LVSD-PRE -m set")) << r;
  EXPECT_LT(lo, r.find("-A LVSD-PRE -p icmp")) << r;
}

TEST(UserspaceSteering, ServicesAndRepliesAreMatchedBySets) {
  const std::string r = steering_ruleset(Family::inet, {nat_web()}, {100, 1});
  EXPECT_NE(r.find("-A LVSD-PRE -m set --match-set LVSD-SVC4-GSO dst,dst -j LVSD-Q-GSO\n"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("-A LVSD-PRE -m set --match-set LVSD-SVC4 dst,dst -j LVSD-Q\n"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("-A LVSD-PRE -m set --match-set LVSD-RS4 src,src -m addrtype ! --dst-type "
                   "LOCAL -j LVSD-Q-GSO\n"),
            std::string::npos)
      << r;
  // No per-address rule: the rule count does not grow with the config.
  EXPECT_EQ(r.find("192.0.2."), std::string::npos) << r;
}

TEST(UserspaceSteering, RuleCountDoesNotGrowWithRealservers) {
  SteeringTarget big = nat_web();
  for (int i = 0; i < 1000; ++i)
    big.nat_dests.push_back(DestKey{make_address("10.0.0.1"), static_cast<uint16_t>(20000 + i)});
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  EXPECT_EQ(lines(steering_ruleset(Family::inet, {nat_web()}, {100, 1})),
            lines(steering_ruleset(Family::inet, {big}, {100, 1})));
  // The set holds them all (each once).
  const std::string sets = steering_sets(Family::inet, {big});
  EXPECT_NE(sets.find("add LVSD-RS4-NEW 10.0.0.1,tcp:20999\n"), std::string::npos);
  // 5 sets x (2 create, flush, swap, destroy) + VIP:port, VIP, 1002 RS:port, 3 RS addresses.
  EXPECT_EQ(std::count(sets.begin(), sets.end(), '\n'), 5 * 5 + 1 + 1 + 1002 + 3);
}

TEST(UserspaceSteering, SetsAreFilledAsACopyAndSwappedIn) {
  const std::string s = steering_sets(Family::inet, {nat_web()});
  const std::string want =
      "create LVSD-RS4 hash:ip,port family inet maxelem 65536\n"
      "create LVSD-RS4-NEW hash:ip,port family inet maxelem 65536\n"
      "flush LVSD-RS4-NEW\n"
      "add LVSD-RS4-NEW 192.0.2.21,tcp:8080\n"
      "add LVSD-RS4-NEW 192.0.2.22,tcp:8080\n"
      "swap LVSD-RS4-NEW LVSD-RS4\n"
      "destroy LVSD-RS4-NEW\n";
  EXPECT_NE(s.find(want), std::string::npos) << s;
  EXPECT_NE(s.find("add LVSD-SVC4-GSO-NEW 192.0.2.200,tcp:80\n"), std::string::npos) << s;
  EXPECT_NE(s.find("add LVSD-VIP4-NEW 192.0.2.200\n"), std::string::npos) << s;
  EXPECT_NE(s.find("add LVSD-RSADDR4-NEW 192.0.2.21\n"), std::string::npos) << s;
  // A NAT-only service is not in the plain set.
  EXPECT_EQ(s.find("add LVSD-SVC4-NEW"), std::string::npos) << s;
}

TEST(UserspaceSteering, IcmpErrorsToTheVipAndFromNatRealserversAreQueued) {
  const std::string r = steering_ruleset(Family::inet, {nat_web()}, {100, 1});
  for (const char* type : {"3", "11", "12"}) {
    EXPECT_NE(r.find(std::string("-A LVSD-PRE -p icmp -m icmp --icmp-type ") + type +
                     " -m set --match-set LVSD-VIP4 dst -j LVSD-Q\n"),
              std::string::npos)
        << r;
    EXPECT_NE(r.find(std::string("-A LVSD-PRE -p icmp -m icmp --icmp-type ") + type +
                     " -m set --match-set LVSD-RSADDR4 src -m addrtype ! --dst-type LOCAL -j "
                     "LVSD-Q\n"),
              std::string::npos)
        << r;
  }
}

TEST(UserspaceSteering, SeveralQueuesAreBalanced) {
  const std::string r = steering_ruleset(Family::inet, {nat_web()}, {100, 4});
  EXPECT_NE(r.find("-A LVSD-Q-GSO -j NFQUEUE --queue-balance 100:103 --queue-bypass"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("-A LVSD-Q -j NFQUEUE --queue-balance 104:107 --queue-bypass"),
            std::string::npos)
      << r;
  EXPECT_EQ(r.find("--queue-num"), std::string::npos);
}

TEST(UserspaceSteering, DirectRoutingServicesUseThePlainSet) {
  SteeringTarget dr{ServiceKey::inet(Protocol::tcp, make_address("192.0.2.201"), 80), {}};
  dr.nat_only = false;
  const std::string s = steering_sets(Family::inet, {nat_web(), dr});
  EXPECT_NE(s.find("add LVSD-SVC4-NEW 192.0.2.201,tcp:80\n"), std::string::npos) << s;
  EXPECT_NE(s.find("add LVSD-SVC4-GSO-NEW 192.0.2.200,tcp:80\n"), std::string::npos) << s;
  EXPECT_EQ(s.find("add LVSD-SVC4-GSO-NEW 192.0.2.201"), std::string::npos) << s;
}

TEST(UserspaceSteering, FamiliesAreSeparated) {
  SteeringTarget v6{ServiceKey::inet(Protocol::udp, make_address("2001:db8::200"), 53), {}};
  const std::string s4 = steering_sets(Family::inet, {nat_web(), v6});
  const std::string s6 = steering_sets(Family::inet6, {nat_web(), v6});
  EXPECT_EQ(s4.find("2001:db8::200"), std::string::npos);
  EXPECT_EQ(s6.find("192.0.2.200"), std::string::npos);
  EXPECT_NE(s6.find("create LVSD-SVC6-GSO hash:ip,port family inet6 maxelem 65536\n"),
            std::string::npos)
      << s6;
  EXPECT_NE(s6.find("add LVSD-SVC6-GSO-NEW 2001:db8::200,udp:53\n"), std::string::npos) << s6;
  const std::string r6 = steering_ruleset(Family::inet6, {nat_web(), v6}, {100, 1});
  EXPECT_NE(r6.find("-p ipv6-icmp -m icmp6 --icmpv6-type 2 -m set --match-set LVSD-VIP6 dst"),
            std::string::npos)
      << r6;
}

TEST(UserspaceSteering, AllPortServiceAndFwmarkService) {
  SteeringTarget all{ServiceKey::inet(Protocol::tcp, make_address("192.0.2.201"), 0), {}};
  SteeringTarget mark{ServiceKey::mark(7), {}};
  const std::string r = steering_ruleset(Family::inet, {all, mark}, {5, 1});
  EXPECT_NE(r.find("-A LVSD-PRE -d 192.0.2.201/32 -p tcp -j LVSD-Q-GSO\n"), std::string::npos) << r;
  // fwmark services are matched in mangle, after the operator's MARK rules.
  EXPECT_NE(
      r.find(
          "*mangle\n:LVSD-MARK - [0:0]\n-A LVSD-MARK -m mark --mark 0x7 -j NFQUEUE --queue-num 5"),
      std::string::npos)
      << r;
  // The all-port service's VIP still takes ICMP errors; it is in no port set.
  const std::string s = steering_sets(Family::inet, {all, mark});
  EXPECT_NE(s.find("add LVSD-VIP4-NEW 192.0.2.201\n"), std::string::npos) << s;
  EXPECT_EQ(s.find("add LVSD-SVC4"), std::string::npos) << s;
}

TEST(UserspaceSteering, EmptyTargetsStillDeclareChainsAndSets) {
  const std::string r = steering_ruleset(Family::inet, {}, {100, 1});
  EXPECT_NE(r.find(":LVSD-PRE - [0:0]"), std::string::npos) << r;
  EXPECT_NE(r.find(":LVSD-MARK - [0:0]"), std::string::npos) << r;
  const std::string s = steering_sets(Family::inet, {});
  EXPECT_NE(s.find("create LVSD-SVC4 hash:ip,port"), std::string::npos) << s;
  EXPECT_EQ(s.find("add "), std::string::npos) << s;
}

// Steering against recording stand-ins for ipset, iptables(-restore) and
// ip6tables(-restore): each call appends "CMD name args" and, for the
// restore commands, their input to a log; a file `fail` makes them fail.
class SteeringCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lvsd-steering-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* name : {"ipset", "ipt", "ipt-restore", "ip6t", "ip6t-restore"}) {
      const std::string path = dir_ + "/" + name;
      std::ofstream f(path);
      f << "#!/bin/sh\n"
        << "echo \"CMD $(basename \"$0\") $*\" >> " << dir_ << "/log\n"
        << "case \"$0 $*\" in *restore*) cat >> " << dir_ << "/log;; esac\n"
        << "[ -e " << dir_ << "/fail ] && exit 1\n"
        << "exit 0\n";
      f.close();
      chmod(path.c_str(), 0755);
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Steering make() { return Steering(dir_ + "/ipt", dir_ + "/ip6t", dir_ + "/ipset"); }
  // The log since the last call.
  std::string take_log() {
    std::ifstream f(dir_ + "/log");
    std::stringstream ss;
    ss << f.rdbuf();
    std::filesystem::remove(dir_ + "/log");
    return ss.str();
  }
  void set_failing(bool fail) {
    if (fail)
      std::ofstream(dir_ + "/fail") << "";
    else
      std::filesystem::remove(dir_ + "/fail");
  }

  std::string dir_;
};

TEST_F(SteeringCommands, FirstUpdateIsAFullInstall) {
  Steering st = make();
  std::string detail;
  const std::vector<SteeringTarget> targets = {nat_web()};
  ASSERT_FALSE(st.update(targets, {}, {100, 1}, detail)) << detail;
  EXPECT_TRUE(st.installed());
  const std::string log = take_log();
  // Both families: sets refilled and swapped in, rules written, jumps checked.
  EXPECT_NE(log.find("add LVSD-RS4-NEW 192.0.2.21,tcp:8080\n"), std::string::npos) << log;
  EXPECT_NE(log.find("swap LVSD-RS4-NEW LVSD-RS4\n"), std::string::npos) << log;
  EXPECT_NE(log.find("CMD ipt-restore -w 5 --noflush"), std::string::npos) << log;
  EXPECT_NE(log.find("CMD ip6t-restore -w 5 --noflush"), std::string::npos) << log;
  EXPECT_NE(log.find("CMD ipt -w 5 -t raw -C PREROUTING"), std::string::npos) << log;
}

TEST_F(SteeringCommands, OneRealserverGoneIsItsDelsAndNoRules) {
  Steering st = make();
  std::string detail;
  const SteeringTarget before = nat_web();
  ASSERT_FALSE(st.update({before}, {}, {100, 1}, detail)) << detail;
  take_log();
  SteeringTarget after = before;
  after.nat_dests.pop_back();
  const uint64_t runs = st.commands_run();
  ASSERT_FALSE(st.update({after}, {SteeringChange{before, after}}, {100, 1}, detail)) << detail;
  EXPECT_EQ(st.commands_run() - runs, 1u);  // one ipset, no iptables
  // Its RS:port, and its address (no other realserver on it).
  EXPECT_EQ(take_log(),
            "CMD ipset -exist restore\ndel LVSD-RS4 192.0.2.22,tcp:8080\n"
            "del LVSD-RSADDR4 192.0.2.22\n");
}

TEST_F(SteeringCommands, NoMemberChangeRunsNothing) {
  Steering st = make();
  std::string detail;
  const SteeringTarget t = nat_web();
  ASSERT_FALSE(st.update({t}, {}, {100, 1}, detail)) << detail;
  const uint64_t runs = st.commands_run();
  // A weight change: the backend finds the same target (no change at all);
  // a target handed in unchanged changes no member either.
  ASSERT_FALSE(st.update({t}, {SteeringChange{t, t}}, {100, 1}, detail)) << detail;
  EXPECT_EQ(st.commands_run(), runs);
}

TEST_F(SteeringCommands, RulesAreRewrittenWhenTheirTextChanges) {
  Steering st = make();
  std::string detail;
  const SteeringTarget web = nat_web();
  ASSERT_FALSE(st.update({web}, {}, {100, 1}, detail)) << detail;
  take_log();
  const SteeringTarget mark{ServiceKey::mark(7), {}};
  // Ordered by service key: address services before fwmark ones.
  ASSERT_FALSE(st.update({web, mark}, {SteeringChange{std::nullopt, mark}}, {100, 1}, detail))
      << detail;
  const std::string log = take_log();
  EXPECT_EQ(log.find("CMD ipset"), std::string::npos) << log;  // no member
  EXPECT_NE(log.find("-A LVSD-MARK -m mark --mark 0x7"), std::string::npos) << log;
  EXPECT_EQ(log.find("CMD ip6t-restore"), std::string::npos) << log;  // v6 text unchanged
}

TEST_F(SteeringCommands, AfterAFailureTheNextUpdateRefillsEverything) {
  Steering st = make();
  std::string detail;
  const SteeringTarget before = nat_web();
  ASSERT_FALSE(st.update({before}, {}, {100, 1}, detail)) << detail;
  SteeringTarget after = before;
  after.nat_dests.pop_back();
  set_failing(true);
  EXPECT_TRUE(st.update({after}, {SteeringChange{before, after}}, {100, 1}, detail));
  EXPECT_FALSE(st.installed());
  set_failing(false);
  take_log();
  // The kernel's state is unknown: the sets are refilled from the targets.
  ASSERT_FALSE(st.update({after}, {}, {100, 1}, detail)) << detail;
  EXPECT_TRUE(st.installed());
  const std::string log = take_log();
  EXPECT_NE(log.find("swap LVSD-RS4-NEW LVSD-RS4\n"), std::string::npos) << log;
  EXPECT_NE(log.find("add LVSD-RS4-NEW 192.0.2.21,tcp:8080\n"), std::string::npos) << log;
  EXPECT_EQ(log.find("192.0.2.22"), std::string::npos) << log;
}

}  // namespace
}  // namespace lvsd::forwarding::userspace
