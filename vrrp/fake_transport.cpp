#include "vrrp/fake_transport.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

namespace lvsd::vrrp {

namespace ip = boost::asio::ip;

class FakeNetwork::FakeChannel final : public Channel {
 public:
  FakeChannel(FakeNetwork& net, std::shared_ptr<Endpoint> ep) : net_(net), ep_(std::move(ep)) {}
  ~FakeChannel() override {
    auto& v = net_.endpoints_;
    v.erase(std::remove(v.begin(), v.end(), ep_), v.end());
    ep_->receiver = nullptr;
  }
  std::error_code send(const ip::address& source, const ip::address& destination,
                       std::span<const std::byte> payload) override {
    return net_.send(*ep_, source, destination, payload);
  }
  std::error_code join() override {
    ep_->joined = true;
    return {};
  }
  std::error_code leave() override {
    ep_->joined = false;
    return {};
  }

 private:
  FakeNetwork& net_;
  std::shared_ptr<Endpoint> ep_;
};

class FakeNetwork::FakeTransport final : public Transport {
 public:
  FakeTransport(FakeNetwork& net, std::string host) : net_(net), host_(std::move(host)) {}
  Result<std::unique_ptr<Channel>, std::string> open(const std::string& interface, Family family,
                                                     Receiver receiver) override {
    using R = Result<std::unique_ptr<Channel>, std::string>;
    if (interface.empty() || net_.missing_.count(interface))
      return R::failure("interface " + interface + ": No such device");
    auto ep = std::make_shared<Endpoint>(Endpoint{host_, interface, family, std::move(receiver)});
    net_.endpoints_.push_back(ep);
    std::unique_ptr<Channel> ch = std::make_unique<FakeChannel>(net_, std::move(ep));
    return R(std::move(ch));
  }

 private:
  FakeNetwork& net_;
  std::string host_;
};

FakeNetwork::FakeNetwork(boost::asio::io_context& io) : io_(io) {}
FakeNetwork::~FakeNetwork() = default;

Transport& FakeNetwork::transport(const std::string& name) {
  auto& t = transports_[name];
  if (!t) t = std::make_unique<FakeTransport>(*this, name);
  return *t;
}

void FakeNetwork::add_address(const std::string& name, const ip::address& a) {
  addresses_[name].insert(a);
}

void FakeNetwork::set_link(const std::string& name, bool up) {
  if (up) {
    down_.erase(name);
  } else {
    down_.insert(name);
  }
}

std::size_t FakeNetwork::open_channels(const std::string& name) const {
  return static_cast<std::size_t>(std::count_if(endpoints_.begin(), endpoints_.end(),
                                                [&](const auto& e) { return e->host == name; }));
}

bool FakeNetwork::joined(const std::string& name, Family family) const {
  return std::any_of(endpoints_.begin(), endpoints_.end(), [&](const auto& e) {
    return e->host == name && e->family == family && e->joined;
  });
}

std::error_code FakeNetwork::send(Endpoint& from, const ip::address& source,
                                  const ip::address& destination,
                                  std::span<const std::byte> payload) {
  if (down_.count(from.host)) return std::make_error_code(std::errc::network_down);
  sent_.push_back(
      {from.host, from.interface, source, destination, Bytes(payload.begin(), payload.end())});
  const bool multicast = destination.is_multicast();
  for (const auto& ep : endpoints_) {
    if (ep->host == from.host || ep->family != from.family || down_.count(ep->host)) continue;
    if (multicast ? !ep->joined : !addresses_[ep->host].count(destination)) continue;
    RawDatagram d;
    d.family = from.family;
    if (from.family == Family::inet) {
      // The IPv4 header a raw socket returns (RFC 791), checksum left 0: the
      // kernel verified it before delivery.
      const auto total = static_cast<std::uint16_t>(20 + payload.size());
      const auto s = source.to_v4().to_bytes();
      const auto t = destination.to_v4().to_bytes();
      d.bytes = {
          std::byte{0x45}, std::byte{0},           std::byte(total >> 8), std::byte(total & 0xff),
          std::byte{0},    std::byte{0},           std::byte{0},          std::byte{0},
          std::byte{ttl_}, std::byte{kIpProtocol}, std::byte{0},          std::byte{0}};
      for (auto b : s)
        d.bytes.push_back(std::byte{b});
      for (auto b : t)
        d.bytes.push_back(std::byte{b});
      d.bytes.insert(d.bytes.end(), payload.begin(), payload.end());
    } else {
      d.bytes.assign(payload.begin(), payload.end());
      d.source = source;
      d.destination = destination;
      d.hop_limit = ttl_;
    }
    std::weak_ptr<Endpoint> weak = ep;
    boost::asio::post(io_, [weak, d = std::move(d)] {
      if (auto e = weak.lock(); e && e->receiver) e->receiver(d);
    });
  }
  return {};
}

}  // namespace lvsd::vrrp
