// SyncWorker: lvsd's connection-sync transport for the userspace engine, on
// a thread of its own. It sends what the dataplane queues (ip_vs sync v1
// messages, packed up to maxlen, a partly filled message flushed after
// `flush_delay`) and feeds what it receives from the peer back to the
// dataplane, both over UDP multicast (default 224.0.0.81:8848, TTL 1,
// multicast loopback off) on one interface.
//
// Role: send (master), receive (backup), or both; set at any time from the
// control thread (it follows a VRRP instance).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include <boost/asio/ip/address.hpp>

#include "forwarding/userspace/sync_channel.hpp"
#include "sync/codec.hpp"

namespace lvsd::sync {

struct WorkerOptions {
  std::string interface;
  boost::asio::ip::address group = boost::asio::ip::make_address_v4("224.0.0.81");
  uint16_t port = kSyncPort;
  uint8_t ttl = 1;
  uint8_t syncid = 0;
  uint16_t maxlen = 1472;
  std::chrono::milliseconds flush_delay{10};
};

struct WorkerCounters {
  std::atomic<uint64_t> messages_sent{0}, entries_sent{0}, send_errors{0};
  std::atomic<uint64_t> messages_received{0}, entries_received{0}, entries_applied_queue_full{0};
  std::atomic<uint64_t> entries_ignored_not_backup{0};
  std::array<std::atomic<uint64_t>, kDropReasonCount> drops{};
};

class SyncWorker {
 public:
  SyncWorker(const WorkerOptions& options, forwarding::userspace::SyncChannel& channel);
  ~SyncWorker();
  SyncWorker(const SyncWorker&) = delete;
  SyncWorker& operator=(const SyncWorker&) = delete;

  // Opens the sockets (needs the interface) and starts the thread.
  std::error_code start(std::string& detail);
  void stop();

  void set_roles(bool send, bool receive);
  const WorkerCounters& counters() const { return counters_; }
  // Peers heard from: address -> seconds since the last message.
  std::map<std::string, double> peers() const;
  const WorkerOptions& options() const { return options_; }

  // The conversions (pure; tested).
  static SyncConn to_conn(const forwarding::userspace::SyncRecord& r);
  static forwarding::userspace::SyncRecord to_record(const SyncConn& c);

 private:
  void run();
  void flush();

  WorkerOptions options_;
  forwarding::userspace::SyncChannel& channel_;
  int tx_fd_ = -1;
  int rx_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  MessageBuilder builder_;
  std::chrono::steady_clock::time_point first_queued_{};
  WorkerCounters counters_;
  mutable std::mutex peers_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> peers_;
};

}  // namespace lvsd::sync
