#pragma once
// Where the worker's ComfyUI listens, how long its HTTP and WebSocket clients wait for it, and
// how much of ComfyUI's answers they take.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "comfyq/comfyui/detail/host_port.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"

namespace comfyq::comfyui {

/// The address of one ComfyUI, the waits that bound every call to it (a call either works or
/// throws comfyui_unavailable within about connect_timeout + request_timeout) and the sizes
/// that bound what a call takes from it.
struct client_options {
  std::string host = "127.0.0.1";
  unsigned short port = 8188;
  /// Waiting for the TCP connection; on the same machine a refusal comes at once.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(3)};
  /// Waiting for a whole answer (or a WebSocket handshake, or a frame to be sent). POST /prompt
  /// validates the graph before answering, /object_info is a few MB: keep it generous. A
  /// download waits this long for each piece of the file, so a large file that keeps coming
  /// is never cut.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};
  /// The largest answer held in memory: JSON answers (/object_info is a few MB) and view()'s files.
  std::uint64_t max_answer_bytes = std::uint64_t{256} << 20;
  /// The largest file download() writes to disk; a video is a few GB at most.
  std::uint64_t max_download_bytes = std::uint64_t{64} << 30;
  /// The largest WebSocket frame ws_client takes: previews are a few MB, but SaveImageWebsocket
  /// sends whole images.
  std::uint64_t max_frame_bytes = std::uint64_t{64} << 20;

  /// Options for the address of a ComfyUI as operators write it: "host:port", "host" (port
  /// 8188), or the URL ComfyUI prints, "http://host:port" (port 80 without one), with or
  /// without a trailing "/". Throws invalid_input naming `field` for anything else.
  static client_options from_address(std::string_view address, const std::string& field = "comfyui") {
    const std::string given = comfyq::detail::printable(address);
    const auto refuse = [&](const std::string& why) -> invalid_input {
      return invalid_input(field, "'" + given + "' " + why + "; write host:port, e.g. 127.0.0.1:8188, or the URL "
                                                             "ComfyUI prints, e.g. http://127.0.0.1:8188");
    };
    std::string_view rest = trim(address);
    unsigned short default_port = 8188;
    if (const std::size_t scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
      const std::string_view scheme = rest.substr(0, scheme_end);
      if (equals_ignoring_case(scheme, "https")) {
        throw refuse("is HTTPS, which comfyq does not speak; give the address ComfyUI itself listens on, not a "
                     "TLS proxy in front of it");
      }
      if (!equals_ignoring_case(scheme, "http")) throw refuse("is not an http:// URL");
      rest.remove_prefix(scheme_end + 3);
      default_port = 80;
    }
    if (rest.ends_with('/')) rest.remove_suffix(1);
    if (rest.find_first_of("/?#") != std::string_view::npos) {
      throw refuse("has a path; comfyq calls ComfyUI's routes at the root of its address");
    }

    const std::optional<detail::host_port> where = detail::parse_host_port(rest, default_port);
    if (!where) throw refuse("has no host, or no valid port");
    client_options options;
    options.host = where->host;
    options.port = where->port;
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
    for (const auto& [limit, name] : {std::pair{max_answer_bytes, "comfyui.max_answer_bytes"},
                                      std::pair{max_download_bytes, "comfyui.max_download_bytes"},
                                      std::pair{max_frame_bytes, "comfyui.max_frame_bytes"}}) {
      if (limit == 0) throw invalid_input(name, "is 0, which no answer fits in; leave it at its default or raise it");
    }
  }

 private:
  static std::string_view trim(std::string_view text) {
    const std::size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
  }

  static bool equals_ignoring_case(std::string_view text, std::string_view lower) {
    if (text.size() != lower.size()) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
      if (c != lower[i]) return false;
    }
    return true;
  }
};

}  // namespace comfyq::comfyui
