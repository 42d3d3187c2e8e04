// YAML file -> validated Config, or every error found, each with its position.
//
// Loading is one pure pass: parse, check types and ranges, resolve defaults
// and references (check names, inherited methods and ports), then check the
// cross-field rules, duplicates and dangling references. It never stops at the
// first error; every problem in the file is reported at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config/config.hpp"

namespace lvsd::config {

struct Diagnostic {
  std::string file;  // the path as given to load_file, or load_string's file_name
  int line = 0;      // 1-based; 0 when there is no position (unreadable file)
  int column = 0;    // 1-based
  std::string path;  // key path, e.g. "services[1].realservers[0].weight"; "" = the file
  std::string message;
  // "file:line:col: path: message" ("file: message" without a position,
  // "file:line:col: message" without a path)
  std::string str() const;
  bool operator==(const Diagnostic&) const = default;
};

struct LoadResult {
  std::optional<Config> config;    // set only when there are no errors
  std::vector<Diagnostic> errors;  // in file order
  bool ok() const { return config.has_value(); }
};

LoadResult load_file(const std::string& path);
LoadResult load_string(std::string_view text, const std::string& file_name = "<string>");

}  // namespace lvsd::config
