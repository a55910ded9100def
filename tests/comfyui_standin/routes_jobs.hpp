#pragma once
// GET /api/jobs and GET /api/jobs/{id}: ComfyUI's newer, flat view of the queue and the
// history (pending, in_progress, completed, failed), sorted, filtered and paginated.

#include <algorithm>
#include <string>
#include <vector>

#include "comfyui_standin/http_messages.hpp"
#include "comfyq/comfyui/prompt_validation.hpp"
#include "comfyui_standin/server_state.hpp"

namespace comfyq::testing::standin {

namespace jobs_detail {

struct job_view {
  json summary{};   // the list entry
  json detail{};    // what GET /api/jobs/{id} adds
  long long create_time{};
  long long duration{};
  std::uint64_t sequence{};
};

inline long long create_time_of(const json& extra_data) { return extra_data.value("create_time", 0LL); }

inline job_view from_queue(const queue_item& item, const char* status) {
  job_view view;
  view.create_time = create_time_of(item.extra_data);
  view.sequence = item.sequence;
  view.summary = json{{"id", item.prompt_id},
                      {"status", status},
                      {"priority", item.number},
                      {"create_time", view.create_time},
                      {"outputs_count", 0}};
  view.detail = json{{"workflow", {{"prompt", item.prompt}, {"extra_data", item.extra_data}}}};
  return view;
}

inline job_view from_history(const history_store::record& record) {
  const json& entry = record.entry;
  const json& prompt = entry.at("prompt");
  const json& status = entry.at("status");
  job_view view;
  view.create_time = create_time_of(prompt.at(3));
  view.sequence = record.sequence;
  view.summary = json{{"id", record.prompt_id},
                      {"status", status.at("status_str") == "success" ? "completed" : "failed"},
                      {"priority", prompt.at(0)},
                      {"create_time", view.create_time}};
  long long start = 0;
  long long end = 0;
  json error;
  for (const auto& message : status.at("messages")) {
    const std::string event = message.at(0).get<std::string>();
    const long long timestamp = message.at(1).value("timestamp", 0LL);
    if (event == "execution_start") start = timestamp;
    if (event == "execution_success" || event == "execution_error" || event == "execution_interrupted") end = timestamp;
    if (event == "execution_error") error = message.at(1);
  }
  view.duration = end - start;
  view.summary["execution_start_time"] = start;
  view.summary["execution_end_time"] = end;
  if (!error.is_null()) view.summary["execution_error"] = error;

  int count = 0;
  json preview;
  for (const auto& [node_id, output] : entry.at("outputs").items()) {
    for (const auto& [media_type, items] : output.items()) {
      if (!items.is_array()) continue;
      for (const auto& file : items) {
        if (!file.is_object() || !file.contains("filename")) continue;
        ++count;
        if (preview.is_null()) {
          preview = file;
          preview["nodeId"] = node_id;
          preview["mediaType"] = media_type;
        }
      }
    }
  }
  view.summary["outputs_count"] = count;
  if (!preview.is_null()) view.summary["preview_output"] = preview;
  view.detail = json{{"outputs", entry.at("outputs")},
                     {"execution_status", status},
                     {"workflow", {{"prompt", prompt.at(2)}, {"extra_data", prompt.at(3)}}}};
  return view;
}

/// Every job the server knows: running, pending, then finished.
inline std::vector<job_view> all_jobs(const server_state& state) {
  std::vector<job_view> jobs;
  if (state.running) jobs.push_back(from_queue(*state.running, "in_progress"));
  for (const auto& item : state.pending.items()) jobs.push_back(from_queue(item, "pending"));
  for (const auto& record : state.history.records()) jobs.push_back(from_history(record));
  return jobs;
}

inline http_response bad_request(const http_request& request, const std::string& message) {
  return json_response(request, json{{"error", message}}, http::status::bad_request);
}

}  // namespace jobs_detail

inline http_response get_jobs(const server_context& context, const http_request& request, const request_target& target) {
  using namespace jobs_detail;
  static const std::vector<std::string> statuses{"pending", "in_progress", "completed", "failed"};
  std::vector<std::string> wanted;
  if (const auto filter = target.param("status")) {
    std::string invalid;
    for (std::size_t start = 0; start <= filter->size();) {
      const std::size_t end = std::min(filter->find(',', start), filter->size());
      const std::string status = comfyui::detail::validation::strip(std::string_view(*filter).substr(start, end - start));
      if (!status.empty()) {
        if (std::find(statuses.begin(), statuses.end(), status) == statuses.end()) {
          invalid += (invalid.empty() ? "" : ", ") + status;
        }
        wanted.push_back(status);
      }
      start = end + 1;
    }
    if (!invalid.empty()) {
      return bad_request(request, "Invalid status value(s): " + invalid +
                                      ". Valid values: pending, in_progress, completed, failed");
    }
  }
  const std::string sort_by = target.param("sort_by").value_or("created_at");
  if (sort_by != "created_at" && sort_by != "execution_duration") {
    return bad_request(request, "Invalid sort_by value: " + sort_by + ". Valid values: created_at, execution_duration");
  }
  const std::string sort_order = target.param("sort_order").value_or("desc");
  if (sort_order != "asc" && sort_order != "desc") {
    return bad_request(request, "Invalid sort_order value: " + sort_order + ". Valid values: asc, desc");
  }
  std::optional<long long> limit;
  long long offset = 0;
  try {
    if (const auto value = target.param("limit")) limit = std::stoll(*value);
    if (const auto value = target.param("offset")) offset = std::stoll(*value);
  } catch (const std::logic_error&) {
    return bad_request(request, "limit and offset must be integers");
  }
  if ((limit && *limit < 1) || offset < 0) {
    return bad_request(request, "limit must be a positive integer and offset a non-negative integer");
  }

  std::vector<job_view> jobs;
  {
    const std::lock_guard lock(context.state.mutex);
    jobs = all_jobs(context.state);
  }
  if (!wanted.empty()) {
    std::erase_if(jobs, [&](const job_view& job) {
      return std::find(wanted.begin(), wanted.end(), job.summary.at("status").get<std::string>()) == wanted.end();
    });
  }
  const bool by_duration = sort_by == "execution_duration";
  std::sort(jobs.begin(), jobs.end(), [&](const job_view& a, const job_view& b) {
    const auto key_a = std::make_pair(by_duration ? a.duration : a.create_time, a.sequence);
    const auto key_b = std::make_pair(by_duration ? b.duration : b.create_time, b.sequence);
    return sort_order == "asc" ? key_a < key_b : key_b < key_a;
  });

  const auto total = static_cast<long long>(jobs.size());
  json page = json::array();
  for (long long i = offset; i < total && (!limit || i < offset + *limit); ++i) page.push_back(jobs[static_cast<std::size_t>(i)].summary);
  const bool has_more = offset + static_cast<long long>(page.size()) < total;
  return json_response(request, json{{"jobs", page},
                                     {"pagination",
                                      {{"offset", offset}, {"limit", limit ? json(*limit) : json()}, {"total", total},
                                       {"has_more", has_more}}}});
}

inline http_response get_job(const server_context& context, const http_request& request, const std::string& job_id) {
  std::vector<jobs_detail::job_view> jobs;
  {
    const std::lock_guard lock(context.state.mutex);
    jobs = jobs_detail::all_jobs(context.state);
  }
  for (const auto& job : jobs) {
    if (job.summary.at("id") != job_id) continue;
    json out = job.summary;
    out.update(job.detail);
    return json_response(request, out);
  }
  return json_response(request, json{{"error", "Job not found"}}, http::status::not_found);
}

}  // namespace comfyq::testing::standin
