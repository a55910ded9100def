#pragma once
// Maps a request to its route. Every ComfyUI route also answers under the /api prefix;
// the jobs API exists only as /api/jobs. OPTIONS gets an empty 200, as in ComfyUI.

#include <string>
#include <string_view>

#include "comfyui_standin/http_messages.hpp"
#include "comfyui_standin/routes_discovery.hpp"
#include "comfyui_standin/routes_files.hpp"
#include "comfyui_standin/routes_jobs.hpp"
#include "comfyui_standin/routes_queue.hpp"
#include "comfyui_standin/server_state.hpp"
#include "comfyui_standin/ws_frames.hpp"

namespace comfyq::testing::standin {

/// The route path without the optional /api prefix.
inline std::string route_path(const std::string& path) {
  return path.starts_with("/api/") ? path.substr(4) : path;
}

inline http_response route_request(const server_context& context, const http_request& request) {
  const request_target target(std_view(request.target()));
  const std::string path = route_path(target.path);
  const http::verb method = request.method();
  const bool get = method == http::verb::get;
  const bool post = method == http::verb::post;
  const auto tail = [&](std::string_view prefix) { return path.substr(prefix.size()); };

  if (method == http::verb::options) return empty_response(request);
  if (target.path.starts_with("/api/jobs")) {
    if (get && target.path == "/api/jobs") return get_jobs(context, request, target);
    if (get && target.path.starts_with("/api/jobs/")) return get_job(context, request, target.path.substr(10));
    return not_found(request);
  }
  if (path == "/prompt" && post) return post_prompt(context, request);
  if (path == "/prompt" && get) return get_prompt(context, request);
  if (path == "/queue" && get) return get_queue(context, request);
  if (path == "/queue" && post) return post_queue(context, request);
  if (path == "/interrupt" && post) return post_interrupt(context, request);
  if (path == "/history" && get) return get_history(context, request, target);
  if (path == "/history" && post) return post_history(context, request);
  if (path.starts_with("/history/") && get) return get_history_entry(context, request, tail("/history/"));
  if (path == "/free" && post) return post_free(request);
  if (path == "/view" && get) return get_view(context, request, target);
  if (path == "/upload/image" && post) return post_upload_image(context, request);
  if (path == "/system_stats" && get) return get_system_stats(request);
  if (path == "/features" && get) return json_response(request, server_features());
  if (path == "/object_info" && get) return get_object_info(context, request);
  if (path.starts_with("/object_info/") && get) return get_object_info_class(context, request, tail("/object_info/"));
  if ((path == "/embeddings" || path == "/extensions") && get) return json_response(request, json::array());
  if (path == "/models" && get) return get_models(request);
  if (path.starts_with("/models/") && get) return get_model_folder(request, tail("/models/"));
  return not_found(request);
}

}  // namespace comfyq::testing::standin
