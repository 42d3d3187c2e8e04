#pragma once
// A one-connection server that answers (optionally) and then keeps the
// connection open to see how the probe closes it: a clean FIN reads as eof,
// SO_LINGER 0 as connection_reset.
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace lvsd::checkers::test {

class CloseWatch {
 public:
  // `reply` empty: accept only (a connect-only probe); else read the request
  // up to `until` and write `reply`.
  CloseWatch(boost::asio::io_context& io, std::string reply, std::string until = "\r\n\r\n")
      : acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        socket_(io),
        reply_(std::move(reply)),
        until_(std::move(until)) {
    acceptor_.async_accept(socket_, [this](const boost::system::error_code& ec) {
      if (ec) return;
      if (reply_.empty()) return watch();
      boost::asio::async_read_until(
          socket_, in_, until_, [this](const boost::system::error_code& ec, std::size_t) {
            if (ec) return;
            boost::asio::async_write(
                socket_, boost::asio::buffer(reply_),
                [this](const boost::system::error_code&, std::size_t) { watch(); });
          });
    });
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // How the peer's close arrived, once it did.
  const std::optional<boost::system::error_code>& closed() const { return closed_; }

 private:
  void watch() {
    socket_.async_read_some(boost::asio::buffer(buf_),
                            [this](const boost::system::error_code& ec, std::size_t) {
                              if (!ec) return watch();
                              closed_ = ec;
                            });
  }
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::streambuf in_;
  std::string reply_;
  std::string until_;
  std::array<char, 4096> buf_{};
  std::optional<boost::system::error_code> closed_;
};

}  // namespace lvsd::checkers::test
