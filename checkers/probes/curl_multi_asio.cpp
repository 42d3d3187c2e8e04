#include "checkers/probes/curl_multi_asio.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>

#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

namespace lvsd::checkers {

boost::asio::io_context::id CurlMulti::id;

namespace {

int make_epoll() {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::runtime_error("epoll_create1 failed");
  return fd;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  });
}

}  // namespace

CurlMulti::CurlMulti(boost::asio::io_context& io)
    : boost::asio::io_context::service(io),
      io_(io),
      timer_(io),
      epfd_(make_epoll()),
      epoll_(io, epfd_) {
  global_init();
  multi_ = curl_multi_init();
  if (!multi_) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::socket_cb);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::timer_cb);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlMulti::~CurlMulti() {
  shutdown();
  if (multi_) curl_multi_cleanup(multi_);
}

CurlMulti& CurlMulti::of(boost::asio::io_context& io) {
  return boost::asio::use_service<CurlMulti>(io);
}

void CurlMulti::shutdown() {
  // Transfers still registered belong to probes that outlive the io_context's
  // shutdown; drop them without completions.
  auto transfers = std::move(transfers_);
  transfers_.clear();
  for (auto& [easy, done] : transfers)
    curl_multi_remove_handle(multi_, easy);
  sockets_.clear();
  boost::system::error_code ignored;
  timer_.cancel(ignored);
  epoll_.close(ignored);  // closes epfd_
}

bool CurlMulti::add(CURL* easy, Completion done) {
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlMulti::close_socket_cb);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
  transfers_[easy] = std::move(done);
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
    transfers_.erase(easy);
    return false;
  }
  return true;
}

void CurlMulti::remove(CURL* easy) {
  if (transfers_.erase(easy) == 0) return;
  curl_multi_remove_handle(multi_, easy);
}

int CurlMulti::socket_cb(CURL*, curl_socket_t s, int what, void* userp, void*) {
  auto* self = static_cast<CurlMulti*>(userp);
  if (what == CURL_POLL_REMOVE)
    self->forget(s);
  else
    self->watch(s, what);
  return 0;
}

int CurlMulti::timer_cb(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<CurlMulti*>(userp);
  uint64_t gen = ++self->timer_generation_;
  self->timer_.cancel();
  if (timeout_ms < 0) return 0;
  auto fire = [self, gen] {
    if (gen != self->timer_generation_) return;
    self->action(CURL_SOCKET_TIMEOUT, 0);
  };
  if (timeout_ms == 0) {
    // "Now": a posted call, not a timer (re-arming Asio's timerfd is a
    // syscall, and libcurl asks for 0 ms on every new transfer).
    boost::asio::post(self->io_, fire);
    return 0;
  }
  self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  self->timer_.async_wait([fire](const boost::system::error_code& ec) {
    if (!ec) fire();
  });
  return 0;
}

int CurlMulti::close_socket_cb(void* clientp, curl_socket_t s) {
  static_cast<CurlMulti*>(clientp)->forget(s);
  return ::close(s);
}

void CurlMulti::watch(curl_socket_t s, int what) {
  auto [it, added] = sockets_.try_emplace(s);
  Socket& sock = it->second;
  if (!added && sock.want == what) return;
  epoll_event ev{};
  if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
  if (added) sock.generation = next_generation_++;
  ev.data.u64 = (static_cast<uint64_t>(sock.generation) << 32) | static_cast<uint32_t>(s);
  if (epoll_ctl(epfd_, added ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev) < 0) {
    // Not watchable (closed under us): libcurl's timeout ends the transfer.
    sockets_.erase(it);
    return;
  }
  sock.want = what;
  wait_ready();
}

void CurlMulti::forget(curl_socket_t s) {
  auto it = sockets_.find(s);
  if (it == sockets_.end()) return;
  // libcurl owns the fd (it may keep it open): deregister only.
  epoll_ctl(epfd_, EPOLL_CTL_DEL, s, nullptr);
  sockets_.erase(it);
}

void CurlMulti::wait_ready() {
  if (waiting_ || pump_posted_ || !epoll_.is_open()) return;
  waiting_ = true;
  epoll_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                    [this](const boost::system::error_code& ec) {
                      waiting_ = false;
                      if (ec == boost::asio::error::operation_aborted) return;
                      pump();
                    });
}

void CurlMulti::pump() {
  // Single-threaded io_context: between the last empty epoll_wait below and
  // the async_wait that follows it no reactor poll runs, so no readiness edge
  // can be reported while nobody waits for it.
  std::array<epoll_event, 128> evs;
  for (int round = 0; round < 16; ++round) {
    int n = epoll_wait(epfd_, evs.data(), static_cast<int>(evs.size()), 0);
    if (n <= 0) {
      wait_ready();
      return;
    }
    for (int i = 0; i < n; ++i) {
      const auto s = static_cast<curl_socket_t>(evs[i].data.u64 & 0xffffffffu);
      const auto gen = static_cast<uint32_t>(evs[i].data.u64 >> 32);
      auto it = sockets_.find(s);
      if (it == sockets_.end() || it->second.generation != gen) continue;  // gone meanwhile
      int mask = 0;
      if (evs[i].events & (EPOLLIN | EPOLLHUP)) mask |= CURL_CSELECT_IN;
      if (evs[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (evs[i].events & EPOLLERR) mask |= CURL_CSELECT_ERR;
      action(s, mask);
    }
  }
  // Still busy: let other handlers (timers, other checks) run, then go on.
  pump_posted_ = true;
  boost::asio::post(io_, [this] {
    pump_posted_ = false;
    pump();
  });
}

void CurlMulti::action(curl_socket_t s, int ev_bitmask) {
  int running = 0;
  curl_multi_socket_action(multi_, s, ev_bitmask, &running);
  drain_done();
}

void CurlMulti::drain_done() {
  std::vector<std::pair<CURL*, CURLcode>> finished;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left))
    if (msg->msg == CURLMSG_DONE) finished.emplace_back(msg->easy_handle, msg->data.result);
  for (auto [easy, result] : finished) {
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) continue;  // removed by an earlier completion
    Completion done = std::move(it->second);
    transfers_.erase(it);
    curl_multi_remove_handle(multi_, easy);
    done(result);
  }
}

}  // namespace lvsd::checkers
