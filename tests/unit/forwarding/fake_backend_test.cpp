#include "forwarding/fake_backend.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <climits>

namespace lvsd::forwarding {
namespace {

using boost::asio::ip::make_address;

const ServiceKey kWeb = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.200"), 80);
const ServiceKey kWeb6 = ServiceKey::inet(Protocol::tcp, make_address("2001:db8::200"), 80);

VirtualService svc(const ServiceKey& key) {
  VirtualService s;
  s.key = key;
  return s;
}

RealServer rs(const char* address, uint16_t port, Method method = Method::nat) {
  RealServer d;
  d.address = make_address(address);
  d.port = port;
  d.method = method;
  return d;
}

std::error_code errno_code(int e) {
  return {e, std::generic_category()};
}

class FakeBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(fake.apply(AddService{svc(kWeb)}));
    ASSERT_FALSE(fake.apply(AddDest{kWeb, rs("192.0.2.21", 80)}));
  }
  FakeBackend fake;
};

TEST_F(FakeBackendTest, ServiceErrorsAreTheKernels) {
  EXPECT_EQ(fake.apply(AddService{svc(kWeb)}), errno_code(EEXIST));
  EXPECT_EQ(fake.apply(EditService{svc(kWeb6), {}}), errno_code(ESRCH));
  EXPECT_EQ(fake.apply(DelService{kWeb6}), errno_code(ESRCH));

  VirtualService unknown = svc(kWeb6);
  unknown.scheduler = "nosuch";
  EXPECT_EQ(fake.apply(AddService{unknown}), errno_code(ENOENT));
  VirtualService pe = svc(kWeb6);
  pe.pe_name = "nope";
  EXPECT_EQ(fake.apply(AddService{pe}), errno_code(ENOENT));

  for (int prefix : {0, 129}) {
    VirtualService bad = svc(kWeb6);
    bad.persistence = Persistence{300, {}, static_cast<uint8_t>(prefix)};
    EXPECT_EQ(fake.apply(AddService{bad}), errno_code(EINVAL)) << prefix;
  }
  VirtualService ok6 = svc(kWeb6);
  ok6.persistence = Persistence{300, {}, 1};
  EXPECT_FALSE(fake.apply(AddService{ok6}));

  VirtualService edit = svc(kWeb);
  edit.scheduler = "bogus";
  EXPECT_EQ(fake.apply(EditService{edit, svc(kWeb)}), errno_code(ENOENT));
  edit.scheduler = "rr";
  EXPECT_FALSE(fake.apply(EditService{edit, svc(kWeb)}));
  EXPECT_EQ(fake.table().services.at(kWeb).service.scheduler, "rr");
}

TEST_F(FakeBackendTest, DestErrorsAreTheKernels) {
  EXPECT_EQ(fake.apply(AddDest{kWeb6, rs("192.0.2.21", 80)}), errno_code(ESRCH));
  EXPECT_EQ(fake.apply(EditDest{kWeb6, rs("192.0.2.21", 80), {}}), errno_code(ESRCH));
  EXPECT_EQ(fake.apply(DelDest{kWeb6, {make_address("192.0.2.21"), 80}}), errno_code(ESRCH));
  EXPECT_EQ(fake.apply(AddDest{kWeb, rs("192.0.2.21", 80)}), errno_code(EEXIST));
  EXPECT_EQ(fake.apply(EditDest{kWeb, rs("192.0.2.22", 80), {}}), errno_code(ENOENT));
  EXPECT_EQ(fake.apply(DelDest{kWeb, {make_address("192.0.2.22"), 80}}), errno_code(ENOENT));

  RealServer heavy = rs("192.0.2.22", 80);
  heavy.weight = static_cast<uint32_t>(INT_MAX) + 1;
  EXPECT_EQ(fake.apply(AddDest{kWeb, heavy}), errno_code(ERANGE));
  heavy.weight = INT_MAX;
  EXPECT_FALSE(fake.apply(AddDest{kWeb, heavy}));

  RealServer thresholds = rs("192.0.2.21", 80);
  thresholds.lower_threshold = 5;  // upper 0: the kernel still says lower > upper
  EXPECT_EQ(fake.apply(EditDest{kWeb, thresholds, {}}), errno_code(ERANGE));

  RealServer gue = rs("192.0.2.23", 80, Method::tun);
  gue.tunnel.type = TunnelType::gue;
  EXPECT_EQ(fake.apply(AddDest{kWeb, gue}), errno_code(EINVAL));
  gue.tunnel.port = 6080;
  EXPECT_FALSE(fake.apply(AddDest{kWeb, gue}));
}

TEST_F(FakeBackendTest, OtherFamilyOnlyWithTunAndWithoutSync) {
  EXPECT_EQ(fake.apply(AddDest{kWeb, rs("2001:db8::21", 80, Method::nat)}), errno_code(EINVAL));
  EXPECT_EQ(fake.apply(AddDest{kWeb, rs("2001:db8::21", 80, Method::dr)}), errno_code(EINVAL));

  ASSERT_FALSE(fake.start_sync_daemon(SyncDaemonConfig{SyncState::master, "eth0", 1}));
  EXPECT_EQ(fake.apply(AddDest{kWeb, rs("2001:db8::21", 80, Method::tun)}), errno_code(EINVAL));
  ASSERT_FALSE(fake.stop_sync_daemon(SyncState::master));

  ASSERT_FALSE(fake.apply(AddDest{kWeb, rs("2001:db8::21", 80, Method::tun)}));
  // Now mixed-family dests exist: sync is refused.
  EXPECT_EQ(fake.start_sync_daemon(SyncDaemonConfig{SyncState::backup, "eth0", 1}),
            errno_code(EINVAL));
  // Changing the mixed dest away from tun is refused; deleting it is fine.
  EXPECT_EQ(fake.apply(EditDest{kWeb, rs("2001:db8::21", 80, Method::nat), {}}),
            errno_code(EINVAL));
  ASSERT_FALSE(fake.apply(DelDest{kWeb, {make_address("2001:db8::21"), 80}}));
  EXPECT_FALSE(fake.start_sync_daemon(SyncDaemonConfig{SyncState::backup, "eth0", 1}));
}

TEST_F(FakeBackendTest, SyncDaemons) {
  const SyncDaemonConfig master{SyncState::master, "eth0", 5};
  const SyncDaemonConfig backup{SyncState::backup, "eth1", 5};
  EXPECT_EQ(fake.stop_sync_daemon(SyncState::master), errno_code(ESRCH));
  EXPECT_FALSE(fake.start_sync_daemon(master));
  EXPECT_EQ(fake.start_sync_daemon(master), errno_code(EEXIST));
  EXPECT_FALSE(fake.start_sync_daemon(backup));  // both may run
  auto running = fake.sync_daemons();
  ASSERT_TRUE(running);
  EXPECT_EQ(*running, (std::vector<SyncDaemonConfig>{master, backup}));
  EXPECT_FALSE(fake.stop_sync_daemon(SyncState::master));
  EXPECT_EQ(fake.sync_daemons().value(), std::vector<SyncDaemonConfig>{backup});

  fake.set_interfaces({"eth0"});
  EXPECT_EQ(fake.start_sync_daemon({SyncState::master, "nosuch0", 5}), errno_code(ENODEV));
}

TEST_F(FakeBackendTest, Timeouts) {
  EXPECT_EQ(fake.get_timeouts().value(), (Timeouts{900, 120, 300}));
  EXPECT_FALSE(fake.set_timeouts({60, 0, 30}));  // 0 = leave as is
  EXPECT_EQ(fake.get_timeouts().value(), (Timeouts{60, 120, 30}));
  EXPECT_EQ(fake.set_timeouts({static_cast<uint32_t>(INT_MAX), 0, 0}), errno_code(EINVAL));
  EXPECT_EQ(fake.get_timeouts().value(), (Timeouts{60, 120, 30}));
}

TEST_F(FakeBackendTest, ReadBackReportsTableAndCounters) {
  const DestKey d21{make_address("192.0.2.21"), 80};
  fake.set_stats(kWeb, Stats{.conns = 10, .inpkts = 100, .outbytes = 5000, .cps = 2});
  fake.set_dest_status(kWeb, d21, DestStatus{Stats{.conns = 10}, 3, 4, 1});
  ASSERT_FALSE(fake.apply(AddDest{kWeb, rs("192.0.2.22", 80)}));

  auto rb = fake.read_back();
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->plan, fake.table());
  const ServiceStatus& st = rb->status.at(kWeb);
  EXPECT_EQ(st.stats.conns, 10u);
  EXPECT_EQ(st.stats.outbytes, 5000u);
  EXPECT_EQ(st.dests.at(d21).active_conns, 3u);
  EXPECT_EQ(st.dests.at(d21).persistent_conns, 1u);
  EXPECT_EQ(st.dests.at({make_address("192.0.2.22"), 80}), DestStatus{});  // new: zeros

  // Counters go with their entries.
  ASSERT_FALSE(fake.apply(DelDest{kWeb, d21}));
  ASSERT_FALSE(fake.apply(AddDest{kWeb, rs("192.0.2.21", 80)}));
  EXPECT_EQ(fake.read_back()->status.at(kWeb).dests.at(d21), DestStatus{});
}

TEST_F(FakeBackendTest, InjectedFailuresChangeNothingAndAreCounted) {
  const ForwardingPlan before = fake.table();
  const auto calls_before = fake.calls().total();
  fake.fail_next(3, std::errc::no_buffer_space);
  EXPECT_EQ(fake.apply(AddService{svc(kWeb6)}), std::errc::no_buffer_space);
  EXPECT_EQ(fake.read_back().error(), std::errc::no_buffer_space);
  EXPECT_EQ(fake.info().error(), std::errc::no_buffer_space);
  EXPECT_EQ(fake.table(), before);
  EXPECT_EQ(fake.calls().total(), calls_before + 3);
  EXPECT_EQ(fake.calls().apply, 3u);  // two in SetUp

  EXPECT_FALSE(fake.apply(AddService{svc(kWeb6)}));
  auto info = fake.info();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->version, "1.2.1");
  EXPECT_EQ(fake.name(), "fake");
  EXPECT_EQ(fake.applied().size(), 3u);  // only accepted ops
  EXPECT_EQ(fake.applied().back(), PlanOp{AddService{svc(kWeb6)}});
}

TEST_F(FakeBackendTest, DriftBehindOurBack) {
  ForwardingPlan desired = fake.table();
  // Someone runs ipvsadm: a dest's weight changes, a foreign service appears.
  fake.table().services.at(kWeb).dests.begin()->second.weight = 50;
  fake.table().put(svc(kWeb6));

  auto rb = fake.read_back();
  ASSERT_TRUE(rb);
  const PlanDelta repair = compute_delta(rb->plan, desired);
  ASSERT_EQ(repair.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<EditDest>(repair[0]));
  EXPECT_EQ(repair[1], PlanOp{DelService{kWeb6}});
  EXPECT_TRUE(apply_all(fake, repair).empty());
  EXPECT_EQ(fake.table(), desired);
}

TEST_F(FakeBackendTest, ApplyAllGoesOnAfterAFailure) {
  const PlanDelta delta = {AddService{svc(kWeb)}, AddService{svc(kWeb6)},
                           DelDest{kWeb, {make_address("192.0.2.99"), 80}}};
  const auto failures = apply_all(fake, delta);
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0].index, 0u);
  EXPECT_EQ(failures[0].error, errno_code(EEXIST));
  EXPECT_EQ(failures[1].index, 2u);
  EXPECT_EQ(failures[1].error, errno_code(ENOENT));
  EXPECT_TRUE(fake.table().services.contains(kWeb6));
}

}  // namespace
}  // namespace lvsd::forwarding
