#pragma once
// HTTP plumbing shared by the routes: parsing a request target the way aiohttp does
// (percent-decoding, "+" as a space in the query) and building responses with the
// headers ComfyUI's aiohttp sends (JSON as "application/json; charset=utf-8", bodiless
// answers as an empty "application/octet-stream").

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyui_standin/python_text.hpp"

namespace comfyq::testing::standin {

namespace http = boost::beast::http;
using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

/// Beast 1.74's string_view is boost::string_view.
inline std::string_view std_view(boost::beast::string_view view) { return {view.data(), view.size()}; }

inline std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += (c == '+' && plus_is_space) ? ' ' : c;
    }
  }
  return out;
}

/// A request target split into its decoded path and query parameters.
struct request_target {
  std::string path{};
  std::vector<std::pair<std::string, std::string>> query{};

  explicit request_target(std::string_view target) {
    const std::size_t question = target.find('?');
    path = percent_decode(target.substr(0, question), false);
    if (question == std::string_view::npos) return;
    std::string_view rest = target.substr(question + 1);
    while (!rest.empty()) {
      const std::size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      const std::size_t equals = pair.find('=');
      if (!pair.empty()) {
        query.emplace_back(percent_decode(pair.substr(0, equals), true),
                           equals == std::string_view::npos ? "" : percent_decode(pair.substr(equals + 1), true));
      }
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
  }

  /// The first value of `name`, as aiohttp's query.get(name).
  std::optional<std::string> param(std::string_view name) const {
    for (const auto& [key, value] : query) {
      if (key == name) return value;
    }
    return std::nullopt;
  }
};

inline http_response make_response(const http_request& request, http::status status, std::string body,
                                   std::string_view content_type) {
  http_response response{status, request.version()};
  response.set(http::field::server, "comfyui-standin");
  response.set(http::field::content_type, boost::beast::string_view(content_type.data(), content_type.size()));
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

inline http_response json_response(const http_request& request, const json& body, http::status status = http::status::ok) {
  return make_response(request, status, python_dumps(body), "application/json; charset=utf-8");
}

/// web.Response(status=...): no body.
inline http_response empty_response(const http_request& request, http::status status = http::status::ok) {
  return make_response(request, status, "", "application/octet-stream");
}

/// What aiohttp answers when a handler raises.
inline http_response internal_error(const http_request& request) {
  http_response response = make_response(request, http::status::internal_server_error,
                                         "500 Internal Server Error\n\nServer got itself in trouble",
                                         "text/plain; charset=utf-8");
  response.keep_alive(false);
  return response;
}

inline http_response not_found(const http_request& request) {
  return make_response(request, http::status::not_found, "404: Not Found", "text/plain; charset=utf-8");
}

/// The request body as JSON; nullopt when it is not JSON (aiohttp's request.json() raises).
inline std::optional<json> json_body(const http_request& request) {
  try {
    return json::parse(request.body());
  } catch (const json::parse_error&) {
    return std::nullopt;
  }
}

}  // namespace comfyq::testing::standin
