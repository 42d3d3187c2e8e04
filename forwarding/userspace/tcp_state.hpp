// The ip_vs TCP state machine, transcribed from the kernel's
// net/netfilter/ipvs/ip_vs_proto_tcp.c (mainline, Linux 6.x): the state
// table tcp_states[] (not the secure_tcp table tcp_states_dos[]), the
// per-state timeouts tcp_timeouts[], tcp_state_idx() (which TCP flag picks the
// table row), set_tcp_state() (which direction's rows apply, and the
// IP_VS_CONN_F_NOOUTPUT rule) and tcp_state_active_table[] (which states
// count in a destination's activeconns).
//
// Pure functions and values: no clock, no connection table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lvsd::forwarding::userspace {

// IP_VS_TCP_S_* in their kernel order (the order is the table's column order,
// and the sync protocol carries these numbers as the connection state).
enum class TcpState : uint8_t {
  none = 0,     // IP_VS_TCP_S_NONE
  established,  // IP_VS_TCP_S_ESTABLISHED
  syn_sent,     // IP_VS_TCP_S_SYN_SENT
  syn_recv,     // IP_VS_TCP_S_SYN_RECV
  fin_wait,     // IP_VS_TCP_S_FIN_WAIT
  time_wait,    // IP_VS_TCP_S_TIME_WAIT
  close,        // IP_VS_TCP_S_CLOSE
  close_wait,   // IP_VS_TCP_S_CLOSE_WAIT
  last_ack,     // IP_VS_TCP_S_LAST_ACK
  listen,       // IP_VS_TCP_S_LISTEN
  synack,       // IP_VS_TCP_S_SYNACK (reachable only through tcp_states_dos)
};
inline constexpr std::size_t kTcpStateCount = 11;  // IP_VS_TCP_S_LAST

// IP_VS_DIR_*: input = a packet from the client to the virtual service,
// output = a reply from the realserver through the director (NAT only),
// input_only = a client packet of a connection whose replies the director
// never saw (DR/TUN: the realserver answers the client directly).
enum class TcpDir : uint8_t { input = 0, output = 1, input_only = 2 };

// The table row inside a direction, tcp_state_idx(): RST wins over SYN, SYN
// over FIN, FIN over ACK; a segment with none of the four has no row (-1).
enum class TcpEvent : int8_t { syn = 0, fin = 1, ack = 2, rst = 3, none = -1 };

// TCP header flag bits (byte 13 of the header), RFC 9293 section 3.1.
namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
}  // namespace tcp_flag

// tcp_state_idx() on the TCP header's flags byte.
TcpEvent tcp_event(uint8_t tcp_flags);

// tcp_states[dir][event].next_state[from]. A segment without SYN/FIN/ACK/RST
// (TcpEvent::none) moves the connection to CLOSE, as set_tcp_state() does
// (new_state starts as IP_VS_TCP_S_CLOSE and the lookup is skipped).
TcpState tcp_next_state(TcpDir dir, TcpEvent event, TcpState from);

// set_tcp_state()'s direction choice. `from_client` is the packet's direction
// as the engine saw it (input or output); `no_output` is the connection's
// IP_VS_CONN_F_NOOUTPUT flag (set at creation for every method but NAT): while
// it is set, client packets use the INPUT_ONLY rows; the first output packet
// clears it (and uses the OUTPUT rows).
TcpDir tcp_direction(bool from_client, bool& no_output);

// tcp_state_active_table[]: ESTABLISHED, SYN_SENT, SYN_RECV and SYNACK count
// as active for the destination (Linux >= 4.x; older kernels counted only
// ESTABLISHED), every other state as inactive.
bool tcp_state_active(TcpState s);

// Not yet established: the states a SYN flood leaves behind, evicted first
// when the connection table is full. NONE (before the first packet's
// transition) counts too.
bool tcp_state_embryonic(TcpState s);

// tcp_state_name_table[]: "NONE", "ESTABLISHED", ... ("ERR!" out of range).
std::string_view tcp_state_name(TcpState s);

// Per-state timeouts in milliseconds, indexed by TcpState.
struct TcpTimeouts {
  std::array<uint32_t, kTcpStateCount> ms{};

  uint32_t operator[](TcpState s) const { return ms[static_cast<std::size_t>(s)]; }
  uint32_t& operator[](TcpState s) { return ms[static_cast<std::size_t>(s)]; }
  bool operator==(const TcpTimeouts&) const = default;

  // The kernel's tcp_timeouts[]: NONE 2 s, ESTABLISHED 15 min, SYN_SENT 2 min,
  // SYN_RECV 1 min, FIN_WAIT 2 min, TIME_WAIT 2 min, CLOSE 10 s, CLOSE_WAIT
  // 60 s, LAST_ACK 30 s, LISTEN 2 min, SYNACK 120 s.
  static TcpTimeouts kernel_defaults();

  // The kernel defaults with lvsd's knobs applied the way ip_vs_set_timeout()
  // (ipvsadm --set tcp tcpfin udp) applies them: `established` sets
  // ESTABLISHED, `fin_wait` sets FIN_WAIT only (not TIME_WAIT), and
  // `syn_recv` (lvsd's forwarding.userspace.syn_recv_timeout, no ipvsadm
  // equivalent) sets SYN_RECV. A zero leaves the kernel default, as in
  // ip_vs_set_timeout().
  static TcpTimeouts configured(uint32_t established_ms, uint32_t fin_wait_ms,
                                uint32_t syn_recv_ms);
};

}  // namespace lvsd::forwarding::userspace
