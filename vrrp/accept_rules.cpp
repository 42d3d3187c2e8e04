#include "vrrp/accept_rules.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace lvsd::vrrp {
namespace {

// Runs argv with `input` on stdin, stderr captured into `detail` (the same
// way forwarding/userspace/steering.cpp runs iptables-restore). Bounded:
// iptables waits at most 5 s for the xtables lock (-w 5).
std::error_code run(const std::vector<std::string>& argv, const std::string& input,
                    std::string& detail) {
  int in[2], err[2];
  if (pipe2(in, O_CLOEXEC) < 0) return {errno, std::generic_category()};
  if (pipe2(err, O_CLOEXEC) < 0) {
    close(in[0]), close(in[1]);
    return {errno, std::generic_category()};
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(err[1]);
  if (rc != 0) {
    close(in[1]);
    close(err[0]);
    detail = fmt::format("{}: {}", argv[0], std::strerror(rc));
    return {rc, std::generic_category()};
  }
  std::size_t off = 0;
  while (off < input.size()) {
    const ssize_t n = write(in[1], input.data() + off, input.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  close(in[1]);
  std::array<char, 4096> buf{};
  detail.clear();
  for (;;) {
    const ssize_t n = read(err[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (detail.size() < 16384) detail.append(buf.data(), static_cast<std::size_t>(n));
  }
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' '))
    detail.pop_back();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (detail.empty()) detail = fmt::format("{} exited with status {}", argv[0], status);
  return std::make_error_code(std::errc::io_error);
}

std::vector<std::string> jump_args(const std::string& cmd, const char* verb) {
  return {cmd,         "-w", "5",       "-t",        "filter",           verb,
          "INPUT",     "-m", "comment", "--comment", kAcceptJumpComment, "-j",
          kAcceptChain};
}

}  // namespace

std::string accept_ruleset(Family family, const std::vector<boost::asio::ip::address>& vips) {
  std::string out = fmt::format("*filter\n:{} - [0:0]\n", kAcceptChain);
  for (const auto& v : vips) {
    if (v.is_v4() != (family == Family::inet)) continue;
    const std::string d = v.is_v4() ? v.to_string() + "/32" : v.to_string() + "/128";
    // VRRP itself (RFC 5798 §6.4.3 concerns the traffic the virtual router
    // forwards or terminates, not the protocol).
    out += fmt::format("-A {} -d {} -p 112 -j RETURN\n", kAcceptChain, d);
    if (family == Family::inet6) {
      // §6.4.3 (620): a master MUST answer Neighbor Solicitations for its
      // VIPs (and NUD probes are addressed to the VIP itself).
      out += fmt::format("-A {} -d {} -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j RETURN\n",
                         kAcceptChain, d);
      out += fmt::format("-A {} -d {} -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j RETURN\n",
                         kAcceptChain, d);
    }
    out += fmt::format("-A {} -d {} -j DROP\n", kAcceptChain, d);
  }
  return out + "COMMIT\n";
}

AcceptRules::AcceptRules(std::string iptables, std::string ip6tables)
    : iptables_(std::move(iptables)), ip6tables_(std::move(ip6tables)) {}

std::error_code AcceptRules::install(const std::vector<boost::asio::ip::address>& vips,
                                     std::string& detail) {
  for (auto [family, cmd] : {std::pair{Family::inet, &iptables_}, {Family::inet6, &ip6tables_}}) {
    if (auto ec = run({*cmd + "-restore", "-w", "5", "--noflush"}, accept_ruleset(family, vips),
                      detail)) {
      detail = fmt::format("{}-restore: {}", *cmd, detail);
      return ec;
    }
    std::string ignored;
    if (!run(jump_args(*cmd, "-C"), "", ignored)) continue;  // the jump is there
    // First in INPUT: an operator's earlier ACCEPT must not bypass Accept_Mode.
    if (auto ec = run(jump_args(*cmd, "-I"), "", detail)) {
      detail = fmt::format("{}: {}", *cmd, detail);
      return ec;
    }
  }
  return {};
}

std::error_code AcceptRules::remove(std::string& detail) {
  std::error_code first;
  for (const std::string* cmd : {&iptables_, &ip6tables_}) {
    std::string d;
    // Every jump lvsd added (a killed run and this one may have left more
    // than one; bounded), then the chain.
    for (int i = 0; i < 16; ++i) {
      if (run(jump_args(*cmd, "-D"), "", d)) break;
    }
    run({*cmd, "-w", "5", "-t", "filter", "-F", kAcceptChain}, "", d);
    run({*cmd, "-w", "5", "-t", "filter", "-X", kAcceptChain}, "", d);
    std::string check;
    if (!run({*cmd, "-w", "5", "-t", "filter", "-S", kAcceptChain}, "", check) && !first) {
      first = std::make_error_code(std::errc::device_or_resource_busy);
      detail = fmt::format("{}: chain {} still present", *cmd, kAcceptChain);
    }
  }
  return first;
}

}  // namespace lvsd::vrrp
