#pragma once
// A Server-Sent Events client for tests, as a browser's EventSource reads a stream: the
// response's head, then one frame at a time (id, event, data), each wait bounded.

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared

#include <chrono>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace comfyq::testing {

struct sse_frame {
  std::string id, event, data;
};

class sse_client {
 public:
  /// Opens GET `target` on 127.0.0.1:`port` with `headers` and reads the response's head.
  sse_client(std::uint16_t port, const std::string& target, const std::vector<std::pair<std::string, std::string>>& headers)
      : socket_(io_) {
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
    request += "\r\n";
    boost::asio::write(socket_, boost::asio::buffer(request));
    head_ = read_until("\r\n\r\n", std::chrono::seconds(10)).value_or("");
  }

  /// The status line and headers.
  const std::string& head() const { return head_; }

  /// The next frame (comments skipped), or nothing if none came within `timeout` or the stream ended.
  std::optional<sse_frame> next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    while (true) {
      const std::optional<std::string> block = read_until("\n\n", timeout);
      if (!block) return std::nullopt;
      sse_frame frame;
      std::istringstream lines(*block);
      for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("id: ")) frame.id = line.substr(4);
        if (line.starts_with("event: ")) frame.event = line.substr(7);
        if (line.starts_with("data: ")) frame.data = line.substr(6);
      }
      if (!frame.event.empty() || !frame.data.empty()) return frame;  // else a comment or retry: skipped
    }
  }

  /// The next frame that is not a queue position: positions are derived from the queue after
  /// each batch the server reads of the log, so how many come depends on how it batched.
  std::optional<sse_frame> next_logged(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    while (std::optional<sse_frame> frame = next(timeout)) {
      if (frame->event != "position_changed") return frame;
    }
    return std::nullopt;
  }

  /// Whether the server ended the stream within `timeout`.
  bool ended(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    while (true) {
      if (closed_) return true;
      if (!read_some(timeout)) return closed_;
    }
  }

 private:
  std::optional<std::string> read_until(const std::string& delimiter, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const std::size_t at = buffered_.find(delimiter);
      if (at != std::string::npos) {
        std::string block = buffered_.substr(0, at + delimiter.size());
        buffered_.erase(0, at + delimiter.size());
        return block;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(left)) return std::nullopt;
    }
  }

  // Reads what arrives within `timeout`; false if nothing did (or the stream ended).
  bool read_some(std::chrono::milliseconds timeout) {
    if (closed_) return false;
    char chunk[64 * 1024];
    bool got = false;
    socket_.async_read_some(boost::asio::buffer(chunk), [&](boost::system::error_code ec, std::size_t n) {
      if (ec && ec != boost::asio::error::operation_aborted) closed_ = true;  // aborted: the wait timed out
      buffered_.append(chunk, n);
      got = n > 0;
    });
    io_.restart();
    io_.run_for(timeout);
    if (!io_.stopped()) {
      socket_.cancel();
      io_.restart();
      io_.run();
    }
    return got;
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::string head_;
  std::string buffered_;
  bool closed_ = false;
};

}  // namespace comfyq::testing
