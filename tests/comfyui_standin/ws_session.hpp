#pragma once
// One server-side WebSocket (/ws?clientId=...): greeted with status on connect, listens
// for the feature_flags handshake in the client's first text frame, ignores everything
// else the client sends, and writes the frames the hub routes to it, in order.

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <atomic>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "comfyui_standin/connections.hpp"
#include "comfyui_standin/http_messages.hpp"
#include "comfyui_standin/server_state.hpp"
#include "comfyui_standin/ws_frames.hpp"
#include "comfyui_standin/ws_hub.hpp"

namespace comfyq::testing::standin {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

class ws_session final : public ws_endpoint, public connection, public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(tcp::socket socket, const server_context& context, std::string sid)
      : ws_(std::move(socket)), context_(context), sid_(std::move(sid)) {}

  void start(http_request upgrade) {
    upgrade_ = std::move(upgrade);
    beast::get_lowest_layer(ws_).expires_never();  // the websocket stream keeps its own timeouts
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "comfyui-standin"); }));
    ws_.async_accept(upgrade_, [self = shared_from_this()](beast::error_code error) { self->on_accept(error); });
  }

  void send_text(std::string frame) override { enqueue(outgoing{.data = std::move(frame)}); }
  void send_binary(std::string frame) override { enqueue(outgoing{.data = std::move(frame), .binary = true}); }
  bool supports_preview_metadata() const override { return supports_preview_metadata_; }

  /// Hangs up after the frames queued so far, without a close frame.
  void abort() override { enqueue(outgoing{.hang_up = true}); }

  void abort_now() override { close_socket(beast::get_lowest_layer(ws_).socket()); }

 private:
  struct outgoing {
    std::string data{};
    bool binary{};
    bool hang_up{};  // not a frame: close the connection here
  };

  void on_accept(beast::error_code error) {
    if (error) return;
    context_.attach_socket(sid_, shared_from_this());
    read_next();
  }

  void read_next() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_read(error); });
  }

  void on_read(beast::error_code error) {
    if (error) {
      context_.hub.detach(sid_, this);
      return;
    }
    if (ws_.got_text() && first_text_) read_first_text(beast::buffers_to_string(buffer_.data()));
    buffer_.consume(buffer_.size());
    read_next();
  }

  /// Only a client's first (valid JSON) text frame can negotiate feature flags.
  void read_first_text(const std::string& text) {
    json message;
    try {
      message = json::parse(text);
    } catch (const json::parse_error&) {
      return;
    }
    first_text_ = false;
    if (!message.is_object() || message.value("type", json()) != "feature_flags") return;
    const json flags = message.value("data", json::object());
    supports_preview_metadata_ = flags.is_object() && flags.value("supports_preview_metadata", json()) == true;
    send_text(text_frame("feature_flags", server_features()));
  }

  /// Queued in the caller's thread, so frames leave in the order they were sent from any
  /// thread (posting each frame to the I/O thread would not keep that order).
  void enqueue(outgoing next) {
    bool start_writing = false;
    {
      const std::lock_guard lock(outbox_mutex_);
      outbox_.push_back(std::move(next));
      start_writing = !writing_;
      writing_ = true;
    }
    if (start_writing) net::post(ws_.get_executor(), [self = shared_from_this()] { self->write_next(); });
  }

  void write_next() {
    {
      const std::lock_guard lock(outbox_mutex_);
      if (outbox_.empty()) {
        writing_ = false;
        return;
      }
      in_flight_ = std::move(outbox_.front());
      outbox_.pop_front();
    }
    if (in_flight_.hang_up) {
      abort_now();  // and stay "writing": nothing leaves after this
      return;
    }
    ws_.binary(in_flight_.binary);
    ws_.async_write(net::buffer(in_flight_.data), [self = shared_from_this()](beast::error_code error, std::size_t) {
      if (error) {
        const std::lock_guard lock(self->outbox_mutex_);
        self->outbox_.clear();
        self->writing_ = false;
        return;
      }
      self->write_next();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  const server_context& context_;
  std::string sid_;
  http_request upgrade_;
  beast::flat_buffer buffer_;
  std::mutex outbox_mutex_;
  std::deque<outgoing> outbox_;
  bool writing_{false};  // a write_next chain is running or posted
  outgoing in_flight_;
  bool first_text_{true};
  std::atomic<bool> supports_preview_metadata_{false};
};

}  // namespace comfyq::testing::standin
