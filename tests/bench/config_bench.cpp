// Config load cost: how much lvsd's validation and typed conversion add on top
// of parsing the same YAML with yaml-cpp alone (the reference, measured in the
// same run). A reload pays load + diff; both are measured for a large farm.
//
//   build/tests/bench/config_bench            (Google Benchmark output)
//   build/tests/bench/config_bench --ratios   (one line per size: ratios only)
#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "daemon/config/diff.hpp"
#include "daemon/config/dump.hpp"
#include "daemon/config/loader.hpp"

namespace {

// A farm of `services` NAT services with 8 realservers each, an http check,
// persistence on every other service, plus a VRRP instance. `weight_bump`
// changes one weight in the first service: a typical one-line edit.
std::string make_config(int services, int weight_bump = 0) {
  std::string y =
      "checks:\n  - {name: web, type: http, path: /healthz, interval: 2s, timeout: 1s}\n"
      "services:\n";
  for (int s = 0; s < services; ++s) {
    y += fmt::format("  - name: svc{}\n    address: 198.51.{}.{}\n    port: {}\n", s, s / 250,
                     s % 250 + 1, 80 + s % 3);
    y += "    scheduler: wlc\n    check: web\n";
    if (s % 2 == 0) y += "    persistence: {timeout: 5m, netmask: 255.255.255.0}\n";
    y += "    realservers:\n";
    for (int r = 0; r < 8; ++r) {
      y += fmt::format("      - {{address: 203.0.{}.{}, weight: {}}}\n", s % 250, r + 1,
                       1 + r + (r == 0 && s == 0 ? weight_bump : 0));
    }
  }
  y += "vrrp:\n  instances:\n    - {name: VI_1, interface: eth0, vrid: 51, "
       "virtual_addresses: [198.51.0.1/24]}\n";
  return y;
}

void BM_YamlCppParse(benchmark::State& state) {
  const std::string text = make_config(static_cast<int>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(YAML::Load(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_LvsdLoad(benchmark::State& state) {
  const std::string text = make_config(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto r = lvsd::config::load_string(text, "bench.yaml");
    if (!r.ok()) state.SkipWithError(r.errors.front().str().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_LvsdDiff(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto a = *lvsd::config::load_string(make_config(n), "a.yaml").config;
  const auto b = *lvsd::config::load_string(make_config(n, 1), "b.yaml").config;
  for (auto _ : state)
    benchmark::DoNotOptimize(lvsd::config::diff(a, b));
}

BENCHMARK(BM_YamlCppParse)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LvsdLoad)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LvsdDiff)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

// Median of `runs` timings of fn, in seconds.
template <typename F>
double median_seconds(int runs, F fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int print_ratios() {
  std::printf("%-9s %12s %12s %12s %10s %10s\n", "services", "yaml-cpp ms", "load ms", "diff ms",
              "load/ref", "reload/ref");
  for (int n : {10, 100, 1000}) {
    const std::string text = make_config(n);
    const std::string text2 = make_config(n, 1);
    const int runs = n >= 1000 ? 5 : 21;
    const double ref = median_seconds(runs, [&] { benchmark::DoNotOptimize(YAML::Load(text)); });
    const double load = median_seconds(
        runs, [&] { benchmark::DoNotOptimize(lvsd::config::load_string(text, "b.yaml")); });
    const auto a = *lvsd::config::load_string(text, "a.yaml").config;
    const auto b = *lvsd::config::load_string(text2, "b.yaml").config;
    const double diff =
        median_seconds(runs, [&] { benchmark::DoNotOptimize(lvsd::config::diff(a, b)); });
    std::printf("%-9d %12.3f %12.3f %12.3f %10.2f %10.2f\n", n, ref * 1e3, load * 1e3, diff * 1e3,
                load / ref, (load + diff) / ref);
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
