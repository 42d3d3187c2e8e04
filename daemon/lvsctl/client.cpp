#include "daemon/lvsctl/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace lvsd::ctl {

Client::Client(const std::string& path, std::chrono::milliseconds timeout)
    : path_(path), timeout_(timeout) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path))
    throw Unreachable(fmt::format("{}: path too long", path));
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw Unreachable(fmt::format("socket: {}", std::strerror(errno)));
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    std::string hint;
    if (err == ENOENT || err == ECONNREFUSED) hint = " (is lvsd running? see --socket)";
    if (err == EACCES) hint = " (permission denied: run as root or a member of the socket's group)";
    throw Unreachable(fmt::format("cannot connect to {}: {}{}", path, std::strerror(err), hint));
  }
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::send(const nlohmann::json& request) {
  const std::string line = request.dump() + "\n";
  std::size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Unreachable(fmt::format("{}: send: {}", path_, std::strerror(errno)));
    }
    off += static_cast<std::size_t>(n);
  }
}

nlohmann::json Client::receive(bool block) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      try {
        return nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error& e) {
        throw Unreachable(fmt::format("{}: bad response from daemon: {}", path_, e.what()));
      }
    }
    int wait_ms = -1;
    if (!block) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        throw Unreachable(fmt::format("{}: timed out waiting for lvsd", path_));
      wait_ms = static_cast<int>(left.count());
    }
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, wait_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Unreachable(fmt::format("{}: poll: {}", path_, std::strerror(errno)));
    }
    if (r == 0) continue;
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Unreachable(fmt::format("{}: recv: {}", path_, std::strerror(errno)));
    }
    if (n == 0) throw Unreachable(fmt::format("{}: lvsd closed the connection", path_));
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace lvsd::ctl
