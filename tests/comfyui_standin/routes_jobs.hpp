#pragma once
// GET /api/jobs and GET /api/jobs/{id}: ComfyUI's newer, flat view of the queue and the
// history (pending, in_progress, completed, failed), sorted, filtered and paginated.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "comfyq/comfyui/api_jobs.hpp"
#include "comfyui_standin/http_messages.hpp"
#include "comfyui_standin/server_state.hpp"

namespace comfyq::testing::standin {

namespace jobs_detail {

/// Every job the server knows: running, pending, then finished.
inline std::vector<comfyui::listed_job> all_jobs(const server_state& state) {
  std::vector<comfyui::listed_job> jobs;
  if (state.running) jobs.push_back(comfyui::listed_from_queue(state.running->as_tuple(), "in_progress", state.running->sequence));
  for (const auto& item : state.pending.items()) jobs.push_back(comfyui::listed_from_queue(item.as_tuple(), "pending", item.sequence));
  for (const auto& record : state.history.records()) {
    jobs.push_back(comfyui::listed_from_history(record.prompt_id, record.entry, record.sequence));
  }
  return jobs;
}

}  // namespace jobs_detail

inline http_response get_jobs(const server_context& context, const http_request& request, const request_target& target) {
  const auto query = comfyui::read_api_jobs_query([&](std::string_view name) { return target.param(name); });
  if (const std::string* error = std::get_if<std::string>(&query)) {
    return json_response(request, json{{"error", *error}}, http::status::bad_request);
  }
  std::vector<comfyui::listed_job> jobs;
  {
    const std::lock_guard lock(context.state.mutex);
    jobs = jobs_detail::all_jobs(context.state);
  }
  return json_response(request, comfyui::list_api_jobs(std::move(jobs), std::get<comfyui::api_jobs_query>(query)));
}

inline http_response get_job(const server_context& context, const http_request& request, const std::string& job_id) {
  std::vector<comfyui::listed_job> jobs;
  {
    const std::lock_guard lock(context.state.mutex);
    jobs = jobs_detail::all_jobs(context.state);
  }
  if (std::optional<json> found = comfyui::find_api_job(jobs, job_id)) return json_response(request, *found);
  return json_response(request, json{{"error", "Job not found"}}, http::status::not_found);
}

}  // namespace comfyq::testing::standin
