#pragma once
// What the API answers when it refuses a request: {"error": {"code", "message", "field"?}}
// with the status that says why. A refusal changes nothing: handlers check before they act,
// and the store's calls are all-or-nothing.

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/errors.hpp"
#include "comfyq/server/http.hpp"

namespace comfyq::server {

/// A refusal: its status, a stable code, a message that says what to do, and the field at fault.
class api_error : public std::runtime_error {
 public:
  api_error(http::status status, std::string code, const std::string& message, std::string field = {})
      : std::runtime_error(message), status_(status), code_(std::move(code)), field_(std::move(field)) {}

  http::status status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }
  const std::string& field() const noexcept { return field_; }

  /// A header the refusal's response carries too (WWW-Authenticate, Retry-After).
  api_error& with_header(http::field name, std::string value) {
    headers_.emplace_back(name, std::move(value));
    return *this;
  }
  const std::vector<std::pair<http::field, std::string>>& headers() const noexcept { return headers_; }

 private:
  http::status status_;
  std::string code_;
  std::string field_;
  std::vector<std::pair<http::field, std::string>> headers_;
};

/// The refusal that a comfyq error from the store or the core means for a client.
inline api_error to_api_error(const comfyq::error& e) {
  switch (e.code()) {
    case errc::invalid_input: return {http::status::unprocessable_entity, "invalid_input", e.what(), e.field()};
    case errc::not_found: return {http::status::not_found, "not_found", e.what(), e.field()};
    case errc::lease_lost:
    case errc::conflict: return {http::status::conflict, "conflict", e.what(), e.field()};
    case errc::quota_exceeded: return {http::status::too_many_requests, "quota_exceeded", e.what(), e.field()};
    case errc::store_unavailable:
    case errc::comfyui_unavailable:
    case errc::comfyui_protocol: return {http::status::service_unavailable, "unavailable", e.what(), e.field()};
  }
  return {http::status::internal_server_error, "internal", e.what()};
}

inline response error_response(const request& req, const api_error& e) {
  nlohmann::json error{{"code", e.code()}, {"message", e.what()}};
  if (!e.field().empty()) error["field"] = e.field();
  response res = json_response(req, e.status(), {{"error", error}});
  for (const auto& [name, value] : e.headers()) res.set(name, value);
  return res;
}

}  // namespace comfyq::server
