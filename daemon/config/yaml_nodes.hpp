// Config values -> YAML nodes, shared by dump (whole file) and diff (field
// values). Internal to daemon/config/.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "daemon/config/config.hpp"

namespace lvsd::config::detail {

YAML::Node to_node(const Global& g);
YAML::Node to_node(const Forwarding& f);
// named: the `checks` section; a check equal to one of them is written as its
// name, any other inline. Pass {} to always write checks inline.
YAML::Node to_node(const Check& c);
YAML::Node to_node(const Service& s, const std::vector<Check>& named);
YAML::Node to_node(const RealServer& rs, const Service& s, const std::vector<Check>& named);
YAML::Node to_node(const VrrpInstance& vi);
YAML::Node to_node(const VrrpSyncGroup& sg);
YAML::Node to_node(const VrrpScript& s);
YAML::Node to_node(const VrrpTrackFile& f);
YAML::Node to_node(const Sync& s);

// One line: a scalar as is, anything else in YAML flow style.
std::string render(const YAML::Node& n);

}  // namespace lvsd::config::detail
