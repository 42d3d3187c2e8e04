// Component test of the Daemon: a real config file, the real status socket,
// a fake module recording what the core hands it.
#include "daemon/core/daemon.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/post.hpp>

#include "daemon/lvsctl/client.hpp"

namespace lvsd::core {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Calls {
  int start = 0;
  int reconfigure = 0;
  int stop = 0;
  std::vector<std::string> last_changes;
  std::size_t last_services = 0;
};

class FakeModule : public Module {
 public:
  explicit FakeModule(Calls& calls) : calls_(calls) {}
  std::string_view name() const override { return "fake"; }
  void start(const config::Config& cfg) override {
    ++calls_.start;
    calls_.last_services = cfg.services.size();
  }
  void reconfigure(const config::Config& cfg, const config::ConfigDiff& diff) override {
    ++calls_.reconfigure;
    calls_.last_services = cfg.services.size();
    calls_.last_changes = diff.describe();
  }
  void stop() override { ++calls_.stop; }
  void register_commands(StatusServer& server) override {
    server.add_command("fake", [this](const json&) { return json{{"starts", calls_.start}}; });
  }
  json snapshot() const override { return {{"fake", true}}; }

 private:
  Calls& calls_;
};

constexpr const char* kOneService = R"(services:
  - name: web
    address: 127.0.0.1
    port: 8080
    realservers:
      - address: 127.0.0.2
)";

constexpr const char* kTwoServices = R"(services:
  - name: web
    address: 127.0.0.1
    port: 8080
    realservers:
      - address: 127.0.0.2
  - name: dns
    address: 127.0.0.1
    port: 53
    protocol: udp
    realservers:
      - address: 127.0.0.3
)";

constexpr const char* kBroken = R"(services:
  - name: web
    address: 127.0.0.1
    port: 8080
    realservers:
      - address: 127.0.0.2
        weight: -1
)";

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lvsd-daemon-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_ = dir_ + "/lvsd.yaml";
    socket_ = dir_ + "/lvsd.sock";
    write(kOneService);
  }
  void TearDown() override {
    if (thread_.joinable()) {
      boost::asio::post(daemon_->io(), [this] { daemon_->request_stop(); });
      thread_.join();
    }
    fs::remove_all(dir_);
  }
  void write(const char* text) { std::ofstream(config_, std::ios::trunc) << text; }

  void start() {
    DaemonOptions o;
    o.config_path = config_;
    o.status_socket = socket_;
    o.pid_file = dir_ + "/lvsd.pid";
    o.log_level = config::LogLevel::off;
    daemon_ = std::make_unique<Daemon>(o);
    daemon_->add_module(std::make_unique<FakeModule>(calls_));
    auto result = std::make_shared<std::promise<int>>();
    exit_code_ = result->get_future();
    thread_ = std::thread([this, result] { result->set_value(daemon_->run()); });
    for (int i = 0; i < 500 && !fs::exists(socket_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(fs::exists(socket_));
  }

  json ask(const json& request) {
    ctl::Client c(socket_, std::chrono::seconds(5));
    c.send(request);
    return c.receive();
  }

  int stop() {
    boost::asio::post(daemon_->io(), [this] { daemon_->request_stop(); });
    thread_.join();
    return exit_code_.get();
  }

  std::string dir_, config_, socket_;
  Calls calls_;
  std::unique_ptr<Daemon> daemon_;
  std::thread thread_;
  std::future<int> exit_code_;
};

TEST_F(DaemonTest, StartsAnswersAndStopsCleanly) {
  start();
  json r = ask({{"command", "status"}});
  ASSERT_EQ(r["ok"], true) << r.dump();
  EXPECT_EQ(r["data"]["services"], 1);
  EXPECT_EQ(r["data"]["pid"], ::getpid());
  EXPECT_EQ(r["data"]["modules"], json::array({"fake"}));
  EXPECT_EQ(calls_.start, 1);
  EXPECT_EQ(ask({{"command", "fake"}})["data"]["starts"], 1);
  EXPECT_TRUE(fs::exists(dir_ + "/lvsd.pid"));

  json svc = ask({{"command", "services"}});
  EXPECT_EQ(svc["data"]["source"], "config");
  EXPECT_EQ(svc["data"]["services"][0]["name"], "web");
  EXPECT_EQ(svc["data"]["services"][0]["realservers"][0]["address"], "127.0.0.2");

  EXPECT_EQ(stop(), 0);
  EXPECT_EQ(calls_.stop, 1);
  EXPECT_FALSE(fs::exists(socket_));
  EXPECT_FALSE(fs::exists(dir_ + "/lvsd.pid"));
}

TEST_F(DaemonTest, BrokenReloadKeepsRunningConfigAndReportsErrors) {
  start();
  ctl::Client sub(socket_, std::chrono::seconds(5));
  sub.send({{"command", "subscribe"}});
  ASSERT_EQ(sub.receive()["ok"], true);

  write(kBroken);
  json r = ask({{"command", "reload"}});
  EXPECT_EQ(r["ok"], false);
  const std::string err = r["error"];
  EXPECT_NE(err.find(config_ + ":7:17: services[0].realservers[0].weight"), std::string::npos)
      << err;
  EXPECT_EQ(calls_.reconfigure, 0);

  json event = sub.receive();
  EXPECT_EQ(event["type"], "reload");
  EXPECT_EQ(event["ok"], false);
  ASSERT_EQ(event["errors"].size(), 1u);

  json cfg = ask({{"command", "config"}});
  EXPECT_EQ(cfg["data"]["last_reload"]["ok"], false);
  EXPECT_NE(cfg["data"]["running"].get<std::string>().find("127.0.0.2"), std::string::npos);
  EXPECT_EQ(ask({{"command", "status"}})["data"]["services"], 1);
  EXPECT_EQ(ask({{"command", "status"}})["data"]["reloads"]["rejected"], 1);

  write(kTwoServices);
  r = ask({{"command", "reload"}});
  ASSERT_EQ(r["ok"], true) << r.dump();
  EXPECT_EQ(calls_.reconfigure, 1);
  EXPECT_EQ(calls_.last_services, 2u);
  ASSERT_FALSE(calls_.last_changes.empty());
  bool saw_added = false;
  for (const auto& c : calls_.last_changes)
    saw_added |= c.find("dns") != std::string::npos;
  EXPECT_TRUE(saw_added) << ::testing::PrintToString(calls_.last_changes);
  event = sub.receive();
  EXPECT_EQ(event["type"], "reload");
  EXPECT_EQ(event["ok"], true);
  EXPECT_EQ(ask({{"command", "status"}})["data"]["services"], 2);

  EXPECT_EQ(stop(), 0);
}

TEST_F(DaemonTest, InvalidConfigAtStartIsExitCodeOne) {
  write(kBroken);
  DaemonOptions o;
  o.config_path = config_;
  o.status_socket = socket_;
  o.log_level = config::LogLevel::off;
  Daemon d(o);
  EXPECT_EQ(d.run(), 1);
  EXPECT_FALSE(fs::exists(socket_));
}

}  // namespace
}  // namespace lvsd::core

namespace lvsd::core {
namespace {

// sd_notify as systemd sees it: a datagram socket named by NOTIFY_SOCKET, and
// WATCHDOG_USEC/WATCHDOG_PID for the watchdog.
class NotifyTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    notify_path_ = dir_ + "/notify.sock";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notify_path_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::setenv("NOTIFY_SOCKET", notify_path_.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "200000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    DaemonTest::TearDown();
    if (fd_ >= 0) ::close(fd_);
  }
  // Next datagram, or "" after 5 s.
  std::string next() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return "";
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }
  // Skips watchdog pings until a message containing `what` (bounded).
  std::string wait_for(const std::string& what) {
    for (int i = 0; i < 200; ++i) {
      std::string m = next();
      if (m.empty()) return "";
      if (m.find(what) != std::string::npos) return m;
    }
    return "";
  }
  std::string notify_path_;
  int fd_ = -1;
};

TEST_F(NotifyTest, ReadyReloadingWatchdogStopping) {
  start();
  const std::string ready = wait_for("READY=1");
  EXPECT_NE(ready.find("STATUS=running: 1 services"), std::string::npos) << ready;
  // Pings at half of WATCHDOG_USEC, from the event loop.
  int pings = 0;
  for (int i = 0; i < 10 && pings < 3; ++i)
    pings += next() == "WATCHDOG=1" ? 1 : 0;
  EXPECT_EQ(pings, 3);

  ask({{"command", "reload"}});
  const std::string reloading = wait_for("RELOADING=1");
  EXPECT_NE(reloading.find("MONOTONIC_USEC="), std::string::npos) << reloading;
  EXPECT_NE(wait_for("READY=1"), "");

  boost::asio::post(daemon_->io(), [this] { daemon_->request_stop(); });
  EXPECT_EQ(wait_for("STOPPING=1"), "STOPPING=1");
  thread_.join();
  EXPECT_EQ(exit_code_.get(), 0);
}

}  // namespace
}  // namespace lvsd::core
