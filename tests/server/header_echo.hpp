#pragma once
// An HTTP server on 127.0.0.1 that answers every request with the request's head (its request
// line and headers) as the body: what comfyq-server would receive from the proxy in front.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

namespace comfyq::testing {

class header_echo {
 public:
  header_echo() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    serving_ = std::thread([this] { serve(); });
  }

  header_echo(const header_echo&) = delete;
  header_echo& operator=(const header_echo&) = delete;

  ~header_echo() {
    stopping_ = true;
    serving_.join();
    ::close(listener_);
  }

  unsigned short port() const { return port_; }

  /// How many requests reached it.
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stopping_) {
      pollfd readable{listener_, POLLIN, 0};
      if (::poll(&readable, 1, 50) <= 0) continue;
      const int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) continue;
      std::string head;
      char buffer[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        pollfd incoming{connection, POLLIN, 0};
        if (::poll(&incoming, 1, 5000) <= 0) break;
        const ssize_t count = ::read(connection, buffer, sizeof buffer);
        if (count <= 0) break;
        head.append(buffer, static_cast<std::size_t>(count));
      }
      ++requests_;
      const std::string answer =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
          std::to_string(head.size()) + "\r\n\r\n" + head;
      [[maybe_unused]] const ssize_t written = ::write(connection, answer.data(), answer.size());
      ::close(connection);
    }
  }

  int listener_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread serving_;
};

}  // namespace comfyq::testing
