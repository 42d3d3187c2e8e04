#pragma once
// A small scripted TCP/HTTP server on 127.0.0.1, port 0, running on the test's
// io_context (optionally TLS). For each connection it reads the request (up to
// `read_until`, or nothing when empty), asks the script what to do, waits
// `delay`, sends `data`, then closes, resets (RST) or hangs.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace lvsd::checkers::test {

struct Reply {
  std::chrono::milliseconds delay{0};
  std::string data;
  enum class End { close, reset, hang } end = End::close;
};

// "HTTP/1.1 <status>" with Content-Length and the body.
inline std::string http_response(int status, const std::string& body,
                                 const std::string& extra_headers = {}) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
         extra_headers + "\r\n" + body;
}

class ScriptedServer {
 public:
  using Script = std::function<Reply(const std::string& request)>;

  ScriptedServer(boost::asio::io_context& io, Script script, std::string read_until = "\r\n\r\n",
                 std::shared_ptr<boost::asio::ssl::context> tls = nullptr)
      : state_(
            std::make_shared<State>(io, std::move(script), std::move(read_until), std::move(tls))) {
    using boost::asio::ip::tcp;
    tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    state_->acceptor.open(ep.protocol());
    state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    state_->acceptor.bind(ep);
    state_->acceptor.listen();
    accept(state_);
  }
  ~ScriptedServer() {
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& w : state_->open)
      if (auto s = w.lock()) s->close();
  }

  uint16_t port() const { return state_->acceptor.local_endpoint().port(); }
  const std::vector<std::string>& requests() const { return state_->requests; }
  int accepted() const { return state_->accepted; }
  // TLS handshakes the server saw fail (client cert missing, ...).
  int handshake_failures() const { return state_->handshake_failures; }

 private:
  struct Session {
    virtual ~Session() = default;
    virtual void close() = 0;
  };
  struct State {
    State(boost::asio::io_context& io, Script s, std::string until,
          std::shared_ptr<boost::asio::ssl::context> t)
        : io(io),
          acceptor(io),
          script(std::move(s)),
          read_until(std::move(until)),
          tls(std::move(t)) {}
    boost::asio::io_context& io;
    boost::asio::ip::tcp::acceptor acceptor;
    Script script;
    std::string read_until;
    std::shared_ptr<boost::asio::ssl::context> tls;
    std::vector<std::string> requests;
    std::vector<std::weak_ptr<Session>> open;
    int accepted = 0;
    int handshake_failures = 0;
  };

  template <class Stream>
  struct Conn : Session, std::enable_shared_from_this<Conn<Stream>> {
    template <class... A>
    Conn(std::shared_ptr<State> st, A&&... a)
        : state(std::move(st)), stream(std::forward<A>(a)...), timer(state->io) {}
    boost::asio::ip::tcp::socket& sock() {
      if constexpr (std::is_same_v<Stream, boost::asio::ip::tcp::socket>)
        return stream;
      else
        return stream.next_layer();
    }
    void close() override {
      boost::system::error_code ignored;
      timer.cancel();
      sock().close(ignored);
      hold.reset();
    }
    void start() {
      if constexpr (std::is_same_v<Stream, boost::asio::ip::tcp::socket>) {
        read();
      } else {
        stream.async_handshake(boost::asio::ssl::stream_base::server,
                               [self = this->shared_from_this()](auto ec) {
                                 if (ec) {
                                   ++self->state->handshake_failures;
                                   return self->close();
                                 }
                                 self->read();
                               });
      }
    }
    void read() {
      if (state->read_until.empty()) return respond();
      boost::asio::async_read_until(stream, boost::asio::dynamic_buffer(buf), state->read_until,
                                    [self = this->shared_from_this()](auto ec, std::size_t) {
                                      if (ec) return self->close();
                                      self->respond();
                                    });
    }
    void respond() {
      state->requests.push_back(buf);
      reply = state->script(buf);
      timer.expires_after(reply.delay);
      timer.async_wait([self = this->shared_from_this()](auto ec) {
        if (ec) return;
        boost::asio::async_write(self->stream, boost::asio::buffer(self->reply.data),
                                 [self](auto ec, std::size_t) { self->end(ec); });
      });
    }
    void end(const boost::system::error_code& ec) {
      if (ec) return close();
      boost::system::error_code ignored;
      switch (reply.end) {
        case Reply::End::close:
          sock().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
          // Keep the socket until the peer closes, so no RST races the data.
          sock().async_wait(boost::asio::socket_base::wait_read,
                            [self = this->shared_from_this()](auto) { self->close(); });
          break;
        case Reply::End::reset:
          sock().set_option(boost::asio::socket_base::linger(true, 0), ignored);
          close();
          break;
        case Reply::End::hang:
          hold = this->shared_from_this();  // until the server goes
          break;
      }
    }
    std::shared_ptr<State> state;
    Stream stream;
    boost::asio::steady_timer timer;
    std::string buf;
    Reply reply;
    std::shared_ptr<Session> hold;
  };

  static void accept(std::shared_ptr<State> st) {
    st->acceptor.async_accept([st](auto ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      ++st->accepted;
      std::shared_ptr<Session> session;
      if (st->tls) {
        using Tls = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
        auto c = std::make_shared<Conn<Tls>>(st, std::move(s), *st->tls);
        c->start();
        session = c;
      } else {
        auto c = std::make_shared<Conn<boost::asio::ip::tcp::socket>>(st, std::move(s));
        c->start();
        session = c;
      }
      st->open.push_back(session);
      accept(st);
    });
  }

  std::shared_ptr<State> state_;
};

}  // namespace lvsd::checkers::test
