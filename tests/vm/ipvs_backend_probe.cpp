// ipvs_backend_probe: drives forwarding::ipvs::IpvsBackend against the real
// kernel, one step per invocation, for tests/integration/ipvs_backend_vm_test.sh
// (which runs it inside the ip_vs VM and checks the kernel's table with
// ipvsadm between the steps).
//
//   ipvs_backend_probe info                     "version=1.2.1 conn_tab_size=4096"
//   ipvs_backend_probe apply PLAN               delta(read_back, PLAN), applied op by op
//   ipvs_backend_probe check PLAN               read_back().plan == PLAN (exit 1 + diff if not)
//   ipvs_backend_probe dump                     read_back() as text, with counters
//   ipvs_backend_probe errors                   kernel errnos of bad ops (on plan A)
//   ipvs_backend_probe timeouts-set TCP FIN UDP
//   ipvs_backend_probe timeouts-get             "TCP FIN UDP"
//   ipvs_backend_probe sync-start STATE IFNAME SYNCID   "ok" or "error: EXXX"
//   ipvs_backend_probe sync-stop STATE                  "ok" or "error: EXXX"
//   ipvs_backend_probe sync-list                one line per daemon
//   ipvs_backend_probe flush
//
// PLAN is A (the initial table), B (A edited), Bdrift (B with the drift the
// test makes with ipvsadm), C (B without the mixed-family service).
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "forwarding/backend.hpp"
#include "forwarding/ipvs/backend.hpp"
#include "forwarding/model.hpp"
#include "forwarding/plan.hpp"

using namespace lvsd::forwarding;
using boost::asio::ip::make_address;
using boost::asio::ip::make_address_v4;
using lvsd::forwarding::ipvs::IpvsBackend;

namespace {

const char* errno_name(int e) {
  switch (e) {
    case 0:
      return "ok";
    case EEXIST:
      return "EEXIST";
    case ENOENT:
      return "ENOENT";
    case ESRCH:
      return "ESRCH";
    case EINVAL:
      return "EINVAL";
    case ERANGE:
      return "ERANGE";
    case EPERM:
      return "EPERM";
    case ENODEV:
      return "ENODEV";
    case EPROTO:
      return "EPROTO";
    case EIO:
      return "EIO";
    default:
      return "E?";
  }
}

std::string describe(std::error_code ec) {
  if (!ec) return "ok";
  return std::string("error: ") + errno_name(ec.value()) + " (" + ec.message() + ")";
}

VirtualService svc(ServiceKey key, std::string sched) {
  VirtualService s;
  s.key = std::move(key);
  s.scheduler = std::move(sched);
  return s;
}

RealServer rs(const char* addr, uint16_t port, uint32_t weight, Method m) {
  RealServer r;
  r.address = make_address(addr);
  r.port = port;
  r.weight = weight;
  r.method = m;
  return r;
}

RealServer tun(const char* addr, uint16_t port, uint32_t weight, TunnelType type,
               uint16_t tun_port = 0, TunnelChecksum csum = TunnelChecksum::none) {
  RealServer r = rs(addr, port, weight, Method::tun);
  r.tunnel.type = type;
  r.tunnel.port = tun_port;
  r.tunnel.checksum = csum;
  return r;
}

ServiceKey tcp(const char* a, uint16_t p) {
  return ServiceKey::inet(Protocol::tcp, make_address(a), p);
}
ServiceKey udp(const char* a, uint16_t p) {
  return ServiceKey::inet(Protocol::udp, make_address(a), p);
}

ForwardingPlan plan_a() {
  ForwardingPlan p;
  // NAT, thresholds.
  p.put(svc(tcp("192.0.2.100", 80), "wlc"));
  p.put(tcp("192.0.2.100", 80), rs("10.0.0.1", 8080, 3, Method::nat));
  RealServer t = rs("10.0.0.2", 8080, 1, Method::nat);
  t.upper_threshold = 100;
  t.lower_threshold = 10;
  p.put(tcp("192.0.2.100", 80), t);
  // DR, one-packet scheduling.
  VirtualService s2 = svc(udp("192.0.2.101", 53), "rr");
  s2.one_packet = true;
  p.put(s2);
  p.put(s2.key, rs("192.0.2.11", 53, 1, Method::dr));
  p.put(s2.key, rs("192.0.2.12", 53, 2, Method::dr));
  // TUN of every type, sh with both flags, persistence with a netmask.
  VirtualService s3 = svc(tcp("192.0.2.102", 443), "sh");
  s3.scheduler_flags = {true, true};
  s3.persistence = Persistence{600, make_address_v4("255.255.255.0"), 128};
  p.put(s3);
  p.put(s3.key, tun("10.0.1.1", 443, 1, TunnelType::ipip));
  p.put(s3.key, tun("10.0.1.2", 443, 2, TunnelType::gue, 6080, TunnelChecksum::remote));
  p.put(s3.key, tun("10.0.1.3", 443, 3, TunnelType::gre, 0, TunnelChecksum::local));
  // IPv6, persistence with a prefix.
  VirtualService s4 = svc(tcp("2001:db8::100", 80), "wrr");
  Persistence p6;
  p6.timeout = 300;
  p6.prefix = 64;
  s4.persistence = p6;
  p.put(s4);
  p.put(s4.key, rs("2001:db8::1", 80, 2, Method::nat));
  p.put(s4.key, rs("2001:db8::2", 80, 1, Method::dr));
  // fwmark IPv4 and IPv6 (mh with fallback).
  p.put(svc(ServiceKey::mark(7), "rr"));
  p.put(ServiceKey::mark(7), rs("10.0.0.5", 0, 1, Method::dr));
  p.put(ServiceKey::mark(7), tun("10.0.0.6", 0, 1, TunnelType::ipip));
  VirtualService s6 = svc(ServiceKey::mark(8, Family::inet6), "mh");
  s6.scheduler_flags.fallback = true;
  p.put(s6);
  p.put(s6.key, rs("2001:db8::5", 0, 1, Method::dr));
  // SCTP.
  p.put(svc(ServiceKey::inet(Protocol::sctp, make_address("192.0.2.104"), 9), "rr"));
  p.put(ServiceKey::inet(Protocol::sctp, make_address("192.0.2.104"), 9),
        rs("10.0.0.7", 9, 1, Method::nat));
  // A mixed-family tunnel dest (IPv6 realserver of an IPv4 service).
  p.put(svc(tcp("192.0.2.105", 80), "lc"));
  p.put(tcp("192.0.2.105", 80), tun("2001:db8::9", 80, 1, TunnelType::ipip));
  // Persistence engine sip.
  VirtualService s9 = svc(udp("192.0.2.106", 5060), "rr");
  s9.persistence = Persistence{60, make_address_v4("255.255.255.255"), 128};
  s9.pe_name = "sip";
  p.put(s9);
  p.put(s9.key, rs("10.0.0.8", 5060, 1, Method::nat));
  return p;
}

ForwardingPlan plan_b() {
  ForwardingPlan p = plan_a();
  auto& s1 = p.services.at(tcp("192.0.2.100", 80));
  s1.service.scheduler = "rr";
  s1.dests.at(DestKey{make_address("10.0.0.1"), 8080}).weight = 5;
  auto& s2 = p.services.at(udp("192.0.2.101", 53));
  s2.service.one_packet = false;
  s2.dests.erase(DestKey{make_address("192.0.2.12"), 53});
  auto& s3 = p.services.at(tcp("192.0.2.102", 443));
  s3.service.scheduler_flags.port = false;
  s3.service.persistence->timeout = 900;
  s3.dests.at(DestKey{make_address("10.0.1.2"), 443}).tunnel.port = 6081;
  auto& s4 = p.services.at(tcp("2001:db8::100", 80));
  s4.service.persistence.reset();
  s4.dests.at(DestKey{make_address("2001:db8::2"), 80}).method = Method::nat;
  auto& s6 = p.services.at(ServiceKey::mark(8, Family::inet6));
  s6.service.scheduler_flags.port = true;
  p.services.erase(ServiceKey::inet(Protocol::sctp, make_address("192.0.2.104"), 9));
  return p;
}

// B after the test's ipvsadm commands:
//   ipvsadm -d -t 192.0.2.100:80 -r 10.0.0.2:8080
//   ipvsadm -e -u 192.0.2.101:53 -r 192.0.2.11:53 -g -w 7
//   ipvsadm -A -t 192.0.2.200:8080 -s rr; ipvsadm -a -t 192.0.2.200:8080 -r 10.0.0.9:8080 -m
ForwardingPlan plan_bdrift() {
  ForwardingPlan p = plan_b();
  p.services.at(tcp("192.0.2.100", 80)).dests.erase(DestKey{make_address("10.0.0.2"), 8080});
  p.services.at(udp("192.0.2.101", 53)).dests.at(DestKey{make_address("192.0.2.11"), 53}).weight =
      7;
  p.put(svc(tcp("192.0.2.200", 8080), "rr"));
  p.put(tcp("192.0.2.200", 8080), rs("10.0.0.9", 8080, 1, Method::nat));
  return p;
}

ForwardingPlan plan_c() {
  ForwardingPlan p = plan_b();
  p.services.erase(tcp("192.0.2.105", 80));
  return p;
}

bool plan_named(const std::string& name, ForwardingPlan& out) {
  if (name == "A") {
    out = plan_a();
  } else if (name == "B") {
    out = plan_b();
  } else if (name == "Bdrift") {
    out = plan_bdrift();
  } else if (name == "C") {
    out = plan_c();
  } else if (name == "empty") {
    out = {};
  } else {
    std::cerr << "unknown plan " << name << "\n";
    return false;
  }
  return true;
}

int usage() {
  std::cerr
      << "usage: ipvs_backend_probe info|apply PLAN|check PLAN|dump|errors|timeouts-set T F U|"
         "timeouts-get|sync-start STATE IF ID|sync-stop STATE|sync-list|flush\n";
  return 2;
}

bool read_plan(IpvsBackend& b, ForwardingPlan& out) {
  auto rb = b.read_back();
  if (!rb) {
    std::cerr << "read_back: " << describe(rb.error()) << ": " << b.last_error() << "\n";
    return false;
  }
  for (const auto& s : b.skipped())
    std::cerr << "read_back skipped: " << s << "\n";
  out = rb->plan;
  return true;
}

int cmd_errors(IpvsBackend& b) {
  struct Case {
    const char* what;
    PlanOp op;
    int want;
  };
  const ServiceKey s1 = tcp("192.0.2.100", 80);
  const ServiceKey absent = tcp("192.0.2.99", 80);
  VirtualService unknown_sched = svc(tcp("192.0.2.98", 80), "nosuch");
  VirtualService long_sched = svc(tcp("192.0.2.98", 80), "a-scheduler-name-too-long");
  VirtualService v6_prefix0 = svc(tcp("2001:db8::98", 80), "rr");
  Persistence p0;
  p0.prefix = 0;
  v6_prefix0.persistence = p0;
  RealServer heavy = rs("10.0.0.50", 8080, 0x80000000U, Method::nat);
  RealServer thresholds = rs("10.0.0.51", 8080, 1, Method::nat);
  thresholds.upper_threshold = 5;
  thresholds.lower_threshold = 10;
  RealServer lower_only = rs("10.0.0.52", 8080, 1, Method::nat);
  lower_only.lower_threshold = 1;
  const std::vector<Case> cases = {
      {"add an existing service", AddService{plan_a().services.at(s1).service}, EEXIST},
      {"edit an absent service", EditService{svc(absent, "rr"), {}}, ESRCH},
      {"delete an absent service", DelService{absent}, ESRCH},
      {"add a dest to an absent service", AddDest{absent, rs("10.0.0.1", 80, 1, Method::nat)},
       ESRCH},
      {"add an existing dest", AddDest{s1, rs("10.0.0.1", 8080, 1, Method::nat)}, EEXIST},
      {"edit an absent dest", EditDest{s1, rs("10.0.0.40", 8080, 1, Method::nat), {}}, ENOENT},
      {"delete an absent dest", DelDest{s1, DestKey{make_address("10.0.0.40"), 8080}}, ENOENT},
      {"delete a dest of an absent service", DelDest{absent, DestKey{make_address("10.0.0.1"), 80}},
       ESRCH},
      {"unknown scheduler", AddService{unknown_sched}, ENOENT},
      {"scheduler name too long", AddService{long_sched}, EINVAL},
      {"IPv6 persistence prefix 0", AddService{v6_prefix0}, EINVAL},
      {"GUE tunnel without a port", AddDest{s1, tun("10.0.0.53", 8080, 1, TunnelType::gue)},
       EINVAL},
      {"weight above INT_MAX", AddDest{s1, heavy}, ERANGE},
      {"lower threshold above upper", AddDest{s1, thresholds}, ERANGE},
      {"lower threshold with upper 0", AddDest{s1, lower_only}, ERANGE},
      {"NAT dest of another family", AddDest{s1, rs("2001:db8::50", 8080, 1, Method::nat)}, EINVAL},
  };
  int bad = 0;
  for (const auto& c : cases) {
    const std::error_code ec = b.apply(c.op);
    const bool ok =
        ec.value() == c.want && (c.want == 0 || ec.category() == std::generic_category());
    std::cout << (ok ? "ok" : "MISMATCH") << " - " << c.what << ": " << errno_name(ec.value())
              << (ok ? "" : std::string(" (want ") + errno_name(c.want) + ")")
              << (b.last_error().empty() ? "" : " [" + b.last_error() + "]") << "\n";
    if (!ok) ++bad;
  }
  return bad == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  auto opened = IpvsBackend::open();
  if (!opened) {
    std::cerr << "IpvsBackend::open: " << opened.error().message << "\n";
    return 3;
  }
  IpvsBackend& b = **opened;

  if (cmd == "info") {
    auto i = b.info();
    if (!i) {
      std::cerr << describe(i.error()) << "\n";
      return 1;
    }
    std::cout << "version=" << i->version << " conn_tab_size=" << i->conn_table_size << "\n";
    return 0;
  }
  if (cmd == "apply" && argc == 3) {
    ForwardingPlan want;
    ForwardingPlan have;
    if (!plan_named(argv[2], want) || !read_plan(b, have)) return 1;
    const PlanDelta delta = compute_delta(have, want);
    int failed = 0;
    for (const PlanOp& op : delta) {
      const std::error_code ec = b.apply(op);
      std::cout << to_string(op) << " -> " << describe(ec) << "\n";
      if (ec) {
        std::cout << "  " << b.last_error() << "\n";
        ++failed;
      }
    }
    std::cout << delta.size() << " ops, " << failed << " failed\n";
    return failed == 0 ? 0 : 1;
  }
  if (cmd == "check" && argc == 3) {
    ForwardingPlan want;
    ForwardingPlan have;
    if (!plan_named(argv[2], want) || !read_plan(b, have)) return 1;
    if (have == want) {
      std::cout << "read_back equals plan " << argv[2] << " (" << want.services.size()
                << " services, " << want.dest_count() << " dests)\n";
      return 0;
    }
    std::cout << "read_back differs from plan " << argv[2] << "\n--- read_back\n"
              << to_string(have) << "--- plan\n"
              << to_string(want) << "--- delta read_back -> plan\n";
    for (const auto& op : compute_delta(have, want))
      std::cout << to_string(op) << "\n";
    return 1;
  }
  if (cmd == "dump") {
    auto rb = b.read_back();
    if (!rb) {
      std::cerr << describe(rb.error()) << ": " << b.last_error() << "\n";
      return 1;
    }
    std::cout << to_string(rb->plan);
    for (const auto& [key, st] : rb->status) {
      std::cout << key << " conns=" << st.stats.conns << " inpkts=" << st.stats.inpkts << "\n";
      for (const auto& [dk, ds] : st.dests) {
        std::cout << "  " << dk << " active=" << ds.active_conns
                  << " inactive=" << ds.inactive_conns << " persistent=" << ds.persistent_conns
                  << " conns=" << ds.stats.conns << "\n";
      }
    }
    for (const auto& s : b.skipped())
      std::cout << "skipped: " << s << "\n";
    return 0;
  }
  if (cmd == "errors") return cmd_errors(b);
  if (cmd == "timeouts-set" && argc == 5) {
    Timeouts t{static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10)),
               static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)),
               static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10))};
    const auto ec = b.set_timeouts(t);
    std::cout << describe(ec) << "\n";
    return ec ? 1 : 0;
  }
  if (cmd == "timeouts-get") {
    auto t = b.get_timeouts();
    if (!t) {
      std::cerr << describe(t.error()) << "\n";
      return 1;
    }
    std::cout << t->tcp << " " << t->tcp_fin << " " << t->udp << "\n";
    return 0;
  }
  if (cmd == "sync-start" && argc == 5) {
    SyncDaemonConfig c;
    c.state = std::string(argv[2]) == "backup" ? SyncState::backup : SyncState::master;
    c.interface = argv[3];
    c.syncid = static_cast<uint8_t>(std::atoi(argv[4]));
    std::cout << describe(b.start_sync_daemon(c)) << "\n";
    return 0;
  }
  if (cmd == "sync-stop" && argc == 3) {
    const SyncState s = std::string(argv[2]) == "backup" ? SyncState::backup : SyncState::master;
    std::cout << describe(b.stop_sync_daemon(s)) << "\n";
    return 0;
  }
  if (cmd == "sync-list") {
    auto l = b.sync_daemons();
    if (!l) {
      std::cerr << describe(l.error()) << ": " << b.last_error() << "\n";
      return 1;
    }
    for (const auto& d : *l) {
      std::cout << to_string(d.state) << " " << d.interface << " syncid=" << int(d.syncid)
                << " maxlen=" << d.maxlen << " group=" << d.group.to_string() << " port=" << d.port
                << " ttl=" << int(d.ttl) << "\n";
    }
    return 0;
  }
  if (cmd == "flush") {
    const auto ec = b.flush();
    std::cout << describe(ec) << "\n";
    return ec ? 1 : 0;
  }
  return usage();
}
