// Dataplane: the userspace engine's packet thread. It owns the NFQUEUE
// sockets and the transmit sockets, and runs Engine::process on every packet:
//
//   poll(queues, stop eventfd, 100 ms)
//     -> new snapshot? engine.apply_snapshot()
//     -> per queue: recvmmsg batch -> process -> verdicts (one sendmsg) and
//        transmits (AF_PACKET frames for DR, raw IP for TUN and ICMP replies)
//     -> engine.housekeeping(now): expiry with a bounded budget
//
// One thread serves every queue: the connection table is the thread's own,
// so per-packet work takes no lock. Starting opens the queues on the caller's
// thread (errors are reported there); stop() joins the thread and closes the
// queues, after which the kernel lets packets through (--queue-bypass).
#pragma once

#include <atomic>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "forwarding/userspace/engine.hpp"
#include "forwarding/userspace/nfqueue.hpp"

namespace lvsd::forwarding::userspace {

struct DataplaneOptions {
  uint16_t queue_first = 100;
  uint16_t queue_count = 1;
  uint32_t queue_maxlen = 4096;
  bool fail_open = true;
  // Open the NAT queues with NFQA_CFG_F_GSO: large GRO'd segments are queued
  // whole and rewritten at once (their checksums "not ready": the engine
  // computes them in full).
  bool gso = true;
};

struct TxCounters {
  std::atomic<uint64_t> l2_sent{0}, raw_sent{0}, send_errors{0};
};

class Dataplane {
 public:
  Dataplane(const DataplaneOptions& options, Engine& engine);
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // Opens every queue and the transmit sockets, then starts the thread.
  std::error_code start(std::string& detail);
  void stop();
  bool running() const { return thread_.joinable(); }

  const TxCounters& tx_counters() const { return tx_; }
  // Sum of the queues' counters (approximate while running).
  NfQueue::Counters queue_counters() const;
  uint64_t verdict_errors() const;

 private:
  void run();
  void transmit(const Decision& d);

  DataplaneOptions options_;
  Engine& engine_;
  std::vector<std::unique_ptr<NfQueue>> queues_;
  int stop_fd_ = -1;
  int packet_fd_ = -1;  // AF_PACKET, SOCK_DGRAM: the kernel adds the Ethernet header
  int raw4_fd_ = -1;    // AF_INET, IPPROTO_RAW (header included)
  int raw6_fd_ = -1;    // AF_INET6, IPPROTO_RAW
  std::thread thread_;
  TxCounters tx_;
};

}  // namespace lvsd::forwarding::userspace
