// Property: for random plans `current` and `desired`,
//   apply_delta(current, compute_delta(current, desired)) == desired,
// and the delta applies op by op, without any error, to a FakeBackend (which
// returns the kernel's errors) that starts at `current`.
#include <gtest/gtest.h>

#include <climits>
#include <random>
#include <set>
#include <variant>
#include <vector>

#include "forwarding/fake_backend.hpp"
#include "forwarding/plan.hpp"

namespace lvsd::forwarding {
namespace {

using boost::asio::ip::make_address;

class PlanGen {
 public:
  explicit PlanGen(uint32_t seed) : rng_(seed) {}

  ForwardingPlan plan() {
    ForwardingPlan p;
    for (const auto& key : service_keys()) {
      if (!chance(0.6)) continue;
      ServiceEntry& e = p.put(service(key));
      for (const auto& [addr, port] : dest_candidates(key)) {
        if (!chance(0.4)) continue;
        RealServer d = dest(key, addr, port);
        e.dests.emplace(d.key(), d);
      }
    }
    return p;
  }

  // A few small changes: the common case of a reload or health change.
  ForwardingPlan mutate(ForwardingPlan p) {
    const int n = pick(std::vector<int>{1, 2, 3, 5});
    for (int i = 0; i < n; ++i) {
      const ServiceKey key = pick(service_keys());
      auto it = p.services.find(key);
      switch (pick(std::vector<int>{0, 1, 2, 3, 4})) {
        case 0:  // add or drop the service
          if (it == p.services.end()) {
            p.put(service(key));
          } else {
            p.services.erase(it);
          }
          break;
        case 1:  // change its attributes
          if (it != p.services.end()) it->second.service = service(key);
          break;
        default: {  // add, change or drop a dest
          if (it == p.services.end()) break;
          const auto [addr, port] = pick(dest_candidates(key));
          RealServer d = dest(key, addr, port);
          auto& dests = it->second.dests;
          if (dests.contains(d.key()) && chance(0.3)) {
            dests.erase(d.key());
          } else {
            dests.insert_or_assign(d.key(), d);
          }
        }
      }
    }
    return p;
  }

 private:
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <class T>
  T pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng_)];
  }

  static std::vector<ServiceKey> service_keys() {
    return {
        ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 80),
        ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 443),
        ServiceKey::inet(Protocol::udp, make_address("192.0.2.1"), 53),
        ServiceKey::inet(Protocol::sctp, make_address("192.0.2.2"), 9),
        ServiceKey::inet(Protocol::tcp, make_address("2001:db8::1"), 80),
        ServiceKey::mark(1),
        ServiceKey::mark(1, Family::inet6),
        ServiceKey::mark(2),
    };
  }

  static std::vector<std::pair<Address, uint16_t>> dest_candidates(const ServiceKey& key) {
    std::vector<std::pair<Address, uint16_t>> out;
    const std::vector<uint16_t> ports =
        key.is_fwmark() ? std::vector<uint16_t>{0, 80} : std::vector<uint16_t>{80, 8080};
    for (const char* a : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "2001:db8:1::1", "2001:db8:1::2"}) {
      for (uint16_t port : ports)
        out.emplace_back(make_address(a), port);
    }
    return out;
  }

  VirtualService service(const ServiceKey& key) {
    VirtualService s;
    s.key = key;
    s.scheduler = pick(std::vector<std::string>{"wlc", "rr", "sh", "mh"});
    s.scheduler_flags.fallback = chance(0.3);
    s.scheduler_flags.port = chance(0.3);
    s.one_packet = key.protocol == Protocol::udp && chance(0.3);
    if (chance(0.4)) {
      Persistence p;
      p.timeout = pick(std::vector<uint32_t>{60, 300});
      if (key.family == Family::inet6) {
        p.prefix = pick(std::vector<uint8_t>{64, 128});
      } else {
        p.netmask = make_address(pick(std::vector<std::string>{"255.255.255.255", "255.255.255.0"}))
                        .to_v4();
      }
      s.persistence = p;
      if (chance(0.1)) s.pe_name = "sip";
    }
    return s;
  }

  RealServer dest(const ServiceKey& key, const Address& addr, uint16_t port) {
    RealServer d;
    d.address = addr;
    d.port = port;
    d.weight = pick(std::vector<uint32_t>{0, 1, 5, 100, static_cast<uint32_t>(INT_MAX)});
    d.method = pick(std::vector<Method>{Method::nat, Method::dr, Method::tun});
    if (d.family() != key.family) d.method = Method::tun;  // the kernel's rule
    if (d.method == Method::tun) {
      d.tunnel.type =
          pick(std::vector<TunnelType>{TunnelType::ipip, TunnelType::gue, TunnelType::gre});
      if (d.tunnel.type == TunnelType::gue) d.tunnel.port = 6080;
      if (d.tunnel.type != TunnelType::ipip) {
        d.tunnel.checksum = pick(std::vector<TunnelChecksum>{
            TunnelChecksum::none, TunnelChecksum::local, TunnelChecksum::remote});
      }
    }
    d.upper_threshold = pick(std::vector<uint32_t>{0, 100});
    if (d.upper_threshold != 0) d.lower_threshold = pick(std::vector<uint32_t>{0, 50});
    return d;
  }

  std::mt19937 rng_;
};

const ServiceKey& service_of(const PlanOp& op) {
  return std::visit(
      [](const auto& o) -> const ServiceKey& {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, AddService> || std::is_same_v<T, EditService>) {
          return o.service.key;
        } else {
          return o.service;
        }
      },
      op);
}

void check_pair(const ForwardingPlan& current, const ForwardingPlan& desired) {
  const PlanDelta delta = compute_delta(current, desired);

  EXPECT_EQ(apply_delta(current, delta), desired);
  EXPECT_TRUE(compute_delta(desired, desired).empty());
  EXPECT_EQ(delta.empty(), current == desired);

  // Only services that differ are touched.
  for (const auto& op : delta) {
    const ServiceKey& k = service_of(op);
    auto c = current.services.find(k);
    auto d = desired.services.find(k);
    const bool same =
        c != current.services.end() && d != desired.services.end() && c->second == d->second;
    EXPECT_FALSE(same) << to_string(op);
  }

  // Op by op on a kernel-like fake: never an error.
  FakeBackend fake(current);
  for (const auto& op : delta) {
    const std::error_code ec = fake.apply(op);
    ASSERT_FALSE(ec) << to_string(op) << ": " << ec.message() << "\ncurrent:\n"
                     << to_string(current) << "desired:\n"
                     << to_string(desired);
  }
  EXPECT_EQ(fake.table(), desired);
  EXPECT_EQ(fake.calls().apply, delta.size());
}

TEST(PlanProperty, DeltaBetweenRandomPlansAppliesCleanly) {
  PlanGen gen(20240611);
  std::size_t nonempty = 0, ops = 0;
  for (int i = 0; i < 500; ++i) {
    SCOPED_TRACE(i);
    const ForwardingPlan current = gen.plan();
    const ForwardingPlan desired = gen.plan();
    check_pair(current, desired);
    const auto n = compute_delta(current, desired).size();
    ops += n;
    nonempty += n != 0;
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(nonempty, 400u);  // the generator is not degenerate
  EXPECT_GT(ops, 5000u);
}

TEST(PlanProperty, DeltaAfterSmallChangesAppliesCleanly) {
  PlanGen gen(7);
  std::set<std::size_t> kinds;  // variant indexes seen
  for (int i = 0; i < 1000; ++i) {
    SCOPED_TRACE(i);
    const ForwardingPlan current = gen.plan();
    const ForwardingPlan desired = gen.mutate(current);
    check_pair(current, desired);
    for (const auto& op : compute_delta(current, desired))
      kinds.insert(op.index());
    if (HasFatalFailure()) return;
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<PlanOp>);  // every kind of op was exercised
}

}  // namespace
}  // namespace lvsd::forwarding
