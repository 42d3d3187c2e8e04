// FakeNetwork: test support. One in-memory LAN segment joining several hosts'
// Transports, so Drivers exchange real encoded adverts through the real
// receive path (an IPv4 header is built around each IPv4 message as a raw
// socket would return it). Delivery is posted on the io_context: a test runs
// it with io.poll(). Multicast reaches every other host whose channel of that
// family joined; unicast reaches the host owning the destination address.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "vrrp/transport.hpp"

namespace lvsd::vrrp {

class FakeNetwork {
 public:
  explicit FakeNetwork(boost::asio::io_context& io);
  ~FakeNetwork();

  struct Sent {
    std::string host;
    std::string interface;
    boost::asio::ip::address source;
    boost::asio::ip::address destination;
    Bytes payload;
  };

  // The Transport of host `name` (created on first use; owned by the network).
  Transport& transport(const std::string& name);
  // Unicast destinations `name` answers for.
  void add_address(const std::string& name, const boost::asio::ip::address& a);
  // A host whose link is down sends nothing (ENETDOWN) and receives nothing.
  void set_link(const std::string& name, bool up);
  // open() of this interface fails as for a device that does not exist.
  void set_missing(const std::string& interface) { missing_.insert(interface); }
  // TTL / hop limit the receivers see (default 255).
  void set_ttl(std::uint8_t ttl) { ttl_ = ttl; }
  // Every message sent, in order.
  const std::vector<Sent>& sent() const { return sent_; }
  std::size_t open_channels(const std::string& name) const;
  bool joined(const std::string& name, Family family) const;

 private:
  class FakeTransport;
  class FakeChannel;
  struct Endpoint {
    std::string host;
    std::string interface;
    Family family;
    Transport::Receiver receiver;
    bool joined = false;
  };

  std::error_code send(Endpoint& from, const boost::asio::ip::address& source,
                       const boost::asio::ip::address& destination,
                       std::span<const std::byte> payload);

  boost::asio::io_context& io_;
  std::uint8_t ttl_ = kTtl;
  std::map<std::string, std::unique_ptr<FakeTransport>> transports_;
  std::map<std::string, std::set<boost::asio::ip::address>> addresses_;
  std::set<std::string> down_;
  std::set<std::string> missing_;
  std::vector<std::shared_ptr<Endpoint>> endpoints_;  // weak owners: channels
  std::vector<Sent> sent_;
};

}  // namespace lvsd::vrrp
