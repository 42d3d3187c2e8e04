#include "daemon/core/config_views.hpp"

#include <chrono>

namespace lvsd::core {

using nlohmann::json;

namespace {

json str(std::string_view s) {
  return std::string(s);
}

json seconds(config::Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace

json service_json(const config::Service& s) {
  json j = {
      {"name", s.name},
      {"key", s.key()},
      {"protocol", str(config::to_string(s.protocol))},
      {"address", s.address ? json(s.address->to_string()) : json()},
      {"port", s.port},
      {"fwmark", s.fwmark},
      {"family", str(config::to_string(s.family))},
      {"scheduler", s.scheduler},
      {"scheduler_flags", s.scheduler_flags},
      {"one_packet", s.one_packet},
      {"method", str(config::to_string(s.method))},
      {"state", "configured"},
      {"quorum", {{"weight", s.quorum.weight}, {"hysteresis", s.quorum.hysteresis}}},
      {"check", s.check ? json(str(config::to_string(s.check->type))) : json()},
  };
  if (s.persistence) {
    json p = {{"timeout_seconds", seconds(s.persistence->timeout)}};
    if (s.family == config::Family::inet) {
      p["netmask"] = s.persistence->netmask.to_string();
    } else {
      p["prefix"] = s.persistence->prefix;
    }
    j["persistence"] = p;
  } else {
    j["persistence"] = nullptr;
  }
  j["sorry_server"] = s.sorry_server
                          ? json{{"address", s.sorry_server->address.to_string()},
                                 {"port", s.sorry_server->port},
                                 {"method", str(config::to_string(s.sorry_server->method))}}
                          : json();
  json rss = json::array();
  for (const auto& r : s.realservers) {
    rss.push_back({
        {"address", r.address.to_string()},
        {"port", r.port},
        {"weight", r.weight},
        {"method", str(config::to_string(r.method))},
        {"upper_threshold", r.upper_threshold},
        {"lower_threshold", r.lower_threshold},
        {"enabled", r.enabled},
        {"check", r.check ? json(str(config::to_string(r.check->type))) : json()},
        {"health", "unknown"},
    });
  }
  j["realservers"] = rss;
  return j;
}

json services_view(const config::Config& cfg) {
  json services = json::array();
  for (const auto& s : cfg.services)
    services.push_back(service_json(s));
  return {{"source", "config"}, {"services", services}};
}

json vrrp_view(const config::Config& cfg) {
  json instances = json::array();
  for (const auto& i : cfg.vrrp.instances) {
    json vips = json::array();
    for (const auto& v : i.virtual_addresses) {
      vips.push_back(v.address.to_string() + "/" + std::to_string(v.prefix));
    }
    instances.push_back({
        {"name", i.name},
        {"interface", i.interface},
        {"vrid", i.vrid},
        {"version", i.version},
        {"priority", i.priority},
        {"advert_interval", config::format_duration(i.advert_interval)},
        {"preempt", i.preempt},
        {"state", "not running"},
        {"virtual_addresses", vips},
    });
  }
  json groups = json::array();
  for (const auto& g : cfg.vrrp.sync_groups) {
    groups.push_back({{"name", g.name}, {"instances", g.instances}, {"state", "not running"}});
  }
  return {{"source", "config"}, {"instances", instances}, {"sync_groups", groups}};
}

json sync_view(const config::Config& cfg) {
  if (!cfg.sync) return {{"source", "config"}, {"enabled", false}};
  const auto& s = *cfg.sync;
  std::string role(config::to_string(s.role.kind));
  if (s.role.kind == config::SyncRoleKind::follow) role += " " + s.role.follow;
  return {{"source", "config"},
          {"enabled", true},
          {"state", "not running"},
          {"interface", s.interface},
          {"syncid", s.syncid},
          {"group", config::format_endpoint(s.group, s.port)},
          {"ttl", s.ttl},
          {"maxlen", s.maxlen},
          {"role", role}};
}

}  // namespace lvsd::core
