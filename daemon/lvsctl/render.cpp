#include "daemon/lvsctl/render.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace lvsd::ctl {

using nlohmann::json;

namespace {

// A value as a short string: strings unquoted, null as "-".
std::string str(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

std::string get(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return "-";
  return str(obj.at(key));
}

// Left-aligned columns, widths fitted to the content.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render(const std::string& indent = "") const {
    std::vector<std::size_t> widths;
    for (const auto& r : rows_) {
      if (widths.size() < r.size()) widths.resize(r.size(), 0);
      for (std::size_t i = 0; i < r.size(); ++i)
        widths[i] = std::max(widths[i], r[i].size());
    }
    std::string out;
    for (const auto& r : rows_) {
      std::string line = indent;
      for (std::size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size() + 2, ' ');
      }
      out += line + "\n";
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::string endpoint(const json& address, const json& port) {
  const std::string a = str(address);
  const bool v6 = a.find(':') != std::string::npos;
  return v6 ? fmt::format("[{}]:{}", a, str(port)) : fmt::format("{}:{}", a, str(port));
}

// ipvsadm's names for the forwarding methods.
std::string forward_name(const std::string& method) {
  if (method == "nat") return "Masq";
  if (method == "dr") return "Route";
  if (method == "tun") return "Tunnel";
  return method;
}

// The operator's runtime settings of a realserver in one cell: "-" (ready,
// configured weight), "drain", "maint", "weight=5", "drain,weight=5".
std::string admin_cell(const json& r) {
  std::string out;
  const std::string admin = r.value("admin", "ready");
  if (admin != "ready") out = admin;
  if (r.contains("weight_override") && !r["weight_override"].is_null())
    out += (out.empty() ? "" : ",") + std::string("weight=") + str(r["weight_override"]);
  return out.empty() ? "-" : out;
}

}  // namespace

std::string render_status(const json& d) {
  std::string out;
  out += fmt::format("lvsd {} (pid {}), up {}s since {}\n", get(d, "version"), get(d, "pid"),
                     get(d, "uptime_seconds"), get(d, "started_at"));
  out += fmt::format("config:        {}\n", get(d, "config_file"));
  out += fmt::format("status socket: {}\n", get(d, "status_socket"));
  out += fmt::format("backend:       {}\n", get(d, "backend"));
  out += fmt::format("services:      {} ({} realservers)\n", get(d, "services"),
                     get(d, "realservers"));
  out += fmt::format("vrrp:          {} instances\n", get(d, "vrrp_instances"));
  out += fmt::format("sync:          {}\n", d.value("sync", false) ? "configured" : "off");
  std::string modules;
  if (d.contains("modules")) {
    for (const auto& m : d["modules"])
      modules += (modules.empty() ? "" : ", ") + str(m);
  }
  out += fmt::format("modules:       {}\n", modules.empty() ? "(none)" : modules);
  if (d.contains("reloads")) {
    out += fmt::format("reloads:       {} applied, {} rejected\n", get(d["reloads"], "applied"),
                       get(d["reloads"], "rejected"));
  }
  if (d.contains("last_reload")) {
    const auto& r = d["last_reload"];
    out += fmt::format("last reload:   {} at {}", r.value("ok", false) ? "ok" : "REJECTED",
                       get(r, "time"));
    if (r.contains("errors") && !r["errors"].empty()) {
      out += fmt::format(" ({} errors; see `lvsctl config`)", r["errors"].size());
    }
    out += "\n";
  }
  out +=
      fmt::format("clients:       {} ({} subscribed)\n", get(d, "clients"), get(d, "subscribers"));
  return out;
}

std::string render_services(const json& d, const ServicesOptions& o) {
  // Fixed widths as ipvsadm -Ln prints them, so operators' eyes and scripts
  // that cut columns find things where they expect.
  std::vector<std::string> cols;
  if (o.stats) {
    cols = {"Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"};
  } else if (o.rate) {
    cols = {"CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"};
  } else {
    cols = {"ActiveConn", "InActConn"};
  }
  auto rs_line = [&](const std::string& ep, const std::string& fwd, const std::string& weight,
                     const std::vector<std::string>& values, const std::string& health,
                     const std::string& since, const std::string& admin) {
    std::string line = fmt::format("  -> {:<28} {:<7} {:<6}", ep, fwd, weight);
    for (const auto& v : values)
      line += fmt::format(" {:<10}", v);
    line += fmt::format(" {:<8} {:<6} {}", health, since, admin);
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    return line + "\n";
  };

  std::string out;
  if (d.value("source", "") == "config") {
    out += "(no dataplane: showing the configured services; no counters)\n";
    if (d.contains("dataplane")) out += fmt::format("(dataplane: {})\n", get(d, "dataplane"));
  }
  if (d.contains("info") && d["info"].is_object() && d.value("source", "") == "ipvs") {
    out += fmt::format("IP Virtual Server version {} (size={})\n", get(d["info"], "version"),
                       get(d["info"], "conn_table_size"));
  }
  out += "Prot LocalAddress:Port Scheduler Flags\n";
  out += rs_line("RemoteAddress:Port", "Forward", "Weight", cols, "Health", "Since", "Admin");
  for (const auto& s : d.value("services", json::array())) {
    std::string prot;
    std::string local;
    if (s.value("fwmark", 0) != 0) {
      prot = "FWM";
      local = fmt::format("{}{}", s.value("fwmark", 0),
                          s.value("family", "inet") == "inet6" ? " IPv6" : "");
    } else {
      prot = upper(s.value("protocol", "tcp"));
      local = endpoint(s["address"], s["port"]);
    }
    std::string flags;
    if (s.contains("persistence") && !s["persistence"].is_null()) {
      flags += fmt::format("persistent {}", get(s["persistence"], "timeout_seconds"));
      if (s["persistence"].contains("netmask"))
        flags += " mask " + get(s["persistence"], "netmask");
      if (s["persistence"].contains("prefix"))
        flags += " prefix " + get(s["persistence"], "prefix");
    }
    for (const auto& f : s.value("scheduler_flags", json::array())) {
      flags += (flags.empty() ? "" : " ") + str(f);
    }
    if (s.value("one_packet", false)) flags += (flags.empty() ? "" : " ") + std::string("ops");
    out += fmt::format("{:<5}{} {}{}{}\n", prot, local, s.value("scheduler", "-"),
                       flags.empty() ? "" : " ", flags);
    for (const auto& r : s.value("realservers", json::array())) {
      std::vector<std::string> values;
      if (o.stats) {
        const json stats = r.value("stats", json());
        for (const char* k : {"conns", "inpkts", "outpkts", "inbytes", "outbytes"}) {
          values.push_back(get(stats, k));
        }
      } else if (o.rate) {
        const json rates = r.value("rates", json());
        for (const char* k : {"cps", "inpps", "outpps", "inbps", "outbps"}) {
          values.push_back(get(rates, k));
        }
      } else {
        values = {get(r, "active_conns"), get(r, "inactive_conns")};
      }
      out += rs_line(endpoint(r["address"], r["port"]), forward_name(r.value("method", "nat")),
                     get(r, "weight"), values, get(r, "health"), get(r, "since"),
                     r.contains("admin") ? admin_cell(r) : "");
    }
  }
  return out;
}

std::string render_forwarding(const json& d) {
  std::string out;
  out +=
      fmt::format("backend:        {}\n",
                  d.value("backend", json()).is_null() ? std::string("none") : get(d, "backend"));
  out += fmt::format("choice:         {}\n", get(d, "choice"));
  if (d.contains("info")) {
    out += fmt::format("version:        {} (conn table size {})\n", get(d["info"], "version"),
                       get(d["info"], "conn_table_size"));
  }
  out += fmt::format("owned services: {}\n", get(d, "owned_services"));
  out += fmt::format("last reconcile: {}\n", get(d, "last_reconcile"));
  if (const auto c = d.value("counters", json()); c.is_object()) {
    out += fmt::format(
        "reconciles:     {} (ops applied {}, failed {}; drift repaired {}; read-back errors {})\n",
        get(c, "reconciles"), get(c, "ops_applied"), get(c, "ops_failed"), get(c, "drift_repairs"),
        get(c, "readback_errors"));
  }
  const std::string err = d.value("last_error", "");
  if (!err.empty()) out += fmt::format("last error:     {}\n", err);
  return out;
}

std::string render_checks(const json& d) {
  Table t(
      {"Target", "Check", "Type", "State", "Since", "Flaps", "Latency", "Last result", "Used by"});
  for (const auto& c : d.value("checkers", json::array())) {
    std::string users;
    for (const auto& u : c.value("users", json::array()))
      users += (users.empty() ? "" : ", ") + str(u);
    std::string latency = "-";
    if (c.contains("latency_ms")) latency = fmt::format("{:.1f}ms", c["latency_ms"].get<double>());
    std::string since = "-";
    if (c.contains("since_seconds"))
      since = fmt::format("{:.0f}s", c["since_seconds"].get<double>());
    t.add({get(c, "target"), get(c, "check"), get(c, "type"), get(c, "state"), since,
           get(c, "flaps"), latency, get(c, "last_reason"), users});
  }
  std::string out = t.render();
  const auto services = d.value("services", json::array());
  if (!services.empty()) {
    Table q({"Service", "Name", "Quorum", "Healthy weight", "Needed", "Sorry server"});
    for (const auto& s : services) {
      q.add({get(s, "service"), get(s, "name"), get(s, "quorum"), get(s, "healthy_weight"),
             get(s, "quorum_weight"), s.value("sorry_mode", false) ? "active" : "-"});
    }
    out += "\n" + q.render();
    // Realservers an operator changed at runtime, next to what their checks say.
    Table a({"Service", "Realserver", "State", "Checks", "Admin", "Weight"});
    bool any = false;
    for (const auto& s : services) {
      for (const auto& r : s.value("realservers", json::array())) {
        const std::string cell = admin_cell(r);
        if (cell == "-") continue;
        any = true;
        const std::string checks =
            !r.value("checked", false) ? "-" : (r.value("healthy", true) ? "up" : "down");
        a.add({get(s, "name"), get(r, "realserver"), get(r, "state"), checks, cell,
               r.contains("weight") && r["weight"].is_null() ? "out" : get(r, "weight")});
      }
    }
    if (any) out += "\nRuntime (lvsctl drain/maint/ready/weight):\n" + a.render();
  }
  return out;
}

std::string render_vrrp(const json& d) {
  std::string out;
  const bool running = d.value("source", "") != "config";
  if (!running) out += "(VRRP not running: configured instances)\n";
  Table t({"Instance", "Interface", "VRID", "Version", "State", "Priority", "Advert", "Master",
           "Sent", "Received", "Dropped", "VIPs"});
  std::string details;
  for (const auto& i : d.value("instances", json::array())) {
    std::string vips;
    for (const auto& v : i.value("virtual_addresses", json::array())) {
      vips += (vips.empty() ? "" : ",") + str(v);
    }
    // Configured priority, and the effective one when trackers changed it.
    std::string prio = get(i, "priority");
    if (i.contains("effective_priority") && get(i, "effective_priority") != prio)
      prio += " (effective " + get(i, "effective_priority") + ")";
    std::string master = get(i, "master");
    if (i.contains("master_priority") && !i["master_priority"].is_null())
      master += " (" + get(i, "master_priority") + ")";
    const json adverts = i.value("adverts", json::object());
    t.add({get(i, "name"), get(i, "interface"), get(i, "vrid"), get(i, "version"),
           running ? upper(get(i, "state")) : get(i, "state"), prio, get(i, "advert_interval"),
           running ? master : "-", get(adverts, "sent"), get(adverts, "received"),
           get(i, "dropped"), vips});
    const std::string name = get(i, "name");
    if (i.contains("fault_reason"))
      details += fmt::format("  {}: fault: {}\n", name, get(i, "fault_reason"));
    if (i.contains("last_transition") && i["last_transition"].is_object()) {
      const auto& lt = i["last_transition"];
      details += fmt::format("  {}: {} -> {} at {}: {}\n", name, upper(get(lt, "from")),
                             upper(get(lt, "to")), get(lt, "time"), get(lt, "reason"));
    }
    std::string drops;
    const json idrops = i.value("drops", json::object());
    for (const auto& [reason, n] : idrops.items()) {
      if (n.is_number() && n.get<std::uint64_t>() > 0)
        drops += fmt::format(" {}={}", reason, n.get<std::uint64_t>());
    }
    if (!drops.empty()) details += fmt::format("  {}: dropped:{}\n", name, drops);
    if (i.contains("vmac") && i["vmac"].is_object()) {
      const auto& v = i["vmac"];
      details += fmt::format("  {}: vmac {} {}{}\n", name, get(v, "name"), get(v, "mac"),
                             v.value("ready", true) ? "" : " (not ready)");
    }
  }
  out += t.render();
  for (const auto& c : d.value("channels", json::array())) {
    std::string drops;
    const json cdrops = c.value("drops", json::object());
    for (const auto& [reason, n] : cdrops.items()) {
      if (n.is_number() && n.get<std::uint64_t>() > 0)
        drops += fmt::format(" {}={}", reason, n.get<std::uint64_t>());
    }
    if (!drops.empty())
      details += fmt::format("  {}/{} (no instance): dropped:{}\n", get(c, "interface"),
                             get(c, "family"), drops);
  }
  out += details;
  const auto groups = d.value("sync_groups", json::array());
  if (!groups.empty()) {
    Table g({"SyncGroup", "Instances", "State"});
    for (const auto& s : groups) {
      std::string members;
      for (const auto& m : s.value("instances", json::array())) {
        members += (members.empty() ? "" : ",") + str(m);
      }
      g.add({get(s, "name"), members, get(s, "state")});
    }
    out += g.render();
  }
  return out;
}

std::string render_sync(const json& d) {
  if (!d.value("enabled", false)) return "connection sync: off\n";
  std::string out;
  if (d.value("source", "") == "config") out += "(sync not running: configured settings)\n";
  for (const auto& [k, v] : d.items()) {
    if (k == "source" || k == "enabled") continue;
    out += fmt::format("{:<14} {}\n", k + ":", v.is_object() || v.is_array() ? v.dump() : str(v));
  }
  return out;
}

std::string render_reload(const json& d) {
  std::string out = fmt::format("reload applied at {} from {}\n", get(d, "time"), get(d, "file"));
  const auto changes = d.value("changes", json::array());
  if (changes.empty()) out += "  no changes\n";
  for (const auto& c : changes)
    out += "  " + str(c) + "\n";
  return out;
}

std::string render_config(const json& d) {
  std::string out;
  out += fmt::format("# file: {}\n", get(d, "file"));
  if (d.contains("last_reload")) {
    const auto& r = d["last_reload"];
    if (r.value("ok", false)) {
      out += fmt::format("# last reload: ok at {}\n", get(r, "time"));
    } else {
      out += fmt::format("# last reload: REJECTED at {}; the running config below is kept\n",
                         get(r, "time"));
      for (const auto& e : r.value("errors", json::array()))
        out += "#   " + str(e) + "\n";
    }
  }
  out += get(d, "running");
  if (!out.empty() && out.back() != '\n') out += "\n";
  return out;
}

std::string render_realserver(const json& d) {
  const json prev = d.value("previous", json::object());
  const std::string admin = get(d, "admin");
  const std::string was_admin = get(prev, "admin");
  auto weight_name = [](const json& v) { return v.is_null() ? std::string("none") : str(v); };
  const std::string w = weight_name(d.value("weight_override", json()));
  const std::string was_w = weight_name(prev.value("weight_override", json()));
  std::string what;
  if (admin != was_admin) what = fmt::format("admin {} (was {})", admin, was_admin);
  if (w != was_w)
    what += fmt::format("{}weight override {} (was {})", what.empty() ? "" : ", ", w, was_w);
  if (what.empty()) what = fmt::format("unchanged (admin {}, weight override {})", admin, w);
  const json weight = d.value("weight", json());
  std::string now = fmt::format("now {}, ", get(d, "state"));
  now += weight.is_null() ? std::string("out of the table") : "weight " + str(weight);
  if (d.value("checked", false))
    now += fmt::format(", checks say {}", d.value("healthy", true) ? "up" : "down");
  if (d.value("sorry_mode", false)) now += ", service in sorry mode";
  return fmt::format("{} {}: {}; {}\n", get(d, "name"), get(d, "realserver"), what, now);
}

std::string render_event(const json& e) {
  std::string out = fmt::format("{} #{} {}", get(e, "time"), get(e, "seq"), get(e, "type"));
  for (const auto& [k, v] : e.items()) {
    if (k == "time" || k == "seq" || k == "type") continue;
    out += fmt::format(" {}={}", k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out + "\n";
}

}  // namespace lvsd::ctl
