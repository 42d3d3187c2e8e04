#include "daemon/core/status_server.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace lvsd::core {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using nlohmann::json;

namespace {

json error_response(const std::string& command, const std::string& message) {
  json r = {{"ok", false}, {"error", message}};
  if (!command.empty()) r["command"] = command;
  return r;
}

bool is_command_word(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || c == '_' || c == '-')) return false;
  }
  return true;
}

// One request line -> the request object, or the error answer to send.
// A bare command word stands for {"command": word}.
struct ParsedRequest {
  json request;
  std::optional<json> error;
};

ParsedRequest parse_request(const std::string& line) {
  if (is_command_word(line)) return {json{{"command", line}}, std::nullopt};
  ParsedRequest p;
  try {
    p.request = json::parse(line);
  } catch (const json::parse_error& e) {
    p.error = error_response("", fmt::format("malformed request: {}", e.what()));
    return p;
  }
  if (!p.request.is_object() || !p.request.contains("command") ||
      !p.request["command"].is_string()) {
    p.error = error_response("", "malformed request: expected {\"command\":\"...\"}");
  }
  return p;
}

// Is a daemon answering on `path`? Used to tell a stale socket file from a
// live one before we unlink it.
bool socket_is_live(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return live;
}

}  // namespace

class StatusServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(StatusServer& server, local::socket socket)
      : server_(server), socket_(std::move(socket)), buffer_(kMaxRequestBytes) {}

  void start() { read(); }

  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(local::socket::shutdown_both, ignored);
    socket_.close(ignored);
    subscription_.reset();
  }

  bool subscribed() const { return subscription_ != nullptr; }

  // Queues one line; closes after it is written if `then_close`.
  void send(const json& message, bool then_close = false) {
    if (closing_) return;
    if (subscribed() && queue_.size() >= kMaxQueuedEvents) {
      spdlog::warn("event=status_client_dropped reason=slow_subscriber queued={}", queue_.size());
      queue_.clear();
      queue_.push_back(
          error_response("subscribe", "too slow: event queue overflowed, disconnecting").dump() +
          "\n");
      closing_ = true;
    } else {
      queue_.push_back(message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
      if (then_close) closing_ = true;
    }
    if (!writing_) write();
  }

 private:
  void read() {
    auto self = shared_from_this();
    asio::async_read_until(
        socket_, buffer_, '\n', [this, self](boost::system::error_code ec, std::size_t n) {
          if (ec == asio::error::not_found) {
            send(error_response(
                     "", fmt::format("request too large (limit {} bytes)", kMaxRequestBytes)),
                 true);
            return;
          }
          if (ec) {
            server_.remove(self);
            return;
          }
          std::string line(asio::buffers_begin(buffer_.data()),
                           asio::buffers_begin(buffer_.data()) + static_cast<std::ptrdiff_t>(n));
          buffer_.consume(n);
          while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
            line.pop_back();
          handle(line);
          if (!closing_) read();
        });
  }

  void handle(const std::string& line) {
    if (line.empty()) return;
    const ParsedRequest parsed = parse_request(line);
    if (parsed.error) {
      send(*parsed.error);
      return;
    }
    const json& request = parsed.request;
    const std::string command = request["command"];
    if (command == "subscribe") {
      if (subscribed()) {
        send(error_response(command, "already subscribed"));
        return;
      }
      std::weak_ptr<Session> weak = shared_from_this();
      subscription_ = server_.events_.subscribe([weak](const json& event) {
        if (auto s = weak.lock()) s->send(event);
      });
      send({{"ok", true},
            {"command", command},
            {"data", {{"subscribed", true}, {"seq", server_.events_.last_seq()}}}});
      return;
    }
    send(server_.dispatch_request(request));
  }

  void write() {
    if (queue_.empty()) {
      writing_ = false;
      if (closing_) {
        server_.remove(shared_from_this());
      }
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(queue_.front()),
                      [this, self](boost::system::error_code ec, std::size_t) {
                        if (ec) {
                          server_.remove(self);
                          return;
                        }
                        queue_.pop_front();
                        write();
                      });
  }

  StatusServer& server_;
  local::socket socket_;
  asio::streambuf buffer_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool closing_ = false;
  EventBus::Subscription subscription_;
};

StatusServer::StatusServer(asio::io_context& io, EventBus& events) : io_(io), events_(events) {}

StatusServer::~StatusServer() {
  stop();
}

void StatusServer::add_command(const std::string& name, Handler handler) {
  handlers_[name] = std::move(handler);
}

std::vector<std::string> StatusServer::command_names() const {
  std::vector<std::string> names;
  for (const auto& [name, _] : handlers_)
    names.push_back(name);
  names.push_back("subscribe");
  std::sort(names.begin(), names.end());
  return names;
}

void StatusServer::start(const StatusSocketSettings& settings) {
  stop();
  settings_ = settings;
  const std::string& path = settings.path;
  if (path.empty()) throw std::runtime_error("status socket: path is empty");
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    throw std::runtime_error(fmt::format("status socket {}: path longer than {} bytes", path,
                                         sizeof(sockaddr_un::sun_path) - 1));
  }
  std::error_code fec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, fec);

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw std::runtime_error(
          fmt::format("status socket {}: exists and is not a socket; refusing to remove it", path));
    }
    if (socket_is_live(path)) {
      throw std::runtime_error(fmt::format(
          "status socket {}: another daemon is answering on it (is lvsd already running?)", path));
    }
    ::unlink(path.c_str());
  }

  gid_t gid = static_cast<gid_t>(-1);
  if (!settings.group.empty()) {
    if (const group* g = ::getgrnam(settings.group.c_str())) {
      gid = g->gr_gid;
    } else {
      throw std::runtime_error(
          fmt::format("status socket {}: unknown group '{}'", path, settings.group));
    }
  }

  acceptor_ = std::make_unique<local::acceptor>(io_);
  boost::system::error_code ec;
  acceptor_->open(local(), ec);
  // Bind under a tight umask so there is no moment when the socket is wider
  // open than configured; then set the exact mode and group.
  const mode_t old_umask = ::umask(0177);
  if (!ec) acceptor_->bind(local::endpoint(path), ec);
  ::umask(old_umask);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.reset();
    throw std::runtime_error(fmt::format("status socket {}: {}", path, ec.message()));
  }
  bound_ = true;
  if (::chmod(path.c_str(), settings.mode) != 0) {
    throw std::runtime_error(
        fmt::format("status socket {}: chmod {:o}: {}", path, settings.mode, std::strerror(errno)));
  }
  if (gid != static_cast<gid_t>(-1) && ::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
    throw std::runtime_error(fmt::format("status socket {}: chown to group {}: {}", path,
                                         settings.group, std::strerror(errno)));
  }
  spdlog::info("event=status_socket_listening path={} mode={:04o} group={}", path, settings.mode,
               settings.group);
  accept();
}

void StatusServer::stop() {
  for (const auto& s : sessions_)
    s->close();
  sessions_.clear();
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    acceptor_.reset();
  }
  if (bound_) {
    ::unlink(settings_.path.c_str());
    bound_ = false;
  }
}

std::size_t StatusServer::subscriber_count() const {
  std::size_t n = 0;
  for (const auto& s : sessions_)
    n += s->subscribed() ? 1 : 0;
  return n;
}

void StatusServer::accept() {
  acceptor_->async_accept([this](boost::system::error_code ec, local::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_) return;
    if (!ec) {
      auto session = std::make_shared<Session>(*this, std::move(socket));
      if (sessions_.size() >= kMaxClients) {
        sessions_.insert(session);
        session->send(error_response("", fmt::format("too many clients (limit {})", kMaxClients)),
                      true);
      } else {
        sessions_.insert(session);
        session->start();
      }
    } else {
      spdlog::warn("event=status_accept_failed error={}", ec.message());
    }
    accept();
  });
}

void StatusServer::remove(const std::shared_ptr<Session>& s) {
  s->close();
  sessions_.erase(s);
}

json StatusServer::dispatch(const std::string& line) {
  const ParsedRequest parsed = parse_request(line);
  if (parsed.error) return *parsed.error;
  return dispatch_request(parsed.request);
}

json StatusServer::dispatch_request(const json& request) {
  if (!request.is_object() || !request.contains("command") || !request["command"].is_string()) {
    return error_response("", "malformed request: expected {\"command\":\"...\"}");
  }
  const std::string command = request["command"];
  auto it = handlers_.find(command);
  if (it == handlers_.end()) {
    std::string known;
    for (const auto& n : command_names())
      known += (known.empty() ? "" : ", ") + n;
    return error_response(command, fmt::format("unknown command '{}' (known: {})", command, known));
  }
  try {
    // Moved in, not listed: a braced list copies, and `checks` at 10,000
    // realservers is a 200,000-node document.
    json response = {{"ok", true}, {"command", command}};
    response["data"] = it->second(request);
    return response;
  } catch (const CommandError& e) {
    return error_response(command, e.what());
  } catch (const std::exception& e) {
    spdlog::error("event=status_command_failed command={} error={}", command, e.what());
    return error_response(command, fmt::format("internal error: {}", e.what()));
  }
}

}  // namespace lvsd::core
