#pragma once
// Runs a short-lived helper command (iptables-restore, ipset, ...) the way
// lvsd's rule managers need it: `input` on its stdin, stdout discarded,
// stderr captured, exit status checked. Blocking: for commands that bound
// themselves (iptables -w 5 waits at most 5 s for the xtables lock).
#include <string>
#include <system_error>
#include <vector>

namespace lvsd::util {

// Runs argv (argv[0] looked up in PATH) with `input` on stdin. Success: exit
// status 0. Otherwise an error, with `detail` holding the command's stderr
// (at most 16 KiB, trailing newlines trimmed) or, when it printed nothing,
// why it failed ("<cmd>: No such file or directory", "<cmd> exited with
// status N"). `detail` is cleared on every call.
std::error_code run_command(const std::vector<std::string>& argv, const std::string& input,
                            std::string& detail);

}  // namespace lvsd::util
