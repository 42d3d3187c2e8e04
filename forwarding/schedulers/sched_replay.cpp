// lvsd_sched_replay: feeds a connection sequence to one lvsd scheduler and
// prints its picks, for comparison with the kernel's ip_vs fed the same
// sequence (tests/integration/scheduler_kernel_vm_test.sh). Reads commands
// from stdin, one per line:
//
//   scheduler NAME [fallback] [port] [kernel-mh]   (first; kernel-mh = 4093 slots, list order)
//   add ADDR:PORT [weight=W] [upper=U] [lower=L]   (ipvsadm -a; newest first, as ip_vs)
//   edit ADDR:PORT [weight=W] [upper=U] [lower=L]  (ipvsadm -e)
//   del ADDR:PORT                                  (ipvsadm -d)
//   open ID [CLIENT-IP[:PORT] [VIP]]  a new TCP connection that gets ESTABLISHED:
//                                     prints "ID ADDR:PORT" or "ID none"
//   close ID                          the connection closes (active -> inactive;
//                                     it stays counted, as in TIME_WAIT)
//   counts                            prints "ADDR:PORT active inactive" per dest
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "forwarding/schedulers/scheduler.hpp"

using namespace lvsd::forwarding;
using namespace lvsd::forwarding::schedulers;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "lvsd_sched_replay: " << msg << "\n";
  std::exit(2);
}

Address parse_ip(const std::string& s) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(s, ec);
  if (ec) die("bad address " + s);
  return a;
}

// "192.0.2.21:80", "[2001:db8::1]:80", or an address without port.
std::pair<Address, uint16_t> parse_endpoint(const std::string& s) {
  if (!s.empty() && s[0] == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos) die("bad endpoint " + s);
    const uint16_t port =
        close + 1 < s.size() ? static_cast<uint16_t>(std::stoul(s.substr(close + 2))) : 0;
    return {parse_ip(s.substr(1, close - 1)), port};
  }
  const auto colon = s.find(':');
  if (colon == std::string::npos || s.find(':', colon + 1) != std::string::npos)
    return {parse_ip(s), 0};
  return {parse_ip(s.substr(0, colon)), static_cast<uint16_t>(std::stoul(s.substr(colon + 1)))};
}

RealServer parse_rs(std::istringstream& in) {
  std::string ep, kv;
  in >> ep;
  auto [addr, port] = parse_endpoint(ep);
  RealServer rs;
  rs.address = addr;
  rs.port = port;
  while (in >> kv) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) die("bad attribute " + kv);
    const auto key = kv.substr(0, eq);
    const auto value = static_cast<uint32_t>(std::stoul(kv.substr(eq + 1)));
    if (key == "weight")
      rs.weight = value;
    else if (key == "upper")
      rs.upper_threshold = value;
    else if (key == "lower")
      rs.lower_threshold = value;
    else
      die("unknown attribute " + key);
  }
  return rs;
}

}  // namespace

int main() {
  std::unique_ptr<ScheduledService> svc;
  std::map<std::string, DestKey> conns;  // open connections -> their dest
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    if (!(in >> cmd) || cmd[0] == '#') continue;
    if (cmd == "scheduler") {
      std::string name, flag;
      in >> name;
      SchedulerOptions o;
      o.twos_seed = 1;
      while (in >> flag) {
        if (flag == "fallback")
          o.flags.fallback = true;
        else if (flag == "port")
          o.flags.port = true;
        else if (flag == "kernel-mh")
          o.mh = MhOptions::kernel();
        else
          die("unknown scheduler flag " + flag);
      }
      svc = std::make_unique<ScheduledService>(name, o);
      continue;
    }
    if (!svc) die("no scheduler line first");
    if (cmd == "add") {
      svc->add(parse_rs(in));
    } else if (cmd == "edit") {
      if (!svc->update(parse_rs(in))) die("edit of an unknown dest: " + line);
    } else if (cmd == "del") {
      std::string ep;
      in >> ep;
      auto [addr, port] = parse_endpoint(ep);
      if (!svc->remove(DestKey{addr, port})) die("del of an unknown dest: " + line);
    } else if (cmd == "open") {
      std::string id, src, dst;
      in >> id >> src >> dst;
      Packet p;
      if (!src.empty()) std::tie(p.saddr, p.sport) = parse_endpoint(src);
      if (!dst.empty()) p.daddr = parse_endpoint(dst).first;
      const auto i = svc->pick(p);
      if (!i) {
        std::cout << id << " none\n";
        continue;
      }
      // A new TCP connection is bound inactive, then ESTABLISHED makes it active.
      svc->bind(*i, false);
      svc->activate(*i);
      conns[id] = svc->dests()[*i].key;
      std::cout << id << " " << svc->dests()[*i].key.to_string() << "\n";
    } else if (cmd == "close") {
      std::string id;
      in >> id;
      auto it = conns.find(id);
      if (it == conns.end()) continue;  // never opened (no destination was available)
      if (auto i = svc->dests().find(it->second))
        svc->deactivate(*i);
      else
        svc->dest_list().deactivate_trashed(it->second);
      conns.erase(it);
    } else if (cmd == "counts") {
      for (const Dest& d : svc->dests())
        std::cout << d.key.to_string() << " " << d.active_conns << " " << d.inactive_conns << "\n";
    } else {
      die("unknown command: " + line);
    }
  }
  return 0;
}
