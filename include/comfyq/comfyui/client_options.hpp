#pragma once
// Where the worker's ComfyUI listens, and how long its HTTP and WebSocket clients wait for it.

#include <charconv>
#include <chrono>
#include <string>
#include <string_view>
#include <system_error>

#include "comfyq/errors.hpp"

namespace comfyq::comfyui {

/// The address of one ComfyUI and the waits that bound every call to it: a call either works or
/// throws comfyui_unavailable within about connect_timeout + request_timeout.
struct client_options {
  std::string host = "127.0.0.1";
  unsigned short port = 8188;
  /// Waiting for the TCP connection; on the same machine a refusal comes at once.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(3)};
  /// Waiting for a whole answer (or a WebSocket handshake, or a frame to be sent). POST /prompt
  /// validates the graph before answering, /object_info is a few MB: keep it generous.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};

  /// Options for "host:port" (or "host", for port 8188); throws invalid_input naming `field`.
  static client_options from_address(std::string_view address, const std::string& field = "comfyui") {
    client_options options;
    const std::size_t colon = address.rfind(':');
    options.host = std::string(address.substr(0, colon));
    if (colon != std::string_view::npos) {
      const std::string_view port = address.substr(colon + 1);
      unsigned value = 0;
      const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
      if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
        throw invalid_input(field, "'" + std::string(address) + "' has no valid port; write host:port, e.g. 127.0.0.1:8188");
      }
      options.port = static_cast<unsigned short>(value);
    }
    if (options.host.empty()) {
      throw invalid_input(field, "'" + std::string(address) + "' has no host; write host:port, e.g. 127.0.0.1:8188");
    }
    return options;
  }

  /// "host:port", as messages name it.
  std::string address() const { return host + ":" + std::to_string(port); }

  /// Throws invalid_input, naming the field, for options no client can use.
  void validate() const {
    if (host.empty()) throw invalid_input("comfyui.host", "is empty; give ComfyUI's address, e.g. 127.0.0.1");
    if (port == 0) throw invalid_input("comfyui.port", "is 0; give the port ComfyUI listens on (8188 by default)");
    if (connect_timeout <= std::chrono::milliseconds::zero()) {
      throw invalid_input("comfyui.connect_timeout", "must be above 0 ms");
    }
    if (request_timeout <= std::chrono::milliseconds::zero()) {
      throw invalid_input("comfyui.request_timeout", "must be above 0 ms");
    }
  }
};

}  // namespace comfyq::comfyui
