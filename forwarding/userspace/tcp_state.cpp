#include "forwarding/userspace/tcp_state.hpp"

namespace lvsd::forwarding::userspace {

namespace {

constexpr TcpState sNO = TcpState::none;
constexpr TcpState sES = TcpState::established;
constexpr TcpState sSS = TcpState::syn_sent;
constexpr TcpState sSR = TcpState::syn_recv;
constexpr TcpState sFW = TcpState::fin_wait;
constexpr TcpState sTW = TcpState::time_wait;
constexpr TcpState sCL = TcpState::close;
constexpr TcpState sCW = TcpState::close_wait;
constexpr TcpState sLA = TcpState::last_ack;
constexpr TcpState sLI = TcpState::listen;
constexpr TcpState sSA = TcpState::synack;

// ip_vs_proto_tcp.c tcp_states[]: [direction][syn, fin, ack, rst][from state].
// Rows copied in the kernel's layout so they can be compared line by line.
constexpr TcpState kStates[3][4][kTcpStateCount] = {
    // INPUT
    // sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI, sSA
    {
        /*syn*/ {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
        /*fin*/ {sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW},
        /*ack*/ {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
        /*rst*/ {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR},
    },
    // OUTPUT
    // sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI, sSA
    {
        /*syn*/ {sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR},
        /*fin*/ {sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW},
        /*ack*/ {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES},
        /*rst*/ {sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL},
    },
    // INPUT-ONLY
    // sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI, sSA
    {
        /*syn*/ {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
        /*fin*/ {sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW},
        /*ack*/ {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
        /*rst*/ {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
    },
};

// tcp_state_active_table[].
constexpr bool kActive[kTcpStateCount] = {
    false,  // NONE
    true,   // ESTABLISHED
    true,   // SYN_SENT
    true,   // SYN_RECV
    false,  // FIN_WAIT
    false,  // TIME_WAIT
    false,  // CLOSE
    false,  // CLOSE_WAIT
    false,  // LAST_ACK
    false,  // LISTEN
    true,   // SYNACK
};

constexpr std::string_view kNames[kTcpStateCount] = {
    "NONE",  "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "SYNACK",
};

constexpr uint32_t kSec = 1000;

}  // namespace

TcpEvent tcp_event(uint8_t f) {
  if (f & tcp_flag::kRst) return TcpEvent::rst;
  if (f & tcp_flag::kSyn) return TcpEvent::syn;
  if (f & tcp_flag::kFin) return TcpEvent::fin;
  if (f & tcp_flag::kAck) return TcpEvent::ack;
  return TcpEvent::none;
}

TcpState tcp_next_state(TcpDir dir, TcpEvent event, TcpState from) {
  const auto s = static_cast<std::size_t>(from);
  if (event == TcpEvent::none || s >= kTcpStateCount) return TcpState::close;
  return kStates[static_cast<std::size_t>(dir)][static_cast<std::size_t>(event)][s];
}

TcpDir tcp_direction(bool from_client, bool& no_output) {
  TcpDir dir = from_client ? TcpDir::input : TcpDir::output;
  if (no_output) {
    if (dir == TcpDir::output)
      no_output = false;
    else
      dir = TcpDir::input_only;
  }
  return dir;
}

bool tcp_state_active(TcpState s) {
  const auto i = static_cast<std::size_t>(s);
  return i < kTcpStateCount && kActive[i];
}

bool tcp_state_embryonic(TcpState s) {
  return s == TcpState::none || s == TcpState::syn_sent || s == TcpState::syn_recv ||
         s == TcpState::synack;
}

std::string_view tcp_state_name(TcpState s) {
  const auto i = static_cast<std::size_t>(s);
  return i < kTcpStateCount ? kNames[i] : std::string_view("ERR!");
}

TcpTimeouts TcpTimeouts::kernel_defaults() {
  TcpTimeouts t;
  t[TcpState::none] = 2 * kSec;
  t[TcpState::established] = 15 * 60 * kSec;
  t[TcpState::syn_sent] = 2 * 60 * kSec;
  t[TcpState::syn_recv] = 1 * 60 * kSec;
  t[TcpState::fin_wait] = 2 * 60 * kSec;
  t[TcpState::time_wait] = 2 * 60 * kSec;
  t[TcpState::close] = 10 * kSec;
  t[TcpState::close_wait] = 60 * kSec;
  t[TcpState::last_ack] = 30 * kSec;
  t[TcpState::listen] = 2 * 60 * kSec;
  t[TcpState::synack] = 120 * kSec;
  return t;
}

TcpTimeouts TcpTimeouts::configured(uint32_t established_ms, uint32_t fin_wait_ms,
                                    uint32_t syn_recv_ms) {
  TcpTimeouts t = kernel_defaults();
  if (established_ms > 0) t[TcpState::established] = established_ms;
  if (fin_wait_ms > 0) t[TcpState::fin_wait] = fin_wait_ms;
  if (syn_recv_ms > 0) t[TcpState::syn_recv] = syn_recv_ms;
  return t;
}

}  // namespace lvsd::forwarding::userspace
