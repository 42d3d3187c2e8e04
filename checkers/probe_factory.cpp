#include "checkers/probe.hpp"
#include "checkers/probes/probes.hpp"

namespace lvsd::checkers {

std::unique_ptr<Probe> make_probe(boost::asio::io_context& io, const config::Check& check,
                                  const ProbeTarget& target) {
  switch (check.type) {
    case config::CheckType::tcp:
      return make_tcp_probe(io, check, target);
    case config::CheckType::http:
      return make_http_probe(io, check, target);
    case config::CheckType::https:
      return make_https_probe(io, check, target);
    case config::CheckType::ssl:
      return make_ssl_probe(io, check, target);
    case config::CheckType::misc:
      return make_misc_probe(io, check, target);
    case config::CheckType::dns:
      return make_dns_probe(io, check, target);
    case config::CheckType::smtp:
      return make_smtp_probe(io, check, target);
    case config::CheckType::udp:
      return make_udp_probe(io, check, target);
    case config::CheckType::icmp:
      return make_icmp_probe(io, check, target);
  }
  return nullptr;
}

}  // namespace lvsd::checkers
