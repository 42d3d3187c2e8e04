// Scheduler cost: one pick for every scheduler with 10, 100 and 1000
// destinations, and the mh (Maglev) table build for several table sizes. The
// reference, measured in the same run, is one linear pass over the
// destinations summing their weights (what any list-scanning scheduler must at
// least do); --ratios prints pick time / reference time.
//
//   build/tests/bench/scheduler_bench            (Google Benchmark output)
//   build/tests/bench/scheduler_bench --ratios   (a table: ns per pick and ratios)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "forwarding/schedulers/maglev.hpp"
#include "forwarding/schedulers/scheduler.hpp"

namespace {

using namespace lvsd::forwarding;
using namespace lvsd::forwarding::schedulers;

RealServer make_rs(int k, uint32_t weight) {
  RealServer rs;
  rs.address = boost::asio::ip::address_v4(0x0A000000u + static_cast<uint32_t>(k) + 1);
  rs.port = 80;
  rs.weight = weight;
  return rs;
}

// A service with n destinations of weights 1..5 and some connections.
ScheduledService make_service(std::string_view name, int n) {
  SchedulerOptions o;
  o.twos_seed = 7;
  ScheduledService s(name, o);
  std::mt19937 rng(1);
  for (int k = 0; k < n; ++k)
    s.add(make_rs(k, 1 + rng() % 5));
  for (std::size_t i = 0; i < s.dests().size(); ++i)
    s.set_counts(i, static_cast<int32_t>(rng() % 50), static_cast<int32_t>(rng() % 500));
  return s;
}

std::vector<Packet> make_packets() {
  std::vector<Packet> pk(1024);
  std::mt19937 rng(2);
  for (auto& p : pk) {
    p.saddr = boost::asio::ip::address_v4(static_cast<uint32_t>(rng()));
    p.sport = static_cast<uint16_t>(rng());
    p.daddr = boost::asio::ip::address_v4(0xCB007100u + rng() % 64);
  }
  return pk;
}

void BM_Pick(benchmark::State& state, std::string_view name) {
  auto s = make_service(name, static_cast<int>(state.range(0)));
  const auto packets = make_packets();
  std::size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.pick(packets[k++ & 1023]));
  }
}

void BM_ReferenceScan(benchmark::State& state) {
  auto s = make_service("rr", static_cast<int>(state.range(0)));
  for (auto _ : state) {
    int64_t sum = 0;
    for (const Dest& d : s.dests())
      sum += d.weight;
    benchmark::DoNotOptimize(sum);
  }
}

void BM_MaglevBuild(benchmark::State& state) {
  const auto size = static_cast<uint32_t>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  DestList l;
  std::mt19937 rng(3);
  for (int k = 0; k < n; ++k)
    l.add(make_rs(k, 1 + rng() % 5));
  MaglevHashing mh(SchedulerFlags{}, MhOptions{size, true, 6});
  for (auto _ : state) {
    mh.rebuild(l);
    benchmark::DoNotOptimize(mh.table().data());
  }
}

constexpr std::string_view kAll[] = {"rr", "wrr", "lc",   "wlc",   "sed", "nq",  "sh",
                                     "dh", "mh",  "lblc", "lblcr", "fo",  "ovf", "twos"};

int register_all() {
  for (auto name : kAll) {
    benchmark::RegisterBenchmark(("BM_Pick/" + std::string(name)).c_str(), BM_Pick, name)
        ->Arg(10)
        ->Arg(100)
        ->Arg(1000);
  }
  return 0;
}
const int registered = register_all();

BENCHMARK(BM_ReferenceScan)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_MaglevBuild)
    ->ArgsProduct({{4093, 65537, 131071}, {10, 100, 1000}})
    ->Unit(benchmark::kMillisecond);

// Median of `runs` timings of `reps` calls of fn, in nanoseconds per call.
template <typename F>
double median_ns(int runs, int reps, F fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r)
      fn();
    t.push_back(
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
        reps);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int print_ratios() {
  const auto packets = make_packets();
  std::printf("pick cost, ns (ratio to one weight-summing pass over the dests)\n");
  std::printf("%-7s %18s %18s %18s\n", "sched", "10 dests", "100 dests", "1000 dests");
  double ref[3];
  const int sizes[3] = {10, 100, 1000};
  for (int j = 0; j < 3; ++j) {
    auto s = make_service("rr", sizes[j]);
    ref[j] = median_ns(11, 20000, [&] {
      int64_t sum = 0;
      for (const Dest& d : s.dests())
        sum += d.weight;
      benchmark::DoNotOptimize(sum);
    });
  }
  std::printf("%-7s %11.1f (1.0) %11.1f (1.0) %11.1f (1.0)\n", "ref", ref[0], ref[1], ref[2]);
  for (auto name : kAll) {
    std::printf("%-7s", std::string(name).c_str());
    for (int j = 0; j < 3; ++j) {
      auto s = make_service(name, sizes[j]);
      std::size_t k = 0;
      const double ns =
          median_ns(11, 20000, [&] { benchmark::DoNotOptimize(s.pick(packets[k++ & 1023])); });
      std::printf(" %11.1f (%4.1f)", ns, ns / ref[j]);
    }
    std::printf("\n");
  }
  std::printf("\nmh table build, ms (dests of weights 1..5)\n%-8s %10s %10s %10s\n", "slots",
              "10 dests", "100 dests", "1000 dests");
  for (uint32_t size : {4093u, 65537u, 131071u}) {
    std::printf("%-8u", size);
    for (int n : sizes) {
      DestList l;
      std::mt19937 rng(3);
      for (int k = 0; k < n; ++k)
        l.add(make_rs(k, 1 + rng() % 5));
      MaglevHashing mh(SchedulerFlags{}, MhOptions{size, true, 6});
      std::printf(" %10.3f", median_ns(5, 3, [&] { mh.rebuild(l); }) / 1e6);
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--ratios") == 0) return print_ratios();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
