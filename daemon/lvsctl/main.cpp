// lvsctl: the command-line client of lvsd's status socket.
//
// Exit codes: 0 ok; 1 the daemon answered with an error (e.g. a reload was
// rejected); 2 usage error; 3 the daemon is unreachable or broke the protocol.
#include <cstdlib>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "daemon/lvsctl/client.hpp"
#include "daemon/lvsctl/render.hpp"
#include "daemon/lvsctl/requests.hpp"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUnreachable = 3;

std::string default_socket() {
  if (const char* env = std::getenv("LVSD_SOCKET"); env && *env) return env;
  return "/run/lvsd/lvsd.sock";
}

}  // namespace

int main(int argc, char** argv) {
  using nlohmann::json;
  CLI::App app{"lvsctl - query and control lvsd through its status socket"};
  app.require_subcommand(1);
  // Global options may follow the subcommand too: `lvsctl status --json`.
  app.fallthrough();

  std::string socket_path = default_socket();
  bool as_json = false;
  double timeout_s = 5.0;
  app.add_option("-s,--socket", socket_path, "Status socket path (env LVSD_SOCKET)")
      ->capture_default_str();
  app.add_flag("-j,--json", as_json, "Print the daemon's JSON answer");
  app.add_option("-t,--timeout", timeout_s, "Seconds to wait for an answer")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();

  lvsd::ctl::ServicesOptions svc_opts;
  auto* status = app.add_subcommand("status", "Daemon status");
  auto* services = app.add_subcommand("services", "Virtual services and realservers (ipvsadm -Ln)");
  services->add_flag("--stats", svc_opts.stats, "Connection, packet and byte counters");
  services->add_flag("--rate", svc_opts.rate, "Per-second rates");
  auto* forwarding =
      app.add_subcommand("forwarding", "Dataplane backend, reconciliation and drift counters");
  auto* checks =
      app.add_subcommand("checks", "Health checkers, their state and quorum per service");
  auto* vrrp = app.add_subcommand("vrrp", "VRRP instances and sync groups");
  auto* sync = app.add_subcommand("sync", "Connection sync state and counters");
  auto* config = app.add_subcommand("config", "Running config and the last reload's result");
  auto* reload = app.add_subcommand("reload", "Reload the config file (like SIGHUP)");
  int count = 0;
  auto* events = app.add_subcommand("events", "Stream events (subscribe) until interrupted");
  events->add_option("-n,--count", count, "Exit after this many events (0 = no limit)");
  events->alias("subscribe");

  // Runtime realserver operations: the status socket's `realserver` command.
  std::string rs_service;
  std::string rs_realserver;
  std::string rs_weight;
  auto add_rs = [&](const char* name, const char* help) {
    auto* sub = app.add_subcommand(name, help);
    sub->add_option("service", rs_service,
                    "Service: name, key (\"tcp 192.0.2.200:80\") or VIP:port")
        ->required();
    sub->add_option("realserver", rs_realserver, "Realserver: address[:port]")->required();
    return sub;
  };
  auto* drain = add_rs("drain", "Drain a realserver: weight 0, its connections kept, no new ones");
  auto* ready = add_rs("ready", "Hand a realserver back to its health checks (ends drain/maint)");
  auto* maint = add_rs("maint", "Take a realserver out like a failed one, whatever its checks say");
  auto* weight =
      add_rs("weight", "Override a realserver's weight at runtime (ipvsadm -e -w), or reset it");
  weight->add_option("weight", rs_weight, "0..65535, or `reset` for the configured weight")
      ->required();

  CLI11_PARSE(app, argc, argv);

  std::string command;
  for (auto* sub : {status, services, forwarding, checks, vrrp, sync, config, reload, events, drain,
                    ready, maint, weight}) {
    if (sub->parsed()) command = sub->get_name();
  }
  if (command == "events") command = "subscribe";
  const std::string shown = command;  // the subcommand, for error messages

  try {
    lvsd::ctl::Client client(socket_path,
                             std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
    json request = {{"command", command}};
    if (command == "services") {
      request["stats"] = svc_opts.stats;
      request["rate"] = svc_opts.rate;
    }
    if (command == "drain" || command == "ready" || command == "maint" || command == "weight") {
      request = lvsd::ctl::realserver_request(command, rs_service, rs_realserver, rs_weight);
      command = "realserver";
    }
    client.send(request);
    const json response = client.receive();
    if (!response.is_object() || !response.contains("ok")) {
      std::cerr << "lvsctl: unexpected answer from lvsd: " << response.dump() << '\n';
      return kExitUnreachable;
    }
    if (!response.value("ok", false)) {
      if (as_json) {
        std::cout << response.dump(2) << '\n';
      } else {
        std::cerr << "lvsctl: " << shown << ": " << response.value("error", "failed") << '\n';
      }
      return kExitFailed;
    }
    const json& data = response["data"];
    if (command == "subscribe") {
      for (int seen = 0; count == 0 || seen < count; ++seen) {
        const json event = client.receive(/*block=*/true);
        // Events always carry "seq"; a line without it is the daemon's error
        // answer closing the stream (e.g. this client fell too far behind).
        if (!event.contains("seq")) {
          std::cerr << "lvsctl: " << event.value("error", "stream ended") << '\n';
          return kExitFailed;
        }
        std::cout << (as_json ? event.dump() + "\n" : lvsd::ctl::render_event(event)) << std::flush;
      }
      return 0;
    }
    if (as_json) {
      std::cout << data.dump(2) << '\n';
      return 0;
    }
    if (command == "status") std::cout << lvsd::ctl::render_status(data);
    if (command == "services") std::cout << lvsd::ctl::render_services(data, svc_opts);
    if (command == "forwarding") std::cout << lvsd::ctl::render_forwarding(data);
    if (command == "checks") std::cout << lvsd::ctl::render_checks(data);
    if (command == "vrrp") std::cout << lvsd::ctl::render_vrrp(data);
    if (command == "sync") std::cout << lvsd::ctl::render_sync(data);
    if (command == "config") std::cout << lvsd::ctl::render_config(data);
    if (command == "reload") std::cout << lvsd::ctl::render_reload(data);
    if (command == "realserver") std::cout << lvsd::ctl::render_realserver(data);
    return 0;
  } catch (const lvsd::ctl::Unreachable& e) {
    std::cerr << "lvsctl: " << e.what() << '\n';
    return kExitUnreachable;
  }
}
