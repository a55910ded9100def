#pragma once
// Reading a request's JSON body, with refusals that say what is wrong: 415 for another media
// type, 400 for JSON that does not parse or is not an object, 422 for a field of the wrong type
// or one the endpoint does not know (a typo would otherwise be ignored silently).

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "comfyq/server/api_error.hpp"
#include "comfyq/server/http.hpp"

namespace comfyq::server {

/// Throws 422 naming the first field of the JSON object `object` that is not among `known`.
inline void require_known_fields(const nlohmann::json& object, std::span<const std::string_view> known) {
  for (const auto& [name, value] : object.items()) {
    bool listed = false;
    for (std::string_view k : known) listed = listed || k == name;
    if (!listed) {
      std::string fields;
      for (std::string_view k : known) fields += std::string(fields.empty() ? "" : ", ") + std::string(k);
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "unknown field '" + name + "'; this endpoint takes " + fields, name);
    }
  }
}

/// The body of `req` as a JSON object.
inline nlohmann::json json_object_body(const request& req) {
  std::string_view type = view(req[http::field::content_type]);
  if (!type.starts_with("application/json")) {
    throw api_error(http::status::unsupported_media_type, "unsupported_media_type",
                    "send the body as JSON with Content-Type: application/json");
  }
  nlohmann::json body = nlohmann::json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    throw api_error(http::status::bad_request, "invalid_json", "the body is not valid JSON; send one JSON object");
  }
  if (!body.is_object()) {
    throw api_error(http::status::bad_request, "invalid_json",
                    "the body is JSON " + std::string(body.type_name()) + ", not an object; send one JSON object");
  }
  return body;
}

/// The body of `req` as a JSON object whose fields are among `known`.
inline nlohmann::json json_object_body(const request& req, std::initializer_list<std::string_view> known) {
  nlohmann::json body = json_object_body(req);
  require_known_fields(body, std::span(known.begin(), known.size()));
  return body;
}

/// Throws 422 naming `field` unless `value` is of the type `is` checks; `expected` says which.
template <class Check>
void require_type(const nlohmann::json& value, std::string_view field, Check&& is, std::string_view expected) {
  if (is(value)) return;
  throw api_error(http::status::unprocessable_entity, "invalid_input",
                  std::string(field) + " must be " + std::string(expected) + ", not " + value.type_name(),
                  std::string(field));
}

}  // namespace comfyq::server
