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
#include <cstdio>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

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
  // lvsd extensions (docs/sync.md), off by default; plain ip_vs peers ignore
  // both (a request carries no entries; an authenticated message's size
  // field does not cover its trailer, which the kernel drops as bogus).
  bool full_resync = false;
  std::string auth_key;  // non-empty: HMAC-SHA256 trailer on sent messages, required on received
};

// The full-resync request: an ip_vs v1 header with no entries and "LV" in
// the spare field.
inline constexpr uint8_t kResyncSpare0 = 'L';
inline constexpr uint8_t kResyncSpare1 = 'V';
// The authentication trailer: "LVA1" then HMAC-SHA256 of the message.
inline constexpr std::size_t kAuthTrailer = 4 + 32;

struct WorkerCounters {
  std::atomic<uint64_t> messages_sent{0}, entries_sent{0}, send_errors{0};
  std::atomic<uint64_t> messages_received{0}, entries_received{0}, entries_applied_queue_full{0};
  std::atomic<uint64_t> entries_ignored_not_backup{0};
  std::atomic<uint64_t> resync_requests_sent{0}, resync_requests_received{0};
  std::atomic<uint64_t> auth_failed{0};
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

  // Authenticated mode (pure; tested): appends "LVA1" + HMAC-SHA256(key,
  // message); checks and strips it (false = drop: missing, wrong key,
  // tampered).
  static void append_auth(const std::string& key, std::vector<std::byte>& message);
  static bool check_auth(const std::string& key, std::span<const std::byte>& datagram);

  // The conversions (pure; tested).
  static SyncConn to_conn(const forwarding::userspace::SyncRecord& r);
  static forwarding::userspace::SyncRecord to_record(const SyncConn& c);

 private:
  void run();
  void flush();
  void send_bytes(const std::byte* data, std::size_t len);
  void send_resync_request();

  WorkerOptions options_;
  forwarding::userspace::SyncChannel& channel_;
  int tx_fd_ = -1;
  int rx_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  MessageBuilder builder_;
  std::chrono::steady_clock::time_point first_queued_{};
  // After a peer's resync request: send what the dataplane dumps whatever the
  // role. After our own request: apply what arrives whatever the role.
  std::chrono::steady_clock::time_point serve_until_{}, accept_until_{};
  std::atomic<bool> want_request_{false};
  std::vector<std::byte> tx_;
  // Benchmark tracing (env LVSD_SYNC_TRACE=FILE): one line per sampled
  // ESTABLISHED entry ("S" when sent, "R" when received, key, CLOCK_MONOTONIC
  // ns), so tests/bench/sync_bench.sh can join both directors' files.
  std::FILE* trace_ = nullptr;
  void trace(char what, const SyncConn& c);
  WorkerCounters counters_;
  mutable std::mutex peers_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> peers_;
};

}  // namespace lvsd::sync
