// Cost of the userspace dataplane's per-packet work: parse, NAT rewrite with
// the incremental checksum update, NAT rewrite of a csum_not_ready packet
// (full software checksum over the segment), SCTP (CRC32c over the packet)
// and TUN encapsulation, for 64- and 1500-byte packets. The reference,
// measured in the same run, is a plain memcpy of the same packet (what any
// NFQUEUE verdict carrying the payload costs at least); --ratios prints ns
// per operation and the ratio to that memcpy.
//
//   build/tests/bench/packet_bench            (Google Benchmark output)
//   build/tests/bench/packet_bench --ratios   (a table: ns per packet and ratios)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "forwarding/userspace/rewrite.hpp"

namespace {

using namespace lvsd::forwarding::userspace;

// A valid IPv4 or IPv6 TCP/SCTP packet of `size` bytes with a full checksum.
std::vector<uint8_t> make_packet(std::size_t size, bool v6, uint8_t proto) {
  std::vector<uint8_t> p(size, 0x5a);
  const std::size_t ip = v6 ? 40 : 20;
  if (v6) {
    std::memset(p.data(), 0, 40);
    p[0] = 0x60;
    p[4] = static_cast<uint8_t>((size - 40) >> 8);
    p[5] = static_cast<uint8_t>(size - 40);
    p[6] = proto;
    p[7] = 64;
    p[8] = 0x20, p[9] = 0x01, p[23] = 7;    // 2001::7
    p[24] = 0x20, p[25] = 0x01, p[39] = 1;  // 2001::1
  } else {
    std::memset(p.data(), 0, 20);
    p[0] = 0x45;
    p[2] = static_cast<uint8_t>(size >> 8);
    p[3] = static_cast<uint8_t>(size);
    p[6] = 0x40;
    p[8] = 64;
    p[9] = proto;
    const uint8_t s[4] = {198, 51, 100, 7}, d[4] = {192, 0, 2, 100};
    std::memcpy(&p[12], s, 4);
    std::memcpy(&p[16], d, 4);
    csum::store_raw16(&p[10], csum::ipv4_header_checksum(p.data(), 20));
  }
  uint8_t* l4 = p.data() + ip;
  l4[0] = 0x9c, l4[1] = 0x41, l4[2] = 0, l4[3] = 80;
  if (proto == kProtoTcp) {
    std::memset(l4 + 4, 0, 16);
    l4[12] = 0x50;
    l4[13] = 0x18;
  }
  const ParsedPacket r = parse(p);
  if (proto == kProtoSctp)
    detail::set_sctp_checksum(p, r);
  else
    detail::set_full_l4_checksum(p, r);
  return p;
}

struct Op {
  const char* name;
  bool v6;
  uint8_t proto;
  int kind;  // 0 memcpy, 1 parse, 2 nat incremental, 3 nat csum_not_ready, 4 encapsulate
};

const Op kOps[] = {
    {"memcpy (reference)", false, kProtoTcp, 0},
    {"parse v4 tcp", false, kProtoTcp, 1},
    {"parse+nat_in v4 tcp incremental", false, kProtoTcp, 2},
    {"parse+nat_in v4 tcp csum_not_ready", false, kProtoTcp, 3},
    {"parse+nat_in v6 tcp incremental", true, kProtoTcp, 2},
    {"parse+nat_in v6 tcp csum_not_ready", true, kProtoTcp, 3},
    {"parse+nat_in v4 sctp (crc32c)", false, kProtoSctp, 2},
    {"parse+encapsulate v4-in-v4", false, kProtoTcp, 4},
};

// One operation on `pkt` (rewritten in place; the NAT alternates between two
// realservers so every call really changes the address and checksums).
struct Runner {
  std::vector<uint8_t> pkt, out;
  IpAddr rs[2];
  TunnelParams tun;
  unsigned k = 0;

  Runner(std::size_t size, const Op& op) : pkt(make_packet(size, op.v6, op.proto)), out(size + 64) {
    const uint8_t a4[2][4] = {{10, 0, 0, 2}, {10, 0, 0, 3}};
    uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};
    for (int i = 0; i < 2; ++i) {
      a6[15] = static_cast<uint8_t>(2 + i);
      rs[i] = op.v6 ? IpAddr::v6(a6) : IpAddr::v4(a4[i]);
    }
    const uint8_t t1[4] = {192, 0, 2, 1}, t2[4] = {192, 0, 2, 21};
    tun.saddr = IpAddr::v4(t1);
    tun.daddr = IpAddr::v4(t2);
  }

  void run(int kind) {
    switch (kind) {
      case 0:
        std::memcpy(out.data(), pkt.data(), pkt.size());
        benchmark::DoNotOptimize(out.data());
        break;
      case 1: {
        ParsedPacket p = parse(pkt);
        benchmark::DoNotOptimize(p);
        break;
      }
      case 2:
      case 3: {
        ParsedPacket p = parse(pkt);
        benchmark::DoNotOptimize(nat_in(pkt, p, rs[++k & 1], 8080, kind == 3));
        break;
      }
      case 4: {
        ParsedPacket p = parse(pkt);
        tun.ip_id = static_cast<uint16_t>(++k);
        benchmark::DoNotOptimize(encapsulate(out, pkt, p, tun));
        break;
      }
    }
    benchmark::ClobberMemory();
  }
};

void BM_Op(benchmark::State& state, Op op) {
  Runner r(static_cast<std::size_t>(state.range(0)), op);
  for (auto _ : state)
    r.run(op.kind);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Median of `runs` timings of `reps` calls of fn, in nanoseconds per call.
// Thread CPU time, not wall time: on a machine shared with other work a long
// run is preempted more often than a short one, which would skew the ratios.
template <typename F>
double median_ns(int runs, int reps, F fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const double start = thread_cpu_ns();
    for (int r = 0; r < reps; ++r)
      fn();
    t.push_back((thread_cpu_ns() - start) / reps);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int print_ratios() {
  const std::size_t sizes[2] = {64, 1500};
  std::printf("ns per packet (ratio to memcpy of the same packet, same run)\n");
  std::printf("%-38s %18s %18s\n", "operation", "64 B", "1500 B");
  double ref[2] = {0, 0};
  for (const Op& op : kOps) {
    std::printf("%-38s", op.name);
    for (int j = 0; j < 2; ++j) {
      Runner r(sizes[j], op);
      const double ns = median_ns(11, 200000, [&] { r.run(op.kind); });
      if (op.kind == 0) ref[j] = ns;
      std::printf(" %10.1f (%5.2f)", ns, ns / ref[j]);
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace

BENCHMARK_CAPTURE(BM_Op, memcpy, kOps[0])->Arg(64)->Arg(1500);
BENCHMARK_CAPTURE(BM_Op, parse_v4, kOps[1])->Arg(64)->Arg(1500);
BENCHMARK_CAPTURE(BM_Op, nat_v4_incremental, kOps[2])->Arg(64)->Arg(1500);
BENCHMARK_CAPTURE(BM_Op, nat_v4_csum_not_ready, kOps[3])->Arg(64)->Arg(1500);
BENCHMARK_CAPTURE(BM_Op, nat_v6_incremental, kOps[4])->Arg(64)->Arg(1500);
BENCHMARK_CAPTURE(BM_Op, nat_v6_csum_not_ready, kOps[5])->Arg(64)->Arg(1500);
BENCHMARK_CAPTURE(BM_Op, nat_v4_sctp, kOps[6])->Arg(64)->Arg(1500);
BENCHMARK_CAPTURE(BM_Op, encapsulate_v4, kOps[7])->Arg(64)->Arg(1500);

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--ratios") == 0) return print_ratios();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
