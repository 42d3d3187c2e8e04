// InstanceFsm alone: actions returned for each event, timers to the nanosecond.
// Scenarios with several instances on a fake LAN are in fake_lan_test.cpp.
#include "vrrp/instance_fsm.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <stdexcept>

namespace lvsd::vrrp {

// Readable failures for Actions (found by ADL through std::variant's arguments).
void PrintTo(const Action& a, std::ostream* os) {
  *os << to_string(a);
}

namespace {

using namespace std::chrono_literals;
using boost::asio::ip::make_address;

const TimePoint T0 = TimePoint{} + 1h;

InstanceParams params(std::uint8_t priority, const char* address = "10.0.0.1", unsigned version = 3,
                      Centiseconds interval = Centiseconds(100)) {
  InstanceParams p;
  p.vrid = 51;
  p.version = version;
  p.priority = priority;
  p.advert_interval = interval;
  p.primary_address = make_address(address);
  return p;
}

AdvertIn advert(std::uint8_t priority, const char* source,
                Centiseconds interval = Centiseconds(100)) {
  return {priority, interval, make_address(source)};
}

// Skew_Time and Master_Down_Interval written out independently of the FSM.
Duration skew_v3(int priority, int interval_cs) {
  return Duration(std::int64_t{256 - priority} * interval_cs * 10'000'000 / 256);
}
Duration mdi_v3(int priority, int interval_cs) {
  return 3 * Duration(std::int64_t{interval_cs} * 10'000'000) + skew_v3(priority, interval_cs);
}

// A backup at T0 (started at T0).
InstanceFsm started(InstanceParams p) {
  InstanceFsm fsm(std::move(p));
  fsm.start(T0);
  return fsm;
}

// A master (won at T0 + MDI).
InstanceFsm master(InstanceParams p) {
  InstanceFsm fsm = started(std::move(p));
  if (fsm.state() != State::master)
    fsm.timer_fired(*fsm.timer_deadline(TimerId::master_down), TimerId::master_down);
  return fsm;
}

TEST(InstanceParams, InvalidOnesAreRejected) {
  auto bad = [](auto mutate) {
    InstanceParams p = params(100);
    mutate(p);
    EXPECT_TRUE(validate(p).has_value());
    EXPECT_THROW(InstanceFsm{p}, std::invalid_argument);
  };
  bad([](InstanceParams& p) { p.vrid = 0; });
  bad([](InstanceParams& p) { p.version = 4; });
  bad([](InstanceParams& p) { p.priority = 0; });
  bad([](InstanceParams& p) { p.advert_interval = Centiseconds(0); });
  bad([](InstanceParams& p) { p.advert_interval = Centiseconds(4096); });
  bad([](InstanceParams& p) {
    p.version = 2;
    p.advert_interval = Centiseconds(150);
  });
  bad([](InstanceParams& p) { p.primary_address = boost::asio::ip::address(); });
  bad([](InstanceParams& p) { p.preempt_delay = -1s; });
  EXPECT_FALSE(validate(params(255, "2001:db8::1", 3, Centiseconds(4095))).has_value());
  EXPECT_FALSE(validate(params(1, "10.0.0.1", 2, Centiseconds(25500))).has_value());
}

TEST(InstanceFsm, TimersFollowTheRfcFormulas) {
  struct Case {
    unsigned version;
    int priority;
    int interval_cs;
    Duration skew;
  };
  const Case cases[] = {
      {3, 100, 100, 609'375'000ns},  // 156/256 s
      {3, 200, 100, 218'750'000ns},  // 56/256 s
      {3, 254, 4095, 319'921'875ns},
      {3, 100, 1, 6'093'750ns},  // a 10 ms interval keeps a non-zero skew
      {3, 1, 7, 69'726'562ns},   // 255 * 7 cs / 256, truncated to the ns
      {2, 100, 100, 609'375'000ns},
      {2, 100, 300, 609'375'000ns},  // v2: (256 - P)/256 s whatever the interval
      {2, 1, 100, 996'093'750ns},
  };
  for (const auto& c : cases) {
    InstanceFsm fsm(params(static_cast<std::uint8_t>(c.priority), "10.0.0.1", c.version,
                           Centiseconds(c.interval_cs)));
    SCOPED_TRACE("v" + std::to_string(c.version) + " prio " + std::to_string(c.priority));
    EXPECT_EQ(fsm.skew_time(), c.skew);
    EXPECT_EQ(fsm.master_adver_interval(), Centiseconds(c.interval_cs));
    EXPECT_EQ(fsm.master_down_interval(), 3 * Centiseconds(c.interval_cs) + c.skew);
    if (c.version == 3) {
      EXPECT_EQ(fsm.skew_time(), skew_v3(c.priority, c.interval_cs));
    }
  }
}

TEST(InstanceFsm, NonOwnerStartsAsBackupWithMasterDownTimer) {
  InstanceFsm fsm(params(100));
  EXPECT_EQ(fsm.state(), State::initialize);
  const Actions want = {Transition{State::initialize, State::backup, "start"},
                        ArmTimer{TimerId::master_down, T0 + 3'609'375'000ns}};
  EXPECT_EQ(fsm.start(T0), want);
  EXPECT_EQ(fsm.state(), State::backup);
  EXPECT_FALSE(fsm.holds_vips());
  EXPECT_FALSE(fsm.current_master());
  EXPECT_TRUE(fsm.start(T0 + 1s).empty()) << "start twice is a no-op";
}

TEST(InstanceFsm, AddressOwnerGoesMasterAtOnce) {
  InstanceFsm fsm(params(255));
  const Actions want = {
      Transition{State::initialize, State::master, "start: address owner (priority 255)"},
      SendAdvert{255, Centiseconds(100)},
      AddVips{true},
      SendGratuitous{},
      ArmTimer{TimerId::adver, T0 + 1s},
  };
  EXPECT_EQ(fsm.start(T0), want);
  EXPECT_EQ(fsm.current_master(), make_address("10.0.0.1"));
  EXPECT_TRUE(fsm.set_priority(T0, 10).empty());
  EXPECT_EQ(fsm.effective_priority(), 255) << "an owner stays 255";
}

TEST(InstanceFsm, MasterDownTimerMakesMasterThenAdvertsEveryInterval) {
  InstanceFsm fsm = started(params(100));
  const TimePoint t = T0 + mdi_v3(100, 100);
  const Actions want = {
      Transition{State::backup, State::master, "master down timer expired"},
      SendAdvert{100, Centiseconds(100)},
      AddVips{false},
      SendGratuitous{},
      ArmTimer{TimerId::adver, t + 1s},
  };
  EXPECT_EQ(fsm.timer_fired(t, TimerId::master_down), want);
  EXPECT_TRUE(fsm.holds_vips());
  const Actions tick = {SendAdvert{100, Centiseconds(100)}, ArmTimer{TimerId::adver, t + 2s}};
  EXPECT_EQ(fsm.timer_fired(t + 1s, TimerId::adver), tick);
}

TEST(InstanceFsm, AdverTimerIsRearmedFromItsDeadline) {
  InstanceFsm fsm = master(params(255));
  // 10 ms late: the next one stays on the grid.
  Actions a = fsm.timer_fired(T0 + 1s + 10ms, TimerId::adver);
  EXPECT_EQ(a.back(), Action(ArmTimer{TimerId::adver, T0 + 2s}));
  // More than an interval late: one interval from now.
  a = fsm.timer_fired(T0 + 3500ms, TimerId::adver);
  EXPECT_EQ(a.back(), Action(ArmTimer{TimerId::adver, T0 + 4500ms}));
}

TEST(InstanceFsm, StaleTimerFiresAreIgnored) {
  InstanceFsm fsm = started(params(100));
  EXPECT_TRUE(fsm.timer_fired(T0 + 1s, TimerId::master_down).empty()) << "early";
  EXPECT_TRUE(fsm.timer_fired(T0 + 5s, TimerId::adver).empty()) << "never armed";
  fsm.advert_received(T0 + 2s, advert(200, "10.0.0.2"));  // re-armed to T0+2s+MDI
  EXPECT_TRUE(fsm.timer_fired(T0 + mdi_v3(100, 100), TimerId::master_down).empty())
      << "the earlier arming";
  EXPECT_EQ(fsm.state(), State::backup);
}

TEST(InstanceFsm, BackupAcceptsHigherOrEqualAndLearnsTheV3Interval) {
  InstanceFsm fsm = started(params(100));
  const TimePoint t = T0 + 1s;
  Actions want = {ArmTimer{TimerId::master_down, t + mdi_v3(100, 50)}};
  EXPECT_EQ(fsm.advert_received(t, advert(200, "10.0.0.2", Centiseconds(50))), want);
  EXPECT_EQ(fsm.master_adver_interval(), Centiseconds(50));
  EXPECT_EQ(fsm.master_down_interval(), 1'804'687'500ns);  // 1.5 s + 156 * 0.5 s / 256
  EXPECT_EQ(fsm.skew_time(), 304'687'500ns);
  EXPECT_EQ(fsm.current_master(), make_address("10.0.0.2"));
  EXPECT_EQ(fsm.master_priority(), 200);
  // Equal priority is accepted too (a backup never preempts an equal master).
  want = {ArmTimer{TimerId::master_down, t + 1s + mdi_v3(100, 200)}};
  EXPECT_EQ(fsm.advert_received(t + 1s, advert(100, "10.0.0.0", Centiseconds(200))), want);
  EXPECT_EQ(fsm.master_adver_interval(), Centiseconds(200));
}

TEST(InstanceFsm, V2BackupKeepsItsOwnInterval) {
  InstanceFsm fsm = started(params(100, "10.0.0.1", 2));
  const Actions want = {ArmTimer{TimerId::master_down, T0 + 1s + 3'609'375'000ns}};
  EXPECT_EQ(fsm.advert_received(T0 + 1s, advert(200, "10.0.0.2", Centiseconds(200))), want);
  EXPECT_EQ(fsm.master_adver_interval(), Centiseconds(100));
}

TEST(InstanceFsm, BackupWithPreemptDiscardsALowerMaster) {
  InstanceFsm fsm = started(params(150));
  EXPECT_TRUE(fsm.advert_received(T0 + 1s, advert(100, "10.0.0.2")).empty());
  EXPECT_EQ(fsm.timer_deadline(TimerId::master_down), T0 + mdi_v3(150, 100));
  EXPECT_EQ(fsm.current_master(), make_address("10.0.0.2"));
  const Actions a = fsm.timer_fired(T0 + mdi_v3(150, 100), TimerId::master_down);
  EXPECT_EQ(a.front(),
            Action(Transition{State::backup, State::master, "preempting lower priority master"}));
}

TEST(InstanceFsm, NopreemptBackupAcceptsALowerMaster) {
  InstanceParams p = params(150);
  p.preempt = false;
  InstanceFsm fsm = started(p);
  const Actions want = {ArmTimer{TimerId::master_down, T0 + 1s + mdi_v3(150, 100)}};
  EXPECT_EQ(fsm.advert_received(T0 + 1s, advert(100, "10.0.0.2")), want);
}

TEST(InstanceFsm, PreemptDelayAcceptsALowerMasterUntilItElapses) {
  InstanceParams p = params(150);
  p.preempt_delay = 5s;
  InstanceFsm fsm = started(p);
  EXPECT_FALSE(fsm.advert_received(T0 + 1s, advert(100, "10.0.0.2")).empty());
  EXPECT_EQ(fsm.preempt_deadline(), T0 + 6s);
  EXPECT_FALSE(fsm.advert_received(T0 + 5999ms, advert(100, "10.0.0.2")).empty());
  EXPECT_TRUE(fsm.advert_received(T0 + 6s, advert(100, "10.0.0.2")).empty());
  EXPECT_EQ(fsm.timer_deadline(TimerId::master_down), T0 + 5999ms + mdi_v3(150, 100));
  // A master of priority >= ours stops the delay; the next lower one restarts it.
  fsm.advert_received(T0 + 7s, advert(200, "10.0.0.3"));
  EXPECT_FALSE(fsm.preempt_deadline());
  EXPECT_FALSE(fsm.advert_received(T0 + 8s, advert(100, "10.0.0.2")).empty());
  EXPECT_EQ(fsm.preempt_deadline(), T0 + 13s);
}

TEST(InstanceFsm, PriorityZeroSetsMasterDownTimerToSkewTime) {
  InstanceFsm fsm = started(params(100));
  fsm.advert_received(T0 + 1s, advert(200, "10.0.0.2"));
  const Actions want = {ArmTimer{TimerId::master_down, T0 + 2s + 609'375'000ns}};
  EXPECT_EQ(fsm.advert_received(T0 + 2s, advert(0, "10.0.0.2")), want);
  const Actions a = fsm.timer_fired(T0 + 2s + 609'375'000ns, TimerId::master_down);
  EXPECT_EQ(a.front(),
            Action(Transition{State::backup, State::master, "master resigned (priority 0)"}));
}

TEST(InstanceFsm, MasterAnswersPriorityZeroWithAnAdvert) {
  InstanceFsm fsm = master(params(255));
  const Actions want = {SendAdvert{255, Centiseconds(100)}, ArmTimer{TimerId::adver, T0 + 1500ms}};
  EXPECT_EQ(fsm.advert_received(T0 + 500ms, advert(0, "10.0.0.2")), want);
}

TEST(InstanceFsm, MasterStepsDownForHigherPriorityOrEqualWithHigherAddress) {
  {
    InstanceFsm fsm = master(params(255));
    EXPECT_TRUE(fsm.advert_received(T0 + 1s, advert(254, "10.0.0.9")).empty()) << "lower";
    EXPECT_TRUE(fsm.advert_received(T0 + 1s, advert(255, "10.0.0.0")).empty())
        << "equal, lower address";
    const Actions want = {
        CancelTimer{TimerId::adver},
        Transition{State::master, State::backup, "higher priority master 10.0.0.2 (priority 255)"},
        RemoveVips{},
        ArmTimer{TimerId::master_down, T0 + 2s + mdi_v3(255, 50)},
    };
    EXPECT_EQ(fsm.advert_received(T0 + 2s, advert(255, "10.0.0.2", Centiseconds(50))), want);
    EXPECT_EQ(fsm.master_adver_interval(), Centiseconds(50));
    EXPECT_EQ(fsm.current_master(), make_address("10.0.0.2"));
  }
  {
    InstanceFsm fsm = master(params(100, "2001:db8::5"));
    const Actions a = fsm.advert_received(T0 + 9s, advert(101, "2001:db8::1"));
    EXPECT_EQ(fsm.state(), State::backup);
    EXPECT_EQ(a.at(1), Action(Transition{State::master, State::backup,
                                         "higher priority master 2001:db8::1 (priority 101)"}));
  }
}

TEST(InstanceFsm, SyncMasterTakesOverAtOnceFromBackupOnly) {
  InstanceFsm fsm = started(params(100));
  const TimePoint t = T0 + 1s;
  const Actions want = {
      CancelTimer{TimerId::master_down},
      Transition{State::backup, State::master, "sync group G: VI_2 master"},
      SendAdvert{100, Centiseconds(100)},
      AddVips{false},
      SendGratuitous{},
      ArmTimer{TimerId::adver, t + 1s},
  };
  EXPECT_EQ(fsm.sync_master(t, "sync group G: VI_2 master"), want);
  EXPECT_EQ(fsm.state(), State::master);
  EXPECT_TRUE(fsm.sync_master(t, "again").empty());
  InstanceFsm faulty = started(params(100));
  faulty.fault(T0, "x");
  EXPECT_TRUE(faulty.sync_master(t, "y").empty());
  EXPECT_EQ(faulty.state(), State::fault);
}

TEST(InstanceFsm, SyncBackupStepsDownWithoutResigning) {
  InstanceFsm fsm = master(params(200));
  const TimePoint t = T0 + 10s;
  const Actions want = {
      CancelTimer{TimerId::adver},
      Transition{State::master, State::backup, "sync group G: VI_2 backup"},
      RemoveVips{},
      ArmTimer{TimerId::master_down, t + mdi_v3(200, 100)},
  };
  EXPECT_EQ(fsm.sync_backup(t, "sync group G: VI_2 backup"), want);
  EXPECT_FALSE(fsm.holds_vips());
  EXPECT_FALSE(fsm.current_master());
  EXPECT_TRUE(fsm.sync_backup(t, "again").empty());
  // An address owner stays master.
  InstanceFsm owner = master(params(255));
  EXPECT_TRUE(owner.sync_backup(t, "x").empty());
  EXPECT_EQ(owner.state(), State::master);
}

TEST(InstanceFsm, OwnAdvertsAreIgnored) {
  InstanceFsm fsm = master(params(100));
  EXPECT_TRUE(fsm.advert_received(T0 + 9s, advert(200, "10.0.0.1")).empty());
  EXPECT_EQ(fsm.state(), State::master);
}

TEST(InstanceFsm, ShutdownAsMasterResignsAndHoldsTheVipsUntilANewMasterSpeaks) {
  InstanceFsm fsm = master(params(255));
  const TimePoint t = T0 + 1500ms;
  const Actions want = {
      CancelTimer{TimerId::adver},
      SendAdvert{0, Centiseconds(100)},
      Transition{State::master, State::initialize, "shutdown"},
      ArmTimer{TimerId::resign_hold, t + 2s},
  };
  EXPECT_EQ(fsm.shutdown(t), want);
  EXPECT_TRUE(fsm.holds_vips());
  EXPECT_TRUE(fsm.advert_received(t + 10ms, advert(0, "10.0.0.2")).empty());
  const Actions release = {CancelTimer{TimerId::resign_hold}, RemoveVips{}};
  EXPECT_EQ(fsm.advert_received(t + 609ms, advert(100, "10.0.0.2")), release);
  EXPECT_FALSE(fsm.holds_vips());
  EXPECT_TRUE(fsm.timer_fired(t + 2s, TimerId::resign_hold).empty());
}

TEST(InstanceFsm, ResignHoldIsBounded) {
  InstanceParams p = params(255);
  p.resign_hold = 300ms;
  InstanceFsm fsm = master(p);
  fsm.shutdown(T0 + 100ms);
  const Actions release = {RemoveVips{}};
  EXPECT_EQ(fsm.timer_fired(T0 + 400ms, TimerId::resign_hold), release);
}

TEST(InstanceFsm, ResignHoldZeroRemovesTheVipsAtOnce) {
  InstanceParams p = params(255);
  p.resign_hold = Duration::zero();
  InstanceFsm fsm = master(p);
  const Actions want = {CancelTimer{TimerId::adver}, SendAdvert{0, Centiseconds(100)},
                        Transition{State::master, State::initialize, "shutdown"}, RemoveVips{}};
  EXPECT_EQ(fsm.shutdown(T0 + 100ms), want);
}

TEST(InstanceFsm, ShutdownAsBackup) {
  InstanceFsm fsm = started(params(100));
  const Actions want = {CancelTimer{TimerId::master_down},
                        Transition{State::backup, State::initialize, "shutdown"}};
  EXPECT_EQ(fsm.shutdown(T0 + 1s), want);
  EXPECT_TRUE(fsm.shutdown(T0 + 2s).empty());
}

TEST(InstanceFsm, FaultAsMasterResignsAndFaultClearedRestarts) {
  InstanceFsm fsm = master(params(200));
  const TimePoint t = T0 + 10s;
  const Actions want = {
      CancelTimer{TimerId::adver},
      SendAdvert{0, Centiseconds(100)},
      Transition{State::master, State::fault, "fault: eth0 down"},
      RemoveVips{},
  };
  EXPECT_EQ(fsm.fault(t, "eth0 down"), want);
  EXPECT_TRUE(fsm.in_fault());
  EXPECT_TRUE(fsm.advert_received(t + 1s, advert(100, "10.0.0.2")).empty());
  EXPECT_TRUE(fsm.fault(t + 1s, "still down").empty());
  const Actions back = {Transition{State::fault, State::backup, "fault cleared"},
                        ArmTimer{TimerId::master_down, t + 2s + mdi_v3(200, 100)}};
  EXPECT_EQ(fsm.fault_cleared(t + 2s), back);
  EXPECT_FALSE(fsm.in_fault());
}

TEST(InstanceFsm, FaultAsBackupAndBeforeStart) {
  InstanceFsm fsm = started(params(100));
  const Actions want = {CancelTimer{TimerId::master_down},
                        Transition{State::backup, State::fault, "fault: script"}};
  EXPECT_EQ(fsm.fault(T0 + 1s, "script"), want);

  InstanceFsm owner(params(255));
  EXPECT_TRUE(owner.fault(T0, "eth0 down").empty());
  const Actions to_fault = {Transition{State::initialize, State::fault, "fault: eth0 down"}};
  EXPECT_EQ(owner.start(T0), to_fault);
  const Actions a = owner.fault_cleared(T0 + 1s);
  EXPECT_EQ(a.front(), Action(Transition{State::fault, State::master,
                                         "fault cleared: address owner (priority 255)"}));
}

TEST(InstanceFsm, InitialStateMasterShortensTheFirstMasterDownTimer) {
  InstanceParams p = params(100);
  p.initial_state = InitialState::master;
  InstanceFsm fsm(p);
  const Actions want = {Transition{State::initialize, State::backup, "start"},
                        ArmTimer{TimerId::master_down, T0 + 1s + 609'375'000ns}};
  EXPECT_EQ(fsm.start(T0), want);
  const Actions a = fsm.timer_fired(T0 + 1s + 609'375'000ns, TimerId::master_down);
  EXPECT_EQ(a.front(), Action(Transition{State::backup, State::master,
                                         "no master seen (initial_state master)"}));
}

TEST(InstanceFsm, SetPriorityClampsAndChangesSkewAndAdverts) {
  InstanceFsm fsm = started(params(100));
  fsm.set_priority(T0, 0);
  EXPECT_EQ(fsm.effective_priority(), 1);
  fsm.set_priority(T0, 255);
  EXPECT_EQ(fsm.effective_priority(), 254);
  EXPECT_EQ(fsm.skew_time(), skew_v3(254, 100));
  fsm.set_priority(T0, 180);
  const Actions a =
      fsm.timer_fired(*fsm.timer_deadline(TimerId::master_down), TimerId::master_down);
  EXPECT_EQ(a.at(1), Action(SendAdvert{180, Centiseconds(100)}));
}

TEST(InstanceFsm, ReconfigureKeepsStateAndAppliesChanges) {
  InstanceFsm fsm = master(params(100));
  const TimePoint t = T0 + mdi_v3(100, 100) + 100ms;  // the adver timer is due at +900 ms
  InstanceParams p = fsm.params();
  p.advert_interval = Centiseconds(10);
  const Actions faster = {ArmTimer{TimerId::adver, t + 100ms}};
  EXPECT_EQ(fsm.reconfigure(t, p), faster);
  EXPECT_EQ(fsm.state(), State::master);
  EXPECT_EQ(fsm.master_adver_interval(), Centiseconds(10));
  EXPECT_EQ(fsm.timer_fired(t + 100ms, TimerId::adver).front(),
            Action(SendAdvert{100, Centiseconds(10)}));

  p.accept = true;
  const Actions accept = {AddVips{true}};
  EXPECT_EQ(fsm.reconfigure(t, p), accept);

  p.vrid = 52;  // another instance: restart
  const Actions a = fsm.reconfigure(t, p);
  ASSERT_GE(a.size(), 3u);
  EXPECT_EQ(a.at(1), Action(SendAdvert{0, Centiseconds(10)}));
  EXPECT_EQ(fsm.state(), State::backup);
  EXPECT_FALSE(fsm.holds_vips());

  p.priority = 255;  // now the owner: master at once
  const Actions owner = fsm.reconfigure(t, p);
  ASSERT_GE(owner.size(), 2u);
  EXPECT_EQ(owner.at(0), Action(CancelTimer{TimerId::master_down}));
  EXPECT_EQ(owner.at(1), Action(Transition{State::backup, State::master,
                                           "reconfigured: address owner (priority 255)"}));
  p.priority = 0;
  EXPECT_THROW(fsm.reconfigure(t, p), std::invalid_argument);
}

TEST(InstanceFsm, ToStringNamesEverything) {
  EXPECT_EQ(to_string(State::fault), "fault");
  EXPECT_EQ(to_string(TimerId::resign_hold), "resign_hold");
  EXPECT_EQ(to_string(Action(SendAdvert{7, Centiseconds(100)})), "SendAdvert{prio=7, int=100cs}");
  EXPECT_EQ(to_string(Action(Transition{State::backup, State::master, "x"})),
            "Transition{backup->master, x}");
}

}  // namespace
}  // namespace lvsd::vrrp
