#pragma once
// Where a worker on another machine finds the tenants' files: comfyq-server's worker routes
// (--files-url, --files-token), how long it waits for them, and where it stages outputs.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "comfyq/backoff.hpp"
#include "comfyq/comfyui/detail/host_port.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/model.hpp"

namespace comfyq::comfyui {

struct remote_files_options {
  std::string host{};
  unsigned short port = 80;
  /// Where the server's routes start behind a proxy, e.g. "/comfyq"; empty at the root.
  std::string prefix{};
  /// The server's worker token (its <data>/worker-token).
  std::string token{};
  /// The local folder outputs are written to before they are sent.
  std::filesystem::path scratch{};
  /// Waiting for the TCP connection.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  /// Waiting for one request to be sent and answered, a file's upload included.
  std::chrono::milliseconds request_timeout{std::chrono::minutes(5)};
  /// How long a server that cannot be reached (or answers 502, 503, 504) is tried again
  /// before a call gives up; meanwhile the worker keeps the job's lease.
  duration retry_for = std::chrono::seconds(30);
  backoff_policy backoff{};
  /// The largest input read_input takes.
  std::uint64_t max_input_bytes = std::uint64_t{4} << 30;

  /// The server of `url`, "http://host:port" or "http://host:port/prefix" (port 80 without
  /// one). Throws invalid_input naming `field` for anything else, https:// included.
  static remote_files_options from_url(std::string_view url, const std::string& field = "files_url") {
    const auto refuse = [&](const std::string& why) {
      return invalid_input(field, "'" + comfyq::detail::printable(url) + "' " + why +
                                      "; write the server's URL, e.g. http://10.0.0.5:8080 or http://host/comfyq");
    };
    std::string_view rest = url;
    if (rest.starts_with("https://")) {
      throw refuse("is HTTPS, which comfyq-worker does not speak yet; reach the server over http:// on a private "
                   "network, or through a tunnel (ssh -L, WireGuard)");
    }
    if (!rest.starts_with("http://")) throw refuse("is not an http:// URL");
    rest.remove_prefix(7);
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    while (path.ends_with('/')) path.remove_suffix(1);
    if (path.find_first_of("?#") != std::string_view::npos) throw refuse("has a query or a fragment");

    const std::optional<detail::host_port> where = detail::parse_host_port(authority, 80);
    if (!where) throw refuse("has no host, or no valid port");
    remote_files_options options;
    options.host = where->host;
    options.port = where->port;
    options.prefix = std::string(path);
    return options;
  }

  /// "http://host:port/prefix", as messages name it.
  std::string url() const { return "http://" + host + ":" + std::to_string(port) + prefix; }

  /// Throws invalid_input, naming the field, for options no worker can use.
  void validate() const {
    if (host.empty()) throw invalid_input("files_url", "has no host; give the server's URL, e.g. http://10.0.0.5:8080");
    if (token.empty()) {
      throw invalid_input("files_token", "is empty; give the server's worker token, which comfyq-server serve keeps "
                                         "in <data>/worker-token");
    }
    if (token.find_first_of("\r\n") != std::string::npos) {
      throw invalid_input("files_token", "holds a line break; give the token alone, as <data>/worker-token holds it");
    }
    if (scratch.empty()) throw invalid_input("files_scratch", "is empty; give a local folder for outputs being sent");
    if (connect_timeout <= std::chrono::milliseconds::zero() || request_timeout <= std::chrono::milliseconds::zero()) {
      throw invalid_input("files_timeout", "must be above 0 ms");
    }
    if (retry_for < duration::zero()) throw invalid_input("files_retry", "must be 0 ms or more");
    backoff.validate("files_backoff");
  }
};

}  // namespace comfyq::comfyui
