// Pure codecs for the IPVS generic-netlink family: no sockets, no globals.
//
// Encode: each builder returns the exact bytes of one complete netlink message
// (nlmsghdr + genlmsghdr + attributes), built with libnl on a socket-less
// nl_msg. Nested attributes always carry NLA_F_NESTED (what libnl >= 3.5 does;
// the kernel's ip_vs parser ignores the bit), so the bytes do not depend on the
// libnl version.
//
// Decode: parse_reply() walks a buffer of one or more netlink messages (what
// the kernel sent back for one request) and the typed parsers extract
// services, destinations, daemons, timeouts or info from it. Every length is
// checked; malformed input yields an Error, never UB or an exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <linux/netlink.h>

#include "forwarding/ipvs/result.hpp"
#include "forwarding/ipvs/wire.hpp"

namespace lvsd::forwarding::ipvs {

using Bytes = std::vector<std::byte>;
using ByteView = std::span<const std::byte>;

// The nlmsghdr fields the caller chooses. Builders use `flags` as given, and
// the dump builders (get_services, get_dests, get_daemons) OR in NLM_F_DUMP.
struct MsgHeader {
  std::uint16_t family = 0;  // resolved id of the "IPVS" genl family
  std::uint32_t seq = 0;
  std::uint32_t port = 0;  // nlmsg_pid: the sender's netlink port id
  std::uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
};

// ---- Encode -------------------------------------------------------------
// Services: NEW/SET send the full attribute set, DEL/GET(doit) the key only.
Result<Bytes> build_new_service(const MsgHeader& h, const SvcAttrs& svc);
Result<Bytes> build_set_service(const MsgHeader& h, const SvcAttrs& svc);
Result<Bytes> build_del_service(const MsgHeader& h, const SvcAttrs& svc);
Result<Bytes> build_get_service(const MsgHeader& h, const SvcAttrs& svc);  // doit
Result<Bytes> build_get_services(const MsgHeader& h);                      // dump

// Destinations: the service key plus the full dest (NEW/SET) or its key
// (DEL: addr, port, and addr_family when set).
Result<Bytes> build_new_dest(const MsgHeader& h, const SvcAttrs& svc, const DestAttrs& dest);
Result<Bytes> build_set_dest(const MsgHeader& h, const SvcAttrs& svc, const DestAttrs& dest);
Result<Bytes> build_del_dest(const MsgHeader& h, const SvcAttrs& svc, const DestAttrs& dest);
Result<Bytes> build_get_dests(const MsgHeader& h, const SvcAttrs& svc);  // dump

// Sync daemons: NEW sends state, mcast_ifn, sync_id and the optional fields
// that are set; DEL sends the state only.
Result<Bytes> build_new_daemon(const MsgHeader& h, const DaemonAttrs& daemon);
Result<Bytes> build_del_daemon(const MsgHeader& h, std::uint32_t state);
Result<Bytes> build_get_daemons(const MsgHeader& h);  // dump

Result<Bytes> build_set_config(const MsgHeader& h, const Timeouts& timeouts);
Result<Bytes> build_get_config(const MsgHeader& h);
Result<Bytes> build_get_info(const MsgHeader& h);
// ZERO: the counters of one service (its key), or of everything (nullopt).
Result<Bytes> build_zero(const MsgHeader& h, const std::optional<SvcAttrs>& svc);
Result<Bytes> build_flush(const MsgHeader& h);

// ---- Decode -------------------------------------------------------------
// One generic-netlink message of the IPVS family.
struct GenlMsg {
  std::uint16_t flags = 0;
  std::uint32_t seq = 0;
  std::uint32_t port = 0;
  std::uint8_t cmd = 0;
  std::uint8_t version = 0;
  ByteView attrs;  // the top-level attributes (points into the parsed buffer)
};

// A walked reply. A kernel error (NLMSG_ERROR with errno != 0, or a negative
// status in NLMSG_DONE) is returned as Error{kKernel, errno} instead.
struct Reply {
  std::vector<GenlMsg> messages;  // family messages, in order
  bool done = false;              // NLMSG_DONE seen (end of a dump)
  bool acked = false;             // NLMSG_ERROR with error 0 seen
};

// Walks every netlink message in `buf`. Messages whose type is neither a
// control type (NOOP, ERROR, DONE) nor `family` are an error, as is anything
// but acks after NLMSG_DONE.
Result<Reply> parse_reply(ByteView buf, std::uint16_t family);

// Reply to a request that only acks (NEW/SET/DEL_*, SET_CONFIG, ZERO, FLUSH).
Result<void> parse_ack(ByteView buf, std::uint16_t family);

// Dumps: family messages with the expected command, then NLMSG_DONE (required).
Result<std::vector<SvcAttrs>> parse_services(ByteView buf, std::uint16_t family);
Result<std::vector<DestAttrs>> parse_dests(ByteView buf, std::uint16_t family);
Result<std::vector<DaemonAttrs>> parse_daemons(ByteView buf, std::uint16_t family);

// Single-answer replies: exactly one family message (an ack may follow).
Result<SvcAttrs> parse_service(ByteView buf, std::uint16_t family);  // GET_SERVICE doit
Result<Timeouts> parse_config(ByteView buf, std::uint16_t family);   // GET_CONFIG
Result<Info> parse_info(ByteView buf, std::uint16_t family);         // GET_INFO

// One message's content. The service / dest / daemon forms take the message's
// top-level attributes and read the nested SERVICE / DEST / DAEMON attribute;
// `cmd` is not checked here.
Result<SvcAttrs> service_from(const GenlMsg& msg);
Result<DestAttrs> dest_from(const GenlMsg& msg);
Result<DaemonAttrs> daemon_from(const GenlMsg& msg);
Result<Timeouts> timeouts_from(const GenlMsg& msg);
Result<Info> info_from(const GenlMsg& msg);

// The nested attribute sets themselves (the payload of SERVICE / DEST /
// DAEMON / *_STATS / *_STATS64).
Result<SvcAttrs> parse_service_attrs(ByteView nested);
Result<DestAttrs> parse_dest_attrs(ByteView nested);
Result<DaemonAttrs> parse_daemon_attrs(ByteView nested);
Result<Stats> parse_stats_attrs(ByteView nested, bool stats64);

}  // namespace lvsd::forwarding::ipvs
