#include "sync/worker.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace lvsd::sync {
namespace us = forwarding::userspace;
namespace {

void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}

std::error_code last_error() {
  return {errno, std::generic_category()};
}

}  // namespace

SyncConn SyncWorker::to_conn(const us::SyncRecord& r) {
  SyncConn c;
  c.family = r.caddr.is_v4() ? Family::inet : Family::inet6;
  c.protocol = r.protocol;
  c.cport = r.cport;
  c.vport = r.vport;
  c.dport = r.dport;
  c.caddr = r.caddr;
  c.vaddr = r.vaddr;
  c.daddr = r.daddr;
  uint32_t flags = 0;
  switch (r.method) {
    case 1:
      flags = conn_flags::kDroute | conn_flags::kNoOutput;
      break;
    case 2:
      flags = conn_flags::kTunnel | conn_flags::kNoOutput;
      break;
    default:
      flags = conn_flags::kMasq;
  }
  if (r.inactive) flags |= conn_flags::kInactive;
  if (r.is_template) flags |= conn_flags::kTemplate;
  c.flags = flags;
  c.state = r.state;
  c.timeout = r.timeout_s;
  c.fwmark = r.fwmark;
  return c;
}

us::SyncRecord SyncWorker::to_record(const SyncConn& c) {
  us::SyncRecord r;
  r.caddr = c.caddr;
  r.vaddr = c.vaddr;
  r.daddr = c.daddr;
  r.cport = c.cport;
  r.vport = c.vport;
  r.dport = c.dport;
  r.protocol = c.protocol;
  switch (c.flags & conn_flags::kFwdMask) {
    case conn_flags::kDroute:
      r.method = 1;
      break;
    case conn_flags::kTunnel:
      r.method = 2;
      break;
    default:
      r.method = 0;
  }
  r.is_template = (c.flags & conn_flags::kTemplate) != 0;
  r.inactive = (c.flags & conn_flags::kInactive) != 0;
  r.state = c.state;
  r.timeout_s = c.timeout;
  r.fwmark = c.fwmark;
  return r;
}

SyncWorker::SyncWorker(const WorkerOptions& options, us::SyncChannel& channel)
    : options_(options), channel_(channel), builder_(options.syncid, options.maxlen) {}

SyncWorker::~SyncWorker() {
  stop();
}

std::error_code SyncWorker::start(std::string& detail) {
  const unsigned ifindex = if_nametoindex(options_.interface.c_str());
  if (ifindex == 0) {
    detail = fmt::format("interface {:?}: {}", options_.interface, std::strerror(errno));
    return last_error();
  }
  const bool v6 = options_.group.is_v6();
  const int af = v6 ? AF_INET6 : AF_INET;
  tx_fd_ = socket(af, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  rx_fd_ = socket(af, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (tx_fd_ < 0 || rx_fd_ < 0 || stop_fd_ < 0) {
    detail = fmt::format("sockets: {}", std::strerror(errno));
    return last_error();
  }
  int one = 1, zero = 0, ttl = options_.ttl;
  setsockopt(rx_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rcvbuf = 4 << 20;
  setsockopt(rx_fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  // Both sockets stay on the sync interface.
  for (int fd : {tx_fd_, rx_fd_})
    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, options_.interface.c_str(),
               static_cast<socklen_t>(options_.interface.size()));
  if (!v6) {
    ip_mreqn mreq{};
    mreq.imr_ifindex = static_cast<int>(ifindex);
    auto g = options_.group.to_v4().to_bytes();
    std::memcpy(&mreq.imr_multiaddr, g.data(), 4);
    if (setsockopt(tx_fd_, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) < 0 ||
        setsockopt(tx_fd_, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0 ||
        setsockopt(tx_fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof zero) < 0) {
      detail = fmt::format("multicast send options: {}", std::strerror(errno));
      return last_error();
    }
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(options_.port);
    std::memcpy(&sin.sin_addr, g.data(), 4);
    if (bind(rx_fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) < 0 ||
        setsockopt(rx_fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0) {
      detail = fmt::format("join {}:{} on {}: {}", options_.group.to_string(), options_.port,
                           options_.interface, std::strerror(errno));
      return last_error();
    }
  } else {
    int idx = static_cast<int>(ifindex);
    if (setsockopt(tx_fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) < 0 ||
        setsockopt(tx_fd_, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl) < 0 ||
        setsockopt(tx_fd_, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof zero) < 0) {
      detail = fmt::format("multicast send options: {}", std::strerror(errno));
      return last_error();
    }
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(options_.port);
    auto g = options_.group.to_v6().to_bytes();
    std::memcpy(&sin6.sin6_addr, g.data(), 16);
    ipv6_mreq mreq{};
    std::memcpy(&mreq.ipv6mr_multiaddr, g.data(), 16);
    mreq.ipv6mr_interface = ifindex;
    if (bind(rx_fd_, reinterpret_cast<sockaddr*>(&sin6), sizeof sin6) < 0 ||
        setsockopt(rx_fd_, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq) < 0) {
      detail = fmt::format("join [{}]:{} on {}: {}", options_.group.to_string(), options_.port,
                           options_.interface, std::strerror(errno));
      return last_error();
    }
  }
  if (const char* path = std::getenv("LVSD_SYNC_TRACE"); path != nullptr && *path != 0)
    trace_ = std::fopen(path, "w");
  thread_ = std::thread([this] { run(); });
  return {};
}

void SyncWorker::trace(char what, const SyncConn& c) {
  // Sampled: ESTABLISHED connections whose client port is a multiple of 8.
  if (trace_ == nullptr || c.is_template() || c.state != 1 || c.cport % 8 != 0) return;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  std::fprintf(trace_, "%c %s:%u %lld\n", what, c.caddr.to_address().to_string().c_str(), c.cport,
               static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
}

void SyncWorker::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (trace_ != nullptr) {
    std::fclose(trace_);
    trace_ = nullptr;
  }
  for (int* fd : {&tx_fd_, &rx_fd_, &stop_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

void SyncWorker::set_roles(bool send, bool receive) {
  channel_.sending.store(send, std::memory_order_relaxed);
  channel_.receiving.store(receive, std::memory_order_relaxed);
  // Joining, or changing role (e.g. becoming master): ask the peer for its
  // whole table.
  if (options_.full_resync) want_request_.store(true, std::memory_order_relaxed);
}

void SyncWorker::send_bytes(const std::byte* data, std::size_t len) {
  tx_.assign(data, data + len);
  if (!options_.auth_key.empty()) append_auth(options_.auth_key, tx_);
  ssize_t n;
  if (options_.group.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(options_.port);
    auto g = options_.group.to_v4().to_bytes();
    std::memcpy(&sin.sin_addr, g.data(), 4);
    n = sendto(tx_fd_, tx_.data(), tx_.size(), 0, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(options_.port);
    auto g = options_.group.to_v6().to_bytes();
    std::memcpy(&sin6.sin6_addr, g.data(), 16);
    n = sendto(tx_fd_, tx_.data(), tx_.size(), 0, reinterpret_cast<sockaddr*>(&sin6), sizeof sin6);
  }
  if (n < 0) bump(counters_.send_errors);
}

void SyncWorker::send_resync_request() {
  const std::byte req[8] = {std::byte{0},
                            std::byte{options_.syncid},
                            std::byte{0},
                            std::byte{8},
                            std::byte{0},
                            std::byte{kProtoVersion},
                            std::byte{kResyncSpare0},
                            std::byte{kResyncSpare1}};
  send_bytes(req, sizeof req);
  bump(counters_.resync_requests_sent);
  accept_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(5);
}

void SyncWorker::append_auth(const std::string& key, std::vector<std::byte>& message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &maclen);
  const std::byte magic[4] = {std::byte{'L'}, std::byte{'V'}, std::byte{'A'}, std::byte{'1'}};
  message.insert(message.end(), magic, magic + 4);
  const auto* m = reinterpret_cast<const std::byte*>(mac);
  message.insert(message.end(), m, m + maclen);
}

bool SyncWorker::check_auth(const std::string& key, std::span<const std::byte>& d) {
  if (key.empty()) return true;
  if (d.size() < kHeaderSize + kAuthTrailer) return false;
  const std::size_t body = d.size() - kAuthTrailer;
  const auto* t = d.data() + body;
  if (t[0] != std::byte{'L'} || t[1] != std::byte{'V'} || t[2] != std::byte{'A'} ||
      t[3] != std::byte{'1'})
    return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(d.data()), body, mac, &maclen);
  if (maclen != 32 || CRYPTO_memcmp(mac, t + 4, 32) != 0) return false;
  d = d.first(body);
  return true;
}

std::map<std::string, double> SyncWorker::peers() const {
  std::lock_guard lock(peers_mu_);
  std::map<std::string, double> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [addr, at] : peers_)
    out[addr] = std::chrono::duration<double>(now - at).count();
  return out;
}

void SyncWorker::flush() {
  if (builder_.empty()) return;
  const auto bytes = builder_.bytes();
  const uint64_t errors = counters_.send_errors.load(std::memory_order_relaxed);
  send_bytes(bytes.data(), bytes.size());
  if (counters_.send_errors.load(std::memory_order_relaxed) == errors) {
    bump(counters_.messages_sent);
    bump(counters_.entries_sent, builder_.count());
  }
  builder_.clear();
}

void SyncWorker::run() {
  std::vector<std::byte> buf(65536);
  pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {rx_fd_, POLLIN, 0}};
  for (;;) {
    if (want_request_.exchange(false, std::memory_order_relaxed)) send_resync_request();
    const bool sending = channel_.sending.load(std::memory_order_relaxed) ||
                         std::chrono::steady_clock::now() < serve_until_;
    // While sending, wake often enough to keep the queue short and to flush
    // a partly filled message within flush_delay.
    int timeout = sending ? 2 : 100;
    int rc = poll(fds, 2, timeout);
    if (rc < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) break;
    if (fds[1].revents & POLLIN) {
      bool queued = false;
      for (int i = 0; i < 256; ++i) {
        sockaddr_storage from{};
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(rx_fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from),
                             &fromlen);
        if (n < 0) break;
        bump(counters_.messages_received);
        char host[INET6_ADDRSTRLEN] = {};
        if (from.ss_family == AF_INET)
          inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&from)->sin_addr, host, sizeof host);
        else
          inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr, host,
                    sizeof host);
        {
          std::lock_guard lock(peers_mu_);
          peers_[host] = std::chrono::steady_clock::now();
        }
        std::span<const std::byte> datagram(buf.data(), static_cast<std::size_t>(n));
        if (!check_auth(options_.auth_key, datagram)) {
          bump(counters_.auth_failed);
          continue;
        }
        // A peer asks for our whole table (lvsd extension).
        if (datagram.size() == kHeaderSize && datagram[4] == std::byte{0} &&
            datagram[6] == std::byte{kResyncSpare0} && datagram[7] == std::byte{kResyncSpare1}) {
          bump(counters_.resync_requests_received);
          if (options_.full_resync &&
              (options_.syncid == 0 || datagram[1] == std::byte{options_.syncid})) {
            serve_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(5);
            channel_.resync_requested.store(true, std::memory_order_release);
          }
          continue;
        }
        DecodeResult r = decode(datagram, DecodeOptions{options_.syncid, {}});
        for (const auto& d : r.dropped)
          bump(counters_.drops[static_cast<std::size_t>(d.reason)]);
        if (r.error) bump(counters_.drops[static_cast<std::size_t>(*r.error)]);
        bump(counters_.entries_received, r.message.conns.size());
        if (!channel_.receiving.load(std::memory_order_relaxed) &&
            std::chrono::steady_clock::now() >= accept_until_) {
          bump(counters_.entries_ignored_not_backup, r.message.conns.size());
          continue;
        }
        for (const auto& c : r.message.conns) {
          trace('R', c);
          if (channel_.in.push(to_record(c)))
            queued = true;
          else
            bump(counters_.entries_applied_queue_full);
        }
      }
      if (queued) {
        uint64_t one = 1;
        (void)!write(channel_.wake_fd, &one, sizeof one);
      }
    }
    // Sender: pack what the dataplane queued.
    const auto now = std::chrono::steady_clock::now();
    for (int i = 0; i < 4096; ++i) {
      auto rec = channel_.out.pop();
      if (!rec) break;
      if (!sending) continue;  // role changed: drop what is left
      const SyncConn c = to_conn(*rec);
      trace('S', c);
      if (builder_.empty()) first_queued_ = now;
      auto res = builder_.add(c);
      if (res == MessageBuilder::AddResult::full) {
        flush();
        first_queued_ = now;
        builder_.add(c);
      }
    }
    if (!builder_.empty() && now - first_queued_ >= options_.flush_delay) flush();
  }
  flush();
}

}  // namespace lvsd::sync
