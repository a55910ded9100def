#pragma once
// One HTTP connection: reads requests (keep-alive), answers them through the router, and
// hands a WebSocket upgrade of /ws to a ws_session. With the split_writes knob an answer's
// headers and body go out in separate writes, as aiohttp often sends them.

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "comfyui_standin/connections.hpp"
#include "comfyui_standin/http_messages.hpp"
#include "comfyui_standin/http_router.hpp"
#include "comfyui_standin/routes_queue.hpp"
#include "comfyui_standin/server_state.hpp"
#include "comfyui_standin/ws_session.hpp"

namespace comfyq::testing::standin {

class http_session final : public connection, public std::enable_shared_from_this<http_session> {
 public:
  /// Uploads may be as large as /features' max_upload_size (100 MiB).
  static constexpr std::uint64_t body_limit = 104857600 + 1048576;
  /// With split_writes: the most body bytes one write carries, and the pause before each.
  static constexpr std::size_t split_piece = 65536;
  static constexpr std::chrono::milliseconds split_pause{5};

  http_session(tcp::socket socket, const server_context& context, connection_registry& connections)
      : stream_(std::move(socket)), context_(context), connections_(connections) {}

  void start() { read_next(); }

  void abort_now() override { close_socket(stream_.socket()); }

 private:
  void read_next() {
    parser_.emplace();
    parser_->body_limit(body_limit);
    stream_.expires_after(std::chrono::minutes(5));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_read(error); });
  }

  void on_read(beast::error_code error) {
    if (error) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    http_request request = parser_->release();
    if (websocket::is_upgrade(request) && route_path(request_target(std_view(request.target())).path) == "/ws") {
      upgrade(std::move(request));
      return;
    }
    const std::string path = route_path(request_target(std_view(request.target())).path);
    if (history_fails(path)) {
      response_ = internal_error(request);
    } else {
      try {
        response_ = route_request(context_, request);
      } catch (const std::exception&) {
        response_ = internal_error(request);  // as aiohttp does when a handler raises
      }
    }
    if (request.method() == http::verb::post && path == "/prompt" && drop_prompt_answer()) {
      abort_now();
      return;
    }
    if (split_writes()) {
      write_split();
      return;
    }
    http::async_write(stream_, *response_, [self = shared_from_this()](beast::error_code write_error, std::size_t) {
      self->on_written(write_error);
    });
  }

  void on_written(beast::error_code error) {
    if (error) return;
    if (!response_->keep_alive()) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    read_next();
  }

  bool split_writes() const {
    const std::lock_guard lock(context_.state.mutex);
    return context_.state.knobs.split_writes;
  }

  // The headers in one write, then the body in pieces a pause apart. Without Nagle's delay
  // (aiohttp turns it off too) each write leaves as it is, so the client reads them apart.
  void write_split() {
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    serializer_.emplace(*response_);
    serializer_->limit(split_piece);
    http::async_write_header(stream_, *serializer_, [self = shared_from_this()](beast::error_code error, std::size_t) {
      self->write_next_piece(error);
    });
  }

  void write_next_piece(beast::error_code error) {
    if (error || serializer_->is_done()) {
      on_written(error);
      return;
    }
    pause_.expires_after(split_pause);
    pause_.async_wait([self = shared_from_this()](beast::error_code) {
      http::async_write_some(self->stream_, *self->serializer_, [self](beast::error_code write_error, std::size_t) {
        self->write_next_piece(write_error);
      });
    });
  }

  bool history_fails(std::string_view path) const {
    const std::lock_guard lock(context_.state.mutex);
    return context_.state.knobs.history_fails && path.starts_with("/history");
  }

  bool drop_prompt_answer() const {
    const std::lock_guard lock(context_.state.mutex);
    return std::exchange(context_.state.knobs.drop_prompt_answer, false);
  }

  /// /ws?clientId=X routes messages for X here; without one the server makes up an id.
  void upgrade(http_request request) {
    std::string sid = request_target(std_view(request.target())).param("clientId").value_or("");
    if (sid.empty()) sid = uuid4(false);
    stream_.expires_never();
    auto session = std::make_shared<ws_session>(stream_.release_socket(), context_, std::move(sid));
    connections_.add(session);
    session->start(std::move(request));
  }

  beast::tcp_stream stream_;
  const server_context& context_;
  connection_registry& connections_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http_response> response_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  net::steady_timer pause_{stream_.get_executor()};
};

}  // namespace comfyq::testing::standin
