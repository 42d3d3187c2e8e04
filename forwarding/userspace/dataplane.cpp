#include "forwarding/userspace/dataplane.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

namespace lvsd::forwarding::userspace {
namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void bump(std::atomic<uint64_t>& c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

Dataplane::Dataplane(const DataplaneOptions& options, Engine& engine)
    : options_(options), engine_(engine) {}

Dataplane::~Dataplane() {
  stop();
}

std::error_code Dataplane::start(std::string& detail) {
  // queue_count GSO queues (NAT), then queue_count plain ones (DR/TUN), see
  // steering.hpp.
  for (uint16_t i = 0; i < 2 * options_.queue_count; ++i) {
    NfQueueOptions qo;
    qo.queue = static_cast<uint16_t>(options_.queue_first + i);
    qo.maxlen = options_.queue_maxlen;
    qo.fail_open = options_.fail_open;
    qo.gso = options_.gso && i < options_.queue_count;
    std::error_code ec;
    auto q = NfQueue::open(qo, ec);
    if (!q) {
      detail = fmt::format("NFQUEUE {}: {}", qo.queue, ec.message());
      queues_.clear();
      return ec;
    }
    queues_.push_back(std::move(q));
  }
  packet_fd_ = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  raw4_fd_ = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  raw6_fd_ = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (packet_fd_ < 0 || raw4_fd_ < 0) {
    std::error_code ec(errno, std::generic_category());
    detail = fmt::format("transmit sockets: {}", ec.message());
    stop();
    return ec;
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { run(); });
  return {};
}

void Dataplane::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  queues_.clear();
  for (int* fd : {&stop_fd_, &packet_fd_, &raw4_fd_, &raw6_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

NfQueue::Counters Dataplane::queue_counters() const {
  NfQueue::Counters sum;
  for (const auto& q : queues_) {
    const auto& c = q->counters();
    sum.received += c.received;
    sum.parse_errors += c.parse_errors;
    sum.recv_errors += c.recv_errors;
    sum.send_errors += c.send_errors;
    sum.verdicts += c.verdicts;
  }
  return sum;
}

uint64_t Dataplane::verdict_errors() const {
  uint64_t n = 0;
  for (const auto& q : queues_)
    n += q->send_errors();
  return n;
}

void Dataplane::transmit(const Decision& d) {
  if (d.tx == TxKind::l2) {
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = d.ifindex;
    sll.sll_protocol = htons(d.ipv6 ? ETH_P_IPV6 : ETH_P_IP);
    sll.sll_halen = 6;
    std::memcpy(sll.sll_addr, d.mac.data(), 6);
    if (sendto(packet_fd_, d.tx_data.data(), d.tx_data.size(), MSG_DONTWAIT,
               reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0)
      bump(tx_.send_errors);
    else
      bump(tx_.l2_sent);
  } else if (d.tx == TxKind::raw) {
    ssize_t n;
    if (!d.ipv6) {
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      std::memcpy(&sin.sin_addr, d.tx_dst.v4_bytes(), 4);
      n = sendto(raw4_fd_, d.tx_data.data(), d.tx_data.size(), MSG_DONTWAIT,
                 reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    } else {
      sockaddr_in6 sin6{};
      sin6.sin6_family = AF_INET6;
      std::memcpy(&sin6.sin6_addr, d.tx_dst.b.data(), 16);
      n = raw6_fd_ < 0 ? -1
                       : sendto(raw6_fd_, d.tx_data.data(), d.tx_data.size(), MSG_DONTWAIT,
                                reinterpret_cast<sockaddr*>(&sin6), sizeof sin6);
    }
    if (n < 0)
      bump(tx_.send_errors);
    else
      bump(tx_.raw_sent);
  }
}

void Dataplane::run() {
  std::vector<pollfd> fds;
  fds.push_back(pollfd{stop_fd_, POLLIN, 0});
  fds.push_back(pollfd{engine_.sync_channel().wake_fd, POLLIN, 0});
  constexpr std::size_t kFirstQueue = 2;
  for (auto& q : queues_)
    fds.push_back(pollfd{q->fd(), POLLIN, 0});
  uint64_t seen_version = ~uint64_t{0};
  uint64_t next_housekeeping = 0;
  for (;;) {
    int rc = poll(fds.data(), fds.size(), 100);
    if (rc < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) break;
    // After the wait, not before it: a snapshot published while poll()
    // blocked (a reload, or the first one at start-up) must be in force
    // before the synced entries or packets that woke us are handled, or they
    // would be judged against the old table (sync entries for services
    // not there yet counted "unknown" and lost).
    if (engine_.snapshot_version() != seen_version) seen_version = engine_.apply_snapshot();
    uint64_t now = now_ms();
    if (fds[1].revents & POLLIN) engine_.drain_sync(now);
    for (std::size_t i = kFirstQueue; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      NfQueue& q = *queues_[i - kFirstQueue];
      // Drain what is waiting, a bounded number of batches per wakeup so
      // every queue and the housekeeping get their turn.
      for (int round = 0; round < 64; ++round) {
        unsigned n = q.receive_batch([&](QueuedPacket& p) {
          const Decision d = engine_.process(p, now);
          if (d.tx != TxKind::none) transmit(d);
          q.verdict(p.id, d.verdict, d.payload);
        });
        q.flush();
        if (n == 0) break;
      }
    }
    if (now >= next_housekeeping) {
      engine_.housekeeping(now);
      next_housekeeping = now + 10;
    }
  }
}

}  // namespace lvsd::forwarding::userspace
