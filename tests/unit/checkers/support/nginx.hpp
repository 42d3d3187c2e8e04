#pragma once
// A real nginx for component tests: /usr/sbin/nginx with its own prefix and
// config under a TempDir, `daemon off; master_process off;`, listening on
// 127.0.0.1 ports picked free, run as a child and killed at the end.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>

#include "unit/checkers/support/temp_dir.hpp"

extern char** environ;

namespace lvsd::checkers::test {

inline uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class Nginx {
 public:
  static constexpr const char* kBinary = "/usr/sbin/nginx";
  static bool available() { return ::access(kBinary, X_OK) == 0; }

  // `servers`: the server blocks (inside http {}).
  Nginx(const TempDir& dir, const std::string& servers) : dir_(dir) {
    auto p = dir.path().string();
    std::filesystem::create_directories(dir.path() / "logs");
    std::string conf = "daemon off;\nmaster_process off;\nworker_processes 1;\npid " + p +
                       "/nginx.pid;\nerror_log " + p + "/logs/error.log warn;\n" +
                       "events { worker_connections 256; }\nhttp {\n  access_log off;\n" +
                       "  client_body_temp_path " + p + "/tmp_body;\n  proxy_temp_path " + p +
                       "/tmp_proxy;\n  fastcgi_temp_path " + p + "/tmp_fcgi;\n  uwsgi_temp_path " +
                       p + "/tmp_uwsgi;\n  scgi_temp_path " + p + "/tmp_scgi;\n" + servers +
                       "\n}\n";
    auto conf_path = dir.write("nginx.conf", conf);
    std::string error_log = p + "/logs/error.log";
    const char* argv[] = {kBinary,           "-p", p.c_str(),         "-c",
                          conf_path.c_str(), "-e", error_log.c_str(), nullptr};
    if (posix_spawn(&pid_, kBinary, nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
      pid_ = -1;
  }
  ~Nginx() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  // Waits (bounded) until every port accepts connections; false when nginx
  // exited or did not listen in time.
  bool wait_listening(std::initializer_list<uint16_t> ports,
                      std::chrono::milliseconds bound = std::chrono::seconds(10)) {
    if (pid_ <= 0) return false;
    auto deadline = std::chrono::steady_clock::now() + bound;
    boost::asio::io_context io;
    for (uint16_t port : ports) {
      for (;;) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return false;
        }
        boost::asio::ip::tcp::socket s(io);
        boost::system::error_code ec;
        s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
        if (!ec) break;
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // an external process
      }
    }
    return true;
  }
  std::string error_log() const {
    std::ifstream in(dir_.file("logs/error.log"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  const TempDir& dir_;
  pid_t pid_ = -1;
};

}  // namespace lvsd::checkers::test
