#pragma once
// One client connection: reads a request, has the application answer it on the store's thread
// pool, writes the answer, and reads the next (keep-alive), or hands the connection to a stream
// when the answer is one (reply::handoff). The connection holds no thread
// while it waits for a request or for the store, so a few I/O threads serve every client. A
// client that sends nothing for `idle_timeout`, or a body over `max_body_bytes`, is answered
// and dropped; the rest of a body over the limit is read and thrown away for a few seconds
// first, so that the client, still sending it, gets to read the refusal.

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "comfyq/server/api_error.hpp"
#include "comfyq/server/http.hpp"

namespace comfyq::server {

/// What a session needs from the server: how to answer, where to run the answer, its limits.
struct session_settings {
  std::function<reply(const request&, const boost::asio::ip::address& peer)> answer;
  boost::asio::thread_pool* answer_pool = nullptr;
  std::size_t max_body_bytes = 64 * 1024 * 1024;
  std::chrono::seconds idle_timeout{60};
  std::function<void(int)> in_flight;  ///< told +1 when a request is read, -1 when its answer is written
};

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(boost::asio::ip::tcp::socket&& socket, const session_settings& settings)
      : stream_(std::move(socket)), settings_(settings) {}

  void run() {
    boost::asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(settings_.max_body_bytes);
    stream_.expires_after(settings_.idle_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(boost::beast::error_code ec) {
    if (ec == http::error::body_limit) {
      unread_body_ = true;
      request head;
      head.version(11);
      head.keep_alive(false);
      return write(error_response(head, api_error(http::status::payload_too_large, "payload_too_large",
                                                  "the body is over the server's limit of " +
                                                      std::to_string(settings_.max_body_bytes) + " bytes")),
                   false);
    }
    if (ec) return close();  // the client left, sent something that is not HTTP, or went quiet
    boost::beast::error_code no_peer;
    boost::asio::ip::address peer = stream_.socket().remote_endpoint(no_peer).address();
    stream_.expires_never();  // while the store answers; the write sets its own
    if (settings_.in_flight) settings_.in_flight(+1);
    boost::asio::post(*settings_.answer_pool, [self = shared_from_this(), req = parser_->release(), peer]() {
      reply answer = self->settings_.answer(req, peer);
      boost::asio::post(self->stream_.get_executor(), [self, answer = std::move(answer)]() mutable {
        if (!answer.handoff) return self->write(std::move(answer.res), true);
        if (self->settings_.in_flight) self->settings_.in_flight(-1);
        answer.handoff(std::move(self->stream_));  // this session ends here; the stream goes on
      });
    });
  }

  void write(response res, bool counted) {
    auto answer = std::make_shared<response>(std::move(res));
    stream_.expires_after(settings_.idle_timeout);
    http::async_write(stream_, *answer, [self = shared_from_this(), answer, counted](boost::beast::error_code ec, std::size_t) {
      if (counted && self->settings_.in_flight) self->settings_.in_flight(-1);
      if (ec || !answer->keep_alive()) return self->close();
      self->read();
    });
  }

  void close() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    if (unread_body_) {
      // Closing with unread data makes the system reset the connection, and a reset can reach
      // the client before it has read the answer. So read until the client closes its end, or
      // for `linger` at most.
      stream_.expires_after(linger);
      drain();
    }
  }

  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                              if (!ec) self->drain();
                            });
  }

  static constexpr std::chrono::seconds linger{5};

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const session_settings& settings_;
  bool unread_body_ = false;  ///< the client may still be sending a request's body
};

}  // namespace comfyq::server
