#include "daemon/config/diff.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "daemon/config/yaml_nodes.hpp"

namespace lvsd::config {

namespace {

using detail::render;
using detail::to_node;

bool is_secret(const std::string& field) {
  auto pos = field.find_last_of('.');
  std::string_view last =
      pos == std::string::npos ? std::string_view(field) : std::string_view(field).substr(pos + 1);
  return last == "password";
}

// Leaf-by-leaf comparison of two mappings; lists are compared as a whole.
void compare(const YAML::Node& a, const YAML::Node& b, const std::string& path,
             std::vector<FieldChange>& out) {
  // A key present on one side only yields an invalid ("zombie") node on the
  // other, on which anything but IsDefined() throws: test that first.
  const bool da = a.IsDefined();
  const bool db = b.IsDefined();
  if (da && db && a.IsMap() && b.IsMap()) {
    std::vector<std::string> keys;
    for (auto it = a.begin(); it != a.end(); ++it)
      keys.push_back(it->first.Scalar());
    for (auto it = b.begin(); it != b.end(); ++it) {
      if (std::find(keys.begin(), keys.end(), it->first.Scalar()) == keys.end()) {
        keys.push_back(it->first.Scalar());
      }
    }
    for (const auto& k : keys) {
      std::string p = path.empty() ? k : path + "." + k;
      compare(a[k], b[k], p, out);
    }
    return;
  }
  std::string ra = da ? render(a) : "none";
  std::string rb = db ? render(b) : "none";
  if (ra == rb) return;
  if (is_secret(path)) {
    ra = "(hidden)";
    rb = "(hidden, changed)";
  }
  out.push_back(FieldChange{path, ra, rb});
}

std::vector<FieldChange> compare(const YAML::Node& a, const YAML::Node& b) {
  std::vector<FieldChange> out;
  compare(a, b, "", out);
  return out;
}

// Matches items of two lists by key; calls the three callbacks.
template <class T, class Key, class Fn>
void match(const std::vector<T>& before, const std::vector<T>& after, Key key, Fn&& changed,
           std::vector<T>& added, std::vector<T>& removed) {
  std::map<std::string, const T*> old_items;
  for (const auto& b : before)
    old_items.emplace(key(b), &b);
  std::map<std::string, bool> seen;
  for (const auto& a : after) {
    auto k = key(a);
    auto it = old_items.find(k);
    if (it == old_items.end()) {
      added.push_back(a);
      continue;
    }
    seen[k] = true;
    if (!(*it->second == a)) changed(*it->second, a);
  }
  for (const auto& b : before) {
    if (!seen.count(key(b))) removed.push_back(b);
  }
}

template <class T>
void match_named(const std::vector<T>& before, const std::vector<T>& after, std::vector<T>& added,
                 std::vector<T>& removed, std::vector<Changed<T>>& changed) {
  match(
      before, after, [](const T& x) { return x.name; },
      [&](const T& b, const T& a) {
        changed.push_back(Changed<T>{b, a, compare(to_node(b), to_node(a))});
      },
      added, removed);
}

YAML::Node service_settings(const Service& s) {
  YAML::Node n = to_node(s, {});
  n.remove("realservers");
  return n;
}

std::string quote(const std::string& v) {
  bool plain = !v.empty() && std::none_of(v.begin(), v.end(), [](char c) {
    return c == ' ' || c == '"' || c == '=' || c == '\\' || c == '\t' || c == '\n';
  });
  if (plain) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string field_text(const FieldChange& f) {
  return fmt::format("field={} before={} after={}", quote(f.field), quote(f.before),
                     quote(f.after));
}

template <class T>
void describe_named(std::vector<std::string>& out, const char* what, const std::vector<T>& added,
                    const std::vector<T>& removed, const std::vector<Changed<T>>& changed) {
  for (const auto& x : added)
    out.push_back(fmt::format("{}_added name={}", what, quote(x.name)));
  for (const auto& x : removed) {
    out.push_back(fmt::format("{}_removed name={}", what, quote(x.name)));
  }
  for (const auto& c : changed) {
    for (const auto& f : c.fields) {
      out.push_back(fmt::format("{}_changed name={} {}", what, quote(c.after.name), field_text(f)));
    }
  }
}

}  // namespace

bool ConfigDiff::empty() const {
  return global.empty() && forwarding.empty() && services_added.empty() &&
         services_removed.empty() && services_changed.empty() && checks_added.empty() &&
         checks_removed.empty() && checks_changed.empty() && vrrp_instances_added.empty() &&
         vrrp_instances_removed.empty() && vrrp_instances_changed.empty() &&
         vrrp_sync_groups_added.empty() && vrrp_sync_groups_removed.empty() &&
         vrrp_sync_groups_changed.empty() && vrrp_scripts_added.empty() &&
         vrrp_scripts_removed.empty() && vrrp_scripts_changed.empty() && vrrp_files_added.empty() &&
         vrrp_files_removed.empty() && vrrp_files_changed.empty() && !sync_added && !sync_removed &&
         sync.empty();
}

std::vector<std::string> ConfigDiff::describe() const {
  std::vector<std::string> out;
  for (const auto& f : global)
    out.push_back("global_changed " + field_text(f));
  for (const auto& f : forwarding)
    out.push_back("forwarding_changed " + field_text(f));
  for (const auto& c : checks_added) {
    out.push_back(fmt::format("check_added name={} type={}", quote(c.name), to_string(c.type)));
  }
  for (const auto& c : checks_removed)
    out.push_back(fmt::format("check_removed name={}", quote(c.name)));
  for (const auto& c : checks_changed) {
    for (const auto& f : c.fields) {
      out.push_back(fmt::format("check_changed name={} {}", quote(c.after.name), field_text(f)));
    }
  }
  for (const auto& s : services_removed) {
    out.push_back(fmt::format("service_removed key={} name={}", quote(s.key()), quote(s.name)));
  }
  for (const auto& s : services_added) {
    out.push_back(fmt::format("service_added key={} name={} realservers={}", quote(s.key()),
                              quote(s.name), s.realservers.size()));
  }
  for (const auto& c : services_changed) {
    std::string svc = fmt::format("service={}", quote(c.after.key()));
    for (const auto& f : c.fields) {
      out.push_back(fmt::format("service_changed key={} name={} {}", quote(c.after.key()),
                                quote(c.after.name), field_text(f)));
    }
    for (const auto& rs : c.realservers_removed) {
      out.push_back(fmt::format("realserver_removed {} key={}", svc, quote(rs.key())));
    }
    for (const auto& rs : c.realservers_added) {
      out.push_back(
          fmt::format("realserver_added {} key={} weight={}", svc, quote(rs.key()), rs.weight));
    }
    for (const auto& rc : c.realservers_changed) {
      for (const auto& f : rc.fields) {
        out.push_back(fmt::format("realserver_changed {} key={} {}", svc, quote(rc.after.key()),
                                  field_text(f)));
      }
    }
  }
  for (const auto& v : vrrp_instances_added) {
    out.push_back(fmt::format("vrrp_instance_added name={} interface={} vrid={}", quote(v.name),
                              quote(v.interface), unsigned{v.vrid}));
  }
  for (const auto& v : vrrp_instances_removed) {
    out.push_back(fmt::format("vrrp_instance_removed name={}", quote(v.name)));
  }
  for (const auto& c : vrrp_instances_changed) {
    for (const auto& f : c.fields) {
      out.push_back(
          fmt::format("vrrp_instance_changed name={} {}", quote(c.after.name), field_text(f)));
    }
  }
  describe_named(out, "vrrp_sync_group", vrrp_sync_groups_added, vrrp_sync_groups_removed,
                 vrrp_sync_groups_changed);
  describe_named(out, "vrrp_script", vrrp_scripts_added, vrrp_scripts_removed,
                 vrrp_scripts_changed);
  describe_named(out, "vrrp_file", vrrp_files_added, vrrp_files_removed, vrrp_files_changed);
  if (sync_added) out.emplace_back("sync_added");
  if (sync_removed) out.emplace_back("sync_removed");
  for (const auto& f : sync)
    out.push_back("sync_changed " + field_text(f));
  return out;
}

ConfigDiff diff(const Config& before, const Config& after) {
  ConfigDiff d;
  if (before.global != after.global)
    d.global = compare(to_node(before.global), to_node(after.global));
  if (before.forwarding != after.forwarding) {
    d.forwarding = compare(to_node(before.forwarding), to_node(after.forwarding));
  }
  match(
      before.services, after.services, [](const Service& s) { return s.key(); },
      [&](const Service& b, const Service& a) {
        ServiceChange c{b, a, compare(service_settings(b), service_settings(a)), {}, {}, {}};
        match(
            b.realservers, a.realservers, [](const RealServer& rs) { return rs.key(); },
            [&](const RealServer& rb, const RealServer& ra) {
              c.realservers_changed.push_back(Changed<RealServer>{
                  rb, ra, compare(to_node(rb, Service{}, {}), to_node(ra, Service{}, {}))});
            },
            c.realservers_added, c.realservers_removed);
        d.services_changed.push_back(std::move(c));
      },
      d.services_added, d.services_removed);
  match_named(before.checks, after.checks, d.checks_added, d.checks_removed, d.checks_changed);
  match_named(before.vrrp.instances, after.vrrp.instances, d.vrrp_instances_added,
              d.vrrp_instances_removed, d.vrrp_instances_changed);
  match_named(before.vrrp.sync_groups, after.vrrp.sync_groups, d.vrrp_sync_groups_added,
              d.vrrp_sync_groups_removed, d.vrrp_sync_groups_changed);
  match_named(before.vrrp.scripts, after.vrrp.scripts, d.vrrp_scripts_added, d.vrrp_scripts_removed,
              d.vrrp_scripts_changed);
  match_named(before.vrrp.files, after.vrrp.files, d.vrrp_files_added, d.vrrp_files_removed,
              d.vrrp_files_changed);
  if (before.sync && !after.sync) d.sync_removed = true;
  if (!before.sync && after.sync) d.sync_added = true;
  if (before.sync && after.sync && *before.sync != *after.sync) {
    d.sync = compare(to_node(*before.sync), to_node(*after.sync));
  }
  return d;
}

}  // namespace lvsd::config
