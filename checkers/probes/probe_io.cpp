#include "checkers/probes/probe_io.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <boost/asio/post.hpp>

namespace lvsd::checkers::probe_io {

std::string format_duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::string timeout_reason(std::chrono::milliseconds d) {
  return "timeout after " + format_duration(d);
}

std::string prepare_socket(int fd, const config::Check& check,
                           const boost::asio::ip::address& target) {
  if (!check.bind_interface.empty()) {
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, check.bind_interface.data(),
                     static_cast<socklen_t>(check.bind_interface.size())) != 0) {
      return "bind_interface " + check.bind_interface + ": " + std::strerror(errno);
    }
  }
  if (check.fwmark != 0) {
    const unsigned mark = check.fwmark;
    if (::setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
      return "fwmark " + std::to_string(check.fwmark) + ": " + std::strerror(errno);
    }
  }
  if (check.bind_address) {
    const auto& a = *check.bind_address;
    if (a.is_v4() != target.is_v4()) {
      return "bind_address " + a.to_string() + " is not of the family of " + target.to_string();
    }
    int rc = 0;
    if (a.is_v4()) {
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      const auto bytes = a.to_v4().to_bytes();
      std::memcpy(&sin.sin_addr, bytes.data(), bytes.size());
      rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
    } else {
      sockaddr_in6 sin6{};
      sin6.sin6_family = AF_INET6;
      const auto v6 = a.to_v6();
      const auto bytes = v6.to_bytes();
      std::memcpy(&sin6.sin6_addr, bytes.data(), bytes.size());
      sin6.sin6_scope_id = static_cast<uint32_t>(v6.scope_id());
      rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
    }
    if (rc != 0) return "bind_address " + a.to_string() + ": " + std::strerror(errno);
  }
  return {};
}

ProbeAttempt::ProbeAttempt(boost::asio::io_context& io) : io_(io), timer_(io) {}

void ProbeAttempt::begin(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) {
  start_ = std::chrono::steady_clock::now();
  timeout_ = timeout;
  done_ = std::move(done);
  timer_.expires_after(timeout);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->finished_) return;
    self->on_timeout();
  });
}

std::chrono::microseconds ProbeAttempt::elapsed() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start_);
}

void ProbeAttempt::finish(ProbeResult r) {
  if (finished_) return;
  finished_ = true;
  r.latency = elapsed();
  timer_.cancel();
  close_io();
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(r));
}

void ProbeAttempt::fail(std::string reason) {
  ProbeResult r;
  r.ok = false;
  r.reason = std::move(reason);
  finish(std::move(r));
}

void ProbeAttempt::post_fail(std::string reason) {
  boost::asio::post(io_, [self = shared_from_this(), reason = std::move(reason)]() mutable {
    self->fail(std::move(reason));
  });
}

void ProbeAttempt::cancel() {
  if (finished_) return;
  finished_ = true;
  done_ = nullptr;
  timer_.cancel();
  close_io();
}

void ProbeAttempt::on_timeout() {
  fail(timeout_reason(timeout_));
}

std::string open_connected_udp(boost::asio::ip::udp::socket& socket, const config::Check& check,
                               const ProbeTarget& target) {
  const boost::asio::ip::udp::endpoint peer(target.address, target.port);
  boost::system::error_code ec;
  socket.open(peer.protocol(), ec);
  if (ec) return "socket: " + ec.message();
  if (auto err = prepare_socket(socket.native_handle(), check, target.address); !err.empty()) {
    return err;
  }
  socket.connect(peer, ec);
  if (ec) return "connect: " + ec.message();
  return {};
}

}  // namespace lvsd::checkers::probe_io
