#include "util/run_command.hpp"

#include <gtest/gtest.h>

namespace lvsd::util {
namespace {

TEST(RunCommand, FeedsStdinAndSucceedsOnExitZero) {
  std::string detail = "stale";
  // The script fails unless it read exactly the input.
  EXPECT_FALSE(run_command({"sh", "-c", "[ \"$(cat)\" = 'a b' ]"}, "a b\n", detail));
  EXPECT_EQ(detail, "");
}

TEST(RunCommand, FailureCarriesStderrTrimmed) {
  std::string detail;
  auto ec = run_command({"sh", "-c", "echo 'line 1: bad rule' >&2; exit 2"}, "", detail);
  EXPECT_TRUE(ec);
  EXPECT_EQ(detail, "line 1: bad rule");
}

TEST(RunCommand, SilentFailureSaysTheStatus) {
  std::string detail;
  EXPECT_TRUE(run_command({"false"}, "", detail));
  EXPECT_EQ(detail.rfind("false exited with status", 0), 0u) << detail;
}

TEST(RunCommand, MissingCommandIsAnError) {
  std::string detail;
  EXPECT_TRUE(run_command({"lvsd-no-such-command"}, "", detail));
  EXPECT_NE(detail.find("lvsd-no-such-command: "), std::string::npos) << detail;
}

TEST(RunCommand, StdoutIsDiscardedAndLargeInputIsWritten) {
  std::string detail;
  const std::string big(256 * 1024, 'x');  // more than a pipe buffer
  EXPECT_FALSE(run_command({"sh", "-c", "echo noise; [ $(wc -c) -eq 262144 ]"}, big, detail));
  EXPECT_EQ(detail, "");
}

}  // namespace
}  // namespace lvsd::util
