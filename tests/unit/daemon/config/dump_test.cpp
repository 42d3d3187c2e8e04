#include "daemon/config/dump.hpp"

#include <gtest/gtest.h>

#include "daemon/config/loader.hpp"

namespace lvsd::config {
namespace {

using namespace std::chrono_literals;

Config roundtrip(const Config& c) {
  std::string text = dump_yaml(c);
  auto r = load_string(text, "dump");
  for (const auto& e : r.errors)
    ADD_FAILURE() << e.str() << "\n" << text;
  return r.config.value_or(Config{});
}

TEST(ConfigDump, DefaultConfigRoundTrips) {
  EXPECT_EQ(roundtrip(Config{}), Config{});
}

// Every optional section and every check type, with non-default values.
constexpr const char* kKitchenSink = R"(
global:
  status_socket: {path: /tmp/x.sock, mode: "0600", group: lvs}
  logging: {target: syslog, level: debug}
  script_user: lvs
  pid_file: /run/lvsd.pid
  router_id: dir1
forwarding:
  backend: userspace
  timeouts: {tcp: 1h, tcp_fin: 30s, udp: 1m}
  reconcile_interval: 1m30s
  on_stop: flush
  foreign_services: remove
  userspace: {queue_base: 7, queues: 4, queue_maxlen: 100, fail_open: false,
              max_connections: 1000, syn_recv_timeout: 5s, steering: nftables}
checks:
  - {name: t, type: tcp, send: "PING\r\n", expect: "^\\+PONG", connect_address: 10.0.0.1,
     bind_address: 10.0.0.2, bind_interface: eth1, fwmark: 9, alpha: true, fast_interval: 1s}
  - name: h
    type: http
    method: HEAD
    path: /x
    host: example.com
    headers: {X-A: b, Accept: "*/*"}
    username: u
    password: "true"
    status: [200, 301-302]
    body_regex: ok
    body_digest: D41D8CD98F00B204E9800998ECF8427E
    max_body: 100
    follow_redirects: true
    max_redirects: 2
  - {name: s, type: https, sni: a.example, verify_peer: false, ca_file: /ca, client_cert: /c,
     client_key: /k}
  - {name: l, type: ssl, expiry_warning: 30d}
  - {name: m, type: misc, command: "/bin/check --fast", dynamic_weight: true}
  - {name: d, type: dns, query_name: example.com, query_type: MX, expect: [mx1.example.com]}
  - {name: e, type: smtp, helo_name: dir1.example}
  - {name: u, type: udp, send: x, expect: y}
  - {name: i, type: icmp}
services:
  - name: all
    address: 192.0.2.1
    port: 0
    protocol: tcp
    scheduler: sh
    scheduler_flags: [sh-fallback, sh-port]
    persistence: {timeout: 1h, netmask: 255.255.0.0}
    method: tun
    tunnel: {type: gue, port: 5555, checksum: remote}
    quorum: {weight: 3, hysteresis: 1, on_up: [/bin/up, x], on_down: /bin/down}
    sorry_server: {address: 192.0.2.99, port: 8080, method: nat}
    check: h
    inhibit_on_failure: true
    slow_start: 20s
    realservers:
      - {address: 192.0.2.21, port: 80, weight: 0, upper_threshold: 10, lower_threshold: 5,
         enabled: false}
      - {address: "2001:db8::21", port: 443, check: t}
      - {address: 192.0.2.23, port: 81, method: nat, check: {type: icmp, name: ping}}
  - {fwmark: 5, family: inet6, protocol: udp, one_packet: true, scheduler: mh,
     persistence: {timeout: 10s, prefix: 48}, realservers: [{address: "2001:db8::5"}]}
vrrp:
  instances:
    - name: A
      interface: eth0
      vrid: 10
      version: 3
      priority: 255
      advert_interval: 250ms
      preempt: false
      preempt_delay: 5s
      accept: true
      initial_state: master
      virtual_addresses:
        - "2001:db8::10/64"
        - {address: "2001:db8::11", prefix: 128, device: eth9, label: eth9:x, scope: site}
      virtual_routes:
        - {to: "2001:db8:9::/48", via: "2001:db8::1", device: eth0, table: 100}
        - {to: "::/0"}
      unicast_source: "2001:db8::2"
      unicast_peers: ["2001:db8::3"]
      v3_checksum_pseudo_header: false
      garp: {count: 2, interval: 10ms, repeat_delay: 1s, refresh: 1m}
      use_vmac: true
      track:
        interfaces: [eth0, {name: eth1, weight: -10}]
        scripts: [{name: sc, weight: 5}]
        files: [f]
        services: [all]
      notify: {master: /bin/m, backup: /bin/b, fault: /bin/f, stop: /bin/s}
    - {name: B, interface: eth0, vrid: 11, auth: {password: pw}}
  sync_groups:
    - {name: G, instances: [A, B], notify: {master: /bin/gm}}
  scripts:
    - {name: sc, command: [/bin/sc, -q], interval: 3s, timeout: 2s, weight: -253, rise: 2,
       fall: 4, user: root}
  files:
    - {name: f, path: /run/prio, weight: -2}
sync:
  interface: eth1
  syncid: 9
  group: ff02::81
  port: 9000
  ttl: 3
  role: both
  threshold: 1
  period: 2
  full_resync: true
  auth: {key_file: /etc/lvsd/sync.key}
)";

TEST(ConfigDump, KitchenSinkRoundTrips) {
  auto r = load_string(kKitchenSink, "sink.yaml");
  for (const auto& e : r.errors)
    ADD_FAILURE() << e.str();
  ASSERT_TRUE(r.ok());
  const Config& c = *r.config;
  EXPECT_EQ(c.sync->maxlen, 1452);  // IPv6 group default
  EXPECT_EQ(c.checks[1].http.body_digest, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(c.checks[4].misc.user, "lvs");  // global.script_user
  EXPECT_EQ(c.checks[4].misc.command, (Command{"/bin/check", "--fast"}));
  EXPECT_EQ(c.services[0].realservers[1].check->name, "t");
  EXPECT_EQ(c.services[0].realservers[2].check->name, "ping");
  EXPECT_EQ(c.services[1].persistence->prefix, 48u);
  EXPECT_EQ(c.services[1].realservers[0].port, 0);
  EXPECT_EQ(roundtrip(c), c);
}

TEST(ConfigDump, WritesDefaultsAndReferences) {
  auto r = load_string(kKitchenSink, "sink.yaml");
  ASSERT_TRUE(r.ok());
  std::string text = dump_yaml(*r.config);
  // named checks are written as references, inline ones inline
  EXPECT_NE(text.find("check: h\n"), std::string::npos) << text;
  EXPECT_NE(text.find("check: t\n"), std::string::npos) << text;
  EXPECT_NE(text.find("name: ping"), std::string::npos) << text;
  EXPECT_NE(text.find("mode: 0600"), std::string::npos) << text;
  EXPECT_NE(text.find("reconcile_interval: 1m30s"), std::string::npos) << text;
  auto d = load_string("", "empty.yaml");
  std::string defaults = dump_yaml(*d.config);
  EXPECT_NE(defaults.find("tcp: 15m"), std::string::npos) << defaults;
  EXPECT_NE(defaults.find("path: /run/lvsd/lvsd.sock"), std::string::npos) << defaults;
}

TEST(ConfigDump, FormatDuration) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(48h), "2d");
}

}  // namespace
}  // namespace lvsd::config
