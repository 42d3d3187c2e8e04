#pragma once
// Shared plumbing for the misc, dns, smtp, udp and icmp probes: the common
// socket options of a check (bind_interface, fwmark, bind_address), the
// "timeout after ..." wording, and ProbeAttempt, the per-attempt state that
// makes the Probe contract (done exactly once, never after cancel(), never
// later than the timeout) hold however the I/O ends.
//
// One attempt is one shared object; every pending handler holds it, so a
// handler that fires after cancel() or after the Probe itself is gone finds a
// live object marked finished and does nothing.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "checkers/probe.hpp"
#include "daemon/config/config.hpp"

namespace lvsd::checkers::probe_io {

// "3s", "1500ms".
std::string format_duration(std::chrono::milliseconds d);
// "timeout after 3s"
std::string timeout_reason(std::chrono::milliseconds d);

// Applies the common socket options of `check` to `fd`, a socket of the same
// family as `target`: SO_BINDTODEVICE (bind_interface), SO_MARK (fwmark), then
// bind() to bind_address with port 0. Returns "" or why it failed
// ("bind_interface eth9: No such device").
std::string prepare_socket(int fd, const config::Check& check,
                           const boost::asio::ip::address& target);

// Opens `socket` for the target, applies prepare_socket() and connects it, so
// only the target's datagrams arrive and an ICMP port unreachable surfaces as
// ECONNREFUSED. Returns "" or the failure reason ("socket: ...", "connect: ...").
std::string open_connected_udp(boost::asio::ip::udp::socket& socket, const config::Check& check,
                               const ProbeTarget& target);

// The state of one attempt. Derived attempts add their sockets and close them
// in close_io(); handlers check finished() first.
class ProbeAttempt : public std::enable_shared_from_this<ProbeAttempt> {
 public:
  explicit ProbeAttempt(boost::asio::io_context& io);
  virtual ~ProbeAttempt() = default;
  ProbeAttempt(const ProbeAttempt&) = delete;
  ProbeAttempt& operator=(const ProbeAttempt&) = delete;

  // Records the start time and done, and arms the timeout: when it expires
  // first, on_timeout() runs.
  void begin(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done);
  // Calls done once (latency filled in) unless already finished or cancelled;
  // closes the I/O first, so done may start the next attempt.
  void finish(ProbeResult r);
  void fail(std::string reason);
  // Finishes later from the io_context (for failures found inside run(), so
  // done is never called from within run()).
  void post_fail(std::string reason);
  // done is not called; the I/O is closed.
  virtual void cancel();
  bool finished() const { return finished_; }
  std::chrono::microseconds elapsed() const;
  std::chrono::milliseconds timeout() const { return timeout_; }
  boost::asio::io_context& io() { return io_; }

 protected:
  virtual void close_io() {}
  // Default: fail with "timeout after ...".
  virtual void on_timeout();

 private:
  boost::asio::io_context& io_;
  boost::asio::steady_timer timer_;
  std::function<void(ProbeResult)> done_;
  std::chrono::steady_clock::time_point start_{};
  std::chrono::milliseconds timeout_{0};
  bool finished_ = false;
};

// A Probe that runs one Attempt type at a time: run() replaces (and cancels)
// the previous attempt, cancel() and the destructor cancel the current one.
// Attempt must be constructible from (io, check, target) and have
// start(timeout, done).
template <class Attempt>
class AttemptProbe : public Probe {
 public:
  AttemptProbe(boost::asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : io_(io), check_(check), target_(target) {}
  ~AttemptProbe() override { cancel(); }
  void run(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) override {
    cancel();
    current_ = std::make_shared<Attempt>(io_, check_, target_);
    current_->start(timeout, std::move(done));
  }
  void cancel() override {
    if (current_) current_->cancel();
    current_.reset();
  }

 private:
  boost::asio::io_context& io_;
  config::Check check_;
  ProbeTarget target_;
  std::shared_ptr<Attempt> current_;
};

}  // namespace lvsd::checkers::probe_io
