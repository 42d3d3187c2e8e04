#include "util/nearest.hpp"

#include <gtest/gtest.h>

namespace lvsd::util {
namespace {

TEST(EditDistance, LevenshteinPlusAdjacentTranspositions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("web", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("interval", "intreval"), 1u);  // one transposition
  EXPECT_EQ(edit_distance("ca", "abc"), 3u);             // OSA, not full Damerau (2)
}

TEST(Nearest, FirstAtTheSmallestDistanceOrNone) {
  EXPECT_FALSE(nearest("x", {}));
  const auto n = nearest("wbe", {"dns", "web", "wbx"});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->candidate, "web");
  EXPECT_EQ(n->distance, 1u);
}

}  // namespace
}  // namespace lvsd::util
