// misc probe against real scripts written by the test into a private
// directory under /tmp (root-owned 0755, inside the sticky /tmp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkers/probes/probes.hpp"
#include "unit/checkers/probe_test_loop.hpp"

namespace lvsd::checkers {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// True when no live (non-zombie) process is in process group `pgid`.
bool group_gone(pid_t pgid) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 1));
    char state = 0;
    long ppid = 0, pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != 'Z' && state != 'X') return false;
  }
  return true;
}

class MiscProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lvsd-misc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);  // nobody must reach its scripts
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string script(const std::string& name, const std::string& body, mode_t mode = 0755) {
    const auto path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), mode);
    return path;
  }

  config::Check check(std::vector<std::string> argv, std::string user = "root") {
    config::Check c;
    c.name = "script";
    c.type = config::CheckType::misc;
    c.misc.command = std::move(argv);
    c.misc.user = std::move(user);
    return c;
  }

  probe_loop::Outcome run(const config::Check& c, std::chrono::milliseconds timeout = 5s) {
    auto probe = make_probe(io_, c, target_);
    return probe_loop::run_probe(io_, *probe, timeout);
  }

  std::string read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    std::string s;
    std::getline(in, s);
    return s;
  }

  boost::asio::io_context io_;
  ProbeTarget target_{boost::asio::ip::make_address("127.0.0.1"), 8080};
  std::string dir_;
};

TEST_F(MiscProbeTest, ExitZeroIsUp) {
  const auto out = run(check({script("ok.sh", "exit 0")}));
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.calls, 1);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
  EXPECT_EQ(out.result->reason, "exit 0");
  EXPECT_FALSE(out.result->weight);
  EXPECT_GT(out.result->latency.count(), 0);
}

TEST_F(MiscProbeTest, ExitOneIsDown) {
  const auto out = run(check({script("down.sh", "exit 1")}));
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "exit 1");
}

TEST_F(MiscProbeTest, DynamicWeight) {
  auto c = check({script("w.sh", "exit \"$1\""), "7"});
  auto out = run(c);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok) << "without dynamic_weight, non-zero is down";
  EXPECT_EQ(out.result->reason, "exit 7");

  c.misc.dynamic_weight = true;
  out = run(c);
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok);
  ASSERT_TRUE(out.result->weight);
  EXPECT_EQ(*out.result->weight, 5u);
  EXPECT_EQ(out.result->reason, "exit 7 (weight 5)");

  c.misc.command = {dir_ + "/w.sh", "255"};
  out = run(c);
  ASSERT_TRUE(out.result && out.result->weight);
  EXPECT_EQ(*out.result->weight, 253u);

  c.misc.command = {dir_ + "/w.sh", "1"};
  out = run(c);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_FALSE(out.result->weight);
}

TEST_F(MiscProbeTest, ArgvWithoutShellAndEnvironment) {
  const auto path = script("env.sh",
                           "[ \"$1\" = 'a b' ] || exit 3\n"
                           "[ \"$2\" = '$HOME;x' ] || exit 4\n"
                           "[ \"$LVSD_RS_ADDRESS\" = 127.0.0.1 ] || exit 5\n"
                           "[ \"$LVSD_RS_PORT\" = 8080 ] || exit 6\n"
                           "[ \"$LVSD_CHECK_NAME\" = script ] || exit 7\n"
                           "[ \"$(pwd)\" = / ] || exit 8\n"
                           "exit 0");
  const auto out = run(check({path, "a b", "$HOME;x"}));
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
}

TEST_F(MiscProbeTest, KilledBySignalIsDown) {
  const auto out = run(check({script("kill.sh", "kill -9 $$")}));
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "killed by signal 9 (SIGKILL)");
}

TEST_F(MiscProbeTest, TimeoutKillsTheWholeProcessGroup) {
  // Ignores SIGTERM (so SIGKILL is needed), and leaves a grandchild behind.
  const auto path = script("hang.sh",
                           "trap '' TERM\n"
                           "echo $$ > " +
                               dir_ +
                               "/pid\n"
                               "sleep 30 &\n"
                               "sleep 30\n");
  auto probe = make_probe(io_, check({path}), target_);
  const auto start = std::chrono::steady_clock::now();
  const auto out = probe_loop::run_probe(io_, *probe, 300ms);
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.calls, 1);
  EXPECT_FALSE(out.result->ok);
  EXPECT_EQ(out.result->reason, "timeout after 300ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  const pid_t pgid = std::stoi(read("pid"));
  ASSERT_GT(pgid, 1);
  EXPECT_TRUE(probe_loop::run_until(
      io_, [&] { return group_gone(pgid); }, 5s))
      << "process group " << pgid << " still alive";
}

TEST_F(MiscProbeTest, CancelTerminatesAndDoesNotReport) {
  const auto path = script("slow.sh", "echo $$ > " + dir_ + "/pid\nsleep 30 & sleep 30");
  auto probe = make_probe(io_, check({path}), target_);
  int calls = 0;
  probe->run(5s, [&](ProbeResult) { ++calls; });
  ASSERT_TRUE(probe_loop::run_until(
      io_, [&] { return !read("pid").empty(); }, 5s));
  const pid_t pgid = std::stoi(read("pid"));
  probe->cancel();
  probe.reset();
  EXPECT_TRUE(probe_loop::run_until(
      io_, [&] { return group_gone(pgid); }, 5s));
  EXPECT_EQ(calls, 0);
}

TEST_F(MiscProbeTest, WorldWritableScriptIsRefused) {
  const auto path = script("ww.sh", "touch " + dir_ + "/ran\nexit 0", 0777);
  ::chmod(path.c_str(), 0777);  // past the umask
  const auto out = run(check({path}));
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_NE(out.result->reason.find("refusing insecure script"), std::string::npos)
      << out.result->reason;
  EXPECT_NE(out.result->reason.find("writable by others"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ + "/ran"));
}

TEST_F(MiscProbeTest, ScriptInAWritableDirectoryOrOwnedByAUserIsRefused) {
  fs::create_directory(dir_ + "/open");
  ::chmod((dir_ + "/open").c_str(), 0777);  // no sticky bit
  const auto path = dir_ + "/open/s.sh";
  std::ofstream(path) << "#!/bin/sh\nexit 0\n";
  ::chmod(path.c_str(), 0755);
  auto out = run(check({path}));
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_NE(out.result->reason.find(dir_ + "/open is writable by others"), std::string::npos)
      << out.result->reason;

  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  const auto owned = script("owned.sh", "exit 0");
  ASSERT_EQ(::chown(owned.c_str(), 65534, 65534), 0);
  out = run(check({owned}));
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_NE(out.result->reason.find("writable by its owner uid 65534"), std::string::npos)
      << out.result->reason;

  // Through a symlink the real path is what counts.
  fs::create_symlink(owned, dir_ + "/link.sh");
  out = run(check({dir_ + "/link.sh"}));
  ASSERT_TRUE(out.result);
  EXPECT_NE(out.result->reason.find("owned.sh is writable"), std::string::npos)
      << out.result->reason;
}

TEST_F(MiscProbeTest, MissingOrNotExecutable) {
  auto out = run(check({"no-such-command-lvsd"}));
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->reason, "command not found: no-such-command-lvsd");

  const auto path = script("noexec.sh", "exit 0", 0644);
  out = run(check({path}));
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->ok);
  EXPECT_NE(out.result->reason.find("cannot exec"), std::string::npos) << out.result->reason;

  out = run(check({"true"}));  // found in the safe PATH
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;

  out = run(check({"true"}, "no-such-user-lvsd"));
  ASSERT_TRUE(out.result);
  EXPECT_NE(out.result->reason.find("unknown script user"), std::string::npos);
}

TEST_F(MiscProbeTest, RunsAsNobodyWithoutCapabilitiesOrInheritedDescriptors) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching to nobody needs root";
  const int leaked = ::open("/dev/null", O_RDONLY);  // not close-on-exec
  ASSERT_GE(leaked, 3);
  const auto path =
      script("nobody.sh",
             "[ \"$(id -u)\" = 65534 ] || exit 10\n"
             "[ \"$(id -g)\" = 65534 ] || exit 11\n"
             "[ \"$(id -G)\" = 65534 ] || exit 12\n"
             "for f in CapInh CapPrm CapEff CapBnd CapAmb; do\n"
             "  grep -q \"^$f:[[:space:]]*0000000000000000$\" /proc/$$/status || exit 13\n"
             "done\n"
             "[ -e /proc/$$/fd/$1 ] && exit 14\n"
             "[ \"$USER\" = nobody ] || exit 15\n"
             "exit 0");
  const auto out = run(check({path, std::to_string(leaked)}, "nobody"));
  ::close(leaked);
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->ok) << out.result->reason;
}

TEST_F(MiscProbeTest, ProbeIsReusable) {
  auto probe = make_probe(io_, check({script("again.sh", "exit 0")}), target_);
  for (int i = 0; i < 3; ++i) {
    const auto out = probe_loop::run_probe(io_, *probe, 5s);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok);
  }
}

}  // namespace
}  // namespace lvsd::checkers
