#include "checkers/probes/curl_multi_asio.hpp"

#include <poll.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

namespace lvsd::checkers {

boost::asio::io_context::id CurlMulti::id;

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  });
}

}  // namespace

CurlMulti::CurlMulti(boost::asio::io_context& io)
    : boost::asio::io_context::service(io), io_(io), timer_(io), sentinel_(io) {
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
  for (auto& [fd, sock] : sockets_)
    sock->descriptor.release();
  sockets_.clear();
  boost::system::error_code ignored;
  timer_.cancel(ignored);
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
  self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  self->timer_.async_wait([self, gen](const boost::system::error_code& ec) {
    if (ec || gen != self->timer_generation_) return;
    self->action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

int CurlMulti::close_socket_cb(void* clientp, curl_socket_t s) {
  static_cast<CurlMulti*>(clientp)->forget(s);
  return ::close(s);
}

void CurlMulti::watch(curl_socket_t s, int what) {
  auto& slot = sockets_[s];
  if (!slot) {
    slot = std::make_unique<Socket>(io_);
    boost::system::error_code ec;
    slot->descriptor.assign(s, ec);
    if (ec) {
      sockets_.erase(s);
      return;
    }
    slot->generation = next_generation_++;
  }
  Socket& sock = *slot;
  bool stale = (sock.read_waiting && !(what & CURL_POLL_IN)) ||
               (sock.write_waiting && !(what & CURL_POLL_OUT));
  sock.want = what;
  if (stale) {
    // Drop the waits for what libcurl no longer wants.
    boost::system::error_code ignored;
    sock.descriptor.cancel(ignored);
    sock.read_waiting = sock.write_waiting = false;
    sock.generation = next_generation_++;
  }
  arm(s);
}

void CurlMulti::forget(curl_socket_t s) {
  auto it = sockets_.find(s);
  if (it == sockets_.end()) return;
  // Deregisters from the reactor without closing: libcurl owns the fd.
  it->second->descriptor.release();
  sockets_.erase(it);
}

void CurlMulti::arm(curl_socket_t s) {
  auto it = sockets_.find(s);
  if (it == sockets_.end()) return;
  Socket& sock = *it->second;
  int need = 0;
  if ((sock.want & CURL_POLL_IN) && !sock.read_waiting) need |= POLLIN;
  if ((sock.want & CURL_POLL_OUT) && !sock.write_waiting) need |= POLLOUT;
  if (need == 0) return;

  // Level-triggered check: ready now (possibly data libcurl left behind, which
  // an edge-triggered wait would never report)?
  pollfd pfd{s, static_cast<short>(need), 0};
  if (::poll(&pfd, 1, 0) > 0 && pfd.revents != 0) {
    int mask = 0;
    if (pfd.revents & (POLLIN | POLLHUP)) mask |= CURL_CSELECT_IN;
    if (pfd.revents & POLLOUT) mask |= CURL_CSELECT_OUT;
    if (pfd.revents & POLLERR) mask |= CURL_CSELECT_ERR;
    if (need & POLLIN) sock.read_waiting = true;
    if (need & POLLOUT) sock.write_waiting = true;
    uint64_t gen = sock.generation;
    boost::asio::post(io_, [this, s, gen, mask, need] {
      auto it = sockets_.find(s);
      if (it == sockets_.end() || it->second->generation != gen) return;
      if (need & POLLIN) it->second->read_waiting = false;
      if (need & POLLOUT) it->second->write_waiting = false;
      action(s, mask);
    });
    return;
  }

  uint64_t gen = sock.generation;
  auto on_ready = [this, s, gen](bool read) {
    return [this, s, gen, read](const boost::system::error_code& ec) {
      auto it = sockets_.find(s);
      if (it == sockets_.end() || it->second->generation != gen) return;
      (read ? it->second->read_waiting : it->second->write_waiting) = false;
      if (ec == boost::asio::error::operation_aborted) return;
      action(s, ec ? CURL_CSELECT_ERR : (read ? CURL_CSELECT_IN : CURL_CSELECT_OUT));
    };
  };
  if (need & POLLIN) {
    sock.read_waiting = true;
    sock.descriptor.async_wait(boost::asio::posix::descriptor_base::wait_read, on_ready(true));
  }
  if (need & POLLOUT) {
    sock.write_waiting = true;
    sock.descriptor.async_wait(boost::asio::posix::descriptor_base::wait_write, on_ready(false));
  }
}

void CurlMulti::action(curl_socket_t s, int ev_bitmask) {
  int running = 0;
  curl_multi_socket_action(multi_, s, ev_bitmask, &running);
  // Still watched and still wanted: wait again (or act again when ready).
  if (s != CURL_SOCKET_TIMEOUT) arm(s);
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
