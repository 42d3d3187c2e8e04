// NfQueue: one nfnetlink_queue (NFQUEUE) bound on its own netlink socket,
// spoken over libmnl with libnetfilter_queue's message helpers.
//
// Batching: receive_batch() reads up to `batch` packets with one recvmmsg();
// verdicts are appended to a send buffer and flush() hands them all to the
// kernel in one sendmsg() (nfnetlink processes every message of the skb).
// Nothing here allocates after open().
//
// Queue flags: F_FAIL_OPEN (the kernel accepts instead of dropping when the
// queue is full), F_GSO (GSO packets are queued whole instead of being
// segmented first; their checksums may then be "not ready", see Packet).
// NETLINK_NO_ENOBUFS: a full socket buffer drops packets (counted by the
// kernel, /proc/net/netfilter/nfnetlink_queue) instead of failing recv().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

struct mnl_socket;

namespace lvsd::forwarding::userspace {

struct NfQueueOptions {
  uint16_t queue = 0;
  uint32_t maxlen = 4096;  // packets waiting in the kernel
  bool fail_open = true;
  bool gso = true;
  unsigned batch = 32;  // packets per recvmmsg
  uint32_t socket_buffer = 8u << 20;
};

// One queued packet, valid until the next receive_batch().
struct QueuedPacket {
  uint32_t id = 0;
  uint16_t hw_protocol = 0;  // ETH_P_IP / ETH_P_IPV6, host order
  uint32_t mark = 0;
  uint32_t indev = 0;  // ifindex, 0 = unknown
  bool csum_not_ready =
      false;         // NFQA_SKB_CSUMNOTREADY: L4 checksum holds the pseudo-header sum only
  bool gso = false;  // NFQA_SKB_GSO
  std::span<uint8_t> payload;  // the IP packet (writable: rewrite in place)
};

enum class Verdict : uint32_t { drop = 0, accept = 1 };  // NF_DROP, NF_ACCEPT

class NfQueue {
 public:
  // Binds the queue (needs CAP_NET_ADMIN). Errors: EPERM, EBUSY (another
  // program holds the queue), ...
  static std::unique_ptr<NfQueue> open(const NfQueueOptions& options, std::error_code& ec);
  ~NfQueue();
  NfQueue(const NfQueue&) = delete;
  NfQueue& operator=(const NfQueue&) = delete;

  int fd() const;
  uint16_t queue() const { return options_.queue; }

  // Receives what is waiting (non-blocking) and calls on_packet for each
  // packet. Returns the number of packets, 0 when none was waiting.
  template <class F>
  unsigned receive_batch(F&& on_packet) {
    unsigned n = receive();
    for (unsigned i = 0; i < n; ++i) {
      if (parse(i, current_)) on_packet(current_);
    }
    return n;
  }

  // Appends a verdict (with `payload` replacing the packet when non-empty;
  // with a mark when `set_mark`). Flushes by itself when the buffer fills.
  void verdict(uint32_t id, Verdict v, std::span<const uint8_t> payload = {}, bool set_mark = false,
               uint32_t mark = 0);
  void flush();

  // Counters of this queue (the dataplane thread writes them).
  struct Counters {
    uint64_t received = 0;
    uint64_t parse_errors = 0;  // netlink messages without a usable packet
    uint64_t recv_errors = 0;
    uint64_t send_errors = 0;
    uint64_t verdicts = 0;
  };
  const Counters& counters() const { return counters_; }
  // Failed verdict batches (readable from any thread).
  uint64_t send_errors() const { return send_errors_.load(std::memory_order_relaxed); }

 private:
  explicit NfQueue(const NfQueueOptions& options);
  unsigned receive();
  bool parse(unsigned index, QueuedPacket& out);

  NfQueueOptions options_;
  mnl_socket* nl_ = nullptr;
  uint32_t portid_ = 0;
  std::vector<std::vector<char>> rx_;  // one buffer per batch slot
  std::vector<unsigned> rx_len_;
  std::vector<char> tx_;
  std::size_t tx_used_ = 0;
  QueuedPacket current_;
  Counters counters_;
  std::atomic<uint64_t> send_errors_{0};
};

}  // namespace lvsd::forwarding::userspace
