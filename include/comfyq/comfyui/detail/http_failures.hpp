#pragma once
// What a failed read of ComfyUI's answer means. Either the socket failed (no answer in time,
// ComfyUI gone), or the answer broke off, or Beast refused the answer's bytes; a refusal is
// told apart by its cause, since an HTTP answer above a limit, one that breaks HTTP and one
// that is not HTTP at all each call for something else.

#include <string>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace comfyq::comfyui::detail {

namespace beast = boost::beast;
using http_error = beast::http::error;

/// Whether the answer broke off: ComfyUI closed the connection before it was whole.
inline bool answer_cut_short(const beast::error_code& error) {
  return error == http_error::end_of_stream || error == http_error::partial_message || error == http_error::short_read;
}

/// Whether Beast refused the bytes of the answer (rather than the socket failing, or the answer
/// breaking off).
inline bool answer_refused(const beast::error_code& error) {
  return error.category() == beast::http::make_error_code(http_error::bad_version).category() && !answer_cut_short(error);
}

/// Whether the answer's first line is no HTTP status line: something other than an HTTP server
/// answered (an SSH or Redis server, say).
inline bool answer_is_not_http(const beast::error_code& error) {
  return error == http_error::bad_version || error == http_error::bad_status || error == http_error::bad_reason ||
         error == http_error::bad_method || error == http_error::bad_target;
}

/// Beast's refusal of an answer and what it means, for messages: "bad field (a header line does
/// not parse)".
inline std::string refusal_cause(const beast::error_code& error) {
  const auto meaning = [&]() -> std::string {
    if (answer_is_not_http(error)) return "its first line is no HTTP status line";
    if (error == http_error::header_limit) return "its header is above the 8 KiB Beast takes; ComfyUI's are far smaller";
    if (error == http_error::body_limit) return "its body is above the limit the call set";
    if (error == http_error::bad_field || error == http_error::bad_value || error == http_error::bad_obs_fold ||
        error == http_error::bad_line_ending) {
      return "a header line does not parse";
    }
    if (error == http_error::bad_content_length) return "its Content-Length does not parse, or comes twice";
    if (error == http_error::bad_transfer_encoding) return "its Transfer-Encoding is none HTTP/1.1 allows";
    if (error == http_error::bad_chunk || error == http_error::bad_chunk_extension) {
      return "its chunked body does not parse";
    }
    return "it does not parse as HTTP/1.1";
  };
  return error.message() + ": " + meaning();
}

}  // namespace comfyq::comfyui::detail
