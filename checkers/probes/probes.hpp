#pragma once
// One factory per probe type; make_probe() (checkers/probe_factory.cpp)
// dispatches on config::CheckType. Each probe honours the common options of
// config::Check that apply to it: bind_address, bind_interface
// (SO_BINDTODEVICE), fwmark (SO_MARK), and its type-specific options.
#include <memory>

#include "checkers/probe.hpp"

namespace lvsd::checkers {

// tcp: connect; optionally send `send` and match the reply against `expect`.
std::unique_ptr<Probe> make_tcp_probe(boost::asio::io_context&, const config::Check&,
                                      const ProbeTarget&);
// http: HTTP/1.1 on Asio, responses parsed by Boost.Beast.
std::unique_ptr<Probe> make_http_probe(boost::asio::io_context&, const config::Check&,
                                       const ProbeTarget&);
// https: libcurl multi driven by Asio socket events.
std::unique_ptr<Probe> make_https_probe(boost::asio::io_context&, const config::Check&,
                                        const ProbeTarget&);
// ssl: TLS handshake with Asio + OpenSSL, certificate checks, expiry warning.
std::unique_ptr<Probe> make_ssl_probe(boost::asio::io_context&, const config::Check&,
                                      const ProbeTarget&);
// misc: an external command as an unprivileged user, watched asynchronously.
std::unique_ptr<Probe> make_misc_probe(boost::asio::io_context&, const config::Check&,
                                       const ProbeTarget&);
// dns: a query over UDP, the answer matched against `expect`.
std::unique_ptr<Probe> make_dns_probe(boost::asio::io_context&, const config::Check&,
                                      const ProbeTarget&);
// smtp: the 220 banner, then HELO/EHLO and a 250.
std::unique_ptr<Probe> make_smtp_probe(boost::asio::io_context&, const config::Check&,
                                       const ProbeTarget&);
// udp: send a payload, expect a reply (matching `expect` when set); an ICMP
// port unreachable fails at once.
std::unique_ptr<Probe> make_udp_probe(boost::asio::io_context&, const config::Check&,
                                      const ProbeTarget&);
// icmp: echo request/reply (ICMP datagram socket, or raw with CAP_NET_RAW).
std::unique_ptr<Probe> make_icmp_probe(boost::asio::io_context&, const config::Check&,
                                       const ProbeTarget&);

}  // namespace lvsd::checkers
