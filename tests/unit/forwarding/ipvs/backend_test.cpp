// IpvsBackend over a scripted transport (this host has no ip_vs): the
// requests it builds for each Backend call, how it reads kernel replies
// (dumps with STATS64 and the HASHED flag, errors, acks), and that malformed or
// unexpected replies are error codes. The real kernel round trips are in
// tests/integration/ipvs_backend_vm_test.sh.
#include "forwarding/ipvs/backend.hpp"

#include <gtest/gtest.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>

#include "forwarding/ipvs/convert.hpp"
#include "forwarding/ipvs/socket.hpp"
#include "unit/forwarding/ipvs/hex.hpp"

namespace lvsd::forwarding::ipvs {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::make_address_v4;
using namespace std::chrono_literals;

constexpr std::uint16_t kFamily = 0x1d;

// ---- Kernel-side messages ----------------------------------------------------------

void put_header(Bytes& out, std::uint32_t len, std::uint16_t type, std::uint16_t flags,
                std::uint32_t seq) {
  nlmsghdr h{len, type, flags, seq, 0};
  const auto* p = reinterpret_cast<const std::byte*>(&h);
  out.insert(out.end(), p, p + sizeof h);
}

// NLMSG_ERROR (errno 0 = ack), capped (no echoed request payload).
Bytes error_msg(int errnum, std::uint32_t seq = 1) {
  Bytes out;
  put_header(out, sizeof(nlmsghdr) + sizeof(nlmsgerr), NLMSG_ERROR, NLM_F_CAPPED, seq);
  nlmsgerr e{};
  e.error = -errnum;
  e.msg = nlmsghdr{16, kFamily, NLM_F_REQUEST | NLM_F_ACK, seq, 1234};
  const auto* p = reinterpret_cast<const std::byte*>(&e);
  out.insert(out.end(), p, p + sizeof e);
  return out;
}
Bytes ack(std::uint32_t seq = 1) {
  return error_msg(0, seq);
}
Bytes done(std::uint32_t seq = 1) {
  Bytes out;
  put_header(out, sizeof(nlmsghdr) + 4, NLMSG_DONE, NLM_F_MULTI, seq);
  out.resize(out.size() + 4);
  return out;
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A message as the kernel sends it, built with libnl.
class KMsg {
 public:
  explicit KMsg(std::uint8_t cmd, std::uint16_t flags = NLM_F_MULTI) : m_(nlmsg_alloc()) {
    genlmsg_put(m_, 0, 1, kFamily, 0, flags, cmd, IPVS_GENL_VERSION);
  }
  ~KMsg() { nlmsg_free(m_); }
  KMsg(const KMsg&) = delete;
  KMsg& operator=(const KMsg&) = delete;
  nl_msg* get() { return m_; }
  Bytes bytes() {
    const nlmsghdr* h = nlmsg_hdr(m_);
    const auto* p = reinterpret_cast<const std::byte*>(h);
    return Bytes(p, p + NLMSG_ALIGN(h->nlmsg_len));
  }

 private:
  nl_msg* m_;
};

void put_stats64(nl_msg* m, int type, std::uint64_t base) {
  nlattr* s = nla_nest_start(m, type);
  for (int a = IPVS_STATS_ATTR_CONNS; a <= IPVS_STATS_ATTR_OUTBPS; ++a) {
    nla_put_u64(m, a, base + static_cast<std::uint64_t>(a));
  }
  nla_nest_end(m, s);
}

// NEW_SERVICE as in a GET_SERVICE dump (ip_vs_genl_fill_service).
Bytes kernel_service(const SvcAttrs& s, std::uint64_t stats_base) {
  KMsg k(IPVS_CMD_NEW_SERVICE);
  nl_msg* m = k.get();
  nlattr* n = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
  nla_put_u16(m, IPVS_SVC_ATTR_AF, s.af);
  if (s.fwmark != 0) {
    nla_put_u32(m, IPVS_SVC_ATTR_FWMARK, s.fwmark);
  } else {
    nla_put_u16(m, IPVS_SVC_ATTR_PROTOCOL, s.protocol);
    nla_put(m, IPVS_SVC_ATTR_ADDR, 16, s.addr.data());
    nla_put_u16(m, IPVS_SVC_ATTR_PORT, htons(s.port));
  }
  nla_put_string(m, IPVS_SVC_ATTR_SCHED_NAME, s.sched_name.c_str());
  if (!s.pe_name.empty()) nla_put_string(m, IPVS_SVC_ATTR_PE_NAME, s.pe_name.c_str());
  const ip_vs_flags f{s.flags, 0xffffffffU};
  nla_put(m, IPVS_SVC_ATTR_FLAGS, sizeof f, &f);
  nla_put_u32(m, IPVS_SVC_ATTR_TIMEOUT, s.timeout);
  nla_put_u32(m, IPVS_SVC_ATTR_NETMASK, s.netmask);
  put_stats64(m, IPVS_SVC_ATTR_STATS64, stats_base);
  nla_nest_end(m, n);
  return k.bytes();
}

// NEW_DEST as in a GET_DEST dump (ip_vs_genl_fill_dest).
Bytes kernel_dest(const DestAttrs& d, std::uint16_t af, std::uint64_t stats_base) {
  KMsg k(IPVS_CMD_NEW_DEST);
  nl_msg* m = k.get();
  nlattr* n = nla_nest_start(m, IPVS_CMD_ATTR_DEST);
  nla_put(m, IPVS_DEST_ATTR_ADDR, 16, d.addr.data());
  nla_put_u16(m, IPVS_DEST_ATTR_PORT, htons(d.port));
  nla_put_u32(m, IPVS_DEST_ATTR_FWD_METHOD, d.fwd_method);
  nla_put_u32(m, IPVS_DEST_ATTR_WEIGHT, d.weight);
  nla_put_u8(m, IPVS_DEST_ATTR_TUN_TYPE, d.tun_type.value_or(0));
  nla_put_u16(m, IPVS_DEST_ATTR_TUN_PORT, htons(d.tun_port.value_or(0)));
  nla_put_u16(m, IPVS_DEST_ATTR_TUN_FLAGS, d.tun_flags.value_or(0));
  nla_put_u32(m, IPVS_DEST_ATTR_U_THRESH, d.u_thresh);
  nla_put_u32(m, IPVS_DEST_ATTR_L_THRESH, d.l_thresh);
  nla_put_u32(m, IPVS_DEST_ATTR_ACTIVE_CONNS, d.active_conns);
  nla_put_u32(m, IPVS_DEST_ATTR_INACT_CONNS, d.inact_conns);
  nla_put_u32(m, IPVS_DEST_ATTR_PERSIST_CONNS, d.persist_conns);
  nla_put_u16(m, IPVS_DEST_ATTR_ADDR_FAMILY, d.addr_family.value_or(af));
  put_stats64(m, IPVS_DEST_ATTR_STATS64, stats_base);
  nla_nest_end(m, n);
  return k.bytes();
}

// ---- Scripted transport --------------------------------------------------------------

struct Script {
  std::deque<Result<Bytes>> replies;
  std::vector<Bytes> requests;
  std::vector<MsgHeader> headers;
};

class FakeTransport : public Transport {
 public:
  explicit FakeTransport(std::shared_ptr<Script> s) : s_(std::move(s)) {}
  std::uint16_t family() const override { return kFamily; }
  MsgHeader next_header(std::uint16_t flags) override {
    MsgHeader h{kFamily, ++seq_, 1234, flags};
    s_->headers.push_back(h);
    return h;
  }
  Result<Bytes> transact(ByteView request) override {
    s_->requests.emplace_back(request.begin(), request.end());
    if (s_->replies.empty()) return Error{Error::Kind::kTimeout, ETIMEDOUT, "no scripted reply"};
    auto r = std::move(s_->replies.front());
    s_->replies.pop_front();
    return r;
  }

 private:
  std::shared_ptr<Script> s_;
  std::uint32_t seq_ = 0;
};

struct Fixture {
  std::shared_ptr<Script> script = std::make_shared<Script>();
  IpvsBackend backend{std::make_unique<FakeTransport>(script)};
  void reply(Result<Bytes> r) { script->replies.push_back(std::move(r)); }
  std::uint8_t cmd(std::size_t i) const {
    return static_cast<std::uint8_t>(script->requests.at(i).at(sizeof(nlmsghdr)));
  }
  std::uint16_t flags(std::size_t i) const {
    std::uint16_t f;
    std::memcpy(&f, script->requests.at(i).data() + 6, 2);
    return f;
  }
};

std::error_code errc(int e) {
  return {e, std::generic_category()};
}

VirtualService service(ServiceKey key, std::string sched) {
  VirtualService v;
  v.key = std::move(key);
  v.scheduler = std::move(sched);
  return v;
}

const ServiceKey kTcp = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.100"), 80);

RealServer dest(const char* a, std::uint16_t port, std::uint32_t w, Method m) {
  RealServer r;
  r.address = make_address(a);
  r.port = port;
  r.weight = w;
  r.method = m;
  return r;
}

// ---- Tests ----------------------------------------------------------------------------

TEST(IpvsBackend, OpenWithoutIpVsNamesTheFix) {
  auto b = IpvsBackend::open(2s);
  if (b.has_value()) GTEST_SKIP() << "this kernel has ip_vs";
  if (b.error().kind == Error::Kind::kIo) GTEST_SKIP() << b.error().message;
  EXPECT_EQ(b.error().kind, Error::Kind::kNoFamily);
  EXPECT_EQ(b.error().message, kNoIpvsMessage);
  EXPECT_NE(b.error().message.find("modprobe ip_vs"), std::string::npos);
  EXPECT_EQ(to_error_code(b.error()), errc(ENOPROTOOPT));
}

TEST(IpvsBackend, EachOpSendsItsMessageAndReadsTheAck) {
  VirtualService s = service(kTcp, "wlc");
  s.persistence = Persistence{600, make_address_v4("255.255.255.0"), 128};
  const RealServer nat = dest("10.0.0.1", 8080, 3, Method::nat);
  const RealServer v6tun = dest("2001:db8::9", 80, 1, Method::tun);
  const PlanDelta ops = {
      AddService{s},
      EditService{s, {}},
      AddDest{kTcp, nat},
      EditDest{kTcp, v6tun, {}},
      DelDest{kTcp, v6tun.key()},
      DelService{kTcp},
  };
  Fixture f;
  for (std::size_t i = 0; i < ops.size(); ++i)
    f.reply(ack());
  for (const auto& op : ops)
    EXPECT_EQ(f.backend.apply(op), std::error_code()) << to_string(op);
  ASSERT_EQ(f.script->requests.size(), ops.size());

  const auto& h = f.script->headers;
  const std::vector<Result<Bytes>> want = {
      build_new_service(h[0], to_wire(s)),
      build_set_service(h[1], to_wire(s)),
      build_new_dest(h[2], to_wire_key(kTcp), to_wire(nat, Family::inet)),
      build_set_dest(h[3], to_wire_key(kTcp), to_wire(v6tun, Family::inet)),
      build_del_dest(h[4], to_wire_key(kTcp), to_wire_key(v6tun.key(), Family::inet)),
      build_del_service(h[5], to_wire_key(kTcp)),
  };
  const std::vector<int> cmds = {IPVS_CMD_NEW_SERVICE, IPVS_CMD_SET_SERVICE, IPVS_CMD_NEW_DEST,
                                 IPVS_CMD_SET_DEST,    IPVS_CMD_DEL_DEST,    IPVS_CMD_DEL_SERVICE};
  for (std::size_t i = 0; i < ops.size(); ++i) {
    ASSERT_TRUE(want[i].has_value());
    EXPECT_EQ(testing::to_hex(f.script->requests[i]), testing::to_hex(*want[i])) << i;
    EXPECT_EQ(f.cmd(i), cmds[i]);
    EXPECT_EQ(f.flags(i), NLM_F_REQUEST | NLM_F_ACK);
  }
  EXPECT_EQ(f.backend.last_error(), "");
}

TEST(IpvsBackend, KernelErrnosBecomeErrorCodes) {
  Fixture f;
  for (int e : {EEXIST, ESRCH, ENOENT, EINVAL, ERANGE, EPERM})
    f.reply(error_msg(e));
  EXPECT_EQ(f.backend.apply(AddService{service(kTcp, "rr")}), errc(EEXIST));
  EXPECT_NE(f.backend.last_error().find("File exists"), std::string::npos)
      << f.backend.last_error();
  EXPECT_EQ(f.backend.apply(DelService{kTcp}), errc(ESRCH));
  EXPECT_EQ(f.backend.apply(DelDest{kTcp, DestKey{make_address("10.0.0.1"), 80}}), errc(ENOENT));
  EXPECT_EQ(f.backend.apply(AddService{service(kTcp, "rr")}), errc(EINVAL));
  EXPECT_EQ(f.backend.apply(AddDest{kTcp, dest("10.0.0.1", 80, 1, Method::nat)}), errc(ERANGE));
  EXPECT_EQ(f.backend.set_timeouts({}), errc(EPERM));
}

TEST(IpvsBackend, ValuesTheWireCannotCarryAreEinvalWithoutARequest) {
  Fixture f;
  EXPECT_EQ(f.backend.apply(AddService{service(kTcp, "a-very-long-scheduler")}), errc(EINVAL));
  EXPECT_NE(f.backend.last_error().find("longer than 15"), std::string::npos);
  EXPECT_TRUE(f.script->requests.empty());
}

TEST(IpvsBackend, MalformedOrUnexpectedRepliesAreErrorsNotCrashes) {
  KMsg data(IPVS_CMD_NEW_SERVICE, 0);
  Bytes truncated_ack = ack();
  truncated_ack.resize(truncated_ack.size() - 8);
  Bytes wrong_type = ack();
  wrong_type[4] = std::byte{0x42};  // neither a control type nor the family
  const std::vector<std::pair<const char*, Result<Bytes>>> replies = {
      {"empty", Bytes{}},
      {"garbage", testing::hex("ff")},
      {"truncated ack", truncated_ack},
      {"wrong message type", wrong_type},
      {"data instead of an ack", cat({data.bytes(), ack()})},
      {"dump end instead of an ack", done()},
  };
  for (const auto& [name, r] : replies) {
    Fixture f;
    f.reply(r);
    EXPECT_EQ(f.backend.apply(DelService{kTcp}), errc(EPROTO)) << name;
    EXPECT_FALSE(f.backend.last_error().empty()) << name;
  }
  Fixture t;
  t.reply(Error{Error::Kind::kTimeout, ETIMEDOUT, "no complete reply"});
  EXPECT_EQ(t.backend.apply(DelService{kTcp}), errc(ETIMEDOUT));
  t.reply(Error{Error::Kind::kIo, ENOBUFS, "overrun"});
  EXPECT_EQ(t.backend.apply(DelService{kTcp}), errc(ENOBUFS));
}

TEST(IpvsBackend, ReadBackConvertsDumpsWithStats64AndIgnoresHashed) {
  // Kernel state: a persistent sh service with two dests, a fwmark IPv6 one
  // without dests.
  VirtualService s1 = service(kTcp, "sh");
  s1.scheduler_flags.fallback = true;
  s1.persistence = Persistence{600, make_address_v4("255.255.255.0"), 128};
  const VirtualService s2 = service(ServiceKey::mark(8, Family::inet6), "mh");
  RealServer d1 = dest("10.0.0.1", 80, 3, Method::nat);
  RealServer d2 = dest("2001:db8::9", 80, 1, Method::tun);
  d2.tunnel = Tunnel{TunnelType::gue, 6080, TunnelChecksum::remote};

  SvcAttrs w1 = to_wire(s1);
  w1.flags |= kSvcHashed;
  SvcAttrs w2 = to_wire(s2);
  w2.flags |= kSvcHashed;
  DestAttrs wd1 = to_wire(d1, Family::inet);
  wd1.active_conns = 4;
  wd1.inact_conns = 5;
  wd1.persist_conns = 6;
  DestAttrs wd2 = to_wire(d2, Family::inet);

  Fixture f;
  f.reply(cat({kernel_service(w1, 100), kernel_service(w2, 200), done()}));
  f.reply(cat({kernel_dest(wd1, AF_INET, 1000), kernel_dest(wd2, AF_INET, 2000), done()}));
  f.reply(done());
  auto rb = f.backend.read_back();
  ASSERT_TRUE(rb.has_value()) << rb.error().message() << ": " << f.backend.last_error();

  ForwardingPlan want;
  want.put(s1);
  want.put(s2);
  want.put(kTcp, d1);
  want.put(kTcp, d2);
  EXPECT_EQ(rb->plan, want);
  EXPECT_TRUE(f.backend.skipped().empty());

  auto stats = [](std::uint64_t b) {
    return forwarding::Stats{b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10};
  };
  ASSERT_EQ(rb->status.size(), 2U);
  EXPECT_EQ(rb->status.at(kTcp).stats, stats(100));
  EXPECT_EQ(rb->status.at(s2.key).stats, stats(200));
  EXPECT_EQ(rb->status.at(kTcp).dests.at(d1.key()), (DestStatus{stats(1000), 4, 5, 6}));
  EXPECT_EQ(rb->status.at(kTcp).dests.at(d2.key()), (DestStatus{stats(2000), 0, 0, 0}));
  EXPECT_TRUE(rb->status.at(s2.key).dests.empty());

  // GET_SERVICE dump, then GET_DEST dumps keyed by each service.
  ASSERT_EQ(f.script->requests.size(), 3U);
  EXPECT_EQ(f.cmd(0), IPVS_CMD_GET_SERVICE);
  EXPECT_EQ(f.flags(0) & NLM_F_DUMP, NLM_F_DUMP);
  auto want_get1 = build_get_dests(f.script->headers[1], to_wire_key(kTcp));
  auto want_get2 = build_get_dests(f.script->headers[2], to_wire_key(s2.key));
  ASSERT_TRUE(want_get1.has_value() && want_get2.has_value());
  EXPECT_EQ(testing::to_hex(f.script->requests[1]), testing::to_hex(*want_get1));
  EXPECT_EQ(testing::to_hex(f.script->requests[2]), testing::to_hex(*want_get2));
  EXPECT_EQ(f.flags(1), NLM_F_REQUEST | NLM_F_DUMP);
}

TEST(IpvsBackend, ReadBackSkipsWhatTheModelCannotRepresent) {
  const VirtualService s = service(kTcp, "rr");
  DestAttrs local = to_wire(dest("10.0.0.1", 80, 1, Method::nat), Family::inet);
  local.fwd_method = kFwdLocalNode;
  const DestAttrs ok = to_wire(dest("10.0.0.2", 80, 1, Method::dr), Family::inet);
  SvcAttrs icmp =
      to_wire(service(ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 0), "rr"));
  icmp.protocol = IPPROTO_ICMP;

  Fixture f;
  f.reply(cat({kernel_service(to_wire(s), 0), kernel_service(icmp, 0), done()}));
  f.reply(cat({kernel_dest(local, AF_INET, 0), kernel_dest(ok, AF_INET, 0), done()}));
  auto rb = f.backend.read_back();
  ASSERT_TRUE(rb.has_value()) << f.backend.last_error();
  ForwardingPlan want;
  want.put(s);
  want.put(kTcp, dest("10.0.0.2", 80, 1, Method::dr));
  EXPECT_EQ(rb->plan, want);
  ASSERT_EQ(f.backend.skipped().size(), 2U) << ::testing::PrintToString(f.backend.skipped());
  EXPECT_NE(f.backend.skipped()[1].find("192.0.2.1:0: unknown protocol 1"), std::string::npos)
      << f.backend.skipped()[1];
  EXPECT_NE(f.backend.skipped()[0].find("TCP 192.0.2.100:80: destination 10.0.0.1:80"),
            std::string::npos)
      << f.backend.skipped()[0];
  EXPECT_NE(f.backend.skipped()[0].find("Local"), std::string::npos) << f.backend.skipped()[0];
}

TEST(IpvsBackend, ReadBackOfABadDumpIsEproto) {
  const SvcAttrs w = to_wire(service(kTcp, "rr"));
  Bytes svc = kernel_service(w, 0);
  Bytes cut = svc;
  cut.resize(cut.size() - 12);  // nlmsg_len now runs past the end
  const std::vector<std::pair<const char*, std::vector<Result<Bytes>>>> cases = {
      {"service dump without NLMSG_DONE", {svc}},
      {"truncated service message", {cat({cut})}},
      {"a service twice", {cat({svc, svc, done()}), done(), done()}},
      {"dest dump that is an ack", {cat({svc, done()}), ack()}},
      {"dest dump with a service message",
       {cat({svc, done()}), cat({kernel_service(w, 0), done()})}},
  };
  for (const auto& [name, replies] : cases) {
    Fixture f;
    for (const auto& r : replies)
      f.reply(r);
    auto rb = f.backend.read_back();
    ASSERT_FALSE(rb.has_value()) << name;
    EXPECT_EQ(rb.error(), errc(EPROTO)) << name << ": " << f.backend.last_error();
  }
  Fixture k;
  k.reply(error_msg(EPERM));
  auto rb = k.backend.read_back();
  ASSERT_FALSE(rb.has_value());
  EXPECT_EQ(rb.error(), errc(EPERM));
}

TEST(IpvsBackend, Timeouts) {
  Fixture f;
  f.reply(ack());
  EXPECT_EQ(f.backend.set_timeouts({100, 0, 30}), std::error_code());
  auto want = build_set_config(f.script->headers[0], ipvs::Timeouts{100, 0, 30});
  ASSERT_TRUE(want.has_value());
  EXPECT_EQ(testing::to_hex(f.script->requests[0]), testing::to_hex(*want));

  KMsg cfg(IPVS_CMD_SET_CONFIG, 0);
  nla_put_u32(cfg.get(), IPVS_CMD_ATTR_TIMEOUT_TCP, 100);
  nla_put_u32(cfg.get(), IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, 120);
  nla_put_u32(cfg.get(), IPVS_CMD_ATTR_TIMEOUT_UDP, 30);
  f.reply(cfg.bytes());
  auto t = f.backend.get_timeouts();
  ASSERT_TRUE(t.has_value()) << f.backend.last_error();
  EXPECT_EQ(*t, (forwarding::Timeouts{100, 120, 30}));
  EXPECT_EQ(f.cmd(1), IPVS_CMD_GET_CONFIG);

  KMsg wrong(IPVS_CMD_SET_INFO, 0);
  f.reply(wrong.bytes());
  auto bad = f.backend.get_timeouts();
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), errc(EPROTO));
}

TEST(IpvsBackend, SyncDaemons) {
  SyncDaemonConfig c;
  c.interface = "sync0";
  c.syncid = 5;
  Fixture f;
  f.reply(ack());
  f.reply(error_msg(EEXIST));
  EXPECT_EQ(f.backend.start_sync_daemon(c), std::error_code());
  EXPECT_EQ(f.backend.start_sync_daemon(c), errc(EEXIST));
  auto want = build_new_daemon(f.script->headers[0], to_wire(c));
  ASSERT_TRUE(want.has_value());
  EXPECT_EQ(testing::to_hex(f.script->requests[0]), testing::to_hex(*want));

  f.reply(ack());
  f.reply(error_msg(ESRCH));
  EXPECT_EQ(f.backend.stop_sync_daemon(SyncState::backup), std::error_code());
  EXPECT_EQ(f.backend.stop_sync_daemon(SyncState::backup), errc(ESRCH));
  auto want_del = build_del_daemon(f.script->headers[2], IP_VS_STATE_BACKUP);
  ASSERT_TRUE(want_del.has_value());
  EXPECT_EQ(testing::to_hex(f.script->requests[2]), testing::to_hex(*want_del));

  // GET_DAEMON as the kernel answers it (maxlen chosen by the kernel).
  KMsg d(IPVS_CMD_NEW_DAEMON);
  nlattr* n = nla_nest_start(d.get(), IPVS_CMD_ATTR_DAEMON);
  nla_put_u32(d.get(), IPVS_DAEMON_ATTR_STATE, IP_VS_STATE_MASTER);
  nla_put_string(d.get(), IPVS_DAEMON_ATTR_MCAST_IFN, "sync0");
  nla_put_u32(d.get(), IPVS_DAEMON_ATTR_SYNC_ID, 5);
  nla_put_u16(d.get(), IPVS_DAEMON_ATTR_SYNC_MAXLEN, 1472);
  nla_put_u16(d.get(), IPVS_DAEMON_ATTR_MCAST_PORT, 8848);
  nla_put_u8(d.get(), IPVS_DAEMON_ATTR_MCAST_TTL, 1);
  const std::uint8_t group[4] = {224, 0, 0, 81};
  nla_put(d.get(), IPVS_DAEMON_ATTR_MCAST_GROUP, 4, group);
  nla_nest_end(d.get(), n);
  f.reply(cat({d.bytes(), done()}));
  auto l = f.backend.sync_daemons();
  ASSERT_TRUE(l.has_value()) << f.backend.last_error();
  SyncDaemonConfig listed = c;
  listed.maxlen = 1472;
  ASSERT_EQ(l->size(), 1U);
  EXPECT_EQ(l->front(), listed);
}

TEST(IpvsBackend, InfoFlushZero) {
  KMsg info(IPVS_CMD_SET_INFO, 0);
  nla_put_u32(info.get(), IPVS_INFO_ATTR_VERSION, 0x010201);
  nla_put_u32(info.get(), IPVS_INFO_ATTR_CONN_TAB_SIZE, 4096);
  Fixture f;
  f.reply(info.bytes());
  auto i = f.backend.info();
  ASSERT_TRUE(i.has_value()) << f.backend.last_error();
  EXPECT_EQ(*i, (BackendInfo{"1.2.1", 4096}));
  EXPECT_EQ(f.cmd(0), IPVS_CMD_GET_INFO);

  f.reply(ack());
  EXPECT_EQ(f.backend.flush(), std::error_code());
  EXPECT_EQ(f.cmd(1), IPVS_CMD_FLUSH);
  f.reply(ack());
  EXPECT_EQ(f.backend.zero(&kTcp), std::error_code());
  EXPECT_EQ(f.cmd(2), IPVS_CMD_ZERO);
  f.reply(ack());
  f.reply(error_msg(ESRCH));
  const auto failures = f.backend.delete_services({kTcp, ServiceKey::mark(3)});
  ASSERT_EQ(failures.size(), 1U);
  EXPECT_EQ(failures[0].first, ServiceKey::mark(3));
  EXPECT_EQ(failures[0].second, errc(ESRCH));
}

}  // namespace
}  // namespace lvsd::forwarding::ipvs
