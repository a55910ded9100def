#pragma once
// The worker's WebSocket to one ComfyUI, /ws?clientId=<id> (comfyui-protocol/PROTOCOL.md §4):
// every frame of the prompts submitted under that client_id, read one at a time with a timeout.

#include "comfyq/comfyui/detail/blocking_io.hpp"  // first: it includes <utility> before Asio

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "comfyq/comfyui/binary_frames.hpp"
#include "comfyq/comfyui/client_options.hpp"
#include "comfyq/comfyui/detail/http_failures.hpp"
#include "comfyq/comfyui/detail/url_encoding.hpp"
#include "comfyq/comfyui/messages.hpp"
#include "comfyq/errors.hpp"

namespace comfyq::comfyui {

/// A binary frame that owns its bytes: frame().payload views them, and stays valid in copies.
class binary_message {
 public:
  /// Reads `bytes` with parse_binary_frame (and throws as it does).
  explicit binary_message(std::string bytes)
      : bytes_(std::make_shared<const std::string>(std::move(bytes))), frame_(parse_binary_frame(*bytes_)) {}

  const binary_frame& frame() const noexcept { return frame_; }

 private:
  std::shared_ptr<const std::string> bytes_;  // on the heap, so the views in frame_ survive moves
  binary_frame frame_;
};

/// What ws_client::read gives: a text frame or a binary frame.
using ws_frame = std::variant<message, binary_message>;

struct ws_options {
  /// Send the feature_flags frame first, so that previews come as binary type 4, which names
  /// its prompt and node, instead of type 1, which names neither. ComfyUI answers with a
  /// feature_flags message of its own.
  bool preview_metadata = false;
};

/// One WebSocket to one ComfyUI, used from one thread.
///
///     comfyq::comfyui::ws_client socket(options, worker_client_id, {.preview_metadata = true});
///     comfyq::comfyui::prompt_follower follower(job_id);
///     while (!follower.over()) {
///       if (auto frame = socket.read(std::chrono::seconds(1))) {
///         if (const auto* text = std::get_if<comfyq::comfyui::message>(&*frame)) follower.on_message(*text);
///       }
///       // ... heartbeat the lease between frames
///     }
///
/// A socket that drops (ComfyUI stopped, crashed or closed it, or sent a frame above the
/// options' max_frame_bytes) throws comfyq::comfyui_unavailable from read, then and on every
/// later read: connect a new ws_client. Frames ComfyUI sent while no socket was there are lost;
/// /history has the outcome. A frame outside the protocol throws
/// comfyq::comfyui_protocol_error, and the socket reads on.
class ws_client {
 public:
  /// Connects to ws://host:port/ws?clientId=<client_id> and, if asked, sends the feature flags.
  /// Throws invalid_input for unusable options or an empty client_id, comfyui_unavailable when
  /// ComfyUI cannot be reached, comfyui_protocol_error when the port does not speak WebSocket.
  ws_client(client_options options, std::string client_id, ws_options features = {})
      : options_(std::move(options)), client_id_(std::move(client_id)), connection_(std::make_unique<connection>()) {
    options_.validate();
    if (client_id_.empty()) {
      throw invalid_input("client_id", "is empty; ComfyUI sends a prompt's frames to the socket of the client_id "
                                       "it was submitted with, so give the worker's own");
    }
    connect();
    if (features.preview_metadata) send_text(R"({"type":"feature_flags","data":{"supports_preview_metadata":true}})");
  }

  const std::string& client_id() const noexcept { return client_id_; }
  /// False once the socket dropped or close() was called.
  bool open() const noexcept { return !closed_ && lost_.empty(); }

  /// The next frame, or nullopt when none arrives within `timeout`. The wait for a frame
  /// carries over to the next call, so nothing is lost by timing out.
  std::optional<ws_frame> read(std::chrono::milliseconds timeout) {
    if (closed_) throw invalid_input("ws_client", "was closed; connect a new ws_client to read again");
    if (!lost_.empty()) throw comfyui_unavailable(lost_);
    connection& c = *connection_;
    if (!c.read_pending) {
      c.read_pending = true;
      c.socket.async_read(c.buffer, [&c](detail::beast::error_code error, std::size_t) {
        c.read_pending = false;
        c.read_error = error;
      });
    }
    c.io.restart();
    c.io.run_for(timeout);
    if (c.read_pending) return std::nullopt;
    if (c.read_error) {
      lost_ = lost_message(c.read_error);
      throw comfyui_unavailable(lost_);
    }
    std::string bytes = detail::beast::buffers_to_string(c.buffer.data());
    c.buffer.consume(c.buffer.size());
    if (c.socket.got_binary()) return ws_frame{binary_message(std::move(bytes))};
    return ws_frame{parse_message(bytes)};
  }

  /// Closes the socket with a close frame, waiting at most request_timeout for ComfyUI's answer.
  /// Never throws: a socket that is already gone is closed too.
  void close() noexcept {
    if (closed_) return;
    closed_ = true;
    if (!lost_.empty()) return;
    connection& c = *connection_;
    try {
      c.socket.async_close(detail::beast::websocket::close_code::normal, [](detail::beast::error_code) {});
      c.io.restart();
      c.io.run_for(options_.request_timeout);
      // A read left waiting by read() started without a deadline: closing the TCP socket ends it,
      // and the close handshake with it, when ComfyUI does not answer.
      if (!c.io.stopped()) {
        detail::beast::error_code ignored;
        detail::beast::get_lowest_layer(c.socket).socket().close(ignored);
        detail::run_until_done(c.io);
      }
    } catch (...) {
      // Only running out of memory could throw here; the socket is given up either way.
    }
  }

 private:
  // On the heap, so that the handler of a read still waiting for its frame survives moves.
  struct connection {
    detail::net::io_context io{1};
    detail::beast::websocket::stream<detail::beast::tcp_stream> socket{io};
    detail::beast::flat_buffer buffer;
    bool read_pending = false;
    detail::beast::error_code read_error;
  };

  void connect() {
    namespace beast = detail::beast;
    connection& c = *connection_;
    const std::string target = "/ws?clientId=" + detail::url_encode(client_id_);
    auto& stream = beast::get_lowest_layer(c.socket);
    if (const beast::error_code error = detail::connect(c.io, stream, options_)) {
      throw comfyui_unavailable(detail::unavailable_message(
          options_, "cannot connect the WebSocket " + target + " (" + detail::describe(error, options_.connect_timeout) + ")",
          ""));
    }
    c.socket.read_message_max(options_.max_frame_bytes);
    beast::error_code failure;
    stream.expires_after(options_.request_timeout);
    c.socket.async_handshake(options_.address(), target, [&](beast::error_code error) { failure = error; });
    detail::run_until_done(c.io);
    if (failure == beast::websocket::error::upgrade_declined || detail::answer_refused(failure)) {
      const std::string cause = detail::answer_refused(failure) ? detail::refusal_cause(failure) : failure.message();
      throw comfyui_protocol_error("ws", "GET " + target + " was not answered with a WebSocket upgrade (" + cause +
                                             "); is ComfyUI listening on " + options_.address() + "?");
    }
    if (failure) {
      throw comfyui_unavailable(detail::unavailable_message(
          options_, "the WebSocket handshake of " + target + " failed (" + detail::describe(failure, options_.request_timeout) + ")",
          ""));
    }
    // Reads wait as long as read() says, not as long as the stream's deadline.
    stream.expires_never();
  }

  void send_text(const std::string& text) {
    namespace beast = detail::beast;
    connection& c = *connection_;
    auto& stream = beast::get_lowest_layer(c.socket);
    beast::error_code failure;
    stream.expires_after(options_.request_timeout);
    c.socket.text(true);
    c.socket.async_write(detail::net::buffer(text), [&](beast::error_code error, std::size_t) { failure = error; });
    detail::run_until_done(c.io);
    stream.expires_never();
    if (failure) {
      lost_ = lost_message(failure);
      throw comfyui_unavailable(lost_);
    }
  }

  std::string lost_message(const detail::beast::error_code& error) const {
    namespace websocket = detail::beast::websocket;
    const std::string consequence =
        "; frames sent while no socket is open are lost: connect a new ws_client and read the prompt's outcome from "
        "/history";
    if (error == websocket::error::message_too_big) {
      // Beast closes the socket itself; ComfyUI is fine, so "is it running?" would mislead.
      return "ComfyUI at " + options_.address() + " sent the WebSocket of client '" + client_id_ +
             "' a frame above comfyui.max_frame_bytes (" + std::to_string(options_.max_frame_bytes) +
             " bytes), which closed it" + consequence +
             ". Raise max_frame_bytes if workflows send previews or SaveImageWebsocket images this large.";
    }
    const std::string how = error == websocket::error::closed
                                ? "ComfyUI closed the WebSocket of client '" + client_id_ + "'"
                                : "the WebSocket of client '" + client_id_ + "' dropped (" + error.message() + ")";
    return detail::unavailable_message(options_, how, consequence);
  }

  client_options options_;
  std::string client_id_;
  std::unique_ptr<connection> connection_;
  bool closed_ = false;
  std::string lost_{};  // why the socket dropped; empty while it is up
};

}  // namespace comfyq::comfyui
