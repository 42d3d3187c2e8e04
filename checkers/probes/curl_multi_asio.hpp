#pragma once
// CurlMulti: one libcurl multi handle per io_context (an Asio service), driven
// by Asio socket events: libcurl tells us which sockets to watch
// (CURLMOPT_SOCKETFUNCTION) and when to wake it (CURLMOPT_TIMERFUNCTION); we
// wait with Asio and call curl_multi_socket_action. Nothing blocks and no
// thread is started (IP-literal connects never reach libcurl's resolver).
//
// Asio's epoll reactor is edge-triggered while libcurl expects level-triggered
// readiness (it may leave data in the socket), so before waiting again on a
// socket the service polls it once and acts at once when it is still ready.
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include <curl/curl.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace lvsd::checkers {

class CurlMulti final : public boost::asio::io_context::service {
 public:
  static boost::asio::io_context::id id;
  using Completion = std::function<void(CURLcode)>;

  explicit CurlMulti(boost::asio::io_context& io);
  ~CurlMulti() override;

  // The service of `io`, created on first use.
  static CurlMulti& of(boost::asio::io_context& io);

  // Starts the transfer of a configured easy handle; `done` runs once when it
  // ends, on the io_context thread and never from inside libcurl. The handle
  // gets CURLOPT_CLOSESOCKETFUNCTION set (the service must see sockets close).
  // Returns false (and `done` is not called) when libcurl refuses the handle.
  bool add(CURL* easy, Completion done);
  // Stops a transfer in flight; its `done` is not called. No-op when unknown.
  void remove(CURL* easy);
  std::size_t active() const { return transfers_.size(); }
  CURLM* handle() const { return multi_; }

 private:
  struct Socket {
    explicit Socket(boost::asio::io_context& io) : descriptor(io) {}
    boost::asio::posix::stream_descriptor descriptor;
    int want = 0;  // CURL_POLL_IN / OUT / INOUT
    bool read_waiting = false;
    bool write_waiting = false;
    uint64_t generation = 0;
  };

  void shutdown() override;
  static int socket_cb(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int timer_cb(CURLM* multi, long timeout_ms, void* userp);
  static int close_socket_cb(void* clientp, curl_socket_t s);

  void watch(curl_socket_t s, int what);
  void forget(curl_socket_t s);
  void arm(curl_socket_t s);
  void action(curl_socket_t s, int ev_bitmask);
  void drain_done();

  boost::asio::io_context& io_;
  CURLM* multi_ = nullptr;
  boost::asio::steady_timer timer_;
  // Created before this service is registered, so the reactor's services are
  // shut down after it.
  boost::asio::posix::stream_descriptor sentinel_;
  std::unordered_map<curl_socket_t, std::unique_ptr<Socket>> sockets_;
  std::unordered_map<CURL*, Completion> transfers_;
  uint64_t next_generation_ = 1;
  uint64_t timer_generation_ = 0;
};

}  // namespace lvsd::checkers
