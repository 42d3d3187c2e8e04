#include "daemon/lvsctl/render.hpp"

#include <gtest/gtest.h>

namespace lvsd::ctl {
namespace {

using nlohmann::json;

json sample_services() {
  return json::parse(R"({
    "source": "config",
    "services": [
      {"name": "web", "protocol": "tcp", "address": "192.0.2.200", "port": 80, "fwmark": 0,
       "scheduler": "wlc", "scheduler_flags": [], "one_packet": false,
       "persistence": {"timeout_seconds": 300, "netmask": "255.255.255.0"},
       "realservers": [
         {"address": "192.0.2.21", "port": 80, "weight": 3, "method": "nat",
          "active_conns": 7, "inactive_conns": 2, "health": "up", "since": "12s",
          "stats": {"conns": 100, "inpkts": 1000, "outpkts": 900, "inbytes": 5, "outbytes": 6}},
         {"address": "192.0.2.22", "port": 80, "weight": 1, "method": "dr", "health": "unknown"}
       ]},
      {"name": "dns6", "protocol": "udp", "address": "2001:db8::53", "port": 53, "fwmark": 0,
       "scheduler": "sh", "scheduler_flags": ["sh-port"], "one_packet": true,
       "persistence": null, "realservers": []},
      {"name": "mark", "protocol": "tcp", "address": null, "port": 0, "fwmark": 7,
       "family": "inet6", "scheduler": "rr", "realservers": []}
    ]})");
}

TEST(RenderServices, LooksLikeIpvsadm) {
  const std::string out = render_services(sample_services(), {});
  EXPECT_NE(out.find("(no dataplane: showing the configured services"), std::string::npos);
  EXPECT_NE(out.find("Prot LocalAddress:Port Scheduler Flags\n"), std::string::npos);
  EXPECT_NE(out.find("  -> RemoteAddress:Port"), std::string::npos);
  EXPECT_NE(out.find("TCP  192.0.2.200:80 wlc persistent 300 mask 255.255.255.0\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("UDP  [2001:db8::53]:53 sh sh-port ops\n"), std::string::npos) << out;
  EXPECT_NE(out.find("FWM  7 IPv6 rr\n"), std::string::npos) << out;
  // Realserver rows: address, ipvsadm forward name, weight, counters, health.
  EXPECT_NE(out.find("  -> 192.0.2.21:80"), std::string::npos);
  const auto row = out.substr(out.find("  -> 192.0.2.21:80"));
  EXPECT_NE(row.find("Masq"), std::string::npos);
  EXPECT_NE(row.find(" 7 "), std::string::npos);
  EXPECT_NE(row.find("up"), std::string::npos);
  const auto row2 = out.substr(out.find("  -> 192.0.2.22:80"));
  EXPECT_NE(row2.find("Route"), std::string::npos);
  EXPECT_NE(row2.find(" - "), std::string::npos);  // unknown counters shown as "-"
}

TEST(RenderServices, StatsColumns) {
  const std::string out = render_services(sample_services(), {.stats = true, .rate = false});
  EXPECT_NE(out.find("InPkts"), std::string::npos);
  const auto row = out.substr(out.find("  -> 192.0.2.21:80"));
  EXPECT_NE(row.find("1000"), std::string::npos);
  EXPECT_NE(row.find("900"), std::string::npos);
}

TEST(RenderConfig, RejectedReloadShowsErrorsAboveRunningConfig) {
  const json d = {{"file", "/etc/lvsd/lvsd.yaml"},
                  {"running", "services: []\n"},
                  {"last_reload",
                   {{"ok", false},
                    {"time", "T"},
                    {"errors", {"lvsd.yaml:3:5: services[0].weigth: unknown key"}}}}};
  const std::string out = render_config(d);
  EXPECT_NE(out.find("REJECTED"), std::string::npos);
  EXPECT_NE(out.find("#   lvsd.yaml:3:5: services[0].weigth: unknown key\n"), std::string::npos);
  EXPECT_NE(out.find("services: []\n"), std::string::npos);
}

TEST(RenderStatus, ShowsTheEssentials) {
  const json d = {{"version", "0.1.0"},
                  {"pid", 42},
                  {"uptime_seconds", 5},
                  {"started_at", "T"},
                  {"config_file", "/x"},
                  {"status_socket", "/s"},
                  {"backend", "auto"},
                  {"services", 2},
                  {"realservers", 5},
                  {"vrrp_instances", 1},
                  {"sync", false},
                  {"modules", json::array()},
                  {"reloads", {{"applied", 1}, {"rejected", 2}}},
                  {"clients", 1},
                  {"subscribers", 0},
                  {"last_reload", {{"ok", false}, {"time", "T2"}, {"errors", {"e"}}}}};
  const std::string out = render_status(d);
  EXPECT_NE(out.find("lvsd 0.1.0 (pid 42)"), std::string::npos);
  EXPECT_NE(out.find("services:      2 (5 realservers)"), std::string::npos);
  EXPECT_NE(out.find("reloads:       1 applied, 2 rejected"), std::string::npos);
  EXPECT_NE(out.find("last reload:   REJECTED at T2 (1 errors"), std::string::npos);
}

TEST(RenderEvent, OneLinePerEvent) {
  const json e = {{"seq", 3}, {"time", "T"}, {"type", "reload"}, {"ok", true}};
  EXPECT_EQ(render_event(e), "T #3 reload ok=true\n");
}

}  // namespace
}  // namespace lvsd::ctl

namespace lvsd::ctl {
namespace {

TEST(RenderServices, IpvsSourceGetsIpvsadmsBanner) {
  json d = sample_services();
  d["source"] = "ipvs";
  d["info"] = {{"version", "1.2.1"}, {"conn_table_size", 4096}};
  const std::string out = render_services(d, {});
  EXPECT_EQ(out.rfind("IP Virtual Server version 1.2.1 (size=4096)\n", 0), 0u) << out;
  EXPECT_EQ(out.find("(no dataplane"), std::string::npos);
}

}  // namespace
}  // namespace lvsd::ctl

namespace lvsd::ctl {
namespace {

TEST(RenderForwarding, BackendAndCounters) {
  const json d = {{"backend", "ipvs"},
                  {"choice", "ipvs (auto)"},
                  {"info", {{"version", "1.2.1"}, {"conn_table_size", 4096}}},
                  {"owned_services", 3},
                  {"last_reconcile", "T"},
                  {"last_error", ""},
                  {"counters",
                   {{"reconciles", 9},
                    {"ops_applied", 12},
                    {"ops_failed", 1},
                    {"drift_repairs", 2},
                    {"readback_errors", 0}}}};
  const std::string out = render_forwarding(d);
  EXPECT_NE(out.find("backend:        ipvs\n"), std::string::npos) << out;
  EXPECT_NE(out.find("version:        1.2.1 (conn table size 4096)"), std::string::npos);
  EXPECT_NE(out.find("reconciles:     9 (ops applied 12, failed 1; drift repaired 2"),
            std::string::npos);
  EXPECT_EQ(out.find("last error"), std::string::npos);
  EXPECT_NE(render_forwarding({{"backend", nullptr}, {"choice", "none: ..."}})
                .find("backend:        none"),
            std::string::npos);
}

}  // namespace
}  // namespace lvsd::ctl

namespace lvsd::ctl {
namespace {

TEST(RenderChecks, CheckersAndQuorum) {
  const json d = json::parse(R"({
    "checkers": [{"target": "192.0.2.21:80", "check": "web", "type": "http", "state": "down",
                  "since_seconds": 12.4, "flaps": 3, "attempts": 40, "latency_ms": 1.25,
                  "last_ok": false, "last_reason": "connection refused",
                  "users": ["tcp 192.0.2.200:80 192.0.2.21:80"]}],
    "services": [{"service": "tcp 192.0.2.200:80", "name": "web", "quorum": "down",
                  "healthy_weight": 0, "quorum_weight": 1, "sorry_mode": true}],
    "transitions": 3})");
  const std::string out = render_checks(d);
  EXPECT_NE(out.find("192.0.2.21:80"), std::string::npos) << out;
  EXPECT_NE(out.find("connection refused"), std::string::npos);
  EXPECT_NE(out.find("1.2ms"), std::string::npos);
  EXPECT_NE(out.find("12s"), std::string::npos);
  EXPECT_NE(out.find("active"), std::string::npos);
}

}  // namespace
}  // namespace lvsd::ctl

namespace lvsd::ctl {
namespace {

TEST(RenderVrrp, RuntimeInstancesWithCountersAndLastTransition) {
  const json d = {
      {"source", "vrrp"},
      {"instances",
       {{{"name", "VI_1"},
         {"interface", "eth0"},
         {"vrid", 51},
         {"version", 3},
         {"state", "master"},
         {"priority", 200},
         {"effective_priority", 190},
         {"advert_interval", "1s"},
         {"master", "192.0.2.11"},
         {"master_priority", 190},
         {"virtual_addresses", {"192.0.2.200/24 dev eth0"}},
         {"adverts", {{"sent", 12}, {"received", 3}}},
         {"dropped", 2},
         {"drops", {{"bad_ttl", 2}, {"auth_mismatch", 0}}},
         {"vmac", {{"name", "vrrp.51"}, {"mac", "00:00:5e:00:01:33"}, {"ready", true}}},
         {"last_transition",
          {{"from", "backup"},
           {"to", "master"},
           {"time", "2024-01-02T03:04:05.678Z"},
           {"reason", "master down timer expired"}}}}}},
      {"channels", {{{"interface", "eth0"}, {"family", "inet"}, {"drops", {{"unknown_vrid", 4}}}}}},
      {"sync_groups", json::array()}};
  const std::string out = render_vrrp(d);
  EXPECT_EQ(out.find("(VRRP not running"), std::string::npos);
  EXPECT_NE(out.find("MASTER"), std::string::npos) << out;
  EXPECT_NE(out.find("200 (effective 190)"), std::string::npos) << out;
  EXPECT_NE(out.find("192.0.2.11 (190)"), std::string::npos) << out;
  EXPECT_NE(
      out.find("VI_1: BACKUP -> MASTER at 2024-01-02T03:04:05.678Z: master down timer expired"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("VI_1: dropped: bad_ttl=2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("VI_1: vmac vrrp.51 00:00:5e:00:01:33\n"), std::string::npos) << out;
  EXPECT_NE(out.find("eth0/inet (no instance): dropped: unknown_vrid=4"), std::string::npos) << out;
}

TEST(RenderVrrp, ConfiguredInstancesWhenNotRunning) {
  const json d = {{"source", "config"},
                  {"instances",
                   {{{"name", "VI_LAB"},
                     {"interface", "eth0"},
                     {"vrid", 51},
                     {"version", 2},
                     {"priority", 100},
                     {"advert_interval", "1s"},
                     {"state", "not running"},
                     {"virtual_addresses", {"192.0.2.200/24"}}}}},
                  {"sync_groups", json::array()}};
  const std::string out = render_vrrp(d);
  EXPECT_EQ(out.rfind("(VRRP not running: configured instances)\n", 0), 0u) << out;
  EXPECT_NE(out.find("VI_LAB"), std::string::npos);
  EXPECT_NE(out.find("not running"), std::string::npos);
  EXPECT_NE(out.find("192.0.2.200/24"), std::string::npos);
}

}  // namespace
}  // namespace lvsd::ctl

namespace lvsd::ctl {
namespace {

json realserver_answer() {
  return json::parse(R"({"service": "tcp 192.0.2.200:80", "name": "web",
    "realserver": "192.0.2.22:80", "changed": true, "admin": "drain", "weight_override": null,
    "previous": {"admin": "ready", "weight_override": null}, "state": "draining",
    "healthy": true, "checked": true, "configured_weight": 1, "weight": 0, "sorry_mode": false})");
}

TEST(RenderRealserver, OneLineSayingWhatChangedAndWhereItStands) {
  json d = realserver_answer();
  EXPECT_EQ(render_realserver(d),
            "web 192.0.2.22:80: admin drain (was ready); now draining, weight 0, checks say up\n");
  d["admin"] = "maint";
  d["previous"]["admin"] = "drain";
  d["state"] = "maint";
  d["weight"] = nullptr;
  d["healthy"] = false;
  d["checked"] = true;
  d["sorry_mode"] = true;
  EXPECT_EQ(render_realserver(d),
            "web 192.0.2.22:80: admin maint (was drain); now maint, out of the table, checks say "
            "down, service in sorry mode\n");
}

TEST(RenderRealserver, WeightOverrideAndNoChange) {
  json d = realserver_answer();
  d["admin"] = "ready";
  d["weight_override"] = 3;
  d["state"] = "up";
  d["weight"] = 3;
  d["checked"] = false;
  EXPECT_EQ(render_realserver(d),
            "web 192.0.2.22:80: weight override 3 (was none); now up, weight 3\n");
  d["previous"]["weight_override"] = 3;
  d["changed"] = false;
  EXPECT_EQ(render_realserver(d),
            "web 192.0.2.22:80: unchanged (admin ready, weight override 3); now up, weight 3\n");
  d["weight_override"] = nullptr;
  d["weight"] = 1;
  EXPECT_EQ(render_realserver(d),
            "web 192.0.2.22:80: weight override none (was 3); now up, weight 1\n");
}

TEST(RenderServices, AdminColumn) {
  json d = sample_services();
  auto& rss = d["services"][0]["realservers"];
  rss[0]["admin"] = "drain";
  rss[0]["weight_override"] = 5;
  rss[0]["health"] = "draining";
  rss[1]["admin"] = "ready";
  rss[1]["weight_override"] = nullptr;
  const std::string out = render_services(d, {});
  EXPECT_NE(out.find("Health   Since  Admin\n"), std::string::npos) << out;
  const auto row = out.substr(out.find("  -> 192.0.2.21:80"));
  EXPECT_NE(row.find("draining 12s    drain,weight=5\n"), std::string::npos) << out;
  const auto row2 = out.substr(out.find("  -> 192.0.2.22:80"));
  EXPECT_NE(row2.substr(0, row2.find('\n')).find(" -"), std::string::npos) << out;
}

TEST(RenderChecks, RuntimeTableListsOnlyChangedRealservers) {
  const json d = json::parse(R"({"checkers": [], "transitions": 0, "services": [
    {"service": "tcp 192.0.2.200:80", "name": "web", "quorum": "up", "healthy_weight": 2,
     "quorum_weight": 1, "sorry_mode": false, "realservers": [
       {"realserver": "192.0.2.21:80", "state": "up", "healthy": true, "checked": true,
        "admin": "ready", "weight_override": null, "weight": 1},
       {"realserver": "192.0.2.22:80", "state": "maint", "healthy": false, "checked": true,
        "admin": "maint", "weight_override": null, "weight": null},
       {"realserver": "192.0.2.23:80", "state": "up", "healthy": true, "checked": false,
        "admin": "ready", "weight_override": 3, "weight": 3}]}]})");
  const std::string out = render_checks(d);
  EXPECT_NE(out.find("Runtime (lvsctl drain/maint/ready/weight):\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("192.0.2.21:80"), std::string::npos) << out;
  EXPECT_NE(out.find("web      192.0.2.22:80  maint  down    maint     out"), std::string::npos)
      << out;
  EXPECT_NE(out.find("web      192.0.2.23:80  up     -       weight=3  3"), std::string::npos)
      << out;
  // Nothing changed at runtime: no such table.
  json plain = d;
  plain["services"][0]["realservers"] = json::array({d["services"][0]["realservers"][0]});
  EXPECT_EQ(render_checks(plain).find("Runtime"), std::string::npos);
}

}  // namespace
}  // namespace lvsd::ctl
