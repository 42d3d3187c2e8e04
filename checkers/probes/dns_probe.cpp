// dns: one query over UDP to the realserver, the reply judged by
// dns_wire::evaluate. A reply whose id is not the query's is ignored (it may be
// spoofed or stray); if nothing better comes the timeout reason mentions it.
#include <array>
#include <random>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/udp.hpp>

#include "checkers/probes/dns_wire.hpp"
#include "checkers/probes/probe_io.hpp"
#include "checkers/probes/probes.hpp"

namespace lvsd::checkers {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

uint16_t random_id() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return static_cast<uint16_t>(std::uniform_int_distribution<unsigned>(0, 0xffff)(gen));
}

class DnsAttempt : public probe_io::ProbeAttempt {
 public:
  DnsAttempt(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : ProbeAttempt(io), check_(check), target_(target), socket_(io) {}

  void start(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) {
    begin(timeout, std::move(done));
    query_.id = random_id();
    query_.type = dns_wire::type_code(check_.dns.query_type);
    query_.name = query_.type == dns_wire::kPtr
                      ? dns_wire::reverse_name_if_address(check_.dns.query_name)
                      : check_.dns.query_name;
    auto encoded = dns_wire::encode_query(query_);
    if (auto* e = std::get_if<dns_wire::WireError>(&encoded)) return post_fail(e->reason);
    request_ = std::move(std::get<std::vector<std::byte>>(encoded));

    if (auto err = probe_io::open_connected_udp(socket_, check_, target_); !err.empty()) {
      return post_fail(err);
    }
    auto self = std::static_pointer_cast<DnsAttempt>(shared_from_this());
    socket_.async_send(asio::buffer(request_),
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
  void on_timeout() override {
    auto reason = probe_io::timeout_reason(timeout());
    if (!ignored_.empty()) reason += " (ignored a reply: " + ignored_ + ")";
    fail(std::move(reason));
  }

 private:
  static std::string describe(const boost::system::error_code& ec) {
    if (ec == asio::error::connection_refused) return "connection refused (port unreachable)";
    return ec.message();
  }

  void receive() {
    auto self = std::static_pointer_cast<DnsAttempt>(shared_from_this());
    socket_.async_receive(asio::buffer(buffer_),
                          [self](const boost::system::error_code& ec, std::size_t n) {
                            if (self->finished()) return;
                            if (ec) return self->fail(describe(ec));
                            self->on_reply(n);
                          });
  }

  void on_reply(std::size_t n) {
    auto decoded = dns_wire::decode_response(std::span<const std::byte>(buffer_.data(), n));
    if (auto* e = std::get_if<dns_wire::WireError>(&decoded)) {
      return fail("malformed reply: " + e->reason);
    }
    const auto verdict =
        dns_wire::evaluate(std::get<dns_wire::Response>(decoded), query_, check_.dns.expect);
    switch (verdict.kind) {
      case dns_wire::Verdict::ok: {
        ProbeResult r;
        r.ok = true;
        r.reason = verdict.reason;
        return finish(std::move(r));
      }
      case dns_wire::Verdict::fail:
        return fail(verdict.reason);
      case dns_wire::Verdict::ignore:
        ignored_ = verdict.reason;
        return receive();
    }
  }

  config::Check check_;
  ProbeTarget target_;
  udp::socket socket_;
  dns_wire::Query query_;
  std::vector<std::byte> request_;
  std::array<std::byte, 65536> buffer_{};
  std::string ignored_;
};

}  // namespace

std::unique_ptr<Probe> make_dns_probe(asio::io_context& io, const config::Check& check,
                                      const ProbeTarget& target) {
  return std::make_unique<probe_io::AttemptProbe<DnsAttempt>>(io, check, target);
}

}  // namespace lvsd::checkers
