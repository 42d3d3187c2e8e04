#include "daemon/config/dump.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "daemon/config/yaml_nodes.hpp"

namespace lvsd::config {

namespace detail {

namespace {

YAML::Node str(std::string_view s) {
  return YAML::Node(std::string(s));
}
YAML::Node dur(Duration d) {
  return YAML::Node(format_duration(d));
}
YAML::Node addr(const Address& a) {
  return YAML::Node(a.to_string());
}
YAML::Node boolean(bool b) {
  return YAML::Node(b ? "true" : "false");
}
template <class T>
YAML::Node num(T v) {
  return YAML::Node(fmt::format("{}", v));
}

YAML::Node seq(const std::vector<std::string>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (const auto& s : v)
    n.push_back(s);
  return n;
}

void put_command(YAML::Node& n, const char* key, const Command& c) {
  if (!c.empty()) n[key] = seq(c);
}

YAML::Node notify_node(const Notify& nt) {
  YAML::Node n(YAML::NodeType::Map);
  put_command(n, "master", nt.master);
  put_command(n, "backup", nt.backup);
  put_command(n, "fault", nt.fault);
  put_command(n, "stop", nt.stop);
  return n;
}

YAML::Node track_list(const std::vector<TrackEntry>& entries) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (const auto& e : entries) {
    YAML::Node t;
    t["name"] = e.name;
    t["weight"] = num(e.weight);
    n.push_back(t);
  }
  return n;
}

YAML::Node check_ref(const Check& c, const std::vector<Check>& named) {
  auto it =
      std::find_if(named.begin(), named.end(), [&](const Check& n) { return n.name == c.name; });
  if (it != named.end() && *it == c) return str(c.name);
  return to_node(c);
}

}  // namespace

YAML::Node to_node(const Global& g) {
  YAML::Node n;
  n["status_socket"]["path"] = g.status_socket.path;
  n["status_socket"]["mode"] = fmt::format("{:04o}", g.status_socket.mode);
  n["status_socket"]["group"] = g.status_socket.group;
  n["logging"]["target"] = str(to_string(g.logging.target));
  n["logging"]["level"] = str(to_string(g.logging.level));
  n["script_user"] = g.script_user;
  n["pid_file"] = g.pid_file;
  n["router_id"] = g.router_id;
  return n;
}

YAML::Node to_node(const Forwarding& f) {
  YAML::Node n;
  n["backend"] = str(to_string(f.backend));
  n["timeouts"]["tcp"] = dur(f.timeouts.tcp);
  n["timeouts"]["tcp_fin"] = dur(f.timeouts.tcp_fin);
  n["timeouts"]["udp"] = dur(f.timeouts.udp);
  n["reconcile_interval"] = dur(f.reconcile_interval);
  n["on_stop"] = str(to_string(f.on_stop));
  n["foreign_services"] = str(to_string(f.foreign_services));
  const auto& u = f.userspace;
  YAML::Node us;
  us["queue_base"] = num(u.queue_base);
  us["queues"] = num(u.queues);
  us["queue_maxlen"] = num(u.queue_maxlen);
  us["fail_open"] = boolean(u.fail_open);
  us["max_connections"] = num(u.max_connections);
  us["syn_recv_timeout"] = dur(u.syn_recv_timeout);
  us["steering"] = str(to_string(u.steering));
  n["userspace"] = us;
  return n;
}

YAML::Node to_node(const Check& c) {
  using T = CheckType;
  YAML::Node n;
  n["name"] = c.name;
  n["type"] = str(to_string(c.type));
  n["interval"] = dur(c.interval);
  n["fast_interval"] = dur(c.fast_interval);
  n["timeout"] = dur(c.timeout);
  n["rise"] = num(c.rise);
  n["fall"] = num(c.fall);
  n["alpha"] = boolean(c.alpha);
  if (c.connect_address) n["connect_address"] = addr(*c.connect_address);
  n["connect_port"] = num(c.connect_port);
  if (c.bind_address) n["bind_address"] = addr(*c.bind_address);
  n["bind_interface"] = c.bind_interface;
  n["fwmark"] = num(c.fwmark);
  if (c.type == T::tcp || c.type == T::udp) {
    n["send"] = c.send;
    n["expect"] = c.expect;
  }
  if (c.type == T::http || c.type == T::https) {
    const auto& h = c.http;
    n["method"] = h.method;
    n["path"] = h.path;
    n["host"] = h.host;
    YAML::Node headers(YAML::NodeType::Map);
    for (const auto& [k, v] : h.headers)
      headers[k] = v;
    n["headers"] = headers;
    n["username"] = h.username;
    n["password"] = h.password;
    YAML::Node status(YAML::NodeType::Sequence);
    for (const auto& r : h.status) {
      status.push_back(r.from == r.to ? fmt::format("{}", r.from)
                                      : fmt::format("{}-{}", r.from, r.to));
    }
    n["status"] = status;
    n["body_regex"] = h.body_regex;
    n["body_digest"] = h.body_digest;
    n["max_body"] = num(h.max_body);
    n["follow_redirects"] = boolean(h.follow_redirects);
    n["max_redirects"] = num(h.max_redirects);
  }
  if (c.type == T::https || c.type == T::ssl) {
    n["sni"] = c.tls.sni;
    n["verify_peer"] = boolean(c.tls.verify_peer);
    n["ca_file"] = c.tls.ca_file;
    n["client_cert"] = c.tls.client_cert;
    n["client_key"] = c.tls.client_key;
  }
  if (c.type == T::ssl) n["expiry_warning"] = dur(c.tls.expiry_warning);
  if (c.type == T::misc) {
    put_command(n, "command", c.misc.command);
    n["user"] = c.misc.user;
    n["dynamic_weight"] = boolean(c.misc.dynamic_weight);
  }
  if (c.type == T::dns) {
    n["query_name"] = c.dns.query_name;
    n["query_type"] = str(to_string(c.dns.query_type));
    n["expect"] = seq(c.dns.expect);
  }
  if (c.type == T::smtp) n["helo_name"] = c.helo_name;
  return n;
}

YAML::Node to_node(const RealServer& rs, const Service& s, const std::vector<Check>& named) {
  YAML::Node n;
  n["address"] = addr(rs.address);
  n["port"] = num(rs.port);
  n["weight"] = num(rs.weight);
  n["method"] = str(to_string(rs.method));
  n["upper_threshold"] = num(rs.upper_threshold);
  n["lower_threshold"] = num(rs.lower_threshold);
  if (rs.check && rs.check != s.check) n["check"] = check_ref(*rs.check, named);
  n["enabled"] = boolean(rs.enabled);
  return n;
}

YAML::Node to_node(const Service& s, const std::vector<Check>& named) {
  YAML::Node n;
  n["name"] = s.name;
  if (s.fwmark != 0) {
    n["fwmark"] = num(s.fwmark);
    n["family"] = str(to_string(s.family));
  } else {
    if (s.address) n["address"] = addr(*s.address);
    n["port"] = num(s.port);
  }
  n["protocol"] = str(to_string(s.protocol));
  n["scheduler"] = s.scheduler;
  n["scheduler_flags"] = seq(s.scheduler_flags);
  n["one_packet"] = boolean(s.one_packet);
  if (s.persistence) {
    YAML::Node p;
    p["timeout"] = dur(s.persistence->timeout);
    if (s.family == Family::inet6)
      p["prefix"] = num(s.persistence->prefix);
    else
      p["netmask"] = s.persistence->netmask.to_string();
    n["persistence"] = p;
  }
  n["method"] = str(to_string(s.method));
  if (s.tunnel) {
    YAML::Node t;
    t["type"] = str(to_string(s.tunnel->type));
    if (s.tunnel->type == TunnelType::gue) t["port"] = num(s.tunnel->port);
    t["checksum"] = str(to_string(s.tunnel->checksum));
    n["tunnel"] = t;
  }
  YAML::Node q;
  q["weight"] = num(s.quorum.weight);
  q["hysteresis"] = num(s.quorum.hysteresis);
  put_command(q, "on_up", s.quorum.on_up);
  put_command(q, "on_down", s.quorum.on_down);
  n["quorum"] = q;
  if (s.sorry_server) {
    YAML::Node ss;
    ss["address"] = addr(s.sorry_server->address);
    ss["port"] = num(s.sorry_server->port);
    ss["method"] = str(to_string(s.sorry_server->method));
    n["sorry_server"] = ss;
  }
  if (s.check) n["check"] = check_ref(*s.check, named);
  n["inhibit_on_failure"] = boolean(s.inhibit_on_failure);
  n["slow_start"] = dur(s.slow_start);
  YAML::Node rss(YAML::NodeType::Sequence);
  for (const auto& rs : s.realservers)
    rss.push_back(to_node(rs, s, named));
  n["realservers"] = rss;
  return n;
}

YAML::Node to_node(const VrrpInstance& vi) {
  YAML::Node n;
  n["name"] = vi.name;
  n["interface"] = vi.interface;
  n["vrid"] = num(unsigned{vi.vrid});
  n["version"] = num(vi.version);
  n["priority"] = num(unsigned{vi.priority});
  n["advert_interval"] = dur(vi.advert_interval);
  n["preempt"] = boolean(vi.preempt);
  n["preempt_delay"] = dur(vi.preempt_delay);
  n["accept"] = boolean(vi.accept);
  n["initial_state"] = str(to_string(vi.initial_state));
  YAML::Node vips(YAML::NodeType::Sequence);
  for (const auto& v : vi.virtual_addresses) {
    YAML::Node a;
    a["address"] = addr(v.address);
    a["prefix"] = num(v.prefix);
    a["device"] = v.device;
    a["label"] = v.label;
    a["scope"] = v.scope;
    vips.push_back(a);
  }
  n["virtual_addresses"] = vips;
  YAML::Node routes(YAML::NodeType::Sequence);
  for (const auto& r : vi.virtual_routes) {
    YAML::Node rn;
    rn["to"] = r.to.str();
    if (r.via) rn["via"] = addr(*r.via);
    rn["device"] = r.device;
    rn["table"] = num(r.table);
    routes.push_back(rn);
  }
  n["virtual_routes"] = routes;
  if (vi.unicast_source) n["unicast_source"] = addr(*vi.unicast_source);
  YAML::Node peers(YAML::NodeType::Sequence);
  for (const auto& p : vi.unicast_peers)
    peers.push_back(p.to_string());
  n["unicast_peers"] = peers;
  if (vi.auth) {
    n["auth"]["type"] = vi.auth->type;
    n["auth"]["password"] = vi.auth->password;
  }
  n["v3_checksum_pseudo_header"] = boolean(vi.v3_checksum_pseudo_header);
  n["garp"]["count"] = num(vi.garp.count);
  n["garp"]["interval"] = dur(vi.garp.interval);
  n["garp"]["repeat_delay"] = dur(vi.garp.repeat_delay);
  n["garp"]["refresh"] = dur(vi.garp.refresh);
  n["use_vmac"] = boolean(vi.use_vmac);
  if (!vi.vmac_name.empty()) n["vmac_name"] = vi.vmac_name;
  n["track"]["interfaces"] = track_list(vi.track.interfaces);
  n["track"]["scripts"] = track_list(vi.track.scripts);
  n["track"]["files"] = track_list(vi.track.files);
  n["track"]["services"] = track_list(vi.track.services);
  n["notify"] = notify_node(vi.notify);
  return n;
}

YAML::Node to_node(const VrrpSyncGroup& sg) {
  YAML::Node n;
  n["name"] = sg.name;
  n["instances"] = seq(sg.instances);
  n["notify"] = notify_node(sg.notify);
  return n;
}

YAML::Node to_node(const VrrpScript& s) {
  YAML::Node n;
  n["name"] = s.name;
  put_command(n, "command", s.command);
  n["interval"] = dur(s.interval);
  n["timeout"] = dur(s.timeout);
  n["weight"] = num(s.weight);
  n["rise"] = num(s.rise);
  n["fall"] = num(s.fall);
  n["user"] = s.user;
  return n;
}

YAML::Node to_node(const VrrpTrackFile& f) {
  YAML::Node n;
  n["name"] = f.name;
  n["path"] = f.path;
  n["weight"] = num(f.weight);
  return n;
}

YAML::Node to_node(const Sync& s) {
  YAML::Node n;
  n["interface"] = s.interface;
  n["syncid"] = num(unsigned{s.syncid});
  n["group"] = addr(s.group);
  n["port"] = num(s.port);
  n["ttl"] = num(unsigned{s.ttl});
  n["maxlen"] = num(s.maxlen);
  if (s.role.kind == SyncRoleKind::follow)
    n["role"]["follow"] = s.role.follow;
  else
    n["role"] = str(to_string(s.role.kind));
  n["threshold"] = num(s.threshold);
  n["period"] = num(s.period);
  n["full_resync"] = boolean(s.full_resync);
  if (s.auth) n["auth"]["key_file"] = s.auth->key_file;
  return n;
}

std::string render(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (!n.IsDefined() || n.IsNull()) return "none";
  YAML::Emitter e;
  e.SetMapFormat(YAML::Flow);
  e.SetSeqFormat(YAML::Flow);
  e << n;
  return e.c_str();
}

// Lists of scalars and empty containers read best on one line.
void flow_style_leaves(YAML::Node n) {
  if (n.IsMap()) {
    if (n.size() == 0) n.SetStyle(YAML::EmitterStyle::Flow);
    for (auto it = n.begin(); it != n.end(); ++it)
      flow_style_leaves(it->second);
  } else if (n.IsSequence()) {
    bool scalars = true;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->IsScalar()) scalars = false;
      flow_style_leaves(*it);
    }
    if (scalars) n.SetStyle(YAML::EmitterStyle::Flow);
  }
}

}  // namespace detail

std::string dump_yaml(const Config& c) {
  using detail::to_node;
  YAML::Node root;
  root["global"] = to_node(c.global);
  root["forwarding"] = to_node(c.forwarding);
  YAML::Node checks(YAML::NodeType::Sequence);
  for (const auto& ch : c.checks)
    checks.push_back(to_node(ch));
  root["checks"] = checks;
  YAML::Node services(YAML::NodeType::Sequence);
  for (const auto& s : c.services)
    services.push_back(to_node(s, c.checks));
  root["services"] = services;
  YAML::Node vrrp;
  YAML::Node instances(YAML::NodeType::Sequence), groups(YAML::NodeType::Sequence),
      scripts(YAML::NodeType::Sequence), files(YAML::NodeType::Sequence);
  for (const auto& i : c.vrrp.instances)
    instances.push_back(to_node(i));
  for (const auto& g : c.vrrp.sync_groups)
    groups.push_back(to_node(g));
  for (const auto& s : c.vrrp.scripts)
    scripts.push_back(to_node(s));
  for (const auto& f : c.vrrp.files)
    files.push_back(to_node(f));
  vrrp["instances"] = instances;
  vrrp["sync_groups"] = groups;
  vrrp["scripts"] = scripts;
  vrrp["files"] = files;
  root["vrrp"] = vrrp;
  if (c.sync) root["sync"] = to_node(*c.sync);
  detail::flow_style_leaves(root);
  YAML::Emitter e;
  e << root;
  std::string out = "# lvsd effective configuration (every default filled in)\n";
  out += e.c_str();
  out += "\n";
  return out;
}

}  // namespace lvsd::config
