#pragma once
// A minimal blocking client for the lvsd status socket (JSON lines).
#include <chrono>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace lvsd::ctl {

// The daemon could not be reached or broke the protocol (exit code 3).
struct Unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Client {
 public:
  Client(const std::string& path, std::chrono::milliseconds timeout);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(const nlohmann::json& request);
  // Reads one JSON line. With `block`, waits without a timeout (event streams).
  nlohmann::json receive(bool block = false);

 private:
  int fd_ = -1;
  std::string path_;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

}  // namespace lvsd::ctl
