#pragma once
// One HTTP request to ComfyUI on a connection of its own (so a ComfyUI that restarted leaves no
// stale socket behind), its answer read in the pieces the caller needs: the header first, then
// the body whole or a buffer at a time. Every failure throws the comfyq error of its real cause.

#include "comfyq/comfyui/detail/blocking_io.hpp"  // first: it includes <utility> before Asio

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/optional/optional.hpp>

#include "comfyq/comfyui/client_options.hpp"
#include "comfyq/comfyui/detail/http_failures.hpp"
#include "comfyq/errors.hpp"

namespace comfyq::comfyui::detail {

namespace http = beast::http;

/// The most body bytes a call takes (never unlimited: Boost 1.74's parser refuses every body
/// that arrives apart from its header when told boost::none), the option that sets it, and
/// what to do about an answer above it.
struct body_limit {
  std::uint64_t bytes;
  std::string_view option;
  std::string_view advice;
};

class http_exchange {
 public:
  /// Connects and sends the request; throws comfyui_unavailable when either fails. The answer
  /// must come within request_timeout of the request, except as read_piece says.
  http_exchange(const client_options& options, body_limit limit, http::verb verb, std::string_view target,
                std::string body, std::string_view content_type)
      : options_(options),
        limit_(limit),
        what_(std::string(http::to_string(verb)) + " " + std::string(target)),
        consequence_(verb == http::verb::post ? "; it was sent, so ComfyUI may or may not have carried it out" : "") {
    if (const beast::error_code error = connect(io_, stream_, options_)) {
      throw comfyui_unavailable(unavailable_message(
          options_, "cannot connect (" + describe(error, options_.connect_timeout) + ")", "; " + what_ + " was not sent"));
    }
    // Boost 1.74's Beast takes boost::string_view, not std::string_view.
    http::request<http::string_body> request{verb, std::string(target), 11};
    request.set(http::field::host, options_.address());
    request.set(http::field::user_agent, "comfyq");
    if (!content_type.empty()) request.set(http::field::content_type, std::string(content_type));
    request.keep_alive(false);
    request.body() = std::move(body);
    request.prepare_payload();
    beast::error_code failure;
    stream_.expires_after(options_.request_timeout);
    http::async_write(stream_, request, [&](beast::error_code error, std::size_t) { failure = error; });
    run_until_done(io_);
    if (failure) throw unavailable(failure);
  }

  /// Reads the answer's header into `parser`, setting the parser's body limit first.
  template <class Parser>
  void read_header(Parser& parser) {
    parser.body_limit(limit_.bytes);
    await(parser, [&](auto done) { http::async_read_header(stream_, buffer_, parser, done); });
  }

  /// Reads the rest of the answer into `parser`.
  template <class Parser>
  void read_body(Parser& parser) {
    await(parser, [&](auto done) { http::async_read(stream_, buffer_, parser, done); });
  }

  /// Reads the next piece of the body into the buffer that `parser`'s body points at, until it
  /// is full or the answer is whole. Each piece may take request_timeout, so a large file that
  /// keeps coming is never cut.
  void read_piece(http::response_parser<http::buffer_body>& parser) {
    stream_.expires_after(options_.request_timeout);
    await(parser, [&](auto done) { http::async_read(stream_, buffer_, parser, done); });
  }

 private:
  template <class Parser, class Start>
  void await(Parser& parser, Start start) {
    beast::error_code failure;
    start([&](beast::error_code error, std::size_t) { failure = error; });
    run_until_done(io_);
    if (!failure || failure == http::error::need_buffer) return;  // need_buffer: the piece's buffer is full
    if (failure == http::error::body_limit) throw above_limit(parser.content_length());
    if (answer_is_not_http(failure)) {
      throw comfyui_protocol_error("http", what_ + " got an answer that is not HTTP (" + refusal_cause(failure) +
                                               "); is something other than ComfyUI listening on " + options_.address() +
                                               "?");
    }
    if (answer_refused(failure)) {
      throw comfyui_protocol_error("http", what_ + " got an HTTP answer that does not parse (" + refusal_cause(failure) +
                                               "); ComfyUI's always parse: is it ComfyUI (or a proxy in front of it) "
                                               "listening on " + options_.address() + "?");
    }
    throw unavailable(failure);
  }

  comfyui_unavailable unavailable(const beast::error_code& failure) const {
    const std::string how =
        answer_cut_short(failure)
            ? " failed: ComfyUI closed the connection before its answer was whole (" + failure.message() + ")"
            : " failed (" + describe(failure, options_.request_timeout) + ")";
    // Once connected, the request went out (whole or in part): ComfyUI may have acted on it.
    return comfyui_unavailable(unavailable_message(options_, what_ + how, consequence_), comfyui_unavailable::request::sent);
  }

  invalid_input above_limit(const boost::optional<std::uint64_t>& announced) const {
    const std::string size = announced ? std::to_string(*announced) + " bytes" : "a longer body";
    return invalid_input(std::string(limit_.option), "is " + std::to_string(limit_.bytes) + " bytes, and " + what_ +
                                                         " answered with " + size + "; " + std::string(limit_.advice));
  }

  const client_options& options_;
  body_limit limit_;
  std::string what_;         // "GET /history/x", as messages name the request
  std::string consequence_;  // what became of the request when the answer fails
  net::io_context io_;
  beast::tcp_stream stream_{io_};
  beast::flat_buffer buffer_;
};

}  // namespace comfyq::comfyui::detail
