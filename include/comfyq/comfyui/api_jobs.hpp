#pragma once
// ComfyUI's GET /api/jobs and /api/jobs/{id}: a flat view of its queue and history (pending,
// in_progress, completed, failed), filtered, sorted and paginated as ComfyUI 0.8.0 does, with
// its error messages. Built from what GET /queue and /history show (a queue item, a history
// entry), so that whatever serves those serves this too: comfyq-server's per-tenant ComfyUI API
// and the tests' stand-in, which the contract tests hold to the recordings.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "comfyq/comfyui/python_text.hpp"

namespace comfyq::comfyui {

/// A job as /api/jobs lists it.
struct listed_job {
  ordered_json summary{};  ///< the list's entry
  ordered_json detail{};   ///< what GET /api/jobs/{id} adds
  long long create_time{};
  long long duration{};
  std::uint64_t sequence{};  ///< submission order: the tie-break of every sort
};

/// A queued or running prompt, from its queue item [number, prompt_id, prompt, extra_data,
/// outputs_to_execute]; `status` is "pending" or "in_progress".
inline listed_job listed_from_queue(const ordered_json& item, std::string_view status, std::uint64_t sequence) {
  listed_job job;
  job.create_time = item.at(3).value("create_time", 0LL);
  job.sequence = sequence;
  job.summary = {{"id", item.at(1)}, {"status", status}, {"priority", item.at(0)}, {"create_time", job.create_time},
                 {"outputs_count", 0}};
  job.detail = {{"workflow", {{"prompt", item.at(2)}, {"extra_data", item.at(3)}}}};
  return job;
}

/// A finished prompt, from its history entry {prompt, outputs, status, meta}.
inline listed_job listed_from_history(std::string_view id, const ordered_json& entry, std::uint64_t sequence) {
  const ordered_json& prompt = entry.at("prompt");
  const ordered_json& status = entry.at("status");
  listed_job job;
  job.create_time = prompt.at(3).value("create_time", 0LL);
  job.sequence = sequence;
  job.summary = {{"id", id},
                 {"status", status.at("status_str") == "success" ? "completed" : "failed"},
                 {"priority", prompt.at(0)},
                 {"create_time", job.create_time}};
  long long start = 0;
  long long end = 0;
  ordered_json error;
  for (const auto& message : status.at("messages")) {
    const std::string event = message.at(0).get<std::string>();
    const long long timestamp = message.at(1).value("timestamp", 0LL);
    if (event == "execution_start") start = timestamp;
    if (event == "execution_success" || event == "execution_error" || event == "execution_interrupted") end = timestamp;
    if (event == "execution_error") error = message.at(1);
  }
  job.duration = end - start;
  job.summary["execution_start_time"] = start;
  job.summary["execution_end_time"] = end;
  if (!error.is_null()) job.summary["execution_error"] = error;

  int count = 0;
  ordered_json preview;
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
  job.summary["outputs_count"] = count;
  if (!preview.is_null()) job.summary["preview_output"] = preview;
  job.detail = {{"outputs", entry.at("outputs")},
                {"execution_status", status},
                {"workflow", {{"prompt", prompt.at(2)}, {"extra_data", prompt.at(3)}}}};
  return job;
}

/// What GET /api/jobs asks for.
struct api_jobs_query {
  std::vector<std::string> statuses{};  ///< empty: all
  bool by_duration = false;             ///< sort_by=execution_duration, else created_at
  bool ascending = false;
  std::optional<long long> limit{};
  long long offset = 0;
};

/// The query GET /api/jobs's parameters (`param(name)`) ask for, or the message of ComfyUI's 400.
/// A comma-separated status list is taken, as newer frontends send it.
inline std::variant<api_jobs_query, std::string> read_api_jobs_query(
    const std::function<std::optional<std::string>(std::string_view)>& param) {
  static const std::vector<std::string> known{"pending", "in_progress", "completed", "failed"};
  api_jobs_query query;
  if (const std::optional<std::string> filter = param("status")) {
    std::string invalid;
    for (std::size_t start = 0; start <= filter->size();) {
      const std::size_t end = std::min(filter->find(',', start), filter->size());
      std::string status = filter->substr(start, end - start);
      status.erase(0, status.find_first_not_of(" \t\n\r\f\v"));
      status.erase(status.find_last_not_of(" \t\n\r\f\v") + 1);
      if (!status.empty()) {
        if (std::find(known.begin(), known.end(), status) == known.end()) invalid += (invalid.empty() ? "" : ", ") + status;
        query.statuses.push_back(status);
      }
      start = end + 1;
    }
    if (!invalid.empty()) return "Invalid status value(s): " + invalid + ". Valid values: pending, in_progress, completed, failed";
  }
  const std::string sort_by = param("sort_by").value_or("created_at");
  if (sort_by != "created_at" && sort_by != "execution_duration") {
    return "Invalid sort_by value: " + sort_by + ". Valid values: created_at, execution_duration";
  }
  query.by_duration = sort_by == "execution_duration";
  const std::string sort_order = param("sort_order").value_or("desc");
  if (sort_order != "asc" && sort_order != "desc") return "Invalid sort_order value: " + sort_order + ". Valid values: asc, desc";
  query.ascending = sort_order == "asc";
  try {
    if (const std::optional<std::string> value = param("limit")) query.limit = std::stoll(*value);
    if (const std::optional<std::string> value = param("offset")) query.offset = std::stoll(*value);
  } catch (const std::logic_error&) {
    return std::string("limit and offset must be integers");
  }
  if ((query.limit && *query.limit < 1) || query.offset < 0) {
    return std::string("limit must be a positive integer and offset a non-negative integer");
  }
  return query;
}

/// {"jobs": [...], "pagination": {offset, limit, total, has_more}}: `jobs` filtered, sorted and paged by `query`.
inline ordered_json list_api_jobs(std::vector<listed_job> jobs, const api_jobs_query& query) {
  if (!query.statuses.empty()) {
    std::erase_if(jobs, [&](const listed_job& job) {
      return std::find(query.statuses.begin(), query.statuses.end(), job.summary.at("status").get<std::string>()) ==
             query.statuses.end();
    });
  }
  std::sort(jobs.begin(), jobs.end(), [&](const listed_job& a, const listed_job& b) {
    const auto key_a = std::make_pair(query.by_duration ? a.duration : a.create_time, a.sequence);
    const auto key_b = std::make_pair(query.by_duration ? b.duration : b.create_time, b.sequence);
    return query.ascending ? key_a < key_b : key_b < key_a;
  });
  const auto total = static_cast<long long>(jobs.size());
  ordered_json page = ordered_json::array();
  for (long long i = query.offset; i < total && (!query.limit || i < query.offset + *query.limit); ++i) {
    page.push_back(jobs[static_cast<std::size_t>(i)].summary);
  }
  const bool has_more = query.offset + static_cast<long long>(page.size()) < total;
  return {{"jobs", page},
          {"pagination",
           {{"offset", query.offset}, {"limit", query.limit ? ordered_json(*query.limit) : ordered_json()}, {"total", total},
            {"has_more", has_more}}}};
}

/// GET /api/jobs/{id}'s answer: the job's entry with its detail, or nothing.
inline std::optional<ordered_json> find_api_job(const std::vector<listed_job>& jobs, std::string_view id) {
  for (const listed_job& job : jobs) {
    if (job.summary.at("id") != id) continue;
    ordered_json out = job.summary;
    out.update(job.detail);
    return out;
  }
  return std::nullopt;
}

}  // namespace comfyq::comfyui
