#pragma once
// A TCP server on a free loopback port that is not ComfyUI, for tests of how the clients take
// answers no ComfyUI gives: it answers every connection with fixed bytes (or nothing), then
// holds the connection open or closes it.

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace comfyq::testing::clients {

class impostor {
 public:
  enum class then { hold, close };

  /// Answers every connection with `answer` (nothing at all when empty), then does `after`.
  explicit impostor(std::string answer, then after = then::hold) : answer_(std::move(answer)), after_(after) {
    acceptor_.open(tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] {
      while (true) {
        tcp::socket peer(io_);
        boost::system::error_code error;
        acceptor_.accept(peer, error);
        if (error || stopping_) return;
        if (after_ == then::close) read_request(peer);
        if (!answer_.empty()) boost::asio::write(peer, boost::asio::buffer(answer_), error);
        if (after_ == then::close) {
          peer.shutdown(tcp::socket::shutdown_send, error);
        } else {
          held_.push_back(std::move(peer));
        }
      }
    });
  }
  impostor(const impostor&) = delete;
  impostor& operator=(const impostor&) = delete;
  ~impostor() {
    stopping_ = true;
    // Unblocks accept with one last connection.
    tcp::socket wake(io_);
    boost::system::error_code ignored;
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  using tcp = boost::asio::ip::tcp;

  // A socket closed with unread bytes sends a reset, which could reach the client before the
  // answer does: read the request (a GET: its header) first.
  static void read_request(tcp::socket& peer) {
    std::string request;
    char chunk[1024];
    boost::system::error_code error;
    while (request.find("\r\n\r\n") == std::string::npos && !error) {
      request.append(chunk, peer.read_some(boost::asio::buffer(chunk), error));
    }
  }

  std::string answer_;
  then after_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::vector<tcp::socket> held_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace comfyq::testing::clients
