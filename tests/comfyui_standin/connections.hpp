#pragma once
// Every open connection (HTTP or WebSocket), so that a simulated crash can close them all
// at once, the way the kernel closes a killed process's sockets.

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <mutex>
#include <vector>

namespace comfyq::testing::standin {

namespace net = boost::asio;
using tcp = net::ip::tcp;

class connection {
 public:
  virtual ~connection() = default;
  /// Closes the socket now, mid-conversation (no WebSocket close frame, no HTTP answer).
  /// Call on the I/O thread.
  virtual void abort_now() = 0;
};

inline void close_socket(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.close(ignored);
}

class connection_registry {
 public:
  void add(const std::shared_ptr<connection>& open) {
    const std::lock_guard lock(mutex_);
    std::erase_if(connections_, [](const auto& weak) { return weak.expired(); });
    connections_.push_back(open);
  }

  /// Closes every connection still open. Call on the I/O thread.
  void abort_all() {
    std::vector<std::weak_ptr<connection>> all;
    {
      const std::lock_guard lock(mutex_);
      all.swap(connections_);
    }
    for (const auto& weak : all) {
      if (const auto open = weak.lock()) open->abort_now();
    }
  }

 private:
  std::mutex mutex_;
  std::vector<std::weak_ptr<connection>> connections_;
};

}  // namespace comfyq::testing::standin
