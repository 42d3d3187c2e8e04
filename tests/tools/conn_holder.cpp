// conn_holder: holds N TCP connections to ADDR:PORT (an echo service) and
// checks that each one still works after an event (a director failover).
//   conn_holder ADDR PORT N TRIGGER_FILE [TIMEOUT_S [TRIGGER_FILE2 ...]]
// Phase 1: connect N connections (one after the other), send "hello <i>\n"
// on each and expect it echoed; print "ready <ok>" (stdout, flushed).
// Phase 2: wait until TRIGGER_FILE exists (at most TIMEOUT_S, default 60),
// then send "again <i>\n" on every connection and expect it back within
// TIMEOUT_S. Prints "ok <n> reset <n> timeout <n> lost <n>"; then the same
// for each further trigger file. Exits 0 only when all N connections answered
// every time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string expect;
  std::string got;
  enum { pending, ok, reset, timeout } state = pending;
};

// Sends msg on every open connection and waits for each echo.
void exchange(std::vector<Conn>& conns, const char* word, double timeout_s) {
  for (std::size_t i = 0; i < conns.size(); ++i) {
    Conn& c = conns[i];
    if (c.fd < 0) continue;
    c.expect = std::string(word) + " " + std::to_string(i) + "\n";
    c.got.clear();
    c.state = Conn::pending;
    if (send(c.fd, c.expect.data(), c.expect.size(), MSG_NOSIGNAL) < 0) c.state = Conn::reset;
  }
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < conns.size(); ++i)
      if (conns[i].fd >= 0 && conns[i].state == Conn::pending) {
        fds.push_back(pollfd{conns[i].fd, POLLIN, 0});
        idx.push_back(i);
      }
    if (fds.empty()) return;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    int n = poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left, 200)));
    if (n <= 0) continue;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      Conn& c = conns[idx[k]];
      char buf[256];
      ssize_t r = recv(c.fd, buf, sizeof buf, 0);
      if (r <= 0) {
        c.state = Conn::reset;
        continue;
      }
      c.got.append(buf, static_cast<std::size_t>(r));
      if (c.got.size() >= c.expect.size()) c.state = c.got == c.expect ? Conn::ok : Conn::reset;
    }
  }
  for (auto& c : conns)
    if (c.fd >= 0 && c.state == Conn::pending) c.state = Conn::timeout;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: conn_holder ADDR PORT N TRIGGER_FILE [TIMEOUT_S]\n");
    return 2;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) return 2;
  const int n = std::atoi(argv[3]);
  const char* trigger = argv[4];
  const double timeout_s = argc > 5 ? std::atof(argv[5]) : 60.0;

  std::vector<Conn> conns(static_cast<std::size_t>(n));
  int connected = 0;
  for (auto& c : conns) {
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
      close(c.fd);
      c.fd = -1;
      continue;
    }
    ++connected;
  }
  exchange(conns, "hello", 10);
  int ok1 = 0;
  for (auto& c : conns)
    ok1 += c.state == Conn::ok;
  std::printf("ready %d connected %d\n", ok1, connected);
  std::fflush(stdout);

  // One exchange per trigger file: argv[4], then argv[6...] (e.g. after a
  // failover, then after a failback).
  std::vector<const char*> triggers = {trigger};
  for (int i = 6; i < argc; ++i)
    triggers.push_back(argv[i]);
  bool all_ok = true;
  for (const char* t : triggers) {
    struct stat st;
    const auto until = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (stat(t, &st) != 0 && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    exchange(conns, "again", timeout_s);
    int ok = 0, reset = 0, tmo = 0, lost = 0;
    for (auto& c : conns) {
      if (c.fd < 0) {
        ++lost;
        continue;
      }
      ok += c.state == Conn::ok;
      reset += c.state == Conn::reset;
      tmo += c.state == Conn::timeout;
    }
    std::printf("ok %d reset %d timeout %d lost %d\n", ok, reset, tmo, lost);
    std::fflush(stdout);
    all_ok = all_ok && ok == n;
  }
  for (auto& c : conns)
    if (c.fd >= 0) close(c.fd);
  return all_ok ? 0 : 1;
}
