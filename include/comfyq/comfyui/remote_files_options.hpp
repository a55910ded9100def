#pragma once
// Where a worker on another machine finds the tenants' files: comfyq-server's worker routes
// (--files-url, --files-token, --files-ca), how long it waits for them, and where it stages outputs.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "comfyq/backoff.hpp"
#include "comfyq/comfyui/detail/host_port.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/model.hpp"

namespace comfyq::comfyui {

struct remote_files_options {
  std::string host{};
  unsigned short port = 80;
  /// An https:// URL: the server is spoken to over TLS, its certificate verified.
  bool https = false;
  /// Where the server's routes start behind a proxy, e.g. "/comfyq"; empty at the root.
  std::string prefix{};
  /// The server's worker token (its <data>/worker-token).
  std::string token{};
  /// With https: the certificates (PEM) trusted for the server instead of the system's CAs, e.g.
  /// the self-signed certificate of a workshop's nginx. Empty: the system's CAs.
  std::filesystem::path ca_file{};
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

  /// The server of `url`, "http[s]://host:port" or "http[s]://host:port/prefix" (port 80, or 443
  /// for https, without one). Throws invalid_input naming `field` for anything else.
  static remote_files_options from_url(std::string_view url, const std::string& field = "files_url") {
    const auto refuse = [&](const std::string& why) {
      return invalid_input(field, "'" + comfyq::detail::printable(url) + "' " + why +
                                      "; write the server's URL, e.g. http://10.0.0.5:8080 or https://host/comfyq");
    };
    remote_files_options options;
    std::string_view rest = url;
    options.https = rest.starts_with("https://");
    if (!options.https && !rest.starts_with("http://")) throw refuse("is not an http:// or https:// URL");
    rest.remove_prefix(options.https ? 8 : 7);
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    while (path.ends_with('/')) path.remove_suffix(1);
    if (path.find_first_of("?#") != std::string_view::npos) throw refuse("has a query or a fragment");

    const std::optional<detail::host_port> where = detail::parse_host_port(authority, options.https ? 443 : 80);
    if (!where) throw refuse("has no host, or no valid port");
    options.host = where->host;
    options.port = where->port;
    options.prefix = std::string(path);
    return options;
  }

  /// "http[s]://host:port/prefix", as messages name it.
  std::string url() const { return (https ? "https://" : "http://") + host + ":" + std::to_string(port) + prefix; }

  /// The worker token kept in `file` (a copy of the server's <data>/worker-token), its trailing
  /// line break dropped: a token in a file stays out of `ps`. Throws invalid_input naming
  /// files_token_file when the file cannot be read or holds nothing.
  static std::string token_from_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::string token{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::error_code not_a_folder;
    if (!in.is_open() || in.bad() || std::filesystem::is_directory(file, not_a_folder)) {
      throw invalid_input("files_token_file", "'" + file.string() +
                                                  "' cannot be read; give a file that holds the server's worker "
                                                  "token, a copy of its <data>/worker-token");
    }
    while (token.ends_with('\n') || token.ends_with('\r')) token.pop_back();
    if (token.empty()) {
      throw invalid_input("files_token_file", "'" + file.string() + "' is empty; copy the server's "
                                                  "<data>/worker-token into it");
    }
    return token;
  }

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
    if (!ca_file.empty()) validate_ca_file();
    if (scratch.empty()) throw invalid_input("files_scratch", "is empty; give a local folder for outputs being sent");
    if (connect_timeout <= std::chrono::milliseconds::zero() || request_timeout <= std::chrono::milliseconds::zero()) {
      throw invalid_input("files_timeout", "must be above 0 ms");
    }
    if (retry_for < duration::zero()) throw invalid_input("files_retry", "must be 0 ms or more");
    backoff.validate("files_backoff");
  }

 private:
  // A file that is there and readable; whether it holds certificates is checked when the TLS
  // client loads it (remote_tenant_files, at its start).
  void validate_ca_file() const {
    if (!https) {
      throw invalid_input("files_ca", "is for an https:// server, and " + url() +
                                          " is http://; leave it out, or give the server's https:// URL");
    }
    std::error_code error;
    const bool folder = std::filesystem::is_directory(ca_file, error);
    if (folder || !std::ifstream(ca_file).is_open()) {
      throw invalid_input("files_ca", "'" + ca_file.string() + "' " + (folder ? "is a folder" : "cannot be read") +
                                          "; give the PEM file of the server's certificate, or of the CA that "
                                          "signed it");
    }
  }
};

}  // namespace comfyq::comfyui
