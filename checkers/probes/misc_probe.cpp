// misc: an external command (argv, no shell) run as the check's user, watched
// asynchronously through a pidfd (pidfd_open(2)), so no SIGCHLD handler is
// involved and no other child's status is ever reaped here.
//
// Exit status: 0 up, 1 down, 2..255 up with weight (exit - 2) when
// dynamic_weight is set (otherwise down); killed by a signal is down.
//
// Security (keepalived's script_security rule): the command and every
// directory above it, symlinks resolved, must not be writable by anyone but
// root (owner uid 0, or group gid 0; never others; a sticky directory is fine
// because only root can then replace the root-owned entry). Otherwise the
// check fails without running anything.
//
// The child: its own process group; signal mask and dispositions reset; stdin,
// stdout and stderr on /dev/null; every other descriptor closed; cwd "/";
// supplementary groups, gid and uid of the user (setresgid/setresuid, only when
// they differ from ours); ambient capabilities cleared, and for a non-root user
// the bounding, effective, permitted and inheritable sets emptied too, so a
// non-root lvsd holding ambient capabilities passes none on. The environment
// is PATH, HOME, USER, LOGNAME, LVSD_RS_ADDRESS, LVSD_RS_PORT and
// LVSD_CHECK_NAME. A failure between fork and exec is sent to the parent over
// a close-on-exec pipe and reported as the reason.
//
// On timeout the process group gets SIGTERM, then SIGKILL kGraceKill later,
// and the attempt reports "timeout after ..." at once; the leader is reaped
// only after SIGKILL went out, so the group id cannot be reused meanwhile.
// cancel() terminates the same way.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <variant>
#include <vector>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "checkers/probes/probe_io.hpp"
#include "checkers/probes/probes.hpp"

namespace lvsd::checkers {
namespace {

namespace asio = boost::asio;

constexpr auto kGraceKill = std::chrono::seconds(1);
constexpr const char* kSafePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct ScriptUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string home;
};

std::variant<ScriptUser, std::string> resolve_user(const std::string& name) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = 0;
  while ((rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (!found && !name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    const auto uid = static_cast<uid_t>(std::strtoul(name.c_str(), nullptr, 10));
    while ((rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found)) == ERANGE) {
      buf.resize(buf.size() * 2);
    }
  }
  if (!found) {
    return std::string("unknown script user \"") + name + "\"" +
           (rc ? std::string(": ") + std::strerror(rc) : std::string());
  }
  ScriptUser u;
  u.name = pw.pw_name;
  u.uid = pw.pw_uid;
  u.gid = pw.pw_gid;
  u.home = pw.pw_dir ? pw.pw_dir : "/";
  int n = 32;
  for (;;) {
    u.groups.resize(static_cast<std::size_t>(n));
    int got = n;
    if (::getgrouplist(u.name.c_str(), u.gid, u.groups.data(), &got) >= 0) {
      u.groups.resize(static_cast<std::size_t>(got));
      break;
    }
    if (got <= n) got = n * 2;
    n = got;
  }
  return u;
}

// The command's path: as given when it has a '/', else the first match in
// kSafePath. "" when not found.
std::string resolve_command(const std::string& arg0) {
  if (arg0.find('/') != std::string::npos) return arg0;
  std::string_view dirs = kSafePath;
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string candidate = std::string(dirs.substr(0, colon)) + "/" + arg0;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
      return candidate;
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {};
}

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// "" when `path` (canonical) and its directories are writable by root only.
std::string insecure_reason(const std::string& path) {
  std::size_t pos = 0;
  for (;;) {
    const std::string component = pos == 0 ? "/" : path.substr(0, pos);
    struct stat st {};
    if (::lstat(component.c_str(), &st) != 0) return component + ": " + std::strerror(errno);
    const bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX);
    if (st.st_uid != 0 && (st.st_mode & S_IWUSR)) {
      return component + " is writable by its owner uid " + std::to_string(st.st_uid);
    }
    if (!sticky_dir && st.st_gid != 0 && (st.st_mode & S_IWGRP)) {
      return component + " is writable by group gid " + std::to_string(st.st_gid) + " (mode " +
             octal_mode(st.st_mode) + ")";
    }
    if (!sticky_dir && (st.st_mode & S_IWOTH)) {
      return component + " is writable by others (mode " + octal_mode(st.st_mode) + ")";
    }
    if (pos == path.size()) return {};
    pos = path.find('/', pos + 1);
    if (pos == std::string::npos) pos = path.size();
  }
}

// What the child needs, prepared before fork (only async-signal-safe calls
// happen in the child).
struct ChildPlan {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<char*> argv;
  std::vector<char*> envp;
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  int devnull = -1;
  int errpipe = -1;
  int max_fd = 1024;
};

enum ChildStage : int { kStageFds = 1, kStageGroups, kStageGid, kStageUid, kStageCaps, kStageExec };

const char* stage_name(int stage) {
  switch (stage) {
    case kStageFds:
      return "set up descriptors";
    case kStageGroups:
      return "set supplementary groups";
    case kStageGid:
      return "switch group";
    case kStageUid:
      return "switch user";
    case kStageCaps:
      return "drop capabilities";
    default:
      return "exec";
  }
}

[[noreturn]] void child_fail(int fd, int stage, int err) {
  const int msg[2] = {stage, err};
  [[maybe_unused]] auto n = ::write(fd, msg, sizeof msg);
  ::_exit(127);
}

[[noreturn]] void child_exec(const ChildPlan& p) {
  ::setpgid(0, 0);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s)
    ::sigaction(s, &dfl, nullptr);

  // Move the pipe and /dev/null above 2 first (the daemon may run with 0-2
  // closed), then stdio, the pipe on 3 (close-on-exec), and close the rest.
  const int err = ::fcntl(p.errpipe, F_DUPFD, 3);
  if (err < 0) ::_exit(127);
  const int null = ::fcntl(p.devnull, F_DUPFD, 3);
  if (null < 0) child_fail(err, kStageFds, errno);
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(null, fd) < 0) child_fail(err, kStageFds, errno);
  }
  if (err != 3 && ::dup2(err, 3) < 0) child_fail(err, kStageFds, errno);
  ::fcntl(3, F_SETFD, FD_CLOEXEC);
  if (::syscall(SYS_close_range, 4u, ~0u, 0u) != 0) {
    for (int fd = 4; fd < p.max_fd; ++fd)
      ::close(fd);
  }
  if (::chdir("/") != 0) child_fail(3, kStageFds, errno);

  // Raw syscalls: they change this (only) thread's credentials directly,
  // without glibc's all-threads machinery.
  // The bounding set needs CAP_SETPCAP, so before the uid changes (best
  // effort: a non-root lvsd usually lacks it, and then has nothing to lose).
  if (p.uid != 0) {
    for (int cap = 0; cap <= 63; ++cap)
      ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
  if (p.switch_user) {
    if (::syscall(SYS_setgroups, p.groups.size(), p.groups.data()) != 0) {
      child_fail(3, kStageGroups, errno);
    }
    if (::syscall(SYS_setresgid, p.gid, p.gid, p.gid) != 0) child_fail(3, kStageGid, errno);
    if (::syscall(SYS_setresuid, p.uid, p.uid, p.uid) != 0) child_fail(3, kStageUid, errno);
  }
  // Ambient capabilities survive execve of an unprivileged binary: clear them
  // (EINVAL: a kernel without ambient capabilities).
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    child_fail(3, kStageCaps, errno);
  }
  if (p.uid != 0) {
    __user_cap_header_struct hdr{};
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    hdr.pid = 0;
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capset, &hdr, data) != 0) child_fail(3, kStageCaps, errno);
  }
  ::execve(p.path.c_str(), p.argv.data(), p.envp.data());
  child_fail(3, kStageExec, errno);
}

std::string signal_text(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return "killed by signal " + std::to_string(sig) +
         (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
}

class MiscAttempt : public probe_io::ProbeAttempt {
 public:
  MiscAttempt(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : ProbeAttempt(io), check_(check), target_(target), pidfd_(io), grace_(io) {}

  ~MiscAttempt() override {
    // Only when the io_context goes away with the child still unreaped.
    if (pid_ > 0 && !reaped_) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, WNOHANG);
    }
    if (errpipe_ >= 0) ::close(errpipe_);
  }

  void start(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done,
             const ScriptUser& user) {
    begin(timeout, std::move(done));
    const auto& cmd = check_.misc.command;
    if (cmd.empty() || cmd.front().empty()) return post_fail("no command");
    const std::string found = resolve_command(cmd.front());
    if (found.empty()) return post_fail("command not found: " + cmd.front());
    char* real = ::realpath(found.c_str(), nullptr);
    if (!real) return post_fail(found + ": " + std::strerror(errno));
    ChildPlan plan;
    plan.path = real;
    std::free(real);
    if (auto why = insecure_reason(plan.path); !why.empty()) {
      return post_fail("refusing insecure script " + plan.path + ": " + why);
    }

    plan.args = cmd;
    plan.env = {std::string("PATH=") + kSafePath,
                "HOME=" + user.home,
                "USER=" + user.name,
                "LOGNAME=" + user.name,
                "LVSD_RS_ADDRESS=" + target_.address.to_string(),
                "LVSD_RS_PORT=" + std::to_string(target_.port),
                "LVSD_CHECK_NAME=" + check_.name};
    for (auto& a : plan.args)
      plan.argv.push_back(a.data());
    plan.argv.push_back(nullptr);
    for (auto& e : plan.env)
      plan.envp.push_back(e.data());
    plan.envp.push_back(nullptr);
    plan.uid = user.uid;
    plan.gid = user.gid;
    plan.groups = user.groups;
    plan.switch_user = user.uid != ::geteuid() || user.gid != ::getegid();
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      plan.max_fd = static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 65536));
    }

    plan.devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (plan.devnull < 0) return post_fail(std::string("/dev/null: ") + std::strerror(errno));
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
      ::close(plan.devnull);
      return post_fail(std::string("pipe: ") + std::strerror(errno));
    }
    plan.errpipe = pipefd[1];
    const pid_t pid = ::fork();
    if (pid == 0) child_exec(plan);
    ::close(plan.devnull);
    ::close(pipefd[1]);
    errpipe_ = pipefd[0];
    if (pid < 0) return post_fail(std::string("fork: ") + std::strerror(errno));
    pid_ = pid;
    // Also here, so the group exists before any kill(-pid) (EACCES: the child
    // already exec'd, after its own setpgid).
    ::setpgid(pid_, pid_);
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd < 0) {
      const int e = errno;
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);  // just SIGKILLed: returns at once
      reaped_ = true;
      return post_fail(std::string("pidfd_open: ") + std::strerror(e));
    }
    pidfd_.assign(pidfd);
    watch();
  }

 protected:
  // On finish (after a timeout) and on cancel: stop a child still running.
  void close_io() override { terminate(); }

 private:
  void terminate() {
    if (pid_ <= 0 || reaped_ || killing_) return;
    killing_ = true;
    ::kill(-pid_, SIGTERM);
    grace_.expires_after(kGraceKill);
    auto self = std::static_pointer_cast<MiscAttempt>(shared_from_this());
    grace_.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->reaped_) return;
      self->kill_group();
    });
  }

  void kill_group() {
    if (killed_) return;
    killed_ = true;
    ::kill(-pid_, SIGKILL);
  }

  void watch() {
    auto self = std::static_pointer_cast<MiscAttempt>(shared_from_this());
    pidfd_.async_wait(asio::posix::descriptor_base::wait_read,
                      [self](const boost::system::error_code& ec) {
                        if (self->reaped_) return;
                        if (ec == asio::error::operation_aborted) return;
                        self->on_exit();
                      });
  }

  void on_exit() {
    // Being terminated: the rest of the group gets SIGKILL while the leader,
    // still unreaped, keeps the group id from being reused.
    if (killing_) kill_group();
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return watch();  // spurious wake-up
    reaped_ = true;
    grace_.cancel();
    boost::system::error_code ignored;
    pidfd_.close(ignored);
    if (finished()) return;
    if (r < 0) return fail(std::string("waitpid: ") + std::strerror(errno));

    int msg[2] = {0, 0};
    if (::read(errpipe_, msg, sizeof msg) == static_cast<ssize_t>(sizeof msg)) {
      return fail(std::string("cannot ") + stage_name(msg[0]) + " for " +
                  check_.misc.command.front() + ": " + std::strerror(msg[1]));
    }
    ProbeResult res;
    if (WIFSIGNALED(status)) {
      res.ok = false;
      res.reason = signal_text(WTERMSIG(status));
    } else {
      const int code = WEXITSTATUS(status);
      res.reason = "exit " + std::to_string(code);
      if (code == 0) {
        res.ok = true;
      } else if (code >= 2 && check_.misc.dynamic_weight) {
        res.ok = true;
        res.weight = static_cast<uint32_t>(code - 2);
        res.reason += " (weight " + std::to_string(code - 2) + ")";
      }
    }
    finish(std::move(res));
  }

  config::Check check_;
  ProbeTarget target_;
  asio::posix::stream_descriptor pidfd_;
  asio::steady_timer grace_;
  int errpipe_ = -1;
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool killing_ = false;
  bool killed_ = false;
};

class MiscProbe : public Probe {
 public:
  MiscProbe(asio::io_context& io, const config::Check& check, const ProbeTarget& target)
      : io_(io), check_(check), target_(target) {
    resolve();
  }
  ~MiscProbe() override { cancel(); }

  void run(std::chrono::milliseconds timeout, std::function<void(ProbeResult)> done) override {
    cancel();
    current_ = std::make_shared<MiscAttempt>(io_, check_, target_);
    if (!user_) resolve();  // the user may appear later (NSS)
    if (!user_) {
      current_->begin(timeout, std::move(done));
      current_->post_fail(user_error_);
      return;
    }
    current_->start(timeout, std::move(done), *user_);
  }

  void cancel() override {
    if (current_) current_->cancel();
    current_.reset();
  }

 private:
  void resolve() {
    auto r = resolve_user(check_.misc.user.empty() ? std::string("nobody") : check_.misc.user);
    if (auto* u = std::get_if<ScriptUser>(&r)) {
      user_ = std::move(*u);
    } else {
      user_error_ = std::get<std::string>(r);
    }
  }

  asio::io_context& io_;
  config::Check check_;
  ProbeTarget target_;
  std::optional<ScriptUser> user_;
  std::string user_error_;
  std::shared_ptr<MiscAttempt> current_;
};

}  // namespace

std::unique_ptr<Probe> make_misc_probe(asio::io_context& io, const config::Check& check,
                                       const ProbeTarget& target) {
  return std::make_unique<MiscProbe>(io, check, target);
}

}  // namespace lvsd::checkers
