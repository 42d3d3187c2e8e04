// Component tests of the status socket: a real Unix socket in a temp dir, the
// server on an io_context thread, the lvsctl client on the test thread.
#include "daemon/core/status_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "daemon/lvsctl/client.hpp"

namespace lvsd::core {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class StatusServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lvsd-status-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/lvsd.sock";
    server_.add_command("status", [](const json&) { return json{{"answer", 42}}; });
    server_.add_command("echo", [](const json& r) { return r; });
    server_.add_command("fail", [](const json&) -> json { throw CommandError("nope"); });
  }
  void TearDown() override {
    if (thread_.joinable()) {
      on_io([this] { server_.stop(); });
      work_.reset();
      io_.stop();
      thread_.join();
    } else {
      server_.stop();
    }
    fs::remove_all(dir_);
  }

  void start(unsigned mode = 0660) {
    server_.start({path_, mode, ""});
    thread_ = std::thread([this] { io_.run(); });
  }

  // Runs fn on the io thread and waits for it.
  template <typename F>
  void on_io(F fn) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  ctl::Client client() { return ctl::Client(path_, std::chrono::seconds(5)); }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  EventBus events_;
  StatusServer server_{io_, events_};
  std::thread thread_;
  std::string dir_;
  std::string path_;
};

TEST_F(StatusServerTest, AnswersJsonAndBareWordRequests) {
  start();
  auto c = client();
  c.send({{"command", "status"}});
  json r = c.receive();
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["command"], "status");
  EXPECT_EQ(r["data"]["answer"], 42);

  // A bare command word, as typed into socat.
  const char line[] = "status\n";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::write(fd, line, sizeof(line) - 1), static_cast<ssize_t>(sizeof(line) - 1));
  char buf[256] = {};
  const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  ASSERT_GT(n, 0);
  EXPECT_EQ(json::parse(std::string(buf, static_cast<std::size_t>(n)))["data"]["answer"], 42);
}

TEST_F(StatusServerTest, MalformedRequestGetsErrorAndConnectionCarriesOn) {
  start();
  auto c = client();
  c.send("this is {not json");  // dumped as a JSON string: not an object
  json r = c.receive();
  EXPECT_EQ(r["ok"], false);
  EXPECT_NE(r["error"].get<std::string>().find("malformed request"), std::string::npos);

  c.send({{"command", 7}});
  r = c.receive();
  EXPECT_EQ(r["ok"], false);

  c.send({{"command", "nosuch"}});
  r = c.receive();
  EXPECT_EQ(r["ok"], false);
  EXPECT_NE(r["error"].get<std::string>().find("unknown command 'nosuch'"), std::string::npos);
  EXPECT_NE(r["error"].get<std::string>().find("status"), std::string::npos);

  c.send({{"command", "fail"}});
  r = c.receive();
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["error"], "nope");

  // Same connection still works.
  c.send({{"command", "echo"}, {"x", 1}});
  r = c.receive();
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["data"]["x"], 1);
}

TEST_F(StatusServerTest, OversizedRequestIsRefusedAndServerCarriesOn) {
  start();
  {
    auto c = client();
    std::string big(StatusServer::kMaxRequestBytes + 100, 'x');
    c.send(big);  // one JSON string line, longer than the limit
    json r = c.receive();
    EXPECT_EQ(r["ok"], false);
    EXPECT_NE(r["error"].get<std::string>().find("too large"), std::string::npos);
  }
  auto c2 = client();
  c2.send({{"command", "status"}});
  EXPECT_EQ(c2.receive()["ok"], true);
}

TEST_F(StatusServerTest, ManyClientsAtOnce) {
  start();
  std::vector<std::unique_ptr<ctl::Client>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<ctl::Client>(path_, std::chrono::seconds(5)));
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    clients[i]->send({{"command", "echo"}, {"i", i}});
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    EXPECT_EQ(clients[i]->receive()["data"]["i"], i);
  }
}

TEST_F(StatusServerTest, SubscribeStreamsEventsInOrder) {
  start();
  auto c = client();
  c.send({{"command", "subscribe"}});
  json r = c.receive();
  ASSERT_EQ(r["ok"], true);
  EXPECT_EQ(r["data"]["subscribed"], true);
  on_io([this] {
    events_.publish("reload", {{"ok", true}});
    events_.publish("health", {{"rs", "192.0.2.21:80"}});
  });
  json e1 = c.receive();
  json e2 = c.receive();
  EXPECT_EQ(e1["type"], "reload");
  EXPECT_EQ(e2["type"], "health");
  EXPECT_EQ(e2["seq"].get<int>(), e1["seq"].get<int>() + 1);
  EXPECT_EQ(e2["rs"], "192.0.2.21:80");
  EXPECT_TRUE(e1.contains("time"));
}

TEST_F(StatusServerTest, SocketModeAndRemovalOnStop) {
  start(0640);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  on_io([this] { server_.stop(); });
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(StatusServerTest, StaleSocketFileIsReplacedButLiveOneIsNot) {
  // A stale socket: bound, then the process "died" (fd closed, file left).
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  ASSERT_TRUE(fs::exists(path_));
  start();
  auto c = client();
  c.send({{"command", "status"}});
  EXPECT_EQ(c.receive()["ok"], true);

  // A second server on the same path must refuse: someone is answering.
  boost::asio::io_context io2;
  EventBus events2;
  StatusServer second(io2, events2);
  try {
    second.start({path_, 0660, ""});
    FAIL() << "second server started on a live socket";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("already running"), std::string::npos) << e.what();
  }
}

TEST_F(StatusServerTest, RefusesToReplaceARegularFile) {
  { std::ofstream(path_) << "important"; }
  EXPECT_THROW(server_.start({path_, 0660, ""}), std::runtime_error);
  EXPECT_TRUE(fs::exists(path_));
}

TEST_F(StatusServerTest, UnknownGroupIsAClearError) {
  try {
    server_.start({path_, 0660, "no-such-group-lvsd"});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown group 'no-such-group-lvsd'"), std::string::npos);
  }
}

}  // namespace
}  // namespace lvsd::core
