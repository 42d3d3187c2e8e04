// tcp: connect; optionally send `send` and match the reply against `expect`.
#include <regex>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "checkers/probes/probe_io.hpp"
#include "checkers/probes/probes.hpp"
#include "checkers/probes/text.hpp"

namespace lvsd::checkers {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Reply bytes kept for matching `expect`; a reply that has not matched by then
// fails.
constexpr std::size_t kMaxReply = 64 * 1024;

class TcpAttempt : public std::enable_shared_from_this<TcpAttempt> {
 public:
  TcpAttempt(asio::io_context& io, const config::Check& check, const ProbeTarget& target,
             std::shared_ptr<const std::regex> expect)
      : io_(io),
        check_(check),
        target_(target),
        expect_(std::move(expect)),
        socket_(io),
        timer_(io) {}

  void start(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) {
    done_ = std::move(done);
    timeout_ = timeout;
    start_ = std::chrono::steady_clock::now();
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](auto ec) {
      if (!ec) self->fail(probe_io::timeout_reason(self->timeout_));
    });
    tcp::endpoint ep(target_.address, target_.port);
    boost::system::error_code ec;
    socket_.open(ep.protocol(), ec);
    if (ec) return post_fail("socket: " + text::error_text(ec));
    if (auto err = probe_io::prepare_socket(socket_.native_handle(), check_, target_.address);
        !err.empty())
      return post_fail(err);
    socket_.async_connect(ep, [self = shared_from_this()](auto ec) { self->on_connect(ec); });
  }

  void cancel() {
    finished_ = true;
    close();
  }

 private:
  void on_connect(const boost::system::error_code& ec) {
    if (finished_) return;
    if (ec) return fail("connect: " + text::error_text(ec));
    if (!check_.send.empty()) {
      asio::async_write(socket_, asio::buffer(check_.send),
                        [self = shared_from_this()](auto ec, std::size_t) {
                          if (self->finished_) return;
                          if (ec) return self->fail("send: " + text::error_text(ec));
                          self->after_send();
                        });
      return;
    }
    after_send();
  }

  void after_send() {
    if (!expect_) return succeed(check_.send.empty() ? "connected" : "connected, sent");
    read_more();
  }

  void read_more() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](auto ec,
                                                                              std::size_t n) {
      if (self->finished_) return;
      self->reply_.append(self->chunk_.data(), n);
      if (std::regex_search(self->reply_, *self->expect_)) return self->succeed("reply matched");
      if (ec == asio::error::eof)
        return self->fail("reply did not match expect: \"" + text::excerpt(self->reply_) + "\"");
      if (ec) return self->fail("receive: " + text::error_text(ec));
      if (self->reply_.size() >= kMaxReply)
        return self->fail("reply did not match expect within " + std::to_string(kMaxReply) +
                          " bytes");
      self->read_more();
    });
  }

  void succeed(std::string note) { finish(result(true, std::move(note))); }
  void fail(std::string reason) { finish(result(false, std::move(reason))); }
  static ProbeResult result(bool ok, std::string reason) {
    ProbeResult r;
    r.ok = ok;
    r.reason = std::move(reason);
    return r;
  }
  void post_fail(std::string reason) {
    asio::post(io_, [self = shared_from_this(), reason = std::move(reason)]() mutable {
      self->fail(std::move(reason));
    });
  }

  void finish(ProbeResult r) {
    if (finished_) return;
    finished_ = true;
    close();
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start_);
    auto done = std::move(done_);
    done(std::move(r));
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    // A connect-only check closes with a reset (SO_LINGER 0), as HAProxy's
    // do: nothing was said, and a FIN would leave this side in TIME_WAIT for
    // a minute per check. A check that talks (send/expect) closes politely:
    // banner services log resets as errors.
    if (check_.send.empty() && !expect_ && socket_.is_open())
      socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }

  asio::io_context& io_;
  const config::Check& check_;
  ProbeTarget target_;
  std::shared_ptr<const std::regex> expect_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::function<void(ProbeResult)> done_;
  std::chrono::milliseconds timeout_{0};
  std::chrono::steady_clock::time_point start_{};
  std::array<char, 4096> chunk_{};
  std::string reply_;
  bool finished_ = false;
};

class TcpProbe final : public Probe {
 public:
  TcpProbe(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : io_(io), check_(check), target_(target) {
    if (!check_.expect.empty())
      expect_ = std::make_shared<const std::regex>(check_.expect, std::regex::ECMAScript);
  }
  ~TcpProbe() override { cancel(); }

  void run(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) override {
    cancel();
    current_ = std::make_shared<TcpAttempt>(io_, check_, target_, expect_);
    current_->start(timeout, std::move(done));
  }
  void cancel() override {
    if (current_) current_->cancel();
    current_.reset();
  }

 private:
  asio::io_context& io_;
  config::Check check_;  // outlives every attempt: attempts end by close() before it goes
  ProbeTarget target_;
  std::shared_ptr<const std::regex> expect_;
  std::shared_ptr<TcpAttempt> current_;
};

}  // namespace

std::unique_ptr<Probe> make_tcp_probe(asio::io_context& io, const config::Check& check,
                                      const ProbeTarget& target) {
  return std::make_unique<TcpProbe>(io, check, target);
}

}  // namespace lvsd::checkers
