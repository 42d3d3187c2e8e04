// vrrp_probe: the client side of the VRRP lab test and failover bench. Who
// answers for a VIP, and how many probes were lost while it moved.
//
//   vrrp_probe serve PORT NAME
//       UDP echo on [::]:PORT (IPv4 and IPv6): answers "NAME SEQ" to "SEQ".
//       Run one per director; the VIP answers from whichever holds it.
//   vrrp_probe probe TARGET PORT INTERVAL_MS MAX_MS [UNTIL_NAME [UNTIL_COUNT]]
//       Sends "SEQ" to TARGET every INTERVAL_MS (absolute schedule, no drift)
//       for MAX_MS, or until UNTIL_COUNT consecutive answers (default 1) came
//       from UNTIL_NAME. Then waits 300 ms for late answers and prints one
//       key=value line:
//         sent= answered= lost= until_reached=0|1
//         first_until_ns=   CLOCK_REALTIME of the first answer from UNTIL_NAME
//         last_before_ns=   CLOCK_REALTIME of the last answer from anyone else
//                           before it
//         max_gap_ms=       longest time between two consecutive answers
//         runs=NAME:FIRST-LAST,...   which responder answered which sequence numbers
//         lost_seqs=N,N,... (the first 50)
// Exit 0 (even with losses: the test decides), 2 on usage or socket errors.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

std::int64_t now_ns(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int usage() {
  std::fprintf(stderr,
               "usage: vrrp_probe serve PORT NAME\n"
               "       vrrp_probe probe TARGET PORT INTERVAL_MS MAX_MS [UNTIL_NAME [COUNT]]\n");
  return 2;
}

int serve(int port, const std::string& name) {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return std::perror("socket"), 2;
  const int off = 0;
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(static_cast<std::uint16_t>(port));
  a.sin6_addr = in6addr_any;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return std::perror("bind"), 2;
  char buf[512];
  for (;;) {
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n =
        ::recvfrom(fd, buf, sizeof buf - 1, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::perror("recvfrom"), 2;
    }
    buf[n] = 0;
    const std::string reply = name + " " + buf;
    ::sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

struct Answer {
  std::string who;
  std::int64_t at_real = 0;
  std::int64_t at_mono = 0;
};

int probe(const std::string& target, int port, int interval_ms, int max_ms,
          const std::string& until, int until_count) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* ai = nullptr;
  if (::getaddrinfo(target.c_str(), std::to_string(port).c_str(), &hints, &ai) != 0 || !ai) {
    std::fprintf(stderr, "bad target %s\n", target.c_str());
    return 2;
  }
  const int fd = ::socket(ai->ai_family, SOCK_DGRAM, 0);
  if (fd < 0) return std::perror("socket"), 2;
  // Not connect()ed: an ICMP error while nobody holds the VIP must not make
  // later sends fail.
  const sockaddr_storage dst = [&] {
    sockaddr_storage s{};
    std::memcpy(&s, ai->ai_addr, ai->ai_addrlen);
    return s;
  }();
  const socklen_t dstlen = ai->ai_addrlen;
  ::freeaddrinfo(ai);

  const std::int64_t interval = std::int64_t{interval_ms} * 1'000'000;
  const std::int64_t start = now_ns(CLOCK_MONOTONIC);
  const std::int64_t end = start + std::int64_t{max_ms} * 1'000'000;
  std::vector<std::int64_t> sent_at;
  std::map<std::uint64_t, Answer> answers;
  std::int64_t next = start;
  bool reached = false;
  std::int64_t drain_until = -1;
  int consecutive = 0;
  std::uint64_t last_seq_seen = 0;
  char buf[512];
  for (;;) {
    const std::int64_t t = now_ns(CLOCK_MONOTONIC);
    if (drain_until < 0 && (t >= end || reached)) drain_until = t + 300'000'000;
    if (drain_until >= 0 && t >= drain_until) break;
    if (drain_until < 0 && t >= next) {
      const std::string msg = std::to_string(sent_at.size());
      ::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr*>(&dst), dstlen);
      sent_at.push_back(t);
      next += interval;
      if (next <= t) next = t + interval;  // we stalled: do not burst
      continue;
    }
    const std::int64_t wake = drain_until >= 0 ? drain_until : next;
    const int timeout_ms = static_cast<int>(std::max<std::int64_t>(0, (wake - t) / 1'000'000));
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    if (n <= 0) continue;
    buf[n] = 0;
    char who[256];
    unsigned long long seq = 0;
    if (std::sscanf(buf, "%255s %llu", who, &seq) != 2 || seq >= sent_at.size()) continue;
    if (answers.count(seq)) continue;
    answers[seq] = {who, now_ns(CLOCK_REALTIME), now_ns(CLOCK_MONOTONIC)};
    if (!until.empty() && seq >= last_seq_seen) {
      last_seq_seen = seq;
      consecutive = who == until ? consecutive + 1 : 0;
      if (consecutive >= until_count) reached = true;
    }
  }

  std::int64_t first_until = 0;
  std::int64_t last_before = 0;
  std::int64_t max_gap = 0;
  std::int64_t prev = -1;
  std::string runs;
  std::string run_who;
  std::uint64_t run_first = 0;
  std::uint64_t run_last = 0;
  for (const auto& [seq, a] : answers) {
    if (!until.empty() && a.who == until && first_until == 0) first_until = a.at_real;
    if (first_until == 0 && a.who != until) last_before = a.at_real;
    if (prev >= 0) max_gap = std::max(max_gap, a.at_mono - prev);
    prev = a.at_mono;
    if (a.who != run_who) {
      if (!run_who.empty())
        runs += (runs.empty() ? "" : ",") + run_who + ":" + std::to_string(run_first) + "-" +
                std::to_string(run_last);
      run_who = a.who;
      run_first = seq;
    }
    run_last = seq;
  }
  if (!run_who.empty())
    runs += (runs.empty() ? "" : ",") + run_who + ":" + std::to_string(run_first) + "-" +
            std::to_string(run_last);
  std::string lost_seqs;
  std::size_t lost = 0;
  for (std::uint64_t s = 0; s < sent_at.size(); ++s) {
    if (answers.count(s)) continue;
    if (++lost <= 50) lost_seqs += (lost_seqs.empty() ? "" : ",") + std::to_string(s);
  }
  std::printf(
      "sent=%zu answered=%zu lost=%zu until_reached=%d first_until_ns=%lld last_before_ns=%lld "
      "max_gap_ms=%.1f runs=%s lost_seqs=%s\n",
      sent_at.size(), answers.size(), lost, reached ? 1 : 0, static_cast<long long>(first_until),
      static_cast<long long>(last_before), static_cast<double>(max_gap) / 1e6,
      runs.empty() ? "-" : runs.c_str(), lost_seqs.empty() ? "-" : lost_seqs.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::string(argv[1]) == "serve") return serve(std::atoi(argv[2]), argv[3]);
  if (argc >= 6 && std::string(argv[1]) == "probe") {
    return probe(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atoi(argv[5]),
                 argc >= 7 ? argv[6] : "", argc >= 8 ? std::atoi(argv[7]) : 1);
  }
  return usage();
}
