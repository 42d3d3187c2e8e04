#include "forwarding/plan.hpp"

#include <cerrno>
#include <ostream>
#include <stdexcept>

namespace lvsd::forwarding {

namespace {

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

std::error_code err(int e) {
  return {e, std::generic_category()};
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

}  // namespace

ServiceEntry& ForwardingPlan::put(const VirtualService& service) {
  auto [it, inserted] = services.try_emplace(service.key, ServiceEntry{service, {}});
  if (!inserted) it->second.service = service;
  return it->second;
}

void ForwardingPlan::put(const ServiceKey& service, const RealServer& dest) {
  services.at(service).dests.insert_or_assign(dest.key(), dest);
}

std::size_t ForwardingPlan::dest_count() const {
  std::size_t n = 0;
  for (const auto& [k, e] : services)
    n += e.dests.size();
  return n;
}

PlanDelta compute_delta(const ForwardingPlan& current, const ForwardingPlan& desired) {
  std::vector<PlanOp> add_svc, edit_svc, add_dest, edit_dest, del_dest, del_svc;

  for (const auto& [key, want] : desired.services) {
    auto it = current.services.find(key);
    if (it == current.services.end()) {
      add_svc.push_back(AddService{want.service});
      for (const auto& [dk, d] : want.dests)
        add_dest.push_back(AddDest{key, d});
      continue;
    }
    const ServiceEntry& have = it->second;
    if (!(have.service == want.service)) {
      edit_svc.push_back(EditService{want.service, have.service});
    }
    for (const auto& [dk, d] : want.dests) {
      auto dit = have.dests.find(dk);
      if (dit == have.dests.end()) {
        add_dest.push_back(AddDest{key, d});
      } else if (!(dit->second == d)) {
        edit_dest.push_back(EditDest{key, d, dit->second});
      }
    }
    for (const auto& [dk, d] : have.dests) {
      if (!want.dests.contains(dk)) del_dest.push_back(DelDest{key, dk});
    }
  }
  for (const auto& [key, have] : current.services) {
    if (desired.services.contains(key)) continue;
    for (const auto& [dk, d] : have.dests)
      del_dest.push_back(DelDest{key, dk});
    del_svc.push_back(DelService{key});
  }

  PlanDelta out;
  out.reserve(add_svc.size() + edit_svc.size() + add_dest.size() + edit_dest.size() +
              del_dest.size() + del_svc.size());
  for (auto* group : {&add_svc, &edit_svc, &add_dest, &edit_dest, &del_dest, &del_svc}) {
    for (auto& op : *group)
      out.push_back(std::move(op));
  }
  return out;
}

std::error_code apply_op(ForwardingPlan& plan, const PlanOp& op) {
  auto& svcs = plan.services;
  return std::visit(overloaded{
                        [&](const AddService& o) -> std::error_code {
                          if (svcs.contains(o.service.key)) return err(EEXIST);
                          svcs.emplace(o.service.key, ServiceEntry{o.service, {}});
                          return {};
                        },
                        [&](const EditService& o) -> std::error_code {
                          auto it = svcs.find(o.service.key);
                          if (it == svcs.end()) return err(ESRCH);
                          it->second.service = o.service;
                          return {};
                        },
                        [&](const DelService& o) -> std::error_code {
                          if (svcs.erase(o.service) == 0) return err(ESRCH);
                          return {};
                        },
                        [&](const AddDest& o) -> std::error_code {
                          auto it = svcs.find(o.service);
                          if (it == svcs.end()) return err(ESRCH);
                          if (!it->second.dests.emplace(o.dest.key(), o.dest).second)
                            return err(EEXIST);
                          return {};
                        },
                        [&](const EditDest& o) -> std::error_code {
                          auto it = svcs.find(o.service);
                          if (it == svcs.end()) return err(ESRCH);
                          auto dit = it->second.dests.find(o.dest.key());
                          if (dit == it->second.dests.end()) return err(ENOENT);
                          dit->second = o.dest;
                          return {};
                        },
                        [&](const DelDest& o) -> std::error_code {
                          auto it = svcs.find(o.service);
                          if (it == svcs.end()) return err(ESRCH);
                          if (it->second.dests.erase(o.dest) == 0) return err(ENOENT);
                          return {};
                        },
                    },
                    op);
}

ForwardingPlan apply_delta(ForwardingPlan plan, const PlanDelta& delta) {
  for (const auto& op : delta) {
    if (auto ec = apply_op(plan, op)) {
      throw std::invalid_argument("cannot apply " + to_string(op) + ": " + ec.message());
    }
  }
  return plan;
}

std::string to_string(const VirtualService& s) {
  std::string out = "scheduler=" + s.scheduler;
  if (s.scheduler_flags.fallback || s.scheduler_flags.port) {
    out += " scheduler_flags=";
    if (s.scheduler_flags.fallback) out += "fallback";
    if (s.scheduler_flags.fallback && s.scheduler_flags.port) out += ",";
    if (s.scheduler_flags.port) out += "port";
  }
  if (s.one_packet) out += " one_packet=true";
  if (s.persistence) {
    out += " persistence=" + std::to_string(s.persistence->timeout) + "s";
    if (s.key.family == Family::inet6) {
      out += " prefix=" + std::to_string(s.persistence->prefix);
    } else {
      out += " netmask=" + s.persistence->netmask.to_string();
    }
  }
  if (!s.pe_name.empty()) out += " pe=" + s.pe_name;
  return out;
}

std::string to_string(const RealServer& d) {
  std::string out = "weight=" + std::to_string(d.weight);
  out += " method=";
  out += to_string(d.method);
  if (d.method == Method::tun) {
    out += " tunnel=";
    out += to_string(d.tunnel.type);
    if (d.tunnel.type == TunnelType::gue) out += " tunnel_port=" + std::to_string(d.tunnel.port);
    if (d.tunnel.checksum != TunnelChecksum::none) {
      out += " tunnel_checksum=";
      out += to_string(d.tunnel.checksum);
    }
  }
  if (d.upper_threshold != 0) out += " upper_threshold=" + std::to_string(d.upper_threshold);
  if (d.lower_threshold != 0) out += " lower_threshold=" + std::to_string(d.lower_threshold);
  return out;
}

std::string to_string(const PlanOp& op) {
  return std::visit(overloaded{
                        [](const AddService& o) {
                          return "op=add_service service=" + quoted(o.service.key.to_string()) +
                                 " " + to_string(o.service);
                        },
                        [](const EditService& o) {
                          return "op=edit_service service=" + quoted(o.service.key.to_string()) +
                                 " " + to_string(o.service) + " was=" + quoted(to_string(o.before));
                        },
                        [](const DelService& o) {
                          return "op=del_service service=" + quoted(o.service.to_string());
                        },
                        [](const AddDest& o) {
                          return "op=add_dest service=" + quoted(o.service.to_string()) +
                                 " dest=" + o.dest.key().to_string() + " " + to_string(o.dest);
                        },
                        [](const EditDest& o) {
                          return "op=edit_dest service=" + quoted(o.service.to_string()) +
                                 " dest=" + o.dest.key().to_string() + " " + to_string(o.dest) +
                                 " was=" + quoted(to_string(o.before));
                        },
                        [](const DelDest& o) {
                          return "op=del_dest service=" + quoted(o.service.to_string()) +
                                 " dest=" + o.dest.to_string();
                        },
                    },
                    op);
}

std::string to_string(const ForwardingPlan& plan) {
  std::string out;
  for (const auto& [key, entry] : plan.services) {
    out += key.to_string() + " " + to_string(entry.service) + "\n";
    for (const auto& [dk, d] : entry.dests) {
      out += "  -> " + dk.to_string() + " " + to_string(d) + "\n";
    }
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const AddService& op) {
  return os << to_string(op);
}
std::ostream& operator<<(std::ostream& os, const EditService& op) {
  return os << to_string(op);
}
std::ostream& operator<<(std::ostream& os, const DelService& op) {
  return os << to_string(op);
}
std::ostream& operator<<(std::ostream& os, const AddDest& op) {
  return os << to_string(op);
}
std::ostream& operator<<(std::ostream& os, const EditDest& op) {
  return os << to_string(op);
}
std::ostream& operator<<(std::ostream& os, const DelDest& op) {
  return os << to_string(op);
}
std::ostream& operator<<(std::ostream& os, const ForwardingPlan& plan) {
  return os << "{\n" << to_string(plan) << "}";
}

}  // namespace lvsd::forwarding
