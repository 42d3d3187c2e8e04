#include "forwarding/plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace lvsd::forwarding {
namespace {

using boost::asio::ip::make_address;
using ::testing::HasSubstr;

const ServiceKey kWeb = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.200"), 80);
const ServiceKey kDns6 = ServiceKey::inet(Protocol::udp, make_address("2001:db8::53"), 53);
const ServiceKey kMark = ServiceKey::mark(7);

VirtualService svc(const ServiceKey& key, std::string scheduler = "wlc") {
  VirtualService s;
  s.key = key;
  s.scheduler = std::move(scheduler);
  return s;
}

RealServer rs(const char* address, uint16_t port, uint32_t weight = 1,
              Method method = Method::nat) {
  RealServer d;
  d.address = make_address(address);
  d.port = port;
  d.weight = weight;
  d.method = method;
  return d;
}

ForwardingPlan plan_of(
    std::initializer_list<std::pair<VirtualService, std::vector<RealServer>>> l) {
  ForwardingPlan p;
  for (const auto& [s, dests] : l) {
    p.put(s);
    for (const auto& d : dests)
      p.put(s.key, d);
  }
  return p;
}

// ------------------------------------------------------------ plan

TEST(ForwardingPlan, PutKeepsKeysInStep) {
  ForwardingPlan p;
  p.put(svc(kWeb));
  p.put(kWeb, rs("192.0.2.21", 80));
  p.put(kWeb, rs("192.0.2.21", 80, 5));  // replace
  p.put(svc(kWeb, "rr"));                // replace the service, keep dests
  ASSERT_EQ(p.services.size(), 1u);
  EXPECT_EQ(p.services.at(kWeb).service.scheduler, "rr");
  EXPECT_EQ(p.dest_count(), 1u);
  EXPECT_EQ(p.services.at(kWeb).dests.begin()->second.weight, 5u);
  EXPECT_THROW(p.put(kMark, rs("192.0.2.1", 0)), std::out_of_range);
}

// ------------------------------------------------------------ compute_delta

TEST(ComputeDelta, IdenticalPlansGiveAnEmptyDelta) {
  const auto p =
      plan_of({{svc(kWeb), {rs("192.0.2.21", 80), rs("192.0.2.22", 80)}}, {svc(kMark), {}}});
  EXPECT_TRUE(compute_delta(p, p).empty());
  EXPECT_TRUE(compute_delta({}, {}).empty());
}

TEST(ComputeDelta, FromEmptyAddsServicesBeforeTheirDests) {
  const auto want = plan_of({{svc(kWeb), {rs("192.0.2.21", 80), rs("192.0.2.22", 80)}},
                             {svc(kMark), {rs("192.0.2.31", 0)}}});
  EXPECT_EQ(compute_delta({}, want), (PlanDelta{
                                         AddService{svc(kWeb)},
                                         AddService{svc(kMark)},
                                         AddDest{kWeb, rs("192.0.2.21", 80)},
                                         AddDest{kWeb, rs("192.0.2.22", 80)},
                                         AddDest{kMark, rs("192.0.2.31", 0)},
                                     }));
}

TEST(ComputeDelta, ToEmptyDeletesDestsBeforeServices) {
  const auto have = plan_of({{svc(kWeb), {rs("192.0.2.21", 80), rs("192.0.2.22", 80)}},
                             {svc(kMark), {rs("192.0.2.31", 0)}}});
  EXPECT_EQ(compute_delta(have, {}), (PlanDelta{
                                         DelDest{kWeb, {make_address("192.0.2.21"), 80}},
                                         DelDest{kWeb, {make_address("192.0.2.22"), 80}},
                                         DelDest{kMark, {make_address("192.0.2.31"), 0}},
                                         DelService{kWeb},
                                         DelService{kMark},
                                     }));
}

// Every non-key attribute of a service is changed in place (SET_SERVICE).
TEST(ComputeDelta, ServiceAttributeChangesAreEdits) {
  struct Case {
    const char* name;
    void (*change)(VirtualService&);
  };
  const Case cases[] = {
      {"scheduler", [](VirtualService& s) { s.scheduler = "sh"; }},
      {"fallback", [](VirtualService& s) { s.scheduler_flags.fallback = true; }},
      {"port flag", [](VirtualService& s) { s.scheduler_flags.port = true; }},
      {"one packet", [](VirtualService& s) { s.one_packet = true; }},
      {"persistence on", [](VirtualService& s) { s.persistence = Persistence{}; }},
      {"persistence timeout",
       [](VirtualService& s) {
         s.persistence = Persistence{600, {}, 128};
       }},
      {"netmask",
       [](VirtualService& s) {
         s.persistence = Persistence{300, make_address("255.255.255.0").to_v4(), 128};
       }},
      {"pe", [](VirtualService& s) { s.pe_name = "sip"; }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    VirtualService before = svc(kWeb);
    before.persistence = Persistence{};
    if (std::string(c.name) == "persistence on") before.persistence.reset();
    VirtualService after = before;
    c.change(after);
    ASSERT_NE(before, after);
    const auto have = plan_of({{before, {rs("192.0.2.21", 80)}}});
    const auto want = plan_of({{after, {rs("192.0.2.21", 80)}}});
    EXPECT_EQ(compute_delta(have, want), (PlanDelta{EditService{after, before}}));
    // and back
    EXPECT_EQ(compute_delta(want, have), (PlanDelta{EditService{before, after}}));
  }
}

TEST(ComputeDelta, DestAttributeChangesAreEdits) {
  struct Case {
    const char* name;
    void (*change)(RealServer&);
  };
  const Case cases[] = {
      {"weight", [](RealServer& d) { d.weight = 7; }},
      {"weight 0 (drain)", [](RealServer& d) { d.weight = 0; }},
      {"method dr", [](RealServer& d) { d.method = Method::dr; }},
      {"method tun", [](RealServer& d) { d.method = Method::tun; }},
      {"tunnel",
       [](RealServer& d) {
         d.method = Method::tun;
         d.tunnel = Tunnel{TunnelType::gue, 6080, TunnelChecksum::remote};
       }},
      {"upper threshold", [](RealServer& d) { d.upper_threshold = 100; }},
      {"lower threshold",
       [](RealServer& d) {
         d.upper_threshold = 100;
         d.lower_threshold = 50;
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const RealServer before = rs("192.0.2.21", 80);
    RealServer after = before;
    c.change(after);
    const auto have = plan_of({{svc(kWeb), {before, rs("192.0.2.22", 80)}}});
    const auto want = plan_of({{svc(kWeb), {after, rs("192.0.2.22", 80)}}});
    EXPECT_EQ(compute_delta(have, want), (PlanDelta{EditDest{kWeb, after, before}}));
  }
}

TEST(ComputeDelta, ServiceKeyChangeIsDeleteAndAdd) {
  struct Case {
    const char* name;
    ServiceKey to;
  };
  const Case cases[] = {
      {"port", ServiceKey::inet(Protocol::tcp, make_address("192.0.2.200"), 8080)},
      {"address", ServiceKey::inet(Protocol::tcp, make_address("192.0.2.201"), 80)},
      {"protocol", ServiceKey::inet(Protocol::udp, make_address("192.0.2.200"), 80)},
      {"to fwmark", ServiceKey::mark(80)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto d = rs("192.0.2.21", 80);
    const auto have = plan_of({{svc(kWeb), {d}}});
    const auto want = plan_of({{svc(c.to), {d}}});
    EXPECT_EQ(compute_delta(have, want), (PlanDelta{
                                             AddService{svc(c.to)},
                                             AddDest{c.to, d},
                                             DelDest{kWeb, d.key()},
                                             DelService{kWeb},
                                         }));
  }
  // fwmark family is part of the key
  const auto have = plan_of({{svc(ServiceKey::mark(7)), {}}});
  const auto want = plan_of({{svc(ServiceKey::mark(7, Family::inet6)), {}}});
  EXPECT_EQ(compute_delta(have, want),
            (PlanDelta{AddService{svc(ServiceKey::mark(7, Family::inet6))},
                       DelService{ServiceKey::mark(7)}}));
}

TEST(ComputeDelta, DestKeyChangeIsAddThenDelete) {
  // The new dest goes in before the old one leaves: the service is never empty.
  const auto have = plan_of({{svc(kWeb), {rs("192.0.2.21", 80)}}});
  const auto want = plan_of({{svc(kWeb), {rs("192.0.2.21", 8080)}}});
  EXPECT_EQ(compute_delta(have, want), (PlanDelta{
                                           AddDest{kWeb, rs("192.0.2.21", 8080)},
                                           DelDest{kWeb, {make_address("192.0.2.21"), 80}},
                                       }));
}

TEST(ComputeDelta, OrderIsAddEditServicesThenAddEditDelDestsThenDelServices) {
  VirtualService web_rr = svc(kWeb, "rr");
  const auto have = plan_of({
      {svc(kWeb), {rs("192.0.2.21", 80), rs("192.0.2.22", 80), rs("192.0.2.23", 80)}},
      {svc(kMark), {rs("192.0.2.31", 0)}},
  });
  const auto want = plan_of({
      {web_rr, {rs("192.0.2.21", 80, 3), rs("192.0.2.23", 80), rs("192.0.2.24", 80)}},
      {svc(kDns6), {rs("2001:db8::1", 53), rs("192.0.2.9", 53, 1, Method::tun)}},
  });
  EXPECT_EQ(compute_delta(have, want),
            (PlanDelta{
                AddService{svc(kDns6)},
                EditService{web_rr, svc(kWeb)},
                AddDest{kWeb, rs("192.0.2.24", 80)},
                AddDest{kDns6, rs("192.0.2.9", 53, 1, Method::tun)},
                AddDest{kDns6, rs("2001:db8::1", 53)},
                EditDest{kWeb, rs("192.0.2.21", 80, 3), rs("192.0.2.21", 80)},
                DelDest{kWeb, {make_address("192.0.2.22"), 80}},
                DelDest{kMark, {make_address("192.0.2.31"), 0}},
                DelService{kMark},
            }));
  EXPECT_EQ(apply_delta(have, compute_delta(have, want)), want);
}

// ------------------------------------------------------------ apply

TEST(ApplyOp, FollowsTheKernelsStructuralErrors) {
  ForwardingPlan p = plan_of({{svc(kWeb), {rs("192.0.2.21", 80)}}});
  const ForwardingPlan before = p;
  auto is = [](std::error_code ec, int e) { return ec.value() == e; };

  EXPECT_TRUE(is(apply_op(p, AddService{svc(kWeb)}), EEXIST));
  EXPECT_TRUE(is(apply_op(p, EditService{svc(kMark), svc(kMark)}), ESRCH));
  EXPECT_TRUE(is(apply_op(p, DelService{kMark}), ESRCH));
  EXPECT_TRUE(is(apply_op(p, AddDest{kMark, rs("192.0.2.21", 80)}), ESRCH));
  EXPECT_TRUE(is(apply_op(p, EditDest{kMark, rs("192.0.2.21", 80), {}}), ESRCH));
  EXPECT_TRUE(is(apply_op(p, DelDest{kMark, {make_address("192.0.2.21"), 80}}), ESRCH));
  EXPECT_TRUE(is(apply_op(p, AddDest{kWeb, rs("192.0.2.21", 80, 9)}), EEXIST));
  EXPECT_TRUE(is(apply_op(p, EditDest{kWeb, rs("192.0.2.22", 80), {}}), ENOENT));
  EXPECT_TRUE(is(apply_op(p, DelDest{kWeb, {make_address("192.0.2.22"), 80}}), ENOENT));
  EXPECT_EQ(p, before);

  EXPECT_FALSE(apply_op(p, DelService{kWeb}));  // takes its dests along, as ip_vs does
  EXPECT_TRUE(p.services.empty());
}

TEST(ApplyDelta, ThrowsNamingTheOpThatDoesNotFit) {
  try {
    apply_delta({}, PlanDelta{DelService{kWeb}});
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("op=del_service service=\"TCP 192.0.2.200:80\""));
  }
}

// ------------------------------------------------------------ to_string

TEST(PlanOpToString, KeyValueStyle) {
  VirtualService s = svc(kWeb, "sh");
  s.scheduler_flags = {true, true};
  s.persistence = Persistence{600, make_address("255.255.255.0").to_v4(), 128};
  VirtualService s6 = svc(kDns6, "rr");
  s6.persistence = Persistence{30, {}, 64};
  s6.one_packet = true;
  RealServer t = rs("2001:db8::9", 80, 3, Method::tun);
  t.tunnel = {TunnelType::gue, 6080, TunnelChecksum::local};
  t.upper_threshold = 100;
  t.lower_threshold = 10;

  struct Case {
    PlanOp op;
    std::string want;
  };
  const Case cases[] = {
      {AddService{s},
       "op=add_service service=\"TCP 192.0.2.200:80\" scheduler=sh scheduler_flags=fallback,port "
       "persistence=600s netmask=255.255.255.0"},
      {AddService{s6},
       "op=add_service service=\"UDP [2001:db8::53]:53\" scheduler=rr one_packet=true "
       "persistence=30s prefix=64"},
      {EditService{svc(kMark, "rr"), svc(kMark)},
       "op=edit_service service=\"FWM 7\" scheduler=rr was=\"scheduler=wlc\""},
      {DelService{kMark}, "op=del_service service=\"FWM 7\""},
      {AddDest{kWeb, t},
       "op=add_dest service=\"TCP 192.0.2.200:80\" dest=[2001:db8::9]:80 weight=3 method=tun "
       "tunnel=gue tunnel_port=6080 tunnel_checksum=local upper_threshold=100 "
       "lower_threshold=10"},
      {EditDest{kWeb, rs("192.0.2.21", 80, 0, Method::dr), rs("192.0.2.21", 80)},
       "op=edit_dest service=\"TCP 192.0.2.200:80\" dest=192.0.2.21:80 weight=0 method=dr "
       "was=\"weight=1 method=nat\""},
      {DelDest{kWeb, {make_address("192.0.2.21"), 80}},
       "op=del_dest service=\"TCP 192.0.2.200:80\" dest=192.0.2.21:80"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(to_string(c.op), c.want);
}

TEST(PlanToString, OneLinePerServiceAndDest) {
  const auto p = plan_of({{svc(kWeb), {rs("192.0.2.21", 80, 2)}}, {svc(kMark, "rr"), {}}});
  EXPECT_EQ(to_string(p),
            "TCP 192.0.2.200:80 scheduler=wlc\n"
            "  -> 192.0.2.21:80 weight=2 method=nat\n"
            "FWM 7 scheduler=rr\n");
}

}  // namespace
}  // namespace lvsd::forwarding
