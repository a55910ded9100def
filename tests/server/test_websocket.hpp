#pragma once
// A WebSocket client of the test server (a tenant's ComfyUI socket, /ws or /user/<name>/ws; the
// event stream, /api/v1/events): the test server's user header on the handshake, each read
// bounded, text and binary messages apart.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace comfyq::testing {

class test_websocket {
 public:
  struct message {
    std::string bytes;
    bool binary = false;

    nlohmann::ordered_json json() const { return nlohmann::ordered_json::parse(bytes); }
    std::string type() const { return binary ? "(binary)" : json().at("type").get<std::string>(); }
  };

  /// Connects as `user`; refused() tells whether the server refused the upgrade.
  test_websocket(std::uint16_t port, const std::string& user, const std::string& target) {
    namespace websocket = boost::beast::websocket;
    socket_.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), port});
    socket_.set_option(websocket::stream_base::decorator([user](websocket::request_type& req) {
      if (!user.empty()) req.set("X-Test-User", user);
    }));
    boost::beast::error_code ec;
    socket_.handshake("127.0.0.1", target, ec);
    refused_ = static_cast<bool>(ec);
  }

  bool refused() const noexcept { return refused_; }

  void send(const std::string& text) {
    socket_.text(true);
    socket_.write(boost::asio::buffer(text));
  }

  /// The next message, or nothing if none came within `timeout` or the socket closed.
  std::optional<message> next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (lost_) return std::nullopt;
    boost::beast::error_code failure = boost::asio::error::timed_out;
    socket_.async_read(buffer_, [&](boost::beast::error_code ec, std::size_t) { failure = ec; });
    io_.restart();
    io_.run_for(timeout);
    if (!io_.stopped()) {  // nothing came: give up the read (the socket is of no more use)
      boost::beast::get_lowest_layer(socket_).cancel();
      io_.restart();
      io_.run();
      lost_ = true;
      return std::nullopt;
    }
    if (failure) {
      lost_ = true;
      return std::nullopt;
    }
    message m{boost::beast::buffers_to_string(buffer_.data()), socket_.got_binary()};
    buffer_.clear();
    return m;
  }

  /// The text messages up to and including `executing {node: null}` for `prompt_id`, binary
  /// ones included; stops early if the socket goes quiet for `timeout`.
  std::vector<message> until_finished(const std::string& prompt_id,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::vector<message> messages;
    while (std::optional<message> m = next(timeout)) {
      messages.push_back(*m);
      if (m->binary) continue;
      const nlohmann::ordered_json j = m->json();
      if (j.at("type") == "executing" && j.at("data").at("node").is_null() &&
          j.at("data").value("prompt_id", "") == prompt_id) {
        break;
      }
    }
    return messages;
  }

 private:
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> socket_{io_};
  boost::beast::flat_buffer buffer_;
  bool refused_ = false;
  bool lost_ = false;
};

}  // namespace comfyq::testing
