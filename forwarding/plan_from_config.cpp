#include "forwarding/plan_from_config.hpp"

#include <chrono>

namespace lvsd::forwarding {

namespace {

Protocol to_model(config::Protocol p) {
  switch (p) {
    case config::Protocol::tcp:
      return Protocol::tcp;
    case config::Protocol::udp:
      return Protocol::udp;
    case config::Protocol::sctp:
      return Protocol::sctp;
  }
  return Protocol::tcp;
}

Family to_model(config::Family f) {
  return f == config::Family::inet6 ? Family::inet6 : Family::inet;
}

Method to_model(config::Method m) {
  switch (m) {
    case config::Method::nat:
      return Method::nat;
    case config::Method::dr:
      return Method::dr;
    case config::Method::tun:
      return Method::tun;
  }
  return Method::nat;
}

TunnelType to_model(config::TunnelType t) {
  switch (t) {
    case config::TunnelType::ipip:
      return TunnelType::ipip;
    case config::TunnelType::gue:
      return TunnelType::gue;
    case config::TunnelType::gre:
      return TunnelType::gre;
  }
  return TunnelType::ipip;
}

TunnelChecksum to_model(config::TunnelChecksum c) {
  switch (c) {
    case config::TunnelChecksum::none:
      return TunnelChecksum::none;
    case config::TunnelChecksum::local:
      return TunnelChecksum::local;
    case config::TunnelChecksum::remote:
      return TunnelChecksum::remote;
  }
  return TunnelChecksum::none;
}

uint32_t seconds(config::Duration d) {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

Tunnel tunnel_for(const config::Service& s, Method method) {
  if (method != Method::tun || !s.tunnel) return Tunnel{};
  return Tunnel{to_model(s.tunnel->type), s.tunnel->port, to_model(s.tunnel->checksum)};
}

}  // namespace

ServiceKey service_key(const config::Service& s) {
  if (s.fwmark != 0) return ServiceKey::mark(s.fwmark, to_model(s.family));
  return ServiceKey::inet(to_model(s.protocol), s.address.value_or(Address{}), s.port);
}

VirtualService virtual_service(const config::Service& s) {
  VirtualService v;
  v.key = service_key(s);
  v.scheduler = s.scheduler;
  for (const auto& flag : s.scheduler_flags) {
    // "sh-fallback", "sh-port", "mh-fallback", "mh-port" (validated by the loader)
    if (flag.ends_with("-fallback")) v.scheduler_flags.fallback = true;
    if (flag.ends_with("-port")) v.scheduler_flags.port = true;
  }
  v.one_packet = s.one_packet;
  if (s.persistence) {
    Persistence p;
    p.timeout = seconds(s.persistence->timeout);
    if (v.key.family == Family::inet6) {
      p.prefix = static_cast<uint8_t>(s.persistence->prefix);
    } else {
      p.netmask = s.persistence->netmask;
    }
    v.persistence = p;
  }
  return v;
}

RealServer real_server(const config::Service& s, const config::RealServer& rs) {
  RealServer d;
  d.address = rs.address;
  d.port = rs.port;
  d.weight = rs.weight;
  d.method = to_model(rs.method);
  d.tunnel = tunnel_for(s, d.method);
  d.upper_threshold = rs.upper_threshold;
  d.lower_threshold = rs.lower_threshold;
  return d;
}

RealServer sorry_real_server(const config::Service& s, const config::SorryServer& sorry) {
  RealServer d;
  d.address = sorry.address;
  d.port = sorry.port;
  d.weight = 1;
  d.method = to_model(sorry.method);
  d.tunnel = tunnel_for(s, d.method);
  return d;
}

Timeouts timeouts_from_config(const config::Forwarding& f) {
  return Timeouts{seconds(f.timeouts.tcp), seconds(f.timeouts.tcp_fin), seconds(f.timeouts.udp)};
}

ForwardingPlan plan_from_config(const config::Config& config, const PlanInputs& inputs) {
  ForwardingPlan plan;
  std::vector<std::optional<uint32_t>> weights;
  for (std::size_t i = 0; i < config.services.size(); ++i) {
    const config::Service& s = config.services[i];
    ServiceEntry& entry = plan.put(virtual_service(s));
    if (s.sorry_server && inputs.sorry_mode && inputs.sorry_mode(s)) {
      RealServer d = sorry_real_server(s, *s.sorry_server);
      entry.dests.emplace(d.key(), d);
      continue;
    }
    if (inputs.service_weights) {
      weights.assign(s.realservers.size(), std::nullopt);
      inputs.service_weights(i, s, weights);
      weights.resize(s.realservers.size());
    }
    for (std::size_t j = 0; j < s.realservers.size(); ++j) {
      const config::RealServer& rs = s.realservers[j];
      if (!rs.enabled) continue;
      RealServer d = real_server(s, rs);
      if (inputs.service_weights || inputs.weight) {
        const std::optional<uint32_t> w =
            inputs.service_weights ? weights[j] : inputs.weight(s, rs);
        if (!w) continue;
        d.weight = *w;
      }
      entry.dests.emplace(d.key(), d);
    }
  }
  return plan;
}

}  // namespace lvsd::forwarding
