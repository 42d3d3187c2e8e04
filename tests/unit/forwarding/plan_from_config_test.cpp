#include "forwarding/plan_from_config.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/config/loader.hpp"

namespace lvsd::forwarding {
namespace {

using boost::asio::ip::make_address;

config::Config load(std::string_view yaml) {
  auto r = config::load_string(yaml, "t.yaml");
  for (const auto& e : r.errors)
    ADD_FAILURE() << e.str();
  return r.config.value_or(config::Config{});
}

RealServer rs(const char* address, uint16_t port, uint32_t weight = 1,
              Method method = Method::nat) {
  RealServer d;
  d.address = make_address(address);
  d.port = port;
  d.weight = weight;
  d.method = method;
  return d;
}

struct Case {
  const char* name;
  const char* yaml;
  VirtualService service;
  std::vector<RealServer> dests;
};

ForwardingPlan one(const VirtualService& s, const std::vector<RealServer>& dests) {
  ForwardingPlan p;
  p.put(s);
  for (const auto& d : dests)
    p.put(s.key, d);
  return p;
}

VirtualService vs(ServiceKey key, std::string scheduler = "wlc") {
  VirtualService s;
  s.key = key;
  s.scheduler = std::move(scheduler);
  return s;
}

TEST(PlanFromConfig, MapsEveryKindOfService) {
  const auto v4 = [](const char* a, uint16_t port, Protocol p = Protocol::tcp) {
    return ServiceKey::inet(p, make_address(a), port);
  };
  VirtualService persistent = vs(v4("192.0.2.1", 443), "sh");
  persistent.scheduler_flags = {true, true};
  persistent.persistence = Persistence{600, make_address("255.255.255.0").to_v4(), 128};

  VirtualService persistent6 = vs(ServiceKey::inet(Protocol::tcp, make_address("2001:db8::1"), 0));
  persistent6.persistence = Persistence{300, boost::asio::ip::address_v4::broadcast(), 64};

  VirtualService mh = vs(v4("192.0.2.1", 53, Protocol::udp), "mh");
  mh.scheduler_flags.fallback = true;
  mh.one_packet = true;

  RealServer gue = rs("2001:db8::31", 80, 2, Method::tun);
  gue.tunnel = Tunnel{TunnelType::gue, 6080, TunnelChecksum::remote};
  RealServer ipip = rs("192.0.2.32", 80, 1, Method::tun);
  RealServer thresholds = rs("10.0.0.1", 80, 1);
  thresholds.upper_threshold = 100;
  thresholds.lower_threshold = 20;

  const Case cases[] = {
      {"nat, port defaults to the service's, disabled excluded",
       R"(
services:
  - address: 192.0.2.200
    port: 80
    realservers:
      - {address: 10.0.0.11, weight: 100}
      - {address: 10.0.0.12, port: 8080, weight: 0}
      - {address: 10.0.0.13, enabled: false}
)",
       vs(v4("192.0.2.200", 80)),
       {rs("10.0.0.11", 80, 100), rs("10.0.0.12", 8080, 0)}},
      {"dr inherited from the service, per-RS override",
       R"(
services:
  - {address: 192.0.2.200, port: 80, method: dr, scheduler: rr,
     realservers: [{address: 192.0.2.21}, {address: 192.0.2.22, method: nat}]}
)",
       vs(v4("192.0.2.200", 80), "rr"),
       {rs("192.0.2.21", 80, 1, Method::dr), rs("192.0.2.22", 80, 1, Method::nat)}},
      {"tun with gue, mixed family",
       R"(
services:
  - address: 192.0.2.200
    port: 80
    method: tun
    tunnel: {type: gue, port: 6080, checksum: remote}
    realservers: [{address: "2001:db8::31", weight: 2}]
)",
       vs(v4("192.0.2.200", 80)),
       {gue}},
      {"tun with ipip",
       R"(
services:
  - {address: 192.0.2.200, port: 80, method: tun, realservers: [{address: 192.0.2.32}]}
)",
       vs(v4("192.0.2.200", 80)),
       {ipip}},
      {"ipv6 service",
       R"(
services:
  - {address: "2001:db8::80", port: 80, protocol: tcp,
     realservers: [{address: "2001:db8::21"}]}
)",
       vs(ServiceKey::inet(Protocol::tcp, make_address("2001:db8::80"), 80)),
       {rs("2001:db8::21", 80)}},
      {"fwmark, dest port 0",
       R"(
services:
  - {fwmark: 7, method: dr, realservers: [{address: 192.0.2.21}]}
)",
       vs(ServiceKey::mark(7)),
       {rs("192.0.2.21", 0, 1, Method::dr)}},
      {"fwmark inet6",
       R"(
services:
  - {fwmark: 9, family: inet6, realservers: [{address: "2001:db8::21", port: 443}]}
)",
       vs(ServiceKey::mark(9, Family::inet6)),
       {rs("2001:db8::21", 443)}},
      {"persistence with netmask, sh flags",
       R"(
services:
  - address: 192.0.2.1
    port: 443
    scheduler: sh
    scheduler_flags: [sh-fallback, sh-port]
    persistence: {timeout: 10m, netmask: 255.255.255.0}
)",
       persistent,
       {}},
      {"ipv6 persistence with prefix, port 0",
       R"(
services:
  - address: "2001:db8::1"
    port: 0
    persistence: {prefix: 64}
)",
       persistent6,
       {}},
      {"udp one-packet, mh fallback",
       R"(
services:
  - {address: 192.0.2.1, port: 53, protocol: udp, scheduler: mh,
     scheduler_flags: [mh-fallback], one_packet: true}
)",
       mh,
       {}},
      {"sctp and thresholds",
       R"(
services:
  - {address: 192.0.2.1, port: 80, protocol: sctp,
     realservers: [{address: 10.0.0.1, upper_threshold: 100, lower_threshold: 20}]}
)",
       vs(v4("192.0.2.1", 80, Protocol::sctp)),
       {thresholds}},
      {"sorry server left out when not in sorry mode",
       R"(
services:
  - {address: 192.0.2.1, port: 80, sorry_server: {address: 10.9.9.9},
     realservers: [{address: 10.0.0.1}]}
)",
       vs(v4("192.0.2.1", 80)),
       {rs("10.0.0.1", 80)}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto cfg = load(c.yaml);
    ASSERT_EQ(cfg.services.size(), 1u);
    EXPECT_EQ(plan_from_config(cfg), one(c.service, c.dests));
  }
}

TEST(PlanFromConfig, ManyServicesAndTheDefaultExampleLoad) {
  const auto cfg = load(R"(
services:
  - {address: 192.0.2.1, port: 80, realservers: [{address: 10.0.0.1}, {address: 10.0.0.2}]}
  - {address: 192.0.2.1, port: 443, realservers: [{address: 10.0.0.1}]}
  - {fwmark: 1}
)");
  const ForwardingPlan p = plan_from_config(cfg);
  EXPECT_EQ(p.services.size(), 3u);
  EXPECT_EQ(p.dest_count(), 3u);

  auto r = config::load_file(std::string(LVSD_SOURCE_DIR) + "/etc/lvsd.yaml");
  ASSERT_TRUE(r.ok());
  const ForwardingPlan example = plan_from_config(*r.config);
  EXPECT_EQ(example.services.size(), r.config->services.size());
}

TEST(PlanFromConfig, HooksFeedEffectiveWeightsAndSorryMode) {
  const auto cfg = load(R"(
services:
  - name: web
    address: 192.0.2.1
    port: 80
    method: dr
    sorry_server: {address: 10.9.9.9, port: 8080, method: nat}
    realservers:
      - {address: 10.0.0.1, weight: 10}
      - {address: 10.0.0.2, weight: 10}
      - {address: 10.0.0.3, enabled: false}
  - name: api
    address: 192.0.2.1
    port: 81
    sorry_server: {address: 10.9.9.8}
    realservers: [{address: 10.0.0.1}]
)");
  const auto web = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 80);
  const auto api = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 81);

  std::vector<std::string> asked;
  PlanInputs in;
  in.weight = [&](const config::Service& s,
                  const config::RealServer& r) -> std::optional<uint32_t> {
    asked.push_back(s.name + "/" + r.key());
    if (r.address == make_address("10.0.0.2")) return std::nullopt;  // failed
    return r.weight / 2;                                             // slow start, say
  };
  ForwardingPlan p = plan_from_config(cfg, in);
  EXPECT_EQ(asked, (std::vector<std::string>{"web/10.0.0.1:80", "web/10.0.0.2:80",
                                             "api/10.0.0.1:81"}));  // never the disabled
  EXPECT_EQ(p.services.at(web).dests,
            (std::map<DestKey, RealServer>{
                {{make_address("10.0.0.1"), 80}, rs("10.0.0.1", 80, 5, Method::dr)}}));

  in.sorry_mode = [](const config::Service& s) { return s.name == "web"; };
  p = plan_from_config(cfg, in);
  EXPECT_EQ(p.services.at(web).dests,
            (std::map<DestKey, RealServer>{
                {{make_address("10.9.9.9"), 8080}, rs("10.9.9.9", 8080, 1, Method::nat)}}));
  EXPECT_EQ(p.services.at(api).dests.size(), 1u);
  EXPECT_TRUE(p.services.at(api).dests.contains({make_address("10.0.0.1"), 81}));

  // Sorry mode without a sorry server: the regular realservers stay.
  const auto no_sorry = load(
      "services: [{address: 192.0.2.1, port: 80, "
      "realservers: [{address: 10.0.0.1}]}]\n");
  PlanInputs always;
  always.sorry_mode = [](const config::Service&) { return true; };
  EXPECT_EQ(plan_from_config(no_sorry, always).dest_count(), 1u);
}

// service_weights answers per service with its position, and wins over
// `weight`; disabled realservers' slots are never read.
TEST(PlanFromConfig, ServiceWeightsHookByPosition) {
  const auto cfg = load(R"(
services:
  - name: web
    address: 192.0.2.1
    port: 80
    realservers:
      - {address: 10.0.0.1, weight: 10}
      - {address: 10.0.0.2, weight: 10}
      - {address: 10.0.0.3, enabled: false}
      - {address: 10.0.0.4, weight: 4}
  - name: api
    address: 192.0.2.1
    port: 81
    sorry_server: {address: 10.9.9.8}
    realservers: [{address: 10.0.0.1}]
  - name: dns
    address: 192.0.2.1
    port: 53
    realservers: [{address: 10.0.0.5, weight: 3}]
)");
  const auto web = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 80);
  const auto api = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 81);
  const auto dns = ServiceKey::inet(Protocol::tcp, make_address("192.0.2.1"), 53);

  std::vector<std::string> asked;
  PlanInputs in;
  in.weight = [](const config::Service&, const config::RealServer&) -> std::optional<uint32_t> {
    ADD_FAILURE() << "weight asked while service_weights is set";
    return std::nullopt;
  };
  in.sorry_mode = [](const config::Service& s) { return s.name == "api"; };
  in.service_weights = [&](std::size_t i, const config::Service& s,
                           std::vector<std::optional<uint32_t>>& out) {
    asked.push_back(std::to_string(i) + "/" + s.name);
    EXPECT_EQ(&s, &cfg.services.at(i));
    EXPECT_EQ(out.size(), s.realservers.size());
    for (std::size_t j = 0; j < s.realservers.size(); ++j)
      out[j] = s.realservers[j].weight * 2;
    if (s.name == "web") {
      out[1] = std::nullopt;  // failed
      out[2] = 99;            // disabled: never in the table
    }
  };
  const ForwardingPlan p = plan_from_config(cfg, in);
  // Never asked for a service in sorry mode.
  EXPECT_EQ(asked, (std::vector<std::string>{"0/web", "2/dns"}));
  EXPECT_EQ(p.services.at(web).dests,
            (std::map<DestKey, RealServer>{
                {{make_address("10.0.0.1"), 80}, rs("10.0.0.1", 80, 20, Method::nat)},
                {{make_address("10.0.0.4"), 80}, rs("10.0.0.4", 80, 8, Method::nat)}}));
  ASSERT_EQ(p.services.at(api).dests.size(), 1u);
  EXPECT_EQ(p.services.at(api).dests.begin()->second.address, make_address("10.9.9.8"));
  EXPECT_EQ(p.services.at(dns).dests,
            (std::map<DestKey, RealServer>{
                {{make_address("10.0.0.5"), 53}, rs("10.0.0.5", 53, 6, Method::nat)}}));
}

TEST(PlanFromConfig, Timeouts) {
  const auto cfg = load("forwarding: {timeouts: {tcp: 1h, tcp_fin: 30s, udp: 1m}}\n");
  EXPECT_EQ(timeouts_from_config(cfg.forwarding), (Timeouts{3600, 30, 60}));
  EXPECT_EQ(timeouts_from_config(config::Forwarding{}), Timeouts{});
}

}  // namespace
}  // namespace lvsd::forwarding
