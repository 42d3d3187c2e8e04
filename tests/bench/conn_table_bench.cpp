// Connection table cost: lookups/s (client direction and NAT reply
// direction), inserts/s filling an empty table (growing its chunks and
// indexes on the way) and a reserved one, and memory per entry, at 10k
// and 1M entries (memory also at 1k and 100k). The reference, measured in the
// same run on the same keys, is a std::unordered_map from a 5-tuple key to a
// small value (dest, service, expiry), reserved up front, with the same keyed
// hash; --ratios prints the table's figures and table / reference ratios.
//
// Times are the thread's CPU time, medians of 5 runs; each run measures the
// table and then the reference on the same keys and lookup order.
//
// Memory is counted twice: the table's own accounting (bytes_allocated():
// entry chunks, both hash indexes, timer lists) and the heap growth glibc
// reports (mallinfo2: uordblks + hblkhd) across building the structure; the
// reference has only the mallinfo2 figure.
//
//   build/tests/bench/conn_table_bench            (Google Benchmark output)
//   build/tests/bench/conn_table_bench --ratios   (the table of figures and ratios)
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "forwarding/userspace/conn_table.hpp"

namespace {

using namespace lvsd::forwarding::userspace;

constexpr uint64_t kNow = 1'000'000;

// N distinct client tuples to one of 16 VIPs, and their NAT realservers.
struct Workload {
  std::vector<FiveTuple> in;
  std::vector<IpAddr> rs;
  std::vector<uint32_t> order;  // a random lookup order over the keys
};

Workload make_workload(std::size_t n, uint32_t seed) {
  Workload w;
  std::mt19937_64 rng(seed);
  w.in.reserve(n);
  w.rs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const uint32_t c = static_cast<uint32_t>(rng());
    const uint8_t cb[4] = {static_cast<uint8_t>(c >> 24), static_cast<uint8_t>(c >> 16),
                           static_cast<uint8_t>(c >> 8), static_cast<uint8_t>(c)};
    const uint8_t vb[4] = {192, 0, 2, static_cast<uint8_t>(200 + i % 16)};
    const uint8_t rb[4] = {10, 0, static_cast<uint8_t>(i % 7), static_cast<uint8_t>(1 + i % 200)};
    // i in the port keeps the tuples distinct.
    w.in.push_back(FiveTuple{IpAddr::v4(cb), IpAddr::v4(vb),
                             static_cast<uint16_t>(1024 + i % 60000), 80, kProtoTcp});
    w.in.back().saddr.b[13] ^= static_cast<uint8_t>(i >> 16);
    w.rs.push_back(IpAddr::v4(rb));
  }
  w.order.resize(1 << 20);
  for (auto& o : w.order)
    o = static_cast<uint32_t>(rng() % n);
  return w;
}

ConnTableOptions table_options(std::size_t n) {
  ConnTableOptions o;
  o.max_connections = static_cast<uint32_t>(std::max<std::size_t>(n, 1));
  o.hash_seed = 0x1234;
  return o;
}

void fill(ConnTable& t, const Workload& w) {
  for (std::size_t i = 0; i < w.in.size(); ++i)
    t.insert(ConnSpec::from_packet(w.in[i], w.rs[i], 8080, FwdMethod::nat, 1, 1), kNow);
}

// The reference: key and a small value, hashed with the same 128-bit
// multiply-fold as the table (keyed), so the comparison is the container.
struct RefKey {
  IpAddr caddr;
  IpAddr vaddr;
  uint16_t cport;
  uint16_t vport;
  uint8_t proto;
  bool operator==(const RefKey&) const = default;
};
struct RefValue {
  uint32_t dest;
  uint32_t service;
  uint64_t expires;
};
struct RefHash {
  static uint64_t mum(uint64_t a, uint64_t b) {
    const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
  }
  std::size_t operator()(const RefKey& k) const {
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, k.caddr.b.data(), 8);
    std::memcpy(&a1, k.caddr.b.data() + 8, 8);
    std::memcpy(&b0, k.vaddr.b.data(), 8);
    std::memcpy(&b1, k.vaddr.b.data() + 8, 8);
    uint64_t h = mum(a0 ^ 0x9e3779b97f4a7c15ull, a1 ^ 0xbf58476d1ce4e5b9ull);
    h = mum(b0 ^ 0x94d049bb133111ebull, b1 ^ h);
    const uint64_t w = k.cport | (uint64_t{k.vport} << 16) | (uint64_t{k.proto} << 32);
    return mum(w ^ 0x2545f4914f6cdd1dull, h ^ 0x9e3779b97f4a7c15ull);
  }
};
using RefMap = std::unordered_map<RefKey, RefValue, RefHash>;

RefKey ref_key(const FiveTuple& t) {
  return RefKey{t.saddr, t.daddr, t.sport, t.dport, t.protocol};
}

void fill_ref(RefMap& m, const Workload& w) {
  m.reserve(w.in.size());
  for (std::size_t i = 0; i < w.in.size(); ++i)
    m.emplace(ref_key(w.in[i]), RefValue{1, 1, kNow + 900'000});
}

std::size_t heap_in_use() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

// ------------------------------------------------------------ Google Benchmark

void BM_TableLookupIn(benchmark::State& state) {
  const auto w = make_workload(static_cast<std::size_t>(state.range(0)), 1);
  ConnTable t(table_options(w.in.size()));
  fill(t, w);
  std::size_t k = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(t.lookup_in(w.in[w.order[k++ & 0xfffff]]));
}

void BM_RefLookup(benchmark::State& state) {
  const auto w = make_workload(static_cast<std::size_t>(state.range(0)), 1);
  RefMap m;
  fill_ref(m, w);
  std::size_t k = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(m.find(ref_key(w.in[w.order[k++ & 0xfffff]])));
}

BENCHMARK(BM_TableLookupIn)->Arg(10'000)->Arg(1'000'000);
BENCHMARK(BM_RefLookup)->Arg(10'000)->Arg(1'000'000);

// ------------------------------------------------------------ --ratios

// The thread's CPU time, not wall time: the bench shares 2 cores with other
// work, and time spent descheduled would land on whichever side ran then.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <typename F>
double seconds(F fn) {
  const double start = thread_cpu_seconds();
  fn();
  return thread_cpu_seconds() - start;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Figures {
  double lookup_in_ns, lookup_out_ns, ref_lookup_ns;
  double insert_ns, insert_reserved_ns, ref_insert_ns;
};

Figures measure(std::size_t n) {
  const auto w = make_workload(n, 7);
  Figures f{};
  constexpr int kRuns = 5;
  const std::size_t lookups = std::max<std::size_t>(n, 2'000'000);
  std::vector<double> ti, to, tr, ins, insr, rins;
  for (int run = 0; run < kRuns; ++run) {
    {
      // Entries and buckets preallocated: the steady state (free list reuse,
      // indexes at their size).
      auto t = std::make_unique<ConnTable>(table_options(n));
      t->reserve(n);
      insr.push_back(seconds([&] { fill(*t, w); }) / static_cast<double>(n) * 1e9);
    }
    {
      auto t = std::make_unique<ConnTable>(table_options(n));
      ins.push_back(seconds([&] { fill(*t, w); }) / static_cast<double>(n) * 1e9);
      uint64_t hits = 0;
      ti.push_back(seconds([&] {
                     for (std::size_t k = 0; k < lookups; ++k)
                       hits += t->lookup_in(w.in[w.order[k & 0xfffff]]) != kNoConn;
                   }) /
                   static_cast<double>(lookups) * 1e9);
      to.push_back(
          seconds([&] {
            for (std::size_t k = 0; k < lookups; ++k) {
              const std::size_t i = w.order[k & 0xfffff];
              const FiveTuple reply{w.rs[i], w.in[i].saddr, 8080, w.in[i].sport, kProtoTcp};
              hits += t->lookup_out(reply) != kNoConn;
            }
          }) /
          static_cast<double>(lookups) * 1e9);
      if (hits != 2 * lookups)
        std::fprintf(stderr, "lookup missed (%llu)\n", (unsigned long long)hits);
    }
    {
      RefMap m;
      rins.push_back(seconds([&] { fill_ref(m, w); }) / static_cast<double>(n) * 1e9);
      uint64_t hits = 0;
      tr.push_back(seconds([&] {
                     for (std::size_t k = 0; k < lookups; ++k)
                       hits += m.find(ref_key(w.in[w.order[k & 0xfffff]])) != m.end();
                   }) /
                   static_cast<double>(lookups) * 1e9);
      if (hits != lookups) std::fprintf(stderr, "reference lookup missed\n");
    }
  }
  f.lookup_in_ns = median(ti);
  f.lookup_out_ns = median(to);
  f.ref_lookup_ns = median(tr);
  f.insert_ns = median(ins);
  f.insert_reserved_ns = median(insr);
  f.ref_insert_ns = median(rins);
  return f;
}

struct Memory {
  double own, heap, ref_heap;
};

Memory memory(std::size_t n) {
  const auto w = make_workload(n, 11);
  Memory m{};
  {
    const std::size_t before = heap_in_use();
    auto t = std::make_unique<ConnTable>(table_options(1'048'576));  // the default limit
    fill(*t, w);
    m.heap = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
    m.own = static_cast<double>(t->bytes_allocated()) / static_cast<double>(n);
  }
  {
    const std::size_t before = heap_in_use();
    auto r = std::make_unique<RefMap>();
    fill_ref(*r, w);
    m.ref_heap = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
  }
  return m;
}

int print_ratios() {
  std::printf(
      "sizeof(Conn) = %zu bytes; reference: std::unordered_map<5-tuple key (%zu B), "
      "value (%zu B)>, reserved, same keyed hash\n\n",
      sizeof(Conn), sizeof(RefKey), sizeof(RefValue));
  std::printf("%-9s %-22s %12s %12s %8s\n", "entries", "operation", "table", "reference", "ratio");
  for (std::size_t n : {std::size_t{10'000}, std::size_t{1'000'000}}) {
    const Figures f = measure(n);
    auto line = [&](const char* what, double ns, double ref_ns) {
      // Rates in millions per second; ratio = table rate / reference rate.
      std::printf("%-9zu %-22s %9.2f M/s %9.2f M/s %8.2f\n", n, what, 1e3 / ns, 1e3 / ref_ns,
                  ref_ns / ns);
    };
    line("lookup (client)", f.lookup_in_ns, f.ref_lookup_ns);
    line("lookup (NAT reply)", f.lookup_out_ns, f.ref_lookup_ns);
    line("insert (from empty)", f.insert_ns, f.ref_insert_ns);
    line("insert (reserved)", f.insert_reserved_ns, f.ref_insert_ns);
  }
  std::printf("\nmemory per entry (table: max_connections 1048576, NAT entries in both indexes)\n");
  std::printf("%-9s %14s %14s %14s %8s\n", "entries", "table (own)", "table (heap)", "ref (heap)",
              "ratio");
  for (std::size_t n :
       {std::size_t{1'000}, std::size_t{10'000}, std::size_t{100'000}, std::size_t{1'000'000}}) {
    const Memory m = memory(n);
    std::printf("%-9zu %12.1f B %12.1f B %12.1f B %8.2f\n", n, m.own, m.heap, m.ref_heap,
                m.heap / m.ref_heap);
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
