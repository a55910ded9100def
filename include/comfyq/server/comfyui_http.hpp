#pragma once
// What every route of ComfyUI's API per tenant (comfyui_api.hpp) shares: the two addresses of
// each route, the tenant an address names, and bodies read and written as ComfyUI's clients
// expect them (JSON whatever the Content-Type; json.dumps spacing; 200 with no body).

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "comfyq/comfyui/python_text.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/http.hpp"
#include "comfyq/server/router.hpp"

namespace comfyq::server {

using comfyui::ordered_json;

/// The two addresses of each route, as ComfyUI serves every route bare and under /api.
inline constexpr std::string_view comfyui_bases[] = {"/user/{name}", "/user/{name}/api"};

/// What GET /features answers, and the reply to a socket's feature_flags message.
inline ordered_json comfyui_server_features(std::size_t max_upload_bytes) {
  return {{"supports_preview_metadata", true}, {"max_upload_size", max_upload_bytes}};
}

/// The tenant the address names: the caller's own, or any for an admin.
inline const std::string& comfyui_tenant(const request_context& c) {
  const std::string& name = c.params[0];
  if (name != c.who.user && !c.who.admin) {
    throw api_error(http::status::forbidden, "forbidden",
                    "this is " + comfyq::detail::printable(name) + "'s ComfyUI; yours is /user/" + c.who.user + "/");
  }
  return name;
}

/// ComfyUI refuses a POST whose Origin is another site than its Host (a page elsewhere that
/// makes the browser send it), and so does this API: api_error 403. A request without an
/// Origin (not sent by a page) passes.
inline void comfyui_same_origin(const request_context& c) {
  const std::string_view origin = view(c.req[http::field::origin]);
  if (origin.empty()) return;
  std::string_view authority = origin;
  if (const std::size_t scheme = authority.find("://"); scheme != std::string_view::npos) authority.remove_prefix(scheme + 3);
  const std::string_view host = view(c.req[http::field::host]);
  if (authority != host) {
    throw api_error(http::status::forbidden, "forbidden",
                    "this request comes from a page of " + comfyq::detail::printable(origin) + ", not of this site (" +
                        comfyq::detail::printable(host) + "); a proxy in front must pass Host on as the client sent it");
  }
}

/// A response with a body as ComfyUI writes it: json.dumps, application/json; charset=utf-8.
inline response comfyui_json_response(const request& req, http::status status, const ordered_json& body) {
  response res{status, req.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = comfyui::python_dumps(body);
  res.prepare_payload();
  return res;
}

/// A body of JSON whatever its Content-Type; 400 JSON when it is not an object.
inline ordered_json comfyui_json_body(const request_context& c) {
  ordered_json body = ordered_json::parse(c.req.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    throw api_error(http::status::bad_request, "invalid_json", "the body is not a JSON object");
  }
  return body;
}

/// ComfyUI's answer to POST /queue, /interrupt and /history: 200 with no body.
inline response comfyui_empty_ok(const request& req) {
  response res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace comfyq::server
