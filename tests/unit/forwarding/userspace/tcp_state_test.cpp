// The ip_vs TCP state machine against a golden copy of the kernel's table
// (net/netfilter/ipvs/ip_vs_proto_tcp.c tcp_states[], mainline), transcribed
// here separately as text so a slip in either copy shows up as a mismatch.
#include "forwarding/userspace/tcp_state.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace lvsd::forwarding::userspace {
namespace {

// direction, event, then the next state for each current state in kernel
// column order: sNO sES sSS sSR sFW sTW sCL sCW sLA sLI sSA.
const char* const kGolden[] = {
    "INPUT      syn sSR sES sES sSR sSR sSR sSR sSR sSR sSR sSR",
    "INPUT      fin sCL sCW sSS sTW sTW sTW sCL sCW sLA sLI sTW",
    "INPUT      ack sES sES sSS sES sFW sTW sCL sCW sCL sLI sES",
    "INPUT      rst sCL sCL sCL sSR sCL sCL sCL sCL sLA sLI sSR",
    "OUTPUT     syn sSS sES sSS sSR sSS sSS sSS sSS sSS sLI sSR",
    "OUTPUT     fin sTW sFW sSS sTW sFW sTW sCL sTW sLA sLI sTW",
    "OUTPUT     ack sES sES sSS sES sFW sTW sCL sCW sLA sES sES",
    "OUTPUT     rst sCL sCL sSS sCL sCL sTW sCL sCL sCL sCL sCL",
    "INPUT_ONLY syn sSR sES sES sSR sSR sSR sSR sSR sSR sSR sSR",
    "INPUT_ONLY fin sCL sFW sSS sTW sFW sTW sCL sCW sLA sLI sTW",
    "INPUT_ONLY ack sES sES sSS sES sFW sTW sCL sCW sCL sLI sES",
    "INPUT_ONLY rst sCL sCL sCL sSR sCL sCL sCL sCL sLA sLI sCL",
};

TcpState parse_state(const std::string& s) {
  static const std::map<std::string, TcpState> m = {
      {"sNO", TcpState::none},     {"sES", TcpState::established}, {"sSS", TcpState::syn_sent},
      {"sSR", TcpState::syn_recv}, {"sFW", TcpState::fin_wait},    {"sTW", TcpState::time_wait},
      {"sCL", TcpState::close},    {"sCW", TcpState::close_wait},  {"sLA", TcpState::last_ack},
      {"sLI", TcpState::listen},   {"sSA", TcpState::synack},
  };
  return m.at(s);
}

TEST(UserspaceTcpState, TableMatchesKernelGolden) {
  const std::map<std::string, TcpDir> dirs = {
      {"INPUT", TcpDir::input}, {"OUTPUT", TcpDir::output}, {"INPUT_ONLY", TcpDir::input_only}};
  const std::map<std::string, TcpEvent> events = {{"syn", TcpEvent::syn},
                                                  {"fin", TcpEvent::fin},
                                                  {"ack", TcpEvent::ack},
                                                  {"rst", TcpEvent::rst}};
  int cells = 0;
  for (const char* row : kGolden) {
    std::istringstream in(row);
    std::string dir, ev;
    in >> dir >> ev;
    for (std::size_t from = 0; from < kTcpStateCount; ++from) {
      std::string next;
      ASSERT_TRUE(in >> next) << row;
      EXPECT_EQ(tcp_next_state(dirs.at(dir), events.at(ev), static_cast<TcpState>(from)),
                parse_state(next))
          << dir << " " << ev << " from " << tcp_state_name(static_cast<TcpState>(from));
      ++cells;
    }
  }
  EXPECT_EQ(cells, 3 * 4 * 11);
}

TEST(UserspaceTcpState, SegmentWithoutFlagsClosesFromAnyState) {
  // set_tcp_state(): tcp_state_idx() < 0 keeps new_state = IP_VS_TCP_S_CLOSE.
  for (std::size_t s = 0; s < kTcpStateCount; ++s)
    for (TcpDir d : {TcpDir::input, TcpDir::output, TcpDir::input_only})
      EXPECT_EQ(tcp_next_state(d, TcpEvent::none, static_cast<TcpState>(s)), TcpState::close);
}

TEST(UserspaceTcpState, FlagPrecedenceIsRstSynFinAck) {
  using namespace tcp_flag;
  EXPECT_EQ(tcp_event(kRst | kSyn | kFin | kAck), TcpEvent::rst);
  EXPECT_EQ(tcp_event(kRst | kAck), TcpEvent::rst);
  EXPECT_EQ(tcp_event(kSyn | kAck), TcpEvent::syn);
  EXPECT_EQ(tcp_event(kSyn | kFin), TcpEvent::syn);
  EXPECT_EQ(tcp_event(kFin | kAck | kPsh), TcpEvent::fin);
  EXPECT_EQ(tcp_event(kAck | kPsh), TcpEvent::ack);
  EXPECT_EQ(tcp_event(kPsh), TcpEvent::none);
  EXPECT_EQ(tcp_event(0), TcpEvent::none);
}

TEST(UserspaceTcpState, NatUsesInputAndOutput) {
  bool no_output = false;  // NAT connections never get NOOUTPUT
  EXPECT_EQ(tcp_direction(true, no_output), TcpDir::input);
  EXPECT_EQ(tcp_direction(false, no_output), TcpDir::output);
  EXPECT_FALSE(no_output);
}

TEST(UserspaceTcpState, DrUsesInputOnlyUntilAnOutputPacket) {
  bool no_output = true;  // DR/TUN: IP_VS_CONN_F_NOOUTPUT at creation
  EXPECT_EQ(tcp_direction(true, no_output), TcpDir::input_only);
  EXPECT_TRUE(no_output);
  EXPECT_EQ(tcp_direction(true, no_output), TcpDir::input_only);
  // An output packet clears the flag and uses the OUTPUT rows ...
  EXPECT_EQ(tcp_direction(false, no_output), TcpDir::output);
  EXPECT_FALSE(no_output);
  // ... and client packets use INPUT from then on.
  EXPECT_EQ(tcp_direction(true, no_output), TcpDir::input);
}

TEST(UserspaceTcpState, NatLifecycle) {
  using namespace tcp_flag;
  auto step = [](TcpState s, TcpDir d, uint8_t f) { return tcp_next_state(d, tcp_event(f), s); };
  TcpState s = TcpState::none;
  s = step(s, TcpDir::input, kSyn);
  EXPECT_EQ(s, TcpState::syn_recv);
  s = step(s, TcpDir::output, kSyn | kAck);
  EXPECT_EQ(s, TcpState::syn_recv);
  s = step(s, TcpDir::input, kAck);
  EXPECT_EQ(s, TcpState::established);
  s = step(s, TcpDir::input, kFin | kAck);  // the client closes first
  EXPECT_EQ(s, TcpState::close_wait);
  s = step(s, TcpDir::output, kFin | kAck);
  EXPECT_EQ(s, TcpState::time_wait);
  s = step(s, TcpDir::input, kAck);
  EXPECT_EQ(s, TcpState::time_wait);
}

TEST(UserspaceTcpState, DrLifecycleSeesOnlyTheClient) {
  using namespace tcp_flag;
  auto step = [](TcpState s, uint8_t f) {
    return tcp_next_state(TcpDir::input_only, tcp_event(f), s);
  };
  TcpState s = TcpState::none;
  s = step(s, kSyn);
  EXPECT_EQ(s, TcpState::syn_recv);
  s = step(s, kAck);
  EXPECT_EQ(s, TcpState::established);
  s = step(s, kFin | kAck);  // INPUT_ONLY: FIN_WAIT (INPUT would say CLOSE_WAIT)
  EXPECT_EQ(s, TcpState::fin_wait);
  s = step(s, kAck);
  EXPECT_EQ(s, TcpState::fin_wait);
}

TEST(UserspaceTcpState, RstRows) {
  // A client RST closes an established connection in every direction ...
  EXPECT_EQ(tcp_next_state(TcpDir::input, TcpEvent::rst, TcpState::established), TcpState::close);
  EXPECT_EQ(tcp_next_state(TcpDir::input_only, TcpEvent::rst, TcpState::established),
            TcpState::close);
  // ... but not a half-open one (SYN_RECV stays: a spoofed RST cannot kill it),
  EXPECT_EQ(tcp_next_state(TcpDir::input, TcpEvent::rst, TcpState::syn_recv), TcpState::syn_recv);
  // while the realserver's RST does.
  EXPECT_EQ(tcp_next_state(TcpDir::output, TcpEvent::rst, TcpState::syn_recv), TcpState::close);
  // An RST from the realserver leaves TIME_WAIT alone.
  EXPECT_EQ(tcp_next_state(TcpDir::output, TcpEvent::rst, TcpState::time_wait),
            TcpState::time_wait);
}

TEST(UserspaceTcpState, ActiveStates) {
  const std::vector<TcpState> active = {TcpState::established, TcpState::syn_sent,
                                        TcpState::syn_recv, TcpState::synack};
  for (std::size_t s = 0; s < kTcpStateCount; ++s) {
    const auto st = static_cast<TcpState>(s);
    const bool want = std::find(active.begin(), active.end(), st) != active.end();
    EXPECT_EQ(tcp_state_active(st), want) << tcp_state_name(st);
  }
  EXPECT_FALSE(tcp_state_active(static_cast<TcpState>(kTcpStateCount)));
}

TEST(UserspaceTcpState, EmbryonicStates) {
  EXPECT_TRUE(tcp_state_embryonic(TcpState::none));
  EXPECT_TRUE(tcp_state_embryonic(TcpState::syn_recv));
  EXPECT_TRUE(tcp_state_embryonic(TcpState::syn_sent));
  EXPECT_TRUE(tcp_state_embryonic(TcpState::synack));
  EXPECT_FALSE(tcp_state_embryonic(TcpState::established));
  EXPECT_FALSE(tcp_state_embryonic(TcpState::fin_wait));
  EXPECT_FALSE(tcp_state_embryonic(TcpState::close));
}

TEST(UserspaceTcpState, KernelTimeouts) {
  const auto t = TcpTimeouts::kernel_defaults();
  // tcp_timeouts[] in seconds, in the kernel's order.
  const uint32_t want_s[] = {2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120};
  for (std::size_t s = 0; s < kTcpStateCount; ++s)
    EXPECT_EQ(t.ms[s], want_s[s] * 1000) << tcp_state_name(static_cast<TcpState>(s));
}

TEST(UserspaceTcpState, ConfiguredTimeoutsFollowIpvsadmSet) {
  const auto k = TcpTimeouts::kernel_defaults();
  const auto t = TcpTimeouts::configured(600'000, 30'000, 5'000);
  EXPECT_EQ(t[TcpState::established], 600'000u);
  EXPECT_EQ(t[TcpState::fin_wait], 30'000u);
  EXPECT_EQ(t[TcpState::time_wait], k[TcpState::time_wait]);  // tcpfin is FIN_WAIT only
  EXPECT_EQ(t[TcpState::syn_recv], 5'000u);
  EXPECT_EQ(t[TcpState::close], k[TcpState::close]);
  // Zero leaves the default (ip_vs_set_timeout() skips zero values).
  EXPECT_EQ(TcpTimeouts::configured(0, 0, 0), k);
}

TEST(UserspaceTcpState, Names) {
  EXPECT_EQ(tcp_state_name(TcpState::none), "NONE");
  EXPECT_EQ(tcp_state_name(TcpState::established), "ESTABLISHED");
  EXPECT_EQ(tcp_state_name(TcpState::syn_recv), "SYN_RECV");
  EXPECT_EQ(tcp_state_name(TcpState::synack), "SYNACK");
  EXPECT_EQ(tcp_state_name(static_cast<TcpState>(200)), "ERR!");
}

}  // namespace
}  // namespace lvsd::forwarding::userspace
