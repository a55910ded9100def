#pragma once
// The HTTP vocabulary the server is written in: Beast's request and response with string
// bodies, and JSON answers.

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared

#include <functional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace comfyq::server {

namespace http = boost::beast::http;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

/// Takes a connection over once its request is answered by a stream rather than a response
/// (Server-Sent Events): called on the connection's strand, with the connection.
using stream_handoff = std::function<void(boost::beast::tcp_stream&&)>;

/// The answer to a request: `res` to write, or, when `handoff` is set, the connection handed
/// to it.
struct reply {
  response res{};
  stream_handoff handoff{};
};

/// Beast's string_view (Boost's, in Boost 1.74) as the standard one.
inline std::string_view view(boost::beast::string_view text) { return {text.data(), text.size()}; }

/// A response with a JSON body, answering `req` (its HTTP version and keep-alive).
inline response json_response(const request& req, http::status status, const nlohmann::json& body) {
  response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = body.dump();
  res.prepare_payload();
  return res;
}

}  // namespace comfyq::server
