#pragma once
// One HTTP request to the server's worker routes, on a connection of its own (over TLS for an
// https:// server), its answer read whole. A server that cannot be reached, or breaks off its
// answer, throws files_server_unreachable, saying whether the request went out; every answer, a
// refusal included, is the caller's to read.

#include "comfyq/comfyui/detail/blocking_io.hpp"  // first: it includes <utility> before Asio

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "comfyq/comfyui/detail/files_tls.hpp"
#include "comfyq/comfyui/remote_files_options.hpp"

namespace comfyq::comfyui::detail {

/// The files server could not be reached, or its answer broke off.
class files_server_unreachable : public std::runtime_error {
 public:
  files_server_unreachable(const std::string& message, bool sent) : std::runtime_error(message), sent_(sent) {}
  /// True when the request went out first: the server may have carried it out.
  bool request_sent() const noexcept { return sent_; }

 private:
  bool sent_;
};

struct files_request {
  beast::http::verb verb = beast::http::verb::get;
  std::string path{};  ///< after the server's prefix, e.g. "/api/v1/worker/inputs/alice/cat.png"
  std::string body{};
  std::vector<std::pair<std::string, std::string>> headers{};
};

struct files_answer {
  unsigned status = 0;
  std::string body{};
};

// The failure of a call to `what` that `failure` broke off.
inline files_server_unreachable unreachable_error(const std::string& what, const std::string& failure, bool sent) {
  return files_server_unreachable(
      "the files server: " + what + " " + failure +
          (sent ? "; it was sent, so the server may have carried it out" : "; it was not sent") +
          ". Is comfyq-server running and reachable from this machine? Check --files-url.",
      sent);
}

// Sends `call` on `stream`, connected to the server of `options`, and reads the answer whole.
template <class Stream>
files_answer files_exchange(net::io_context& io, Stream& stream, const remote_files_options& options,
                            const files_request& call, std::uint64_t max_body, const std::string& what) {
  namespace http = beast::http;
  http::request<http::string_body> request{call.verb, options.prefix + call.path, 11};
  request.set(http::field::host, options.host + ":" + std::to_string(options.port));
  request.set(http::field::user_agent, "comfyq-worker");
  request.set(http::field::authorization, "Bearer " + options.token);
  for (const auto& [name, value] : call.headers) request.set(name, value);
  request.keep_alive(false);
  request.body() = call.body;
  request.prepare_payload();

  beast::error_code failure;
  beast::get_lowest_layer(stream).expires_after(options.request_timeout);
  http::async_write(stream, request, [&](beast::error_code error, std::size_t) { failure = error; });
  run_until_done(io);
  if (failure) throw unreachable_error(what, "failed (" + describe(failure, options.request_timeout) + ")", true);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body);
  http::async_read(stream, buffer, parser, [&](beast::error_code error, std::size_t) { failure = error; });
  run_until_done(io);
  if (failure == http::error::body_limit) {
    throw std::runtime_error("the files server: " + what + " answered with more than " + std::to_string(max_body) +
                             " bytes, the most this worker takes");
  }
  if (failure) {
    throw unreachable_error(what, "got no whole answer (" + describe(failure, options.request_timeout) + ")", true);
  }
  return {parser.get().result_int(), std::move(parser.get().body())};
}

/// Sends `call` to the server of `options` with its worker token, and reads the answer (up to
/// `max_body` bytes). An https server is spoken to over TLS with `tls`, which
/// tls_client_context made; a certificate that fails verification throws invalid_input
/// (files_ca).
inline files_answer files_call(const remote_files_options& options, net::ssl::context* tls, const files_request& call,
                               std::uint64_t max_body) {
  const std::string what = std::string(beast::http::to_string(call.verb)) + " " + options.url() + call.path;
  net::io_context io;
  beast::tcp_stream connection(io);
  if (const beast::error_code error = connect(io, connection, options.host, options.port, options.connect_timeout)) {
    throw unreachable_error(what, "cannot connect (" + describe(error, options.connect_timeout) + ")", false);
  }
  if (!options.https) return files_exchange(io, connection, options, call, max_body, what);
  if (tls == nullptr) throw std::logic_error("files_call: " + options.url() + " is https, and no TLS context given");
  tls_stream stream(std::move(connection), *tls);
  if (const beast::error_code error = tls_handshake(io, stream, options)) {
    throw unreachable_error(what, "got no TLS connection (" + describe(error, options.connect_timeout) + ")", false);
  }
  files_answer answer = files_exchange(io, stream, options, call, max_body, what);
  tls_shutdown(io, stream, options);
  return answer;
}

}  // namespace comfyq::comfyui::detail
