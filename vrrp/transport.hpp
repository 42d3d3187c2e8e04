// The VRRP transport seam: one Channel per (interface, address family) — a
// raw IP protocol-112 socket bound to the device in RawTransport, an
// in-memory segment in FakeNetwork (fake_transport.hpp) — that sends VRRP
// messages with TTL / hop limit 255 and hands every received datagram, as it
// came off the socket, to the Driver's receive path (receive_path.hpp).
//
// Everything runs on the Driver's io_context; a Receiver is called there.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include <boost/asio/ip/address.hpp>

#include "vrrp/advert_codec.hpp"
#include "vrrp/receive_path.hpp"

namespace lvsd::vrrp {

class Channel {
 public:
  virtual ~Channel() = default;
  // Sends one VRRP message (the IP payload) from `source` to `destination` (the
  // multicast group or a unicast peer) out of the channel's interface, with
  // TTL / hop limit 255 (RFC 5798 §5.1.1.3, §5.1.2.3). The source must be of
  // the channel's family; it need not be the interface's primary address.
  virtual std::error_code send(const boost::asio::ip::address& source,
                               const boost::asio::ip::address& destination,
                               std::span<const std::byte> payload) = 0;
  // Membership of 224.0.0.18 / ff02::12 on the interface (reference counted by
  // the Driver: joined while one instance on the channel uses multicast).
  virtual std::error_code join() = 0;
  virtual std::error_code leave() = 0;
};

class Transport {
 public:
  using Receiver = std::function<void(const RawDatagram&)>;
  virtual ~Transport() = default;
  // Opens the channel of `interface` and `family`. The error is a sentence
  // ("socket(AF_INET, SOCK_RAW, 112): Operation not permitted").
  virtual Result<std::unique_ptr<Channel>, std::string> open(const std::string& interface,
                                                             Family family, Receiver receiver) = 0;
};

}  // namespace lvsd::vrrp
