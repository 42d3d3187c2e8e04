#include "forwarding/ipvs/messages.hpp"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace lvsd::forwarding::ipvs {
namespace {

// ---- Encode -------------------------------------------------------------

constexpr std::size_t kNameMax = IP_VS_SCHEDNAME_MAXLEN - 1;  // 15 chars + NUL
static_assert(IP_VS_PENAME_MAXLEN == IP_VS_SCHEDNAME_MAXLEN);
static_assert(IP_VS_IFNAME_MAXLEN == IP_VS_SCHEDNAME_MAXLEN);

Error invalid(std::string message) {
  return Error{Error::Kind::kInvalidArgument, 0, std::move(message)};
}

std::optional<Error> check_name(const std::string& name, const char* what, bool required) {
  if (required && name.empty()) return invalid(std::string(what) + " is empty");
  if (name.size() > kNameMax) {
    return invalid(std::string(what) + " \"" + name + "\" is longer than " +
                   std::to_string(kNameMax) + " characters");
  }
  if (name.find('\0') != std::string::npos) {
    return invalid(std::string(what) + " contains a NUL character");
  }
  return std::nullopt;
}

std::optional<Error> check_af(std::uint16_t af) {
  if (af == AF_INET || af == AF_INET6) return std::nullopt;
  return invalid("service address family " + std::to_string(af) +
                 " is neither AF_INET nor AF_INET6");
}

struct MsgFree {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};

// A socket-less libnl message under construction. Any failed put marks the
// builder failed; finish() then returns an error instead of partial bytes.
class Builder {
 public:
  Builder(const MsgHeader& h, std::uint8_t cmd, std::uint16_t extra_flags) : msg_(nlmsg_alloc()) {
    if (!msg_ ||
        genlmsg_put(msg_.get(), h.port, h.seq, h.family, 0, static_cast<int>(h.flags | extra_flags),
                    cmd, IPVS_GENL_VERSION) == nullptr) {
      failed_ = true;
    }
  }

  void u8(int type, std::uint8_t v) { check(ok() && nla_put_u8(msg_.get(), type, v)); }
  void u16(int type, std::uint16_t v) { check(ok() && nla_put_u16(msg_.get(), type, v)); }
  void be16(int type, std::uint16_t host) { u16(type, htons(host)); }
  void u32(int type, std::uint32_t v) { check(ok() && nla_put_u32(msg_.get(), type, v)); }
  void str(int type, const std::string& s) {
    check(ok() && nla_put_string(msg_.get(), type, s.c_str()));
  }
  void bytes(int type, const void* data, std::size_t len) {
    check(ok() && nla_put(msg_.get(), type, static_cast<int>(len), data));
  }

  nlattr* nest_start(int type) {
    if (!ok()) return nullptr;
    nlattr* n = nla_nest_start(msg_.get(), type);
    if (n == nullptr) {
      failed_ = true;
      return nullptr;
    }
    n->nla_type |= NLA_F_NESTED;  // whatever the libnl version does
    return n;
  }
  void nest_end(nlattr* n) {
    if (ok() && n != nullptr) check(nla_nest_end(msg_.get(), n));
  }

  Result<Bytes> finish() {
    if (!ok())
      return Error{Error::Kind::kInvalidArgument, 0, "building the netlink message failed"};
    const nlmsghdr* nlh = nlmsg_hdr(msg_.get());
    const auto* p = reinterpret_cast<const std::byte*>(nlh);
    return Bytes(p, p + nlh->nlmsg_len);
  }

 private:
  bool ok() const { return !failed_; }
  // libnl put functions return 0 on success, a negative error otherwise.
  void check(bool put_failed) {
    if (put_failed) failed_ = true;
  }

  std::unique_ptr<nl_msg, MsgFree> msg_;
  bool failed_ = false;
};

void put_service_key(Builder& b, const SvcAttrs& s) {
  b.u16(IPVS_SVC_ATTR_AF, s.af);
  if (s.fwmark != 0) {
    b.u32(IPVS_SVC_ATTR_FWMARK, s.fwmark);
  } else {
    b.u16(IPVS_SVC_ATTR_PROTOCOL, s.protocol);
    b.bytes(IPVS_SVC_ATTR_ADDR, s.addr.data(), s.addr.size());
    b.be16(IPVS_SVC_ATTR_PORT, s.port);
  }
}

// The SERVICE nest: the key, plus the rest of the full set when `full`.
std::optional<Error> put_service(Builder& b, const SvcAttrs& s, bool full) {
  if (auto e = check_af(s.af)) return e;
  if (full) {
    if (auto e = check_name(s.sched_name, "scheduler name", true)) return e;
    if (auto e = check_name(s.pe_name, "persistence engine name", false)) return e;
  }
  nlattr* nest = b.nest_start(IPVS_CMD_ATTR_SERVICE);
  put_service_key(b, s);
  if (full) {
    b.str(IPVS_SVC_ATTR_SCHED_NAME, s.sched_name);
    if (!s.pe_name.empty()) b.str(IPVS_SVC_ATTR_PE_NAME, s.pe_name);
    const ip_vs_flags flags{s.flags, s.flags_mask};
    b.bytes(IPVS_SVC_ATTR_FLAGS, &flags, sizeof flags);
    b.u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout);
    b.u32(IPVS_SVC_ATTR_NETMASK, s.netmask);
  }
  b.nest_end(nest);
  return std::nullopt;
}

void put_dest(Builder& b, const DestAttrs& d, bool full) {
  nlattr* nest = b.nest_start(IPVS_CMD_ATTR_DEST);
  b.bytes(IPVS_DEST_ATTR_ADDR, d.addr.data(), d.addr.size());
  b.be16(IPVS_DEST_ATTR_PORT, d.port);
  if (full) {
    b.u32(IPVS_DEST_ATTR_FWD_METHOD, d.fwd_method);
    b.u32(IPVS_DEST_ATTR_WEIGHT, d.weight);
    b.u32(IPVS_DEST_ATTR_U_THRESH, d.u_thresh);
    b.u32(IPVS_DEST_ATTR_L_THRESH, d.l_thresh);
  }
  if (d.addr_family) b.u16(IPVS_DEST_ATTR_ADDR_FAMILY, *d.addr_family);
  if (full) {
    if (d.tun_type) b.u8(IPVS_DEST_ATTR_TUN_TYPE, *d.tun_type);
    if (d.tun_port) b.be16(IPVS_DEST_ATTR_TUN_PORT, *d.tun_port);
    if (d.tun_flags) b.u16(IPVS_DEST_ATTR_TUN_FLAGS, *d.tun_flags);
  }
  b.nest_end(nest);
}

Result<Bytes> service_msg(const MsgHeader& h, std::uint8_t cmd, const SvcAttrs& s, bool full) {
  Builder b(h, cmd, 0);
  if (auto e = put_service(b, s, full)) return *e;
  return b.finish();
}

Result<Bytes> dest_msg(const MsgHeader& h, std::uint8_t cmd, const SvcAttrs& s, const DestAttrs& d,
                       bool full) {
  Builder b(h, cmd, 0);
  if (auto e = put_service(b, s, false)) return *e;
  put_dest(b, d, full);
  return b.finish();
}

Result<Bytes> bare_msg(const MsgHeader& h, std::uint8_t cmd, std::uint16_t extra_flags = 0) {
  Builder b(h, cmd, extra_flags);
  return b.finish();
}

// ---- Decode -------------------------------------------------------------

constexpr std::size_t kNlHdr = sizeof(nlmsghdr);  // 16
constexpr std::size_t kGenlHdr = GENL_HDRLEN;     // 4

template <typename T>
T load(ByteView v, std::size_t off = 0) {
  T out;
  std::memcpy(&out, v.data() + off, sizeof out);
  return out;
}

Error err(Error::Kind kind, std::string message) {
  return Error{kind, 0, std::move(message)};
}

std::string kernel_message(int errnum, const std::string& extack) {
  std::string m = "kernel: ";
  m += std::strerror(errnum);
  if (!extack.empty()) m += " (" + extack + ")";
  return m;
}

// Top-level or nested attribute payloads by type (last one wins, like the
// kernel's nla_parse); types above max are skipped.
using AttrIndex = std::vector<std::optional<ByteView>>;

Result<AttrIndex> index_attrs(ByteView buf, int max_type, const std::string& scope) {
  AttrIndex index(static_cast<std::size_t>(max_type) + 1);
  std::size_t off = 0;
  while (off < buf.size()) {
    const std::size_t left = buf.size() - off;
    if (left < NLA_HDRLEN) {
      return err(Error::Kind::kTruncated, scope + ": " + std::to_string(left) +
                                              " trailing bytes, too short for an attribute header");
    }
    const auto nla_len = load<std::uint16_t>(buf, off);
    const auto nla_type = load<std::uint16_t>(buf, off + 2) & NLA_TYPE_MASK;
    if (nla_len < NLA_HDRLEN) {
      return err(Error::Kind::kBadLength, scope + ": attribute " + std::to_string(nla_type) +
                                              " has nla_len " + std::to_string(nla_len) + " < 4");
    }
    if (nla_len > left) {
      return err(Error::Kind::kTruncated, scope + ": attribute " + std::to_string(nla_type) +
                                              " has nla_len " + std::to_string(nla_len) +
                                              " but only " + std::to_string(left) +
                                              " bytes remain");
    }
    if (nla_type <= max_type) index[nla_type] = buf.subspan(off + NLA_HDRLEN, nla_len - NLA_HDRLEN);
    off += std::min<std::size_t>(NLA_ALIGN(nla_len), left);
  }
  return index;
}

// Typed, length-checked reads from an AttrIndex. The first problem is kept in
// `error`; later reads after an error return nullopt.
class Reader {
 public:
  Reader(const AttrIndex& index, std::string scope) : index_(index), scope_(std::move(scope)) {}

  std::optional<Error> error;

  std::optional<ByteView> raw(int type, const char* name, bool required) {
    if (error) return std::nullopt;
    const auto& a = index_[static_cast<std::size_t>(type)];
    if (!a) {
      if (required) fail(Error::Kind::kMissingAttribute, name, "missing");
      return std::nullopt;
    }
    return a;
  }

  template <typename T>
  std::optional<T> num(int type, const char* name, bool required) {
    auto a = raw(type, name, required);
    if (!a) return std::nullopt;
    if (a->size() != sizeof(T)) return bad_len(name, a->size(), std::to_string(sizeof(T)));
    return load<T>(*a);
  }
  std::optional<std::uint16_t> be16(int type, const char* name, bool required) {
    auto v = num<std::uint16_t>(type, name, required);
    if (v) return ntohs(*v);
    return std::nullopt;
  }
  // NUL-terminated string of at most max_len bytes including the NUL.
  std::optional<std::string> str(int type, const char* name, std::size_t max_len, bool required) {
    auto a = raw(type, name, required);
    if (!a) return std::nullopt;
    if (a->empty() || a->size() > max_len) {
      return bad_len(name, a->size(), "1.." + std::to_string(max_len));
    }
    const auto* p = reinterpret_cast<const char*>(a->data());
    const void* nul = std::memchr(p, '\0', a->size());
    if (nul == nullptr) {
      fail(Error::Kind::kBadLength, name, "string is not NUL-terminated");
      return std::nullopt;
    }
    return std::string(p, static_cast<const char*>(nul));
  }
  template <std::size_t N>
  std::optional<std::array<std::uint8_t, N>> fixed(int type, const char* name, bool required) {
    auto a = raw(type, name, required);
    if (!a) return std::nullopt;
    if (a->size() != N) return bad_len(name, a->size(), std::to_string(N));
    std::array<std::uint8_t, N> out{};
    std::memcpy(out.data(), a->data(), N);
    return out;
  }
  // union nf_inet_addr: 16 bytes (the kernel's size), or 4 for a bare IPv4.
  std::optional<Addr> addr(int type, const char* name, bool required) {
    auto a = raw(type, name, required);
    if (!a) return std::nullopt;
    if (a->size() != 16 && a->size() != 4) return bad_len(name, a->size(), "4 or 16");
    Addr out{};
    std::memcpy(out.data(), a->data(), a->size());
    return out;
  }

  void fail(Error::Kind kind, const char* name, const std::string& what) {
    if (!error) error = err(kind, scope_ + "." + name + ": " + what);
  }

 private:
  std::nullopt_t bad_len(const char* name, std::size_t got, const std::string& want) {
    fail(Error::Kind::kBadLength, name, "length " + std::to_string(got) + ", expected " + want);
    return std::nullopt;
  }

  const AttrIndex& index_;
  std::string scope_;
};

Result<std::optional<Stats>> read_stats(Reader& r, int stats_type, int stats64_type) {
  if (auto s64 = r.raw(stats64_type, "STATS64", false)) {
    auto s = parse_stats_attrs(*s64, true);
    if (!s) return s.error();
    return std::optional<Stats>(*s);
  }
  if (auto s32 = r.raw(stats_type, "STATS", false)) {
    auto s = parse_stats_attrs(*s32, false);
    if (!s) return s.error();
    return std::optional<Stats>(*s);
  }
  return std::optional<Stats>();
}

// The nested attribute `type` of a message's top level, parsed by `parse`.
template <typename T, typename F>
Result<T> nested_from(const GenlMsg& msg, int type, const char* name, F parse) {
  auto top = index_attrs(msg.attrs, IPVS_CMD_ATTR_MAX, "message");
  if (!top) return top.error();
  Reader r(*top, "message");
  auto nested = r.raw(type, name, true);
  if (r.error) return *r.error;
  return parse(*nested);
}

// Extended-ack text (NLMSGERR_ATTR_MSG) of an NLMSG_ERROR payload, if any.
std::string extack_text(ByteView payload, std::uint16_t flags) {
  if ((flags & NLM_F_ACK_TLVS) == 0 || payload.size() < sizeof(nlmsgerr)) return {};
  std::size_t off = sizeof(nlmsgerr);
  if ((flags & NLM_F_CAPPED) == 0) {
    const auto orig_len = load<std::uint32_t>(payload, sizeof(int));
    if (orig_len < kNlHdr || orig_len - kNlHdr > payload.size() - off) return {};
    off += NLMSG_ALIGN(orig_len) - kNlHdr;
    if (off > payload.size()) return {};
  }
  auto tlvs = index_attrs(payload.subspan(off), NLMSGERR_ATTR_MAX, "extack");
  if (!tlvs) return {};
  Reader r(*tlvs, "extack");
  auto msg = r.str(NLMSGERR_ATTR_MSG, "MSG", 4096, false);
  return msg.value_or("");
}

// Negative errno from the kernel -> Error; anything else odd -> kUnexpected.
Error kernel_error(int status, const std::string& extack, const char* where) {
  if (status < 0 && status != INT_MIN) {
    return Error{Error::Kind::kKernel, -status, kernel_message(-status, extack)};
  }
  return err(Error::Kind::kUnexpected,
             std::string(where) + " carries the invalid status " + std::to_string(status));
}

template <typename T, typename F>
Result<std::vector<T>> parse_dump(ByteView buf, std::uint16_t family, std::uint8_t cmd,
                                  const char* what, F from) {
  auto reply = parse_reply(buf, family);
  if (!reply) return reply.error();
  if (!reply->done) {
    return err(Error::Kind::kTruncated,
               std::string(what) + " dump is not terminated by NLMSG_DONE");
  }
  std::vector<T> out;
  out.reserve(reply->messages.size());
  for (const GenlMsg& m : reply->messages) {
    if (m.cmd != cmd) {
      return err(Error::Kind::kUnexpected, std::string(what) + " dump: unexpected genl cmd " +
                                               std::to_string(m.cmd) + ", expected " +
                                               std::to_string(cmd));
    }
    auto v = from(m);
    if (!v) return v.error();
    out.push_back(std::move(*v));
  }
  return out;
}

template <typename T, typename F>
Result<T> parse_single(ByteView buf, std::uint16_t family, std::uint8_t cmd, const char* what,
                       F from) {
  auto reply = parse_reply(buf, family);
  if (!reply) return reply.error();
  if (reply->messages.size() != 1) {
    return err(reply->messages.empty() ? Error::Kind::kTruncated : Error::Kind::kUnexpected,
               std::string(what) + " reply has " + std::to_string(reply->messages.size()) +
                   " messages, expected 1");
  }
  const GenlMsg& m = reply->messages.front();
  if (m.cmd != cmd) {
    return err(Error::Kind::kUnexpected, std::string(what) + " reply: unexpected genl cmd " +
                                             std::to_string(m.cmd) + ", expected " +
                                             std::to_string(cmd));
  }
  return from(m);
}

}  // namespace

// ---- Encode: public ------------------------------------------------------

Result<Bytes> build_new_service(const MsgHeader& h, const SvcAttrs& svc) {
  return service_msg(h, IPVS_CMD_NEW_SERVICE, svc, true);
}
Result<Bytes> build_set_service(const MsgHeader& h, const SvcAttrs& svc) {
  return service_msg(h, IPVS_CMD_SET_SERVICE, svc, true);
}
Result<Bytes> build_del_service(const MsgHeader& h, const SvcAttrs& svc) {
  return service_msg(h, IPVS_CMD_DEL_SERVICE, svc, false);
}
Result<Bytes> build_get_service(const MsgHeader& h, const SvcAttrs& svc) {
  return service_msg(h, IPVS_CMD_GET_SERVICE, svc, false);
}
Result<Bytes> build_get_services(const MsgHeader& h) {
  return bare_msg(h, IPVS_CMD_GET_SERVICE, NLM_F_DUMP);
}

Result<Bytes> build_new_dest(const MsgHeader& h, const SvcAttrs& svc, const DestAttrs& dest) {
  return dest_msg(h, IPVS_CMD_NEW_DEST, svc, dest, true);
}
Result<Bytes> build_set_dest(const MsgHeader& h, const SvcAttrs& svc, const DestAttrs& dest) {
  return dest_msg(h, IPVS_CMD_SET_DEST, svc, dest, true);
}
Result<Bytes> build_del_dest(const MsgHeader& h, const SvcAttrs& svc, const DestAttrs& dest) {
  return dest_msg(h, IPVS_CMD_DEL_DEST, svc, dest, false);
}
Result<Bytes> build_get_dests(const MsgHeader& h, const SvcAttrs& svc) {
  Builder b(h, IPVS_CMD_GET_DEST, NLM_F_DUMP);
  if (auto e = put_service(b, svc, false)) return *e;
  return b.finish();
}

Result<Bytes> build_new_daemon(const MsgHeader& h, const DaemonAttrs& d) {
  if (auto e = check_name(d.mcast_ifn, "sync interface name", true)) return *e;
  Builder b(h, IPVS_CMD_NEW_DAEMON, 0);
  nlattr* nest = b.nest_start(IPVS_CMD_ATTR_DAEMON);
  b.u32(IPVS_DAEMON_ATTR_STATE, d.state);
  b.str(IPVS_DAEMON_ATTR_MCAST_IFN, d.mcast_ifn);
  b.u32(IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id);
  if (d.sync_maxlen) b.u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, *d.sync_maxlen);
  if (d.mcast_group) b.bytes(IPVS_DAEMON_ATTR_MCAST_GROUP, d.mcast_group->data(), 4);
  if (d.mcast_group6) b.bytes(IPVS_DAEMON_ATTR_MCAST_GROUP6, d.mcast_group6->data(), 16);
  if (d.mcast_port) b.u16(IPVS_DAEMON_ATTR_MCAST_PORT, *d.mcast_port);  // host order
  if (d.mcast_ttl) b.u8(IPVS_DAEMON_ATTR_MCAST_TTL, *d.mcast_ttl);
  b.nest_end(nest);
  return b.finish();
}
Result<Bytes> build_del_daemon(const MsgHeader& h, std::uint32_t state) {
  Builder b(h, IPVS_CMD_DEL_DAEMON, 0);
  nlattr* nest = b.nest_start(IPVS_CMD_ATTR_DAEMON);
  b.u32(IPVS_DAEMON_ATTR_STATE, state);
  b.nest_end(nest);
  return b.finish();
}
Result<Bytes> build_get_daemons(const MsgHeader& h) {
  return bare_msg(h, IPVS_CMD_GET_DAEMON, NLM_F_DUMP);
}

Result<Bytes> build_set_config(const MsgHeader& h, const Timeouts& t) {
  Builder b(h, IPVS_CMD_SET_CONFIG, 0);
  if (t.tcp) b.u32(IPVS_CMD_ATTR_TIMEOUT_TCP, *t.tcp);
  if (t.tcp_fin) b.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, *t.tcp_fin);
  if (t.udp) b.u32(IPVS_CMD_ATTR_TIMEOUT_UDP, *t.udp);
  return b.finish();
}
Result<Bytes> build_get_config(const MsgHeader& h) {
  return bare_msg(h, IPVS_CMD_GET_CONFIG);
}
Result<Bytes> build_get_info(const MsgHeader& h) {
  return bare_msg(h, IPVS_CMD_GET_INFO);
}
Result<Bytes> build_zero(const MsgHeader& h, const std::optional<SvcAttrs>& svc) {
  Builder b(h, IPVS_CMD_ZERO, 0);
  if (svc) {
    if (auto e = put_service(b, *svc, false)) return *e;
  }
  return b.finish();
}
Result<Bytes> build_flush(const MsgHeader& h) {
  return bare_msg(h, IPVS_CMD_FLUSH);
}

// ---- Decode: public ------------------------------------------------------

Result<Reply> parse_reply(ByteView buf, std::uint16_t family) {
  Reply reply;
  std::size_t off = 0;
  while (off < buf.size()) {
    const std::size_t left = buf.size() - off;
    if (left < kNlHdr) {
      return err(Error::Kind::kTruncated,
                 std::to_string(left) + " trailing bytes, too short for a netlink header");
    }
    const auto len = load<std::uint32_t>(buf, off);
    const auto type = load<std::uint16_t>(buf, off + 4);
    const auto flags = load<std::uint16_t>(buf, off + 6);
    if (len < kNlHdr) {
      return err(Error::Kind::kBadLength,
                 "netlink message with nlmsg_len " + std::to_string(len) + " < 16");
    }
    if (len > left) {
      return err(Error::Kind::kTruncated, "netlink message with nlmsg_len " + std::to_string(len) +
                                              " but only " + std::to_string(left) +
                                              " bytes remain");
    }
    const std::size_t msg_off = off;
    const ByteView payload = buf.subspan(off + kNlHdr, len - kNlHdr);
    off += std::min<std::size_t>(NLMSG_ALIGN(len), left);

    if (type == NLMSG_NOOP) continue;
    if (reply.acked) return err(Error::Kind::kUnexpected, "netlink message after the ack");
    if (type == NLMSG_ERROR) {
      if (payload.size() < sizeof(nlmsgerr)) {
        return err(Error::Kind::kTruncated,
                   "NLMSG_ERROR payload of " + std::to_string(payload.size()) +
                       " bytes, expected at least " + std::to_string(sizeof(nlmsgerr)));
      }
      const int status = load<int>(payload);
      if (status != 0) return kernel_error(status, extack_text(payload, flags), "NLMSG_ERROR");
      reply.acked = true;
      continue;
    }
    if (reply.done) return err(Error::Kind::kUnexpected, "netlink message after NLMSG_DONE");
    if (type == NLMSG_DONE) {
      if (payload.size() >= sizeof(int)) {
        const int status = load<int>(payload);
        if (status != 0) return kernel_error(status, {}, "NLMSG_DONE");
      }
      reply.done = true;
      continue;
    }
    if (type != family) {
      return err(Error::Kind::kUnexpected, "netlink message of type " + std::to_string(type) +
                                               ", expected the IPVS family " +
                                               std::to_string(family));
    }
    if (payload.size() < kGenlHdr) {
      return err(Error::Kind::kTruncated, "genetlink message without a complete genlmsghdr");
    }
    GenlMsg m;
    m.flags = flags;
    m.seq = load<std::uint32_t>(buf, msg_off + 8);
    m.port = load<std::uint32_t>(buf, msg_off + 12);
    m.cmd = load<std::uint8_t>(payload, 0);
    m.version = load<std::uint8_t>(payload, 1);
    m.attrs = payload.subspan(kGenlHdr);
    reply.messages.push_back(m);
  }
  return reply;
}

Result<void> parse_ack(ByteView buf, std::uint16_t family) {
  auto reply = parse_reply(buf, family);
  if (!reply) return reply.error();
  if (!reply->messages.empty() || reply->done) {
    return err(Error::Kind::kUnexpected, "expected an ack, got data");
  }
  if (!reply->acked) return err(Error::Kind::kTruncated, "no ack in the reply");
  return {};
}

Result<std::vector<SvcAttrs>> parse_services(ByteView buf, std::uint16_t family) {
  return parse_dump<SvcAttrs>(buf, family, IPVS_CMD_NEW_SERVICE, "service", service_from);
}
Result<std::vector<DestAttrs>> parse_dests(ByteView buf, std::uint16_t family) {
  return parse_dump<DestAttrs>(buf, family, IPVS_CMD_NEW_DEST, "destination", dest_from);
}
Result<std::vector<DaemonAttrs>> parse_daemons(ByteView buf, std::uint16_t family) {
  return parse_dump<DaemonAttrs>(buf, family, IPVS_CMD_NEW_DAEMON, "daemon", daemon_from);
}
Result<SvcAttrs> parse_service(ByteView buf, std::uint16_t family) {
  return parse_single<SvcAttrs>(buf, family, IPVS_CMD_NEW_SERVICE, "GET_SERVICE", service_from);
}
Result<Timeouts> parse_config(ByteView buf, std::uint16_t family) {
  return parse_single<Timeouts>(buf, family, IPVS_CMD_SET_CONFIG, "GET_CONFIG", timeouts_from);
}
Result<Info> parse_info(ByteView buf, std::uint16_t family) {
  return parse_single<Info>(buf, family, IPVS_CMD_SET_INFO, "GET_INFO", info_from);
}

Result<SvcAttrs> service_from(const GenlMsg& msg) {
  return nested_from<SvcAttrs>(msg, IPVS_CMD_ATTR_SERVICE, "SERVICE", parse_service_attrs);
}
Result<DestAttrs> dest_from(const GenlMsg& msg) {
  return nested_from<DestAttrs>(msg, IPVS_CMD_ATTR_DEST, "DEST", parse_dest_attrs);
}
Result<DaemonAttrs> daemon_from(const GenlMsg& msg) {
  return nested_from<DaemonAttrs>(msg, IPVS_CMD_ATTR_DAEMON, "DAEMON", parse_daemon_attrs);
}

Result<Timeouts> timeouts_from(const GenlMsg& msg) {
  auto top = index_attrs(msg.attrs, IPVS_CMD_ATTR_MAX, "config");
  if (!top) return top.error();
  Reader r(*top, "config");
  Timeouts t;
  t.tcp = r.num<std::uint32_t>(IPVS_CMD_ATTR_TIMEOUT_TCP, "TIMEOUT_TCP", false);
  t.tcp_fin = r.num<std::uint32_t>(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, "TIMEOUT_TCP_FIN", false);
  t.udp = r.num<std::uint32_t>(IPVS_CMD_ATTR_TIMEOUT_UDP, "TIMEOUT_UDP", false);
  if (r.error) return *r.error;
  return t;
}

Result<Info> info_from(const GenlMsg& msg) {
  auto top = index_attrs(msg.attrs, IPVS_INFO_ATTR_MAX, "info");
  if (!top) return top.error();
  Reader r(*top, "info");
  auto version = r.num<std::uint32_t>(IPVS_INFO_ATTR_VERSION, "VERSION", true);
  auto size = r.num<std::uint32_t>(IPVS_INFO_ATTR_CONN_TAB_SIZE, "CONN_TAB_SIZE", true);
  if (r.error) return *r.error;
  return Info{*version, *size};
}

Result<SvcAttrs> parse_service_attrs(ByteView nested) {
  auto idx = index_attrs(nested, IPVS_SVC_ATTR_MAX, "SERVICE");
  if (!idx) return idx.error();
  Reader r(*idx, "SERVICE");
  SvcAttrs s;
  s.af = r.num<std::uint16_t>(IPVS_SVC_ATTR_AF, "AF", true).value_or(0);
  s.fwmark = r.num<std::uint32_t>(IPVS_SVC_ATTR_FWMARK, "FWMARK", false).value_or(0);
  const bool by_addr = s.fwmark == 0;  // the kernel sends either FWMARK or the 3-tuple
  s.protocol = r.num<std::uint16_t>(IPVS_SVC_ATTR_PROTOCOL, "PROTOCOL", by_addr).value_or(0);
  s.addr = r.addr(IPVS_SVC_ATTR_ADDR, "ADDR", by_addr).value_or(Addr{});
  s.port = r.be16(IPVS_SVC_ATTR_PORT, "PORT", by_addr).value_or(0);
  s.sched_name =
      r.str(IPVS_SVC_ATTR_SCHED_NAME, "SCHED_NAME", IP_VS_SCHEDNAME_MAXLEN, true).value_or("");
  s.pe_name = r.str(IPVS_SVC_ATTR_PE_NAME, "PE_NAME", IP_VS_PENAME_MAXLEN, false).value_or("");
  if (auto f = r.fixed<sizeof(ip_vs_flags)>(IPVS_SVC_ATTR_FLAGS, "FLAGS", true)) {
    ip_vs_flags flags;
    std::memcpy(&flags, f->data(), sizeof flags);
    s.flags = flags.flags;
    s.flags_mask = flags.mask;
  }
  s.timeout = r.num<std::uint32_t>(IPVS_SVC_ATTR_TIMEOUT, "TIMEOUT", true).value_or(0);
  s.netmask = r.num<std::uint32_t>(IPVS_SVC_ATTR_NETMASK, "NETMASK", true).value_or(0);
  if (r.error) return *r.error;
  auto stats = read_stats(r, IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64);
  if (!stats) return stats.error();
  s.stats = *stats;
  return s;
}

Result<DestAttrs> parse_dest_attrs(ByteView nested) {
  auto idx = index_attrs(nested, IPVS_DEST_ATTR_MAX, "DEST");
  if (!idx) return idx.error();
  Reader r(*idx, "DEST");
  DestAttrs d;
  d.addr = r.addr(IPVS_DEST_ATTR_ADDR, "ADDR", true).value_or(Addr{});
  d.port = r.be16(IPVS_DEST_ATTR_PORT, "PORT", true).value_or(0);
  d.fwd_method = r.num<std::uint32_t>(IPVS_DEST_ATTR_FWD_METHOD, "FWD_METHOD", true).value_or(0);
  d.weight = r.num<std::uint32_t>(IPVS_DEST_ATTR_WEIGHT, "WEIGHT", true).value_or(0);
  d.u_thresh = r.num<std::uint32_t>(IPVS_DEST_ATTR_U_THRESH, "U_THRESH", true).value_or(0);
  d.l_thresh = r.num<std::uint32_t>(IPVS_DEST_ATTR_L_THRESH, "L_THRESH", true).value_or(0);
  d.active_conns =
      r.num<std::uint32_t>(IPVS_DEST_ATTR_ACTIVE_CONNS, "ACTIVE_CONNS", false).value_or(0);
  d.inact_conns =
      r.num<std::uint32_t>(IPVS_DEST_ATTR_INACT_CONNS, "INACT_CONNS", false).value_or(0);
  d.persist_conns =
      r.num<std::uint32_t>(IPVS_DEST_ATTR_PERSIST_CONNS, "PERSIST_CONNS", false).value_or(0);
  d.addr_family = r.num<std::uint16_t>(IPVS_DEST_ATTR_ADDR_FAMILY, "ADDR_FAMILY", false);
  d.tun_type = r.num<std::uint8_t>(IPVS_DEST_ATTR_TUN_TYPE, "TUN_TYPE", false);
  d.tun_port = r.be16(IPVS_DEST_ATTR_TUN_PORT, "TUN_PORT", false);
  d.tun_flags = r.num<std::uint16_t>(IPVS_DEST_ATTR_TUN_FLAGS, "TUN_FLAGS", false);
  if (r.error) return *r.error;
  auto stats = read_stats(r, IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64);
  if (!stats) return stats.error();
  d.stats = *stats;
  return d;
}

Result<DaemonAttrs> parse_daemon_attrs(ByteView nested) {
  auto idx = index_attrs(nested, IPVS_DAEMON_ATTR_MAX, "DAEMON");
  if (!idx) return idx.error();
  Reader r(*idx, "DAEMON");
  DaemonAttrs d;
  d.state = r.num<std::uint32_t>(IPVS_DAEMON_ATTR_STATE, "STATE", true).value_or(0);
  d.mcast_ifn =
      r.str(IPVS_DAEMON_ATTR_MCAST_IFN, "MCAST_IFN", IP_VS_IFNAME_MAXLEN, true).value_or("");
  d.sync_id = r.num<std::uint32_t>(IPVS_DAEMON_ATTR_SYNC_ID, "SYNC_ID", true).value_or(0);
  d.sync_maxlen = r.num<std::uint16_t>(IPVS_DAEMON_ATTR_SYNC_MAXLEN, "SYNC_MAXLEN", false);
  d.mcast_group = r.fixed<4>(IPVS_DAEMON_ATTR_MCAST_GROUP, "MCAST_GROUP", false);
  d.mcast_group6 = r.fixed<16>(IPVS_DAEMON_ATTR_MCAST_GROUP6, "MCAST_GROUP6", false);
  d.mcast_port = r.num<std::uint16_t>(IPVS_DAEMON_ATTR_MCAST_PORT, "MCAST_PORT", false);
  d.mcast_ttl = r.num<std::uint8_t>(IPVS_DAEMON_ATTR_MCAST_TTL, "MCAST_TTL", false);
  if (r.error) return *r.error;
  return d;
}

Result<Stats> parse_stats_attrs(ByteView nested, bool stats64) {
  const char* scope = stats64 ? "STATS64" : "STATS";
  auto idx = index_attrs(nested, IPVS_STATS_ATTR_MAX, scope);
  if (!idx) return idx.error();
  Reader r(*idx, scope);
  // STATS64: every counter u64. STATS: u32 counters and rates, u64 bytes;
  // accept either width there.
  auto get = [&](int type, const char* name) -> std::uint64_t {
    auto a = r.raw(type, name, true);
    if (!a) return 0;
    if (a->size() == 8) return load<std::uint64_t>(*a);
    if (a->size() == 4 && !stats64) return load<std::uint32_t>(*a);
    r.fail(Error::Kind::kBadLength, name,
           "length " + std::to_string(a->size()) + ", expected " + (stats64 ? "8" : "4 or 8"));
    return 0;
  };
  Stats s;
  s.conns = get(IPVS_STATS_ATTR_CONNS, "CONNS");
  s.inpkts = get(IPVS_STATS_ATTR_INPKTS, "INPKTS");
  s.outpkts = get(IPVS_STATS_ATTR_OUTPKTS, "OUTPKTS");
  s.inbytes = get(IPVS_STATS_ATTR_INBYTES, "INBYTES");
  s.outbytes = get(IPVS_STATS_ATTR_OUTBYTES, "OUTBYTES");
  s.cps = get(IPVS_STATS_ATTR_CPS, "CPS");
  s.inpps = get(IPVS_STATS_ATTR_INPPS, "INPPS");
  s.outpps = get(IPVS_STATS_ATTR_OUTPPS, "OUTPPS");
  s.inbps = get(IPVS_STATS_ATTR_INBPS, "INBPS");
  s.outbps = get(IPVS_STATS_ATTR_OUTBPS, "OUTBPS");
  if (r.error) return *r.error;
  return s;
}

}  // namespace lvsd::forwarding::ipvs
