// Config -> YAML: the effective configuration with every default filled in
// (`lvsd --dump-config`). The output is valid loader input and
// load_string(dump_yaml(c)) yields c again.
#pragma once

#include <string>

#include "daemon/config/config.hpp"

namespace lvsd::config {

std::string dump_yaml(const Config& config);

}  // namespace lvsd::config
