#pragma once
// A small client for tests that talk to a ComfyUI (the stand-in): one-shot HTTP requests
// and a WebSocket that collects frames on a thread of its own. Every wait is bounded: a
// request that takes longer than its timeout throws, next_frame() gives up after its timeout.

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace comfyq::testing {

namespace client_detail {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
}  // namespace client_detail

struct http_reply {
  unsigned status{};
  std::map<std::string, std::string> headers{};  // names in lower case
  std::string body{};

  std::string header(const std::string& lower_case_name) const {
    const auto found = headers.find(lower_case_name);
    return found == headers.end() ? "" : found->second;
  }
  nlohmann::ordered_json json() const { return nlohmann::ordered_json::parse(body); }
};

struct http_call {
  std::string method{"GET"};
  std::string target{"/"};
  std::string body{};
  std::string content_type{};
};

/// Sends `call` on a new connection to 127.0.0.1:`port`; throws std::runtime_error when
/// the connection fails or the answer takes longer than `timeout`.
inline http_reply send_http(unsigned short port, const http_call& call, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  using namespace client_detail;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> request{http::string_to_verb(call.method), call.target, 11};
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  if (!call.content_type.empty()) request.set(http::field::content_type, call.content_type);
  request.body() = call.body;
  request.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  // Never boost::none: Boost 1.74's parser then refuses every body that arrives apart from its header.
  parser.body_limit(std::uint64_t{1} << 30);
  beast::error_code failure;
  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](beast::error_code error) {
    if (error) {
      failure = error;
      return;
    }
    http::async_write(stream, request, [&](beast::error_code write_error, std::size_t) {
      if (write_error) {
        failure = write_error;
        return;
      }
      http::async_read(stream, buffer, parser, [&](beast::error_code read_error, std::size_t) { failure = read_error; });
    });
  });
  ioc.run();
  if (failure) throw std::runtime_error(call.method + " " + call.target + ": " + failure.message());
  http_reply reply;
  reply.status = parser.get().result_int();
  for (const auto& field : parser.get()) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  reply.body = parser.get().body();
  return reply;
}

inline http_reply http_get(unsigned short port, const std::string& target) { return send_http(port, {"GET", target}); }

inline http_reply http_post_json(unsigned short port, const std::string& target, const nlohmann::ordered_json& body) {
  return send_http(port, {"POST", target, body.dump(), "application/json"});
}

/// One part of a multipart/form-data body; a file part has a filename.
struct form_part {
  std::string name{};
  std::string value{};
  std::optional<std::string> filename{};
};

/// A multipart/form-data request (POST /upload/image).
inline http_call multipart_call(const std::string& target, const std::vector<form_part>& parts) {
  const std::string boundary = "comfyq-test-boundary-7d1f";
  std::string body;
  for (const auto& part : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + part.name + "\"";
    if (part.filename) body += "; filename=\"" + *part.filename + "\"\r\nContent-Type: application/octet-stream";
    body += "\r\n\r\n" + part.value + "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return {"POST", target, body, "multipart/form-data; boundary=" + boundary};
}

/// A frame the server sent, or the end of the connection.
struct ws_frame {
  bool binary{};
  std::string data{};
  bool ended{};         // the connection is over; `error` says how
  bool clean_close{};   // it ended with a close frame (not a reset or a bare disconnect)
  std::string error{};

  nlohmann::ordered_json json() const { return nlohmann::ordered_json::parse(data); }
};

class ws_client {
 public:
  /// Connects to ws://127.0.0.1:`port``target` (e.g. "/ws?clientId=a"); throws when that
  /// fails or takes longer than `timeout`.
  ws_client(unsigned short port, const std::string& target, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    using namespace client_detail;
    auto connected = std::make_shared<std::promise<beast::error_code>>();
    auto result = connected->get_future();
    beast::get_lowest_layer(ws_).expires_after(timeout);
    beast::get_lowest_layer(ws_).async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [this, port, target, connected](beast::error_code error) {
          if (error) {
            connected->set_value(error);
            return;
          }
          ws_.async_handshake("127.0.0.1:" + std::to_string(port), target, [this, connected](beast::error_code handshake_error) {
            if (!handshake_error) {
              beast::get_lowest_layer(ws_).expires_never();
              read_next();
            }
            connected->set_value(handshake_error);
          });
        });
    thread_ = std::thread([this] { ioc_.run(); });
    if (result.wait_for(timeout + std::chrono::seconds(1)) != std::future_status::ready) {
      stop();
      throw std::runtime_error("WebSocket " + target + ": no handshake in time");
    }
    if (const auto error = result.get()) {
      stop();
      throw std::runtime_error("WebSocket " + target + ": " + error.message());
    }
  }

  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  ~ws_client() { stop(); }

  void send_text(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto done = std::make_shared<std::promise<client_detail::beast::error_code>>();
    auto result = done->get_future();
    auto payload = std::make_shared<std::string>(text);
    client_detail::net::post(ioc_, [this, done, payload] {
      ws_.text(true);
      ws_.async_write(client_detail::net::buffer(*payload),
                      [done, payload](client_detail::beast::error_code error, std::size_t) { done->set_value(error); });
    });
    if (result.wait_for(timeout) != std::future_status::ready) throw std::runtime_error("WebSocket send timed out");
    if (const auto error = result.get()) throw std::runtime_error("WebSocket send: " + error.message());
  }

  /// The next frame, or nullopt when none arrives within `timeout`.
  std::optional<ws_frame> next_frame(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!arrived_.wait_for(lock, timeout, [&] { return !inbox_.empty(); })) return std::nullopt;
    ws_frame frame = std::move(inbox_.front());
    inbox_.pop_front();
    return frame;
  }

  /// Sends a close frame and waits (bounded) for the server's answer.
  void close(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto done = std::make_shared<std::promise<void>>();
    auto result = done->get_future();
    client_detail::net::post(ioc_, [this, done] {
      ws_.async_close(client_detail::websocket::close_code::normal,
                      [done](client_detail::beast::error_code) { done->set_value(); });
    });
    result.wait_for(timeout);
  }

 private:
  void read_next() {
    ws_.async_read(buffer_, [this](client_detail::beast::error_code error, std::size_t) {
      ws_frame frame;
      if (error) {
        frame.ended = true;
        frame.clean_close = error == client_detail::websocket::error::closed;
        frame.error = error.message();
      } else {
        frame.binary = ws_.got_binary();
        frame.data = client_detail::beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
      }
      {
        const std::lock_guard lock(mutex_);
        inbox_.push_back(std::move(frame));
      }
      arrived_.notify_all();
      if (!error) read_next();
    });
  }

  void stop() {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  client_detail::net::io_context ioc_{1};
  client_detail::websocket::stream<client_detail::beast::tcp_stream> ws_{ioc_};
  client_detail::beast::flat_buffer buffer_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<ws_frame> inbox_;
};

}  // namespace comfyq::testing
