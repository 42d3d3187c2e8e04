#include "forwarding/userspace/steering_members.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

#include "forwarding/userspace/steering.hpp"

namespace lvsd::forwarding::userspace {
namespace {

using boost::asio::ip::make_address;

SteeringTarget target(const char* vip, uint16_t port, std::vector<uint16_t> rs_ports,
                      Protocol proto = Protocol::tcp) {
  SteeringTarget t{ServiceKey::inet(proto, make_address(vip), port), {}};
  for (uint16_t p : rs_ports)
    t.nat_dests.push_back(DestKey{make_address("10.0.0.1"), p});
  return t;
}

TEST(UserspaceSteeringMembers, FirstTargetAddsItsMembers) {
  SteeringMembers m;
  m.add(target("192.0.2.200", 80, {8080, 8081}));
  EXPECT_TRUE(m.has_changes());
  EXPECT_EQ(m.take_changes(),
            "add LVSD-SVC4-GSO 192.0.2.200,tcp:80\n"
            "add LVSD-VIP4 192.0.2.200\n"
            "add LVSD-RS4 10.0.0.1,tcp:8080\n"
            "add LVSD-RS4 10.0.0.1,tcp:8081\n"
            "add LVSD-RSADDR4 10.0.0.1\n");
  EXPECT_FALSE(m.has_changes());
  EXPECT_EQ(m.take_changes(), "");
}

TEST(UserspaceSteeringMembers, OneRealserverGoneIsOneDel) {
  SteeringMembers m;
  const SteeringTarget before = target("192.0.2.200", 80, {8080, 8081, 8082});
  m.add(before);
  m.take_changes();
  m.remove(before);
  m.add(target("192.0.2.200", 80, {8080, 8082}));
  EXPECT_EQ(m.take_changes(), "del LVSD-RS4 10.0.0.1,tcp:8081\n");
  EXPECT_EQ(m.members(Family::inet, SteeringMembers::nat_realservers).size(), 2u);
}

TEST(UserspaceSteeringMembers, SharedMembersStayWhileOneTargetNeedsThem) {
  SteeringMembers m;
  const SteeringTarget web = target("192.0.2.200", 80, {8080});
  const SteeringTarget tls = target("192.0.2.200", 443, {8080});  // same VIP, same realserver
  m.add(web);
  m.add(tls);
  m.take_changes();
  m.remove(tls);
  // The VIP, the realserver and its address are still web's.
  EXPECT_EQ(m.take_changes(), "del LVSD-SVC4-GSO 192.0.2.200,tcp:443\n");
  m.remove(web);
  EXPECT_EQ(m.take_changes(),
            "del LVSD-SVC4-GSO 192.0.2.200,tcp:80\n"
            "del LVSD-VIP4 192.0.2.200\n"
            "del LVSD-RS4 10.0.0.1,tcp:8080\n"
            "del LVSD-RSADDR4 10.0.0.1\n");
}

TEST(UserspaceSteeringMembers, AddsComeBeforeDels) {
  SteeringMembers m;
  const SteeringTarget a = target("192.0.2.200", 80, {8080});
  m.add(a);
  m.take_changes();
  m.remove(a);
  m.add(target("192.0.2.200", 80, {9090}));
  EXPECT_EQ(m.take_changes(),
            "add LVSD-RS4 10.0.0.1,tcp:9090\n"
            "del LVSD-RS4 10.0.0.1,tcp:8080\n");
}

TEST(UserspaceSteeringMembers, AChangeUndoneBeforeTheTakeIsNoChange) {
  SteeringMembers m;
  const SteeringTarget a = target("192.0.2.200", 80, {8080});
  m.add(a);
  m.take_changes();
  m.remove(a);
  m.add(a);
  EXPECT_FALSE(m.has_changes());
  EXPECT_EQ(m.take_changes(), "");
  // And the other way round: added then removed before anyone saw it.
  const SteeringTarget b = target("192.0.2.201", 53, {53}, Protocol::udp);
  m.add(b);
  m.remove(b);
  EXPECT_EQ(m.take_changes(), "");
}

TEST(UserspaceSteeringMembers, DirectRoutingFwmarkAndFamilies) {
  SteeringMembers m;
  SteeringTarget dr{ServiceKey::inet(Protocol::tcp, make_address("192.0.2.200"), 80), {}, false};
  m.add(dr);  // a DR service: the plain set, no realserver members
  m.add(SteeringTarget{ServiceKey::mark(7), {DestKey{make_address("10.0.0.9"), 80}}});  // none
  SteeringTarget v6{ServiceKey::inet(Protocol::udp, make_address("2001:db8::1"), 53), {}};
  v6.nat_dests = {DestKey{make_address("2001:db8::21"), 53},
                  DestKey{make_address("10.0.0.1"), 53}};  // other family: not here
  m.add(v6);
  EXPECT_EQ(m.take_changes(),
            "add LVSD-SVC4 192.0.2.200,tcp:80\n"
            "add LVSD-VIP4 192.0.2.200\n"
            "add LVSD-SVC6-GSO 2001:db8::1,udp:53\n"
            "add LVSD-VIP6 2001:db8::1\n"
            "add LVSD-RS6 2001:db8::21,udp:53\n"
            "add LVSD-RSADDR6 2001:db8::21\n");
}

TEST(UserspaceSteeringMembers, RefillTextIsTheSameAsFromTargets) {
  const std::vector<SteeringTarget> targets = {target("192.0.2.200", 80, {8080, 8081}),
                                               target("192.0.2.200", 443, {8081, 8082})};
  SteeringMembers m;
  for (const auto& t : targets)
    m.add(t);
  EXPECT_EQ(steering_refill(Family::inet, m), steering_sets(Family::inet, targets));
  EXPECT_NE(steering_refill(Family::inet, m).find("add LVSD-RS4-NEW 10.0.0.1,tcp:8081\n"),
            std::string::npos);
}

TEST(UserspaceSteeringMembers, RemovingWhatWasNeverAddedIsALogicError) {
  SteeringMembers m;
  EXPECT_THROW(m.remove(target("192.0.2.200", 80, {8080})), std::logic_error);
}

}  // namespace
}  // namespace lvsd::forwarding::userspace
