#include "util/run_command.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace lvsd::util {

std::error_code run_command(const std::vector<std::string>& argv, const std::string& input,
                            std::string& detail) {
  detail.clear();
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

}  // namespace lvsd::util
