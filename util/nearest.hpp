#pragma once
// "Did you mean ...?" support for error messages (config keys and names,
// status-socket arguments): the candidate nearest to what was typed.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lvsd::util {

// Optimal string alignment distance (Levenshtein plus adjacent
// transpositions).
std::size_t edit_distance(std::string_view a, std::string_view b);

struct Nearest {
  std::string candidate;
  std::size_t distance;
};
// The first candidate at the smallest distance from `word`; none when there
// are no candidates. Callers decide what is close enough to suggest.
std::optional<Nearest> nearest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace lvsd::util
