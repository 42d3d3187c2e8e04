#pragma once
// CurlMulti: one libcurl multi handle per io_context (an Asio service), driven
// by Asio socket events: libcurl tells us which sockets to watch
// (CURLMOPT_SOCKETFUNCTION) and when to wake it (CURLMOPT_TIMERFUNCTION); we
// wait with Asio and call curl_multi_socket_action. Nothing blocks and no
// thread is started (IP-literal connects never reach libcurl's resolver).
//
// Asio's epoll reactor is edge-triggered while libcurl expects level-triggered
// readiness (it may leave data in the socket). The service keeps its own
// epoll instance with level-triggered registrations of exactly what libcurl
// asks for, and Asio watches only that instance's descriptor: one wakeup
// hands over every ready socket (epoll_wait with no timeout, repeated until
// empty, then Asio waits again). Per socket that costs one epoll_ctl per
// change of interest; an earlier version registered each socket with Asio
// and poll()ed it before every wait (3 polls, 2 epoll_ctl and an ioctl per
// HTTP check, measured with strace).
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
    int want = 0;             // CURL_POLL_IN / OUT / INOUT
    uint32_t generation = 0;  // tells a stale event (fd number reused) apart
  };

  void shutdown() override;
  static int socket_cb(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int timer_cb(CURLM* multi, long timeout_ms, void* userp);
  static int close_socket_cb(void* clientp, curl_socket_t s);

  void watch(curl_socket_t s, int what);
  void forget(curl_socket_t s);
  // Hands every ready socket to libcurl, then waits again (or, after a
  // bounded amount of work, yields to other handlers and continues).
  void pump();
  void wait_ready();
  void action(curl_socket_t s, int ev_bitmask);
  void drain_done();

  boost::asio::io_context& io_;
  CURLM* multi_ = nullptr;
  boost::asio::steady_timer timer_;
  // The level-triggered epoll instance (owned) and Asio's view of it. Created
  // before this service is registered, so the reactor's services are shut
  // down after it.
  int epfd_ = -1;
  boost::asio::posix::stream_descriptor epoll_;
  bool waiting_ = false;  // an async_wait on epoll_ is pending
  bool pump_posted_ = false;
  std::unordered_map<curl_socket_t, Socket> sockets_;
  std::unordered_map<CURL*, Completion> transfers_;
  uint32_t next_generation_ = 1;
  uint64_t timer_generation_ = 0;
};

}  // namespace lvsd::checkers
