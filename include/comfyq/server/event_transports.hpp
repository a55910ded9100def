#pragma once
// How an event stream's frames travel (event_stream.hpp): as Server-Sent Events on the HTTP
// response (what a browser's EventSource reads), or as WebSocket text messages. Each transport
// opens the stream, frames an event, a gap and a keep-alive, writes a frame, and closes.

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "comfyq/json.hpp"
#include "comfyq/server/http.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

/// One event as an SSE frame. A derived event (no id) has no id line: an empty one would reset
/// the id the client resumes from.
inline std::string sse_frame(const store::logged_event& e) {
  nlohmann::json data = e.value;
  return (e.id.empty() ? "" : "id: " + e.id + "\n") + "event: " + std::string(to_string(e.value.type)) +
         "\ndata: " + data.dump() + "\n\n";
}

/// Server-Sent Events: a 200 response whose body never ends, a frame per event; a comment line
/// keeps proxies from timing an idle stream out and finds clients that left.
class sse_transport {
 public:
  explicit sse_transport(boost::beast::tcp_stream&& stream) : stream_(std::move(stream)) {}

  auto get_executor() { return stream_.get_executor(); }

  /// Opens the stream and calls `ready(true)`; the response's head is the first frame.
  template <class Ready>
  void open(Ready ready) {
    ready(true);
  }
  std::string greeting() const {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n"
           "X-Accel-Buffering: no\r\nConnection: close\r\n\r\nretry: 2000\n\n";
  }
  /// The client never speaks: a write finds one that left.
  template <class Ended>
  void watch(Ended) {}

  static std::string frame(const store::logged_event& e) { return sse_frame(e); }
  static std::string gap_frame() { return "event: gap\ndata: {}\n\n"; }
  static std::optional<std::string> keep_alive_frame() { return ": keep-alive\n\n"; }

  template <class Written>
  void write(const std::string& frame, Written written) {
    boost::asio::async_write(stream_.socket(), boost::asio::buffer(frame), std::move(written));
  }

  void close() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  boost::beast::tcp_stream stream_;
};

/// WebSocket: the upgrade of the request, then a text message per event, the event's JSON with
/// its `id` (a client that reconnects passes the last one as ?after=). Beast's pings keep an idle
/// stream open and find clients that left; the client's messages are read and ignored.
class websocket_transport {
 public:
  websocket_transport(boost::beast::tcp_stream&& stream, request upgrade, std::chrono::seconds keep_alive)
      : socket_(std::move(stream)), upgrade_(std::move(upgrade)) {
    boost::beast::websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout = 2 * keep_alive;  // a ping after keep_alive, closed without an answer by then
    timeouts.keep_alive_pings = true;
    socket_.set_option(timeouts);
    socket_.text(true);
  }

  auto get_executor() { return socket_.get_executor(); }

  /// Accepts the upgrade, then calls `ready` with whether it worked.
  template <class Ready>
  void open(Ready ready) {
    socket_.async_accept(upgrade_, [ready = std::move(ready)](boost::beast::error_code ec) mutable { ready(!ec); });
  }
  static std::string greeting() { return {}; }

  /// Reads (and drops) what the client sends, so that its pings and its close are answered;
  /// calls `ended` once the client closed or left.
  template <class Ended>
  void watch(Ended ended) {
    socket_.async_read(incoming_, [this, ended = std::move(ended)](boost::beast::error_code ec, std::size_t) mutable {
      incoming_.clear();
      if (ec) return ended();
      watch(std::move(ended));
    });
  }

  static std::string frame(const store::logged_event& e) {
    nlohmann::json data = e.value;
    if (!e.id.empty()) data["id"] = e.id;  // a derived event has none to resume from
    return data.dump();
  }
  static std::string gap_frame() { return R"({"type":"gap"})"; }
  static std::optional<std::string> keep_alive_frame() { return std::nullopt; }

  template <class Written>
  void write(const std::string& frame, Written written) {
    socket_.async_write(boost::asio::buffer(frame), std::move(written));
  }

  void close() {
    boost::beast::error_code ignored;
    boost::beast::get_lowest_layer(socket_).socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    boost::beast::get_lowest_layer(socket_).socket().close(ignored);
  }

 private:
  boost::beast::websocket::stream<boost::beast::tcp_stream> socket_;
  request upgrade_;
  boost::beast::flat_buffer incoming_;
};

}  // namespace comfyq::server
