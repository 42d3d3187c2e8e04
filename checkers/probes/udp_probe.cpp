// udp: send `send` (possibly empty) on a connected UDP socket and wait for one
// reply, matched against the `expect` regex (ECMAScript, searched anywhere in
// the reply) when set. A connected socket gets the ICMP port unreachable for
// its datagram as ECONNREFUSED, so a closed port fails at once.
#include <array>
#include <optional>
#include <regex>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/udp.hpp>

#include "checkers/probes/probe_io.hpp"
#include "checkers/probes/probes.hpp"

namespace lvsd::checkers {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

std::string describe(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) return "connection refused (port unreachable)";
  return ec.message();
}

std::string printable_prefix(std::string_view s, std::size_t max = 40) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
  }
  if (s.size() > max) out += "...";
  return out;
}

class UdpAttempt : public probe_io::ProbeAttempt {
 public:
  UdpAttempt(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : ProbeAttempt(io), check_(check), target_(target), socket_(io) {}

  void start(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) {
    begin(timeout, std::move(done));
    if (!check_.expect.empty()) {
      try {
        expect_.emplace(check_.expect, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return post_fail("bad expect regex: " + std::string(e.what()));
      }
    }
    if (auto err = probe_io::open_connected_udp(socket_, check_, target_); !err.empty()) {
      return post_fail(err);
    }
    auto self = std::static_pointer_cast<UdpAttempt>(shared_from_this());
    socket_.async_send(asio::buffer(check_.send),
                       [self](const boost::system::error_code& ec, std::size_t) {
                         if (self->finished()) return;
                         if (ec) return self->fail(describe(ec));
                         self->receive();
                       });
  }

 protected:
  void close_io() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void receive() {
    auto self = std::static_pointer_cast<UdpAttempt>(shared_from_this());
    socket_.async_receive(asio::buffer(buffer_),
                          [self](const boost::system::error_code& ec, std::size_t n) {
                            if (self->finished()) return;
                            if (ec) return self->fail(describe(ec));
                            self->on_reply(n);
                          });
  }

  void on_reply(std::size_t n) {
    const std::string_view reply(reinterpret_cast<const char*>(buffer_.data()), n);
    if (expect_ && !std::regex_search(reply.begin(), reply.end(), *expect_)) {
      return fail("reply \"" + printable_prefix(reply) + "\" does not match /" + check_.expect +
                  "/");
    }
    ProbeResult r;
    r.ok = true;
    r.reason = "reply of " + std::to_string(n) + " bytes";
    finish(std::move(r));
  }

  config::Check check_;
  ProbeTarget target_;
  udp::socket socket_;
  std::optional<std::regex> expect_;
  std::array<char, 65536> buffer_{};
};

}  // namespace

std::unique_ptr<Probe> make_udp_probe(asio::io_context& io, const config::Check& check,
                                      const ProbeTarget& target) {
  return std::make_unique<probe_io::AttemptProbe<UdpAttempt>>(io, check, target);
}

}  // namespace lvsd::checkers
