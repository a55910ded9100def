#pragma once
// One log record per request the server answers, with a request id that the response carries
// too (X-Request-Id), so that a user's report and the server's log meet. A proxy's id (nginx's
// $request_id) is kept when it looks like one; otherwise the server makes one.

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "comfyq/comfyui/worker_log.hpp"
#include "comfyq/server/detail/random_bytes.hpp"
#include "comfyq/server/http.hpp"

namespace comfyq::server {

/// The header a request id travels in, both ways.
inline constexpr char request_id_header[] = "X-Request-Id";

/// The id a request arrived with, if it is 1 to 64 letters, digits, '-', '_' or '.'; else a new
/// one of 16 hex digits.
inline std::string request_id_of(const request& req) {
  const std::string_view given = view(req[request_id_header]);
  const auto token_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  };
  bool valid = !given.empty() && given.size() <= 64;
  for (char c : given) valid = valid && token_char(c);
  if (valid) return std::string(given);
  std::array<std::byte, 8> bytes{};
  detail::fill_random(bytes);
  static constexpr char hex[] = "0123456789abcdef";
  std::string made;
  for (std::byte b : bytes) {
    made += hex[static_cast<unsigned>(b) >> 4];
    made += hex[static_cast<unsigned>(b) & 0xf];
  }
  return made;
}

/// What is logged of one answered request: never its query string, headers or body (they may
/// hold passwords or workflows), and an internal error's cause, which the client is not told.
struct answered_request {
  std::string id{};
  const request* req = nullptr;
  std::string peer{};
  std::string user{};  ///< empty when not authenticated
  unsigned status = 0;
  std::chrono::microseconds took{};
  std::string cause{};  ///< why a 500 happened

  comfyui::log_record record() const {
    const std::string_view target = view(req->target());
    nlohmann::json fields{{"request_id", id},
                          {"method", std::string(view(req->method_string()))},
                          {"path", std::string(target.substr(0, target.find('?')))},
                          {"status", status},
                          {"ms", static_cast<double>(took.count()) / 1000.0},
                          {"peer", peer}};
    if (!user.empty()) fields["user"] = user;
    if (!cause.empty()) fields["cause"] = cause;
    return {.level = status >= 500 ? comfyui::log_level::error : comfyui::log_level::info,
            .event = "http.request",
            .fields = std::move(fields)};
  }
};

}  // namespace comfyq::server
