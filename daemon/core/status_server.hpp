#pragma once
// The status socket: a Unix stream socket speaking JSON lines. Each request is
// one line, either a JSON object {"command":"status", ...args} or a bare
// command word ("status"); each response is one line
//   {"ok":true,"command":"status","data":{...}}   or
//   {"ok":false,"command":"status","error":"..."}.
// `subscribe` turns the connection into an event stream: after the first
// response, every EventBus event is written as one JSON line until the client
// closes. Many clients at once (up to kMaxClients); a malformed request gets a
// JSON error and the connection carries on; an oversized one (more than
// kMaxRequestBytes without a newline) gets a JSON error and is closed.
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include "daemon/core/event_bus.hpp"

namespace lvsd::core {

// Thrown by a command handler to answer {"ok":false,"error":what()}.
struct CommandError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct StatusSocketSettings {
  std::string path;
  unsigned mode = 0660;
  std::string group = "root";
};

class StatusServer {
 public:
  static constexpr std::size_t kMaxRequestBytes = 64 * 1024;
  static constexpr std::size_t kMaxClients = 64;
  // A subscriber that falls this many events behind is disconnected rather than
  // letting its queue grow without bound.
  static constexpr std::size_t kMaxQueuedEvents = 4096;

  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

  StatusServer(boost::asio::io_context& io, EventBus& events);
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  void add_command(const std::string& name, Handler handler);
  std::vector<std::string> command_names() const;

  // Binds and listens. Throws std::runtime_error naming the path and the
  // cause when the socket cannot be created, or when another daemon is
  // already answering on it. A stale socket file (nobody listening) is removed.
  void start(const StatusSocketSettings& settings);
  // Closes every connection and removes the socket file. Idempotent.
  void stop();

  const StatusSocketSettings& settings() const { return settings_; }
  std::size_t client_count() const { return sessions_.size(); }
  std::size_t subscriber_count() const;

  // Runs a request as if it came from a client (used by tests and SIGUSR1).
  nlohmann::json dispatch(const std::string& line);
  nlohmann::json dispatch_request(const nlohmann::json& request);

 private:
  class Session;
  void accept();
  void remove(const std::shared_ptr<Session>& s);

  boost::asio::io_context& io_;
  EventBus& events_;
  StatusSocketSettings settings_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::map<std::string, Handler> handlers_;
  std::set<std::shared_ptr<Session>> sessions_;
  bool bound_ = false;
};

}  // namespace lvsd::core
