#include "forwarding/model.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace lvsd::forwarding {
namespace {

using boost::asio::ip::make_address;

TEST(ServiceKey, ToStringUsesTheIpvsadmSpelling) {
  struct Case {
    ServiceKey key;
    std::string want;
  };
  const Case cases[] = {
      {ServiceKey::inet(Protocol::tcp, make_address("192.0.2.200"), 80), "TCP 192.0.2.200:80"},
      {ServiceKey::inet(Protocol::udp, make_address("2001:db8::1"), 53), "UDP [2001:db8::1]:53"},
      {ServiceKey::inet(Protocol::sctp, make_address("192.0.2.1"), 9), "SCTP 192.0.2.1:9"},
      {ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 0), "TCP 192.0.2.1:0"},
      {ServiceKey::mark(7), "FWM 7"},
      {ServiceKey::mark(7, Family::inet6), "FWM 7 IPv6"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(c.key.to_string(), c.want);
}

TEST(ServiceKey, FactoriesCanonicaliseTheFieldsOutsideTheKey) {
  auto v4 = ServiceKey::inet(Protocol::udp, make_address("192.0.2.1"), 53);
  EXPECT_EQ(v4.family, Family::inet);
  EXPECT_EQ(v4.fwmark, 0u);
  EXPECT_FALSE(v4.is_fwmark());
  EXPECT_EQ(ServiceKey::inet(Protocol::tcp, make_address("::1"), 1).family, Family::inet6);

  auto m = ServiceKey::mark(9, Family::inet6);
  EXPECT_TRUE(m.is_fwmark());
  EXPECT_EQ(m.protocol, Protocol::tcp);
  EXPECT_EQ(m.port, 0);
  EXPECT_TRUE(m.address.is_v6());
  EXPECT_TRUE(m.address.is_unspecified());
  EXPECT_EQ(m, ServiceKey::mark(9, Family::inet6));
  EXPECT_NE(m, ServiceKey::mark(9, Family::inet));
}

TEST(ServiceKey, EveryKeyFieldDistinguishesAndOrders) {
  const auto a = make_address("192.0.2.1");
  const std::set<ServiceKey> keys = {
      ServiceKey::inet(Protocol::tcp, a, 80),
      ServiceKey::inet(Protocol::udp, a, 80),
      ServiceKey::inet(Protocol::sctp, a, 80),
      ServiceKey::inet(Protocol::tcp, a, 81),
      ServiceKey::inet(Protocol::tcp, make_address("192.0.2.2"), 80),
      ServiceKey::inet(Protocol::tcp, make_address("2001:db8::1"), 80),
      ServiceKey::mark(1),
      ServiceKey::mark(2),
      ServiceKey::mark(1, Family::inet6),
  };
  EXPECT_EQ(keys.size(), 9u);
  // A strict weak order: no key is less than itself, and exactly one of a<b, b<a per pair.
  for (const auto& x : keys) {
    EXPECT_FALSE(x < x);
    for (const auto& y : keys) {
      if (!(x == y)) {
        EXPECT_NE(x < y, y < x) << x.to_string() << " vs " << y.to_string();
      }
    }
  }
}

TEST(DestKey, ToStringAndOrder) {
  EXPECT_EQ((DestKey{make_address("192.0.2.21"), 80}).to_string(), "192.0.2.21:80");
  EXPECT_EQ((DestKey{make_address("2001:db8::21"), 80}).to_string(), "[2001:db8::21]:80");
  EXPECT_EQ((DestKey{make_address("2001:db8::21"), 0}).family(), Family::inet6);

  std::map<DestKey, int> m;
  m[{make_address("192.0.2.21"), 80}] = 1;
  m[{make_address("192.0.2.21"), 81}] = 2;
  m[{make_address("192.0.2.3"), 80}] = 3;
  m[{make_address("192.0.2.21"), 80}] = 4;
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.begin()->second, 3);  // 192.0.2.3 < 192.0.2.21 numerically
}

TEST(RealServer, KeyAndFamilyComeFromTheAddress) {
  RealServer rs;
  rs.address = make_address("2001:db8::5");
  rs.port = 443;
  EXPECT_EQ(rs.key(), (DestKey{make_address("2001:db8::5"), 443}));
  EXPECT_EQ(rs.family(), Family::inet6);
}

TEST(Model, EqualityCoversEveryField) {
  VirtualService a;
  a.key = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 80);
  VirtualService b = a;
  EXPECT_EQ(a, b);
  b.scheduler_flags.port = true;
  EXPECT_NE(a, b);
  b = a;
  b.persistence = Persistence{};
  EXPECT_NE(a, b);
  b = a;
  b.pe_name = "sip";
  EXPECT_NE(a, b);

  RealServer r;
  RealServer s = r;
  s.tunnel.checksum = TunnelChecksum::remote;
  EXPECT_NE(r, s);
  EXPECT_EQ(Timeouts{}, (Timeouts{900, 120, 300}));
}

TEST(Model, EnumNames) {
  EXPECT_EQ(to_string(Protocol::sctp), "sctp");
  EXPECT_EQ(to_string(Family::inet6), "inet6");
  EXPECT_EQ(to_string(Method::dr), "dr");
  EXPECT_EQ(to_string(TunnelType::gue), "gue");
  EXPECT_EQ(to_string(TunnelChecksum::local), "local");
  EXPECT_EQ(format_endpoint(make_address("::1"), 8), "[::1]:8");
}

}  // namespace
}  // namespace lvsd::forwarding
