// smtp (RFC 5321 §4.2, §4.3.2): connect, read the greeting (220, possibly
// multi-line "220-..." continuation lines), send "HELO <helo_name>", expect a
// 250 reply, then send QUIT and report success once it is written.
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "checkers/probes/probe_io.hpp"
#include "checkers/probes/probes.hpp"

namespace lvsd::checkers {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A whole reply is at most this big (RFC 5321 §4.5.3.1.5: 512 octets a line;
// a generous number of lines).
constexpr std::size_t kMaxReply = 16384;

std::string describe(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == asio::error::eof) return "connection closed by the server";
  if (ec == asio::error::connection_reset) return "connection reset";
  if (ec == asio::error::not_found) return "reply too long";
  return ec.message();
}

std::string strip_eol(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.pop_back();
  return s;
}

class SmtpAttempt : public probe_io::ProbeAttempt {
 public:
  SmtpAttempt(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : ProbeAttempt(io), check_(check), target_(target), socket_(io), buf_(kMaxReply) {}

  void start(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) {
    begin(timeout, std::move(done));
    const tcp::endpoint peer(target_.address, target_.port);
    boost::system::error_code ec;
    socket_.open(peer.protocol(), ec);
    if (ec) return post_fail("socket: " + ec.message());
    if (auto err = probe_io::prepare_socket(socket_.native_handle(), check_, target_.address);
        !err.empty()) {
      return post_fail(err);
    }
    auto self = std::static_pointer_cast<SmtpAttempt>(shared_from_this());
    socket_.async_connect(peer, [self](const boost::system::error_code& ec) {
      if (self->finished()) return;
      if (ec) return self->fail(describe(ec));
      self->read_reply([self](int code, const std::string& text) {
        if (code != 220) return self->fail("banner " + text);
        self->send("HELO " + self->check_.helo_name + "\r\n", [self] {
          self->read_reply([self](int code, const std::string& text) {
            if (code != 250) return self->fail("HELO answered " + text);
            self->result_ = text;
            self->send("QUIT\r\n", [self] {
              ProbeResult r;
              r.ok = true;
              r.reason = self->result_;
              self->finish(std::move(r));
            });
          });
        });
      });
    });
  }

 protected:
  void close_io() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  using ReplyHandler = std::function<void(int code, const std::string& first_line)>;

  // Reads one reply: lines "ddd-text" continue it, "ddd text" or "ddd" end it.
  void read_reply(ReplyHandler on_reply) {
    code_ = -1;
    first_line_.clear();
    read_line(std::move(on_reply));
  }

  void read_line(ReplyHandler on_reply) {
    auto self = std::static_pointer_cast<SmtpAttempt>(shared_from_this());
    asio::async_read_until(
        socket_, buf_, "\n",
        [self, on_reply = std::move(on_reply)](const boost::system::error_code& ec,
                                               std::size_t n) mutable {
          if (self->finished()) return;
          if (ec) return self->fail(describe(ec));
          std::string line(asio::buffers_begin(self->buf_.data()),
                           asio::buffers_begin(self->buf_.data()) + static_cast<std::ptrdiff_t>(n));
          self->buf_.consume(n);
          line = strip_eol(std::move(line));
          auto digit = [&](std::size_t i) { return line[i] >= '0' && line[i] <= '9'; };
          if (line.size() < 3 || !digit(0) || !digit(1) || !digit(2) ||
              (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
            return self->fail("not an SMTP reply: \"" + line.substr(0, 80) + "\"");
          }
          const int code = std::stoi(line.substr(0, 3));
          if (self->code_ < 0) {
            self->code_ = code;
            self->first_line_ = line.substr(0, 200);
          } else if (code != self->code_) {
            return self->fail("reply code changed within a multi-line reply: \"" +
                              line.substr(0, 80) + "\"");
          }
          if (line.size() > 3 && line[3] == '-') return self->read_line(std::move(on_reply));
          on_reply(self->code_, self->first_line_);
        });
  }

  void send(std::string data, std::function<void()> then) {
    out_ = std::move(data);
    auto self = std::static_pointer_cast<SmtpAttempt>(shared_from_this());
    asio::async_write(
        socket_, asio::buffer(out_),
        [self, then = std::move(then)](const boost::system::error_code& ec, std::size_t) {
          if (self->finished()) return;
          if (ec) return self->fail(describe(ec));
          then();
        });
  }

  config::Check check_;
  ProbeTarget target_;
  tcp::socket socket_;
  asio::streambuf buf_;
  std::string out_;
  int code_ = -1;
  std::string first_line_;
  std::string result_;
};

}  // namespace

std::unique_ptr<Probe> make_smtp_probe(asio::io_context& io, const config::Check& check,
                                       const ProbeTarget& target) {
  return std::make_unique<probe_io::AttemptProbe<SmtpAttempt>>(io, check, target);
}

}  // namespace lvsd::checkers
