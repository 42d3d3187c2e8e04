#include "daemon/config/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lvsd::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> errors_of(std::string_view yaml) {
  auto r = load_string(yaml, "t.yaml");
  std::vector<std::string> out;
  for (const auto& e : r.errors)
    out.push_back(e.str());
  EXPECT_EQ(r.ok(), out.empty());
  return out;
}

Config load_ok(std::string_view yaml) {
  auto r = load_string(yaml, "t.yaml");
  for (const auto& e : r.errors)
    ADD_FAILURE() << e.str();
  EXPECT_TRUE(r.ok());
  return r.config.value_or(Config{});
}

// ------------------------------------------------------------ basics

TEST(ConfigLoader, EmptyFileIsTheDefaultConfig) {
  EXPECT_EQ(load_ok(""), Config{});
  EXPECT_EQ(load_ok("# nothing but a comment\n"), Config{});
}

TEST(ConfigLoader, DefaultsAreFilled) {
  auto c = load_ok(R"(
services:
  - address: 192.0.2.200
    port: 80
    check:
      type: tcp
    realservers:
      - address: 192.0.2.21
checks:
  - name: h
    type: http
    interval: 10s
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      vrid: 51
      virtual_addresses: [192.0.2.200/24, 192.0.2.201]
  scripts:
    - name: s
      command: /bin/true
sync:
  interface: eth1
)");
  EXPECT_EQ(c.global.status_socket.path, "/run/lvsd/lvsd.sock");
  EXPECT_EQ(c.global.status_socket.mode, 0660u);
  EXPECT_EQ(c.global.status_socket.group, "root");
  EXPECT_EQ(c.global.logging.level, LogLevel::info);
  EXPECT_EQ(c.global.logging.target, LogTarget::console);
  EXPECT_EQ(c.global.script_user, "nobody");
  EXPECT_EQ(c.global.pid_file, "");
  EXPECT_EQ(c.global.router_id, "");
  EXPECT_EQ(c.forwarding.backend, ForwardingBackend::automatic);
  EXPECT_EQ(c.forwarding.timeouts.tcp, 900s);
  EXPECT_EQ(c.forwarding.timeouts.tcp_fin, 120s);
  EXPECT_EQ(c.forwarding.timeouts.udp, 300s);
  EXPECT_EQ(c.forwarding.reconcile_interval, 30s);
  EXPECT_EQ(c.forwarding.userspace.queue_base, 100);
  EXPECT_EQ(c.forwarding.userspace.max_connections, 1048576u);
  EXPECT_TRUE(c.forwarding.userspace.fail_open);

  ASSERT_EQ(c.services.size(), 1u);
  const auto& s = c.services[0];
  EXPECT_EQ(s.key(), "tcp 192.0.2.200:80");
  EXPECT_EQ(s.name, "tcp 192.0.2.200:80");
  EXPECT_EQ(s.protocol, Protocol::tcp);
  EXPECT_EQ(s.family, Family::inet);
  EXPECT_EQ(s.scheduler, "wlc");
  EXPECT_EQ(s.method, Method::nat);
  EXPECT_EQ(s.quorum.weight, 1u);
  ASSERT_TRUE(s.check.has_value());
  EXPECT_EQ(s.check->name, "tcp 192.0.2.200:80");
  EXPECT_EQ(s.check->interval, 5s);
  EXPECT_EQ(s.check->fast_interval, 5s);
  EXPECT_EQ(s.check->timeout, 3s);
  EXPECT_EQ(s.check->rise, 2u);
  EXPECT_EQ(s.check->fall, 3u);
  ASSERT_EQ(s.realservers.size(), 1u);
  const auto& rs = s.realservers[0];
  EXPECT_EQ(rs.port, 80);
  EXPECT_EQ(rs.weight, 1u);
  EXPECT_EQ(rs.method, Method::nat);
  EXPECT_TRUE(rs.enabled);
  EXPECT_EQ(rs.check, s.check);  // inherited, resolved

  ASSERT_EQ(c.checks.size(), 1u);
  EXPECT_EQ(c.checks[0].fast_interval, 10s);  // = interval
  EXPECT_EQ(c.checks[0].http.path, "/");
  EXPECT_EQ(c.checks[0].http.status, (std::vector<StatusRange>{{200, 299}}));

  const auto& vi = c.vrrp.instances.at(0);
  EXPECT_EQ(vi.version, 2u);
  EXPECT_EQ(vi.priority, 100);
  EXPECT_EQ(vi.advert_interval, 1s);
  EXPECT_TRUE(vi.preempt);
  EXPECT_TRUE(vi.v3_checksum_pseudo_header);
  EXPECT_TRUE(vi.accept);  // keepalived's default without vrrp_strict
  EXPECT_FALSE(vi.use_vmac);
  EXPECT_EQ(vi.vmac_name, "");
  ASSERT_EQ(vi.virtual_addresses.size(), 2u);
  EXPECT_EQ(vi.virtual_addresses[0].prefix, 24u);
  EXPECT_EQ(vi.virtual_addresses[1].prefix, 32u);
  EXPECT_EQ(vi.virtual_addresses[1].device, "eth0");
  EXPECT_EQ(c.vrrp.scripts.at(0).user, "nobody");
  EXPECT_EQ(c.vrrp.scripts.at(0).timeout, 1s);

  ASSERT_TRUE(c.sync.has_value());
  EXPECT_EQ(c.sync->group.to_string(), "224.0.0.81");
  EXPECT_EQ(c.sync->port, 8848);
  EXPECT_EQ(c.sync->ttl, 1);
  EXPECT_EQ(c.sync->maxlen, 1472);
  EXPECT_EQ(c.sync->role.kind, SyncRoleKind::follow);
  EXPECT_EQ(c.sync->role.follow, "VI_1");  // the only instance
}

TEST(ConfigLoader, ServiceKeys) {
  auto c = load_ok(R"(
services:
  - {address: "2001:db8::1", port: 53, protocol: udp}
  - {fwmark: 7, family: inet6}
  - {fwmark: 8}
)");
  EXPECT_EQ(c.services[0].key(), "udp [2001:db8::1]:53");
  EXPECT_EQ(c.services[0].family, Family::inet6);
  EXPECT_EQ(c.services[1].key(), "fwmark 7 inet6");
  EXPECT_EQ(c.services[2].key(), "fwmark 8 inet");
}

TEST(ConfigLoader, ChecksResolveByNameAndInheritance) {
  auto c = load_ok(R"(
checks:
  - name: web
    type: http
    path: /healthz
services:
  - address: 192.0.2.200
    port: 80
    method: dr
    check: web
    realservers:
      - address: 192.0.2.21
      - address: 192.0.2.22
        method: tun
        check:
          type: tcp
          connect_port: 8080
)");
  const auto& s = c.services[0];
  ASSERT_TRUE(s.check);
  EXPECT_EQ(*s.check, c.checks[0]);
  EXPECT_EQ(s.realservers[0].check, s.check);
  EXPECT_EQ(s.realservers[0].method, Method::dr);
  EXPECT_EQ(s.realservers[1].method, Method::tun);
  ASSERT_TRUE(s.realservers[1].check);
  EXPECT_EQ(s.realservers[1].check->type, CheckType::tcp);
  EXPECT_EQ(s.realservers[1].check->connect_port, 8080);
  EXPECT_EQ(s.realservers[1].check->name, "tcp 192.0.2.200:80/192.0.2.22:80");
}

TEST(ConfigLoader, DurationSyntax) {
  auto c = load_ok(R"(
forwarding:
  reconcile_interval: 1m30s
  userspace:
    syn_recv_timeout: 2s
checks:
  - {name: a, type: icmp, interval: 250ms, timeout: 100ms}
  - {name: b, type: icmp, interval: 1h, timeout: 5m}
  - {name: c, type: ssl, expiry_warning: 2d}
)");
  EXPECT_EQ(c.forwarding.reconcile_interval, 90s);
  EXPECT_EQ(c.checks[0].interval, 250ms);
  EXPECT_EQ(c.checks[1].interval, 1h);
  EXPECT_EQ(c.checks[1].timeout, 5min);
  EXPECT_EQ(c.checks[2].tls.expiry_warning, 48h);
}

TEST(ConfigLoader, UnreadableFile) {
  auto r = load_file("/nonexistent/lvsd.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_EQ(r.errors[0].file, "/nonexistent/lvsd.yaml");
  EXPECT_THAT(r.errors[0].str(), HasSubstr("/nonexistent/lvsd.yaml: cannot read file"));
}

TEST(ConfigLoader, DiagnosticFormat) {
  Diagnostic d{"lvsd.yaml", 14, 9, "services[1].realservers[0].weight", "must be 0..65535, got -1"};
  EXPECT_EQ(d.str(), "lvsd.yaml:14:9: services[1].realservers[0].weight: must be 0..65535, got -1");
  Diagnostic root{"lvsd.yaml", 1, 1, "", "expected a mapping, got 'x'"};
  EXPECT_EQ(root.str(), "lvsd.yaml:1:1: expected a mapping, got 'x'");
}

// ------------------------------------------------------- error classes

TEST(ConfigErrors, YamlSyntax) {
  EXPECT_THAT(errors_of("services:\n  - address: [192.0.2.1\n"),
              ElementsAre(HasSubstr("t.yaml:3:1: end of sequence flow not found")));
  EXPECT_THAT(errors_of("global:\n  logging: {level: info\n"),
              ElementsAre(HasSubstr("t.yaml:3:1: end of map flow not found")));
}

TEST(ConfigErrors, RootMustBeAMapping) {
  EXPECT_THAT(errors_of("- a\n- b\n"), ElementsAre("t.yaml:1:1: expected a mapping, got a list"));
}

TEST(ConfigErrors, UnknownKeyWithSuggestion) {
  EXPECT_THAT(errors_of(R"(services:
  - address: 192.0.2.200
    port: 80
    realservers:
      - address: 192.0.2.21
        wieght: 5
)"),
              ElementsAre("t.yaml:6:9: services[0].realservers[0].wieght: unknown key 'wieght'; "
                          "did you mean 'weight'?"));
}

TEST(ConfigErrors, UnknownKeyWithoutSuggestionWhenNothingIsClose) {
  EXPECT_THAT(errors_of("global:\n  colour: blue\n"),
              ElementsAre("t.yaml:2:3: global.colour: unknown key 'colour'"));
  EXPECT_THAT(errors_of("servics: []\n"),
              ElementsAre("t.yaml:1:1: servics: unknown key 'servics'; did you mean 'services'?"));
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_THAT(
      errors_of(R"(global:
  logging: verbose
  status_socket:
    path: [a, b]
forwarding:
  userspace:
    fail_open: maybe
    queues: many
services:
  - address: 192.0.2.300
    port: 80
    slow_start: 10
)"),
      ElementsAre("t.yaml:2:12: global.logging: expected a mapping, got 'verbose'",
                  "t.yaml:4:11: global.status_socket.path: expected a string, got a list",
                  "t.yaml:7:16: forwarding.userspace.fail_open: expected a bool (true or false), "
                  "got 'maybe'",
                  "t.yaml:8:13: forwarding.userspace.queues: expected an integer, got 'many'",
                  "t.yaml:10:14: services[0].address: expected an IP address, got '192.0.2.300'",
                  "t.yaml:12:17: services[0].slow_start: expected a duration, got '10'; add a "
                  "unit, e.g. '10s' or '10ms'"));
  EXPECT_THAT(errors_of("services: {a: 1}\n"),
              ElementsAre("t.yaml:1:11: services: expected a list, got a mapping"));
  EXPECT_THAT(errors_of("checks:\n  - {name: a, type: tcp, interval: 5 s}\n"),
              ElementsAre(HasSubstr("t.yaml:2:36: checks[0].interval: expected a duration")));
}

TEST(ConfigErrors, OutOfRange) {
  EXPECT_THAT(
      errors_of(R"(services:
  - address: 192.0.2.200
    port: 80
  - address: 192.0.2.201
    port: 70000
    realservers:
      - address: 192.0.2.21
        weight: -1
vrrp:
  instances:
    - {name: VI_1, interface: eth0, vrid: 256, priority: 0}
)"),
      ElementsAre("t.yaml:5:11: services[1].port: must be 0..65535, got 70000",
                  "t.yaml:8:17: services[1].realservers[0].weight: must be 0..65535, got -1",
                  "t.yaml:11:43: vrrp.instances[0].vrid: must be 1..255, got 256",
                  "t.yaml:11:58: vrrp.instances[0].priority: must be 1..255, got 0"));
  EXPECT_THAT(errors_of("vrrp:\n  instances:\n    - name: a\n      interface: e\n      vrid: 1\n"
                        "      preempt_delay: 20m\n"),
              ElementsAre("t.yaml:6:22: vrrp.instances[0].preempt_delay: must be 0s..16m40s, got "
                          "20m"));
}

TEST(ConfigErrors, QueuesMustFitBothKinds) {
  // 65534 + 2 x 1 - 1 = 65535 fits; with 2 queues of each kind the plain ones
  // would end at 65537.
  EXPECT_THAT(errors_of("forwarding:\n  userspace: {queue_base: 65534}\n"), ElementsAre());
  EXPECT_THAT(errors_of("forwarding:\n  userspace: {queue_base: 65534, queues: 2}\n"),
              ElementsAre("t.yaml:2:42: forwarding.userspace.queues: the engine uses queues "
                          "queue_base .. queue_base + 2 x queues - 1 (GSO ones, then plain ones); "
                          "the last would be 65537, above 65535"));
}

TEST(ConfigErrors, BadEnumListsTheChoices) {
  EXPECT_THAT(errors_of(R"(global:
  logging:
    level: loud
services:
  - address: 192.0.2.200
    port: 80
    method: masq
    scheduler: fastest
)"),
              ElementsAre("t.yaml:3:12: global.logging.level: must be 'trace', 'debug', 'info', "
                          "'warn', 'error', 'critical' or 'off', got 'loud'",
                          "t.yaml:7:13: services[0].method: must be 'nat', 'dr' or 'tun', got "
                          "'masq'",
                          "t.yaml:8:16: services[0].scheduler: must be 'rr', 'wrr', 'lc', 'wlc', "
                          "'sed', 'nq', 'sh', 'dh', 'lblc', 'lblcr', 'mh', 'fo', 'ovf' or "
                          "'twos', got 'fastest'"));
}

TEST(ConfigErrors, MissingRequiredKeyIsReportedAtTheParentMapping) {
  EXPECT_THAT(errors_of(R"(services:
  - port: 80
    realservers:
      - weight: 2
checks:
  - type: tcp
vrrp:
  instances:
    - name: VI_1
      vrid: 5
)"),
              ElementsAre("t.yaml:2:5: services[0]: missing required key 'address' (or 'fwmark')",
                          "t.yaml:4:9: services[0].realservers[0]: missing required key 'address'",
                          "t.yaml:6:5: checks[0]: missing required key 'name'",
                          "t.yaml:9:7: vrrp.instances[0]: missing required key 'interface'"));
}

TEST(ConfigErrors, DuplicateKeyInOneMapping) {
  EXPECT_THAT(errors_of("global:\n  script_user: a\n  script_user: b\n"),
              ElementsAre("t.yaml:3:3: global.script_user: duplicate key 'script_user' (first at "
                          "line 2)"));
}

TEST(ConfigErrors, DuplicateServicesAndRealservers) {
  EXPECT_THAT(errors_of(R"(services:
  - address: 192.0.2.200
    port: 80
    realservers:
      - address: 192.0.2.21
      - address: 192.0.2.21
        port: 80
  - address: 192.0.2.200
    port: 80
  - address: 192.0.2.200
    port: 80
    protocol: udp
  - fwmark: 3
  - fwmark: 3
    family: inet
  - fwmark: 3
    family: inet6
)"),
              ElementsAre("t.yaml:6:9: services[0].realservers[1]: duplicate realserver "
                          "192.0.2.21:80 (first at line 5)",
                          "t.yaml:8:5: services[1]: duplicate service 'tcp 192.0.2.200:80' (first "
                          "at line 2)",
                          "t.yaml:14:5: services[4]: duplicate service 'fwmark 3 inet' (first at "
                          "line 13)"));
}

TEST(ConfigErrors, DuplicateNames) {
  EXPECT_THAT(errors_of(R"(checks:
  - {name: c, type: tcp}
  - {name: c, type: icmp}
services:
  - {name: web, address: 192.0.2.1, port: 80}
  - {name: web, address: 192.0.2.2, port: 80}
vrrp:
  instances:
    - {name: VI, interface: eth0, vrid: 1}
    - {name: VI, interface: eth0, vrid: 2}
  sync_groups:
    - {name: G, instances: [VI]}
    - {name: G, instances: []}
  scripts:
    - {name: s, command: /bin/true}
    - {name: s, command: /bin/false}
  files:
    - {name: f, path: /a}
    - {name: f, path: /b}
)"),
              ElementsAre("t.yaml:3:12: checks[1].name: duplicate check name 'c' (first at line 2)",
                          "t.yaml:6:12: services[1].name: duplicate service name 'web' (first at "
                          "line 5)",
                          "t.yaml:10:14: vrrp.instances[1].name: duplicate instance name 'VI' "
                          "(first at line 9)",
                          "t.yaml:13:14: vrrp.sync_groups[1].name: duplicate sync group name 'G' "
                          "(first at line 12)",
                          "t.yaml:16:14: vrrp.scripts[1].name: duplicate script name 's' (first "
                          "at line 15)",
                          "t.yaml:19:14: vrrp.files[1].name: duplicate file name 'f' (first at "
                          "line 18)"));
}

TEST(ConfigErrors, DuplicateVridPerInterfaceAndFamily) {
  EXPECT_THAT(errors_of(R"(vrrp:
  instances:
    - {name: A, interface: eth0, vrid: 51, virtual_addresses: [192.0.2.1]}
    - {name: B, interface: eth1, vrid: 51, virtual_addresses: [192.0.2.2]}
    - {name: C, interface: eth0, vrid: 51, version: 3, virtual_addresses: ["2001:db8::1"]}
    - {name: D, interface: eth0, vrid: 51, virtual_addresses: [192.0.2.3]}
)"),
              ElementsAre("t.yaml:6:40: vrrp.instances[3].vrid: duplicate vrid 51 on interface "
                          "eth0 (inet), already used by instance 'A'"));
}

TEST(ConfigErrors, DanglingReferences) {
  EXPECT_THAT(errors_of(R"(checks:
  - {name: web-http, type: http}
services:
  - name: web
    address: 192.0.2.200
    port: 80
    check: web-htp
    realservers:
      - address: 192.0.2.21
        check: nope
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      vrid: 1
      track:
        services: [{name: webb}]
        scripts: [chk]
        files: [{name: f, weight: 2}]
  sync_groups:
    - name: G
      instances: [VI_1, VI_2]
sync:
  interface: eth0
  role:
    follow: VI_9
)"),
              ElementsAre("t.yaml:7:12: services[0].check: unknown check 'web-htp'; did you mean "
                          "'web-http'?",
                          "t.yaml:10:16: services[0].realservers[0].check: unknown check 'nope'",
                          "t.yaml:17:27: vrrp.instances[0].track.services[0].name: unknown "
                          "service 'webb'; did you mean 'web'?",
                          "t.yaml:18:19: vrrp.instances[0].track.scripts[0]: unknown vrrp script "
                          "'chk'",
                          "t.yaml:19:24: vrrp.instances[0].track.files[0].name: unknown vrrp file "
                          "'f'",
                          "t.yaml:22:25: vrrp.sync_groups[0].instances[1]: unknown vrrp instance "
                          "'VI_2'; did you mean 'VI_1'?",
                          "t.yaml:26:13: sync.role.follow: unknown vrrp instance 'VI_9'; did you "
                          "mean 'VI_1'?"));
}

TEST(ConfigErrors, TrackedServiceMayBeNamedByKey) {
  auto c = load_ok(R"(
services:
  - {name: web, address: 192.0.2.200, port: 80}
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      vrid: 1
      track:
        services: ["tcp 192.0.2.200:80"]
)");
  EXPECT_EQ(c.vrrp.instances[0].track.services[0].name, "web");
}

TEST(ConfigErrors, CrossFieldServiceRules) {
  EXPECT_THAT(
      errors_of(R"(services:
  - address: 192.0.2.200
    port: 80
    scheduler: wlc
    scheduler_flags: [sh-port]
    one_packet: true
    tunnel: {type: ipip}
    persistence:
      prefix: 64
    realservers:
      - address: 2001:db8::21
  - address: 2001:db8::1
    port: 443
    method: dr
    persistence:
      netmask: 255.255.255.0
    realservers:
      - address: 2001:db8::22
        port: 8443
      - address: 2001:db8::23
        upper_threshold: 10
        lower_threshold: 10
)"),
      ElementsAre(
          "t.yaml:5:23: services[0].scheduler_flags[0]: flag 'sh-port' needs scheduler sh, but "
          "the scheduler is wlc",
          "t.yaml:6:17: services[0].one_packet: one_packet is only valid for udp services, the "
          "protocol is tcp",
          "t.yaml:7:13: services[0].tunnel: tunnel is only valid when the service or a "
          "realserver uses method tun",
          "t.yaml:9:7: services[0].persistence.prefix: prefix is for IPv6 services; use "
          "'netmask' for IPv4",
          "t.yaml:11:18: services[0].realservers[0].address: realserver 2001:db8::21 is IPv6 but "
          "the service is IPv4; mixing families needs method tun",
          "t.yaml:16:7: services[1].persistence.netmask: netmask is for IPv4 services; use "
          "'prefix' for IPv6",
          "t.yaml:19:15: services[1].realservers[0].port: must equal the service port (443) with "
          "method dr: dr cannot rewrite ports, got 8443",
          "t.yaml:22:26: services[1].realservers[1].lower_threshold: must be less than "
          "upper_threshold (10), got 10"));
}

TEST(ConfigErrors, FwmarkAndAddressAreExclusive) {
  EXPECT_THAT(errors_of(R"(services:
  - address: 192.0.2.1
    port: 80
    fwmark: 1
  - fwmark: 2
    port: 80
  - address: 192.0.2.2
    port: 80
    family: inet
  - address: 192.0.2.3
    port: 0
)"),
              ElementsAre("t.yaml:4:5: services[0].fwmark: 'fwmark' and 'address' are mutually "
                          "exclusive: a service is either address+protocol+port or a firewall mark",
                          "t.yaml:6:5: services[1].port: 'port' is not valid for a fwmark "
                          "service; set the realservers' ports",
                          "t.yaml:9:5: services[2].family: 'family' is only valid with 'fwmark'; "
                          "an address service takes the family of its address",
                          "t.yaml:11:11: services[3].port: port 0 (all ports) needs persistence"));
}

TEST(ConfigErrors, FwmarkRealserverCheckNeedsAPort) {
  EXPECT_THAT(errors_of(R"(services:
  - fwmark: 1
    check: {type: tcp}
    realservers:
      - address: 192.0.2.21
      - address: 192.0.2.22
        port: 80
  - fwmark: 2
    check: {type: tcp, connect_port: 80}
    realservers:
      - address: 192.0.2.21
)"),
              ElementsAre("t.yaml:5:9: services[0].realservers[0]: check 'fwmark 1 inet' (tcp) "
                          "needs a port: set the realserver's port or the check's connect_port"));
}

TEST(ConfigErrors, CheckOptionsMustFitTheType) {
  EXPECT_THAT(errors_of(R"(checks:
  - name: a
    type: tcp
    path: /health
  - name: b
    type: http
    status: [200, 700-800, abc]
    body_regex: "(unclosed"
    body_digest: xyz
    send: "GET /"
  - name: c
    type: misc
  - name: d
    type: dns
    query_type: AXFR
    interval: 1s
    timeout: 2s
)"),
              ElementsAre("t.yaml:4:5: checks[0].path: key 'path' is not valid for check type tcp",
                          "t.yaml:7:19: checks[1].status[1]: must be codes in 100..599 (low-high), "
                          "got '700-800'",
                          "t.yaml:7:28: checks[1].status[2]: expected a status code or range like "
                          "\"200-299\", got 'abc'",
                          HasSubstr("t.yaml:8:17: checks[1].body_regex: invalid regular "
                                    "expression '(unclosed'"),
                          "t.yaml:9:18: checks[1].body_digest: expected an MD5 digest (32 hex "
                          "digits), got 'xyz'",
                          "t.yaml:10:5: checks[1].send: key 'send' is not valid for check type "
                          "http",
                          "t.yaml:11:5: checks[2]: missing required key 'command'",
                          "t.yaml:15:17: checks[3].query_type: must be 'A', 'AAAA', 'CNAME', "
                          "'MX', 'NS', 'TXT', 'SOA', 'PTR' or 'SRV', got 'AXFR'",
                          "t.yaml:17:14: checks[3].timeout: timeout (2s) must not exceed interval "
                          "(1s)"));
}

TEST(ConfigErrors, VrrpRules) {
  EXPECT_THAT(errors_of(R"(vrrp:
  instances:
    - name: A
      interface: eth0
      vrid: 1
      virtual_addresses: ["2001:db8::1/64"]
    - name: B
      interface: eth0
      vrid: 2
      version: 3
      advert_interval: 45s
      auth: {password: toolongpassword}
    - name: C
      interface: eth0
      vrid: 3
      advert_interval: 500ms
      virtual_addresses: [192.0.2.1/24, "2001:db8::2"]
      unicast_peers: ["2001:db8::9"]
)"),
              ElementsAre("t.yaml:6:26: vrrp.instances[0].virtual_addresses: VRRP version 2 is "
                          "IPv4 only (RFC 3768); IPv6 virtual addresses need version 3",
                          "t.yaml:11:24: vrrp.instances[1].advert_interval: must be a multiple of "
                          "10ms, 10ms..40950ms, with VRRP version 3 (RFC 5798: centiseconds in 12 "
                          "bits), got 45s",
                          "t.yaml:12:13: vrrp.instances[1].auth: auth is not part of VRRP version "
                          "3 (RFC 5798); remove it or use version 2",
                          "t.yaml:12:24: vrrp.instances[1].auth.password: must be 1..8 characters "
                          "(RFC 3768), got 15",
                          "t.yaml:16:24: vrrp.instances[2].advert_interval: must be whole seconds "
                          "1s..255s with VRRP version 2, got 500ms",
                          "t.yaml:17:41: vrrp.instances[2].virtual_addresses[1]: all virtual "
                          "addresses of an instance must be of one family; use a second instance "
                          "for the other family",
                          "t.yaml:18:23: vrrp.instances[2].unicast_peers[0]: must be IPv4 like "
                          "the virtual addresses"));
}

TEST(ConfigLoader, VmacNameAndAccept) {
  auto c = load_ok(R"(vrrp:
  instances:
    - {name: A, interface: eth0, vrid: 1, use_vmac: true, vmac_name: vip-a, accept: false}
    - {name: B, interface: eth0, vrid: 2, use_vmac: true}
)");
  EXPECT_EQ(c.vrrp.instances[0].vmac_name, "vip-a");
  EXPECT_FALSE(c.vrrp.instances[0].accept);
  EXPECT_EQ(c.vrrp.instances[1].vmac_name, "");  // vrrp.2, chosen by the VRRP module
  EXPECT_TRUE(c.vrrp.instances[1].accept);
}

TEST(ConfigErrors, VmacName) {
  EXPECT_THAT(errors_of(R"(vrrp:
  instances:
    - {name: A, interface: eth0, vrid: 1, vmac_name: v1}
    - {name: B, interface: eth0, vrid: 2, use_vmac: true, vmac_name: "a/b"}
    - {name: C, interface: eth0, vrid: 3, use_vmac: true, vmac_name: abcdefghijklmnop}
    - {name: D, interface: eth0, vrid: 4, use_vmac: true, vmac_name: eth0}
    - {name: E, interface: eth0, vrid: 5, use_vmac: true, vmac_name: v5}
    - {name: F, interface: eth1, vrid: 5, use_vmac: true, vmac_name: v5}
)"),
              ElementsAre(HasSubstr("vrrp.instances[0].vmac_name: needs use_vmac: true"),
                          HasSubstr("vrrp.instances[1].vmac_name: must be an interface name: "
                                    "1..15 characters, without '/', ':' or spaces"),
                          HasSubstr("vrrp.instances[2].vmac_name: must be an interface name"),
                          HasSubstr("vrrp.instances[3].vmac_name: must differ from the "
                                    "instance's interface"),
                          HasSubstr("vrrp.instances[5].vmac_name: vmac_name 'v5' is already used "
                                    "by instance 'E'")));
}

TEST(ConfigErrors, SyncRules) {
  EXPECT_THAT(errors_of(R"(sync:
  interface: eth1
  group: 192.0.2.1
  role: leader
  threshold: 60
)"),
              ElementsAre("t.yaml:3:10: sync.group: must be a multicast address, got 192.0.2.1",
                          "t.yaml:4:9: sync.role: must be 'master', 'backup' or 'both', got "
                          "'leader'",
                          "t.yaml:5:14: sync.threshold: threshold (60) must be less than period "
                          "(50)"));
  EXPECT_THAT(errors_of("sync:\n  interface: eth1\n"),
              ElementsAre(HasSubstr("t.yaml:2:3: sync: missing required key 'role'")));
}

TEST(ConfigErrors, AllErrorsAtOnce) {
  auto errors = errors_of(R"(global:
  logging:
    level: chatty
services:
  - address: 192.0.2.200
    port: 80
    realservers:
      - address: 192.0.2.21
        weight: 100000
      - adress: 192.0.2.22
checks:
  - name: x
    type: carrier-pigeon
sync:
  interface: eth0
  role: master
  ttl: 0
)");
  EXPECT_THAT(errors,
              ElementsAre(HasSubstr("t.yaml:3:12: global.logging.level: must be"),
                          "t.yaml:9:17: services[0].realservers[0].weight: must be 0..65535, got "
                          "100000",
                          "t.yaml:10:9: services[0].realservers[1]: missing required key "
                          "'address'",
                          "t.yaml:10:9: services[0].realservers[1].adress: unknown key 'adress'; "
                          "did you mean 'address'?",
                          HasSubstr("t.yaml:13:11: checks[0].type: must be 'tcp', 'http'"),
                          "t.yaml:17:8: sync.ttl: must be 1..255, got 0"));
}

TEST(ConfigErrors, FileNameIsThePathAsGiven) {
  auto r = load_string("global: 3\n", "etc/x.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str(), "etc/x.yaml:1:9: global: expected a mapping, got '3'");
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_EQ(r.errors[0].column, 9);
  EXPECT_EQ(r.errors[0].path, "global");
}

}  // namespace
}  // namespace lvsd::config

namespace lvsd::config {
namespace {

// Found by the config fuzzer: a name with a stray byte was accepted, then
// --dump-config could not be read back.
TEST(ConfigErrors, StringsMustBeValidUtf8) {
  EXPECT_THAT(errors_of("services:\n  - name: \"a\xff\"\n    address: 192.0.2.1\n    port: 80\n"),
              ElementsAre("t.yaml:2:11: services[0].name: not valid UTF-8 (bad byte at offset 1)"));
  // Overlong encoding of '/' and a lone continuation byte.
  EXPECT_THAT(errors_of("global:\n  pid_file: \"\xc0\xaf\"\n  router_id: \"ok\x80\"\n"),
              ElementsAre("t.yaml:2:13: global.pid_file: not valid UTF-8 (bad byte at offset 0)",
                          "t.yaml:3:14: global.router_id: not valid UTF-8 (bad byte at offset 2)"));
  // Real UTF-8 is fine.
  EXPECT_EQ(load_ok("global:\n  router_id: \"dir-\xc3\xa9t\xc3\xa9-\xf0\x9f\x9a\x80\"\n")
                .global.router_id,
            "dir-\xc3\xa9t\xc3\xa9-\xf0\x9f\x9a\x80");
}

TEST(ConfigErrors, HttpHeadersMustBeWellFormed) {
  EXPECT_THAT(errors_of(R"(checks:
  - name: h
    type: http
    headers:
      "Bad Name": x
      X-Ok: "a\r\nInjected: yes"
      X-Fine: fine
)"),
              ElementsAre("t.yaml:5:7: checks[0].headers.Bad Name: not a valid HTTP header name",
                          "t.yaml:6:13: checks[0].headers.X-Ok: header value must not contain a "
                          "line break"));
}

}  // namespace
}  // namespace lvsd::config

namespace lvsd::config {
namespace {

// ip_vs answers ERANGE to l_threshold > u_threshold even when u_threshold is 0.
TEST(ConfigErrors, LowerThresholdNeedsAnUpperOne) {
  EXPECT_THAT(errors_of(R"(services:
  - address: 192.0.2.1
    port: 80
    realservers:
      - {address: 192.0.2.2, lower_threshold: 5}
      - {address: 192.0.2.3, lower_threshold: 5, upper_threshold: 8}
)"),
              ElementsAre("t.yaml:5:47: services[0].realservers[0].lower_threshold: needs "
                          "upper_threshold (the kernel refuses a lower threshold without an upper "
                          "one), got 5"));
}

}  // namespace
}  // namespace lvsd::config
