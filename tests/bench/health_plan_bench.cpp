// Health lookups in the forwarding plan, for 10 x 100 and 100 x 100
// realservers (one down, as after a failed check):
//   plan, no hooks      plan_from_config without health inputs (the floor)
//   plan, weight(s, r)  the per-realserver hook, HealthState::weight(s, r)
//   plan, by service    PlanInputs::service_weights -> HealthState::weights
//   plan, svc + clock   the same reading the steady clock per service, as
//                       CheckerModule wires it
//   weight() x N, weight(i, j) x N   the lookups alone, by object / position
//   status by key / pos x N          what CheckerModule::snapshot() looked up
//                       per realserver (service(key), realserver(key, key),
//                       weight) and looks up now (by position)
// The reference, measured in the same run, is one plain loop over the same
// realservers copying their configured weights into a vector; the table
// prints ms per call and the ratio to it (shared machines: compare ratios).
//
//   build/tests/bench/health_plan_bench
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "checkers/health_state.hpp"
#include "forwarding/plan_from_config.hpp"

namespace {

using namespace lvsd;
using checkers::HealthState;
using checkers::TimePoint;

// `services` services (192.0.2.0/24 VIPs, port 80 + i / 256 ...) with
// `per` checked realservers each, in 10.0.0.0/8.
config::Config make_config(int services, int per) {
  config::Config cfg;
  config::Check check;
  check.name = "t";
  check.type = config::CheckType::tcp;
  for (int i = 0; i < services; ++i) {
    config::Service s;
    s.address = boost::asio::ip::address_v4(0xC0000200u + static_cast<uint32_t>(i % 250) + 1);
    s.port = static_cast<uint16_t>(80 + i / 250);
    s.name = s.key();
    s.check = check;
    for (int k = 0; k < per; ++k) {
      config::RealServer r;
      r.address = boost::asio::ip::address_v4(0x0A000000u + static_cast<uint32_t>(i * per + k) + 1);
      r.port = 8080;
      r.weight = 1 + static_cast<uint32_t>(k % 5);
      r.check = check;
      s.realservers.push_back(r);
    }
    cfg.services.push_back(std::move(s));
  }
  return cfg;
}

// Median of `runs` timings of `reps` calls of fn, in milliseconds per call.
template <typename F>
double median_ms(int runs, int reps, F fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r)
      fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count() /
                reps);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

template <typename T>
void keep(const T& v) {
  asm volatile("" : : "g"(&v) : "memory");
}

TimePoint now_from(std::chrono::steady_clock::time_point t) {
  return TimePoint(std::chrono::seconds(1000) + t.time_since_epoch() % std::chrono::seconds(1));
}

// The hooks: by config objects (HealthState::weight(s, r), what
// CheckerModule::start wired before service_weights) and by service position (what it
// wires now).
forwarding::PlanInputs health_inputs(const HealthState& h, TimePoint now, bool positional) {
  forwarding::PlanInputs in;
  in.weight = [&h, now](const config::Service& s, const config::RealServer& r) {
    return h.weight(s, r, now);
  };
  if (positional) {
    in.service_weights = [&h, now](std::size_t i, const config::Service& s,
                                   std::vector<std::optional<uint32_t>>& out) {
      h.weights(i, s, now, out);
    };
  }
  in.sorry_mode = [&h](const config::Service& s) { return h.sorry_mode(s); };
  return in;
}

void run(int services, int per) {
  const auto cfg = make_config(services, per);
  const TimePoint now{std::chrono::seconds(1000)};
  HealthState h;
  h.configure(cfg, now);
  // One realserver down, as in reconcile_scale.sh.
  h.set_health(cfg.services[0].key(), cfg.services[0].realservers[0].key(), false, "refused", now);
  const int reps = services * per >= 10000 ? 10 : 100;

  const double ref = median_ms(11, reps, [&] {
    std::vector<uint32_t> w;
    w.reserve(static_cast<std::size_t>(services * per));
    for (const auto& s : cfg.services)
      for (const auto& r : s.realservers)
        w.push_back(r.weight);
    keep(w);
  });
  const double plain = median_ms(11, reps, [&] { keep(forwarding::plan_from_config(cfg)); });
  const auto in = health_inputs(h, now, false);
  const double hooked = median_ms(11, reps, [&] { keep(forwarding::plan_from_config(cfg, in)); });
  const auto in_at = health_inputs(h, now, true);
  const double hooked_at =
      median_ms(11, reps, [&] { keep(forwarding::plan_from_config(cfg, in_at)); });
  // As the checker module wires it: the clock read once per service.
  auto in_clock = in_at;
  in_clock.service_weights = [&h](std::size_t i, const config::Service& s,
                                  std::vector<std::optional<uint32_t>>& out) {
    // A steady time that stays within the test's slow-start-free range.
    h.weights(i, s, now_from(std::chrono::steady_clock::now()), out);
  };
  const double hooked_clock =
      median_ms(11, reps, [&] { keep(forwarding::plan_from_config(cfg, in_clock)); });
  const double weights = median_ms(11, reps, [&] {
    uint64_t sum = 0;
    for (const auto& s : cfg.services)
      for (const auto& r : s.realservers)
        sum += h.weight(s, r, now).value_or(0);
    keep(sum);
  });
  const double weights_at = median_ms(11, reps, [&] {
    uint64_t sum = 0;
    for (std::size_t i = 0; i < cfg.services.size(); ++i) {
      const auto& s = cfg.services[i];
      for (std::size_t j = 0; j < s.realservers.size(); ++j)
        sum += h.weight(i, j, s, s.realservers[j], now).value_or(0);
    }
    keep(sum);
  });
  // What CheckerModule::snapshot() looked up per service and realserver
  // (by key), and what it looks up now (by position).
  const double status_keys = median_ms(11, reps, [&] {
    uint64_t sum = 0;
    for (const auto& s : cfg.services) {
      if (const auto* st = h.service(s.key())) sum += st->healthy_weight;
      for (const auto& r : s.realservers) {
        const auto* rst = h.realserver(s.key(), r.key());
        if (!rst) continue;
        sum += rst->flaps + h.weight(s, r, now).value_or(0);
      }
    }
    keep(sum);
  });
  const double status_at = median_ms(11, reps, [&] {
    uint64_t sum = 0;
    for (std::size_t i = 0; i < cfg.services.size(); ++i) {
      const auto& s = cfg.services[i];
      if (const auto* st = h.service(i, s)) sum += st->healthy_weight;
      for (std::size_t j = 0; j < s.realservers.size(); ++j) {
        const auto& r = s.realservers[j];
        const auto* rst = h.realserver(i, j, s, r);
        if (!rst) continue;
        sum += rst->flaps + h.weight(i, j, s, r, now).value_or(0);
      }
    }
    keep(sum);
  });
  std::printf("%6d rs  ref %8.3f ms (1.0)\n", services * per, ref);
  std::printf("          plan, no hooks      %8.3f ms (%6.1f)\n", plain, plain / ref);
  std::printf("          plan, weight(s, r)  %8.3f ms (%6.1f)\n", hooked, hooked / ref);
  std::printf("          plan, by service    %8.3f ms (%6.1f)\n", hooked_at, hooked_at / ref);
  std::printf("          plan, svc + clock   %8.3f ms (%6.1f)\n", hooked_clock, hooked_clock / ref);
  std::printf("          weight() x N        %8.3f ms (%6.1f)\n", weights, weights / ref);
  std::printf("          weight(i, j) x N    %8.3f ms (%6.1f)\n", weights_at, weights_at / ref);
  std::printf("          status by key x N   %8.3f ms (%6.1f)\n", status_keys, status_keys / ref);
  std::printf("          status by pos x N   %8.3f ms (%6.1f)\n", status_at, status_at / ref);
}

}  // namespace

int main() {
  std::printf("health lookups in the plan, ms per call (ratio to a plain weight-copy loop)\n");
  run(10, 100);
  run(100, 100);
  return 0;
}
