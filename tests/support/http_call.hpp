#pragma once
// One HTTP request to a server on loopback and its whole answer: what a test of the server
// needs from a client, without a client library.

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace comfyq::testing {

struct http_answer {
  unsigned status = 0;
  std::string body;
  boost::beast::http::fields headers;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

/// The value of an Authorization header that logs in as `user` with HTTP Basic auth.
inline std::string basic(const std::string& user, const std::string& password) {
  const std::string credentials = user + ":" + password;
  std::string encoded(boost::beast::detail::base64::encoded_size(credentials.size()), '\0');
  encoded.resize(boost::beast::detail::base64::encode(encoded.data(), credentials.data(), credentials.size()));
  return "Basic " + encoded;
}

/// Sends `method target` with `headers` and `body` to 127.0.0.1:`port` and reads the answer.
inline http_answer http_call(std::uint16_t port, boost::beast::http::verb method, const std::string& target,
                             const std::vector<std::pair<std::string, std::string>>& headers = {},
                             const std::string& body = {}) {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1u << 30);
  http::read(stream, buffer, parser);
  http_answer answer{parser.get().result_int(), parser.get().body(), {}};
  for (const auto& field : parser.get()) answer.headers.insert(field.name_string(), field.value());
  boost::beast::error_code ignored;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  return answer;
}

}  // namespace comfyq::testing
