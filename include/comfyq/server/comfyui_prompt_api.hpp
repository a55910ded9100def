#pragma once
// The prompts of ComfyUI's API per tenant: POST and GET /prompt, GET and POST /queue,
// POST /interrupt, GET and POST /history, GET /history/{id}, each on the tenant's own jobs. A
// prompt is validated as ComfyUI validates it (prompt_validation.hpp) against the nodes the
// workers' ComfyUIs publish (node_catalogs.hpp), then queued as the tenant's job; the fair queue,
// not the client, decides when it runs.

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/api_jobs.hpp"
#include "comfyq/comfyui/prompt_validation.hpp"
#include "comfyq/comfyui/python_text.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/job_query.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/comfyui_client_ids.hpp"
#include "comfyq/server/comfyui_history_dismissals.hpp"
#include "comfyq/server/comfyui_http.hpp"
#include "comfyq/server/comfyui_views.hpp"
#include "comfyq/server/node_catalogs.hpp"
#include "comfyq/server/query_string.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/workflow.hpp"

namespace comfyq::server {

/// ComfyUI's refusal of a prompt: {"error": {type, message, details, extra_info}, "node_errors"}.
inline ordered_json prompt_refusal(std::string_view type, std::string_view message, std::string_view details = {},
                                   ordered_json node_errors = ordered_json::object()) {
  return ordered_json{{"error",
                       {{"type", type}, {"message", message}, {"details", details}, {"extra_info", ordered_json::object()}}},
                      {"node_errors", std::move(node_errors)}};
}


/// The nodes of `graph` that the output nodes `outputs` need (they and every node they link
/// to, transitively), in the graph's order: what runs of a partly accepted prompt.
inline ordered_json nodes_needed_by(const ordered_json& graph, const std::vector<std::string>& outputs) {
  std::vector<std::string> needed(outputs.begin(), outputs.end());
  for (std::size_t i = 0; i < needed.size(); ++i) {
    const auto node = graph.find(needed[i]);
    if (node == graph.end() || !node->is_object() || !node->contains("inputs") || !(*node)["inputs"].is_object()) continue;
    for (const auto& [name, value] : (*node)["inputs"].items()) {
      if (!value.is_array() || value.size() != 2 || !value[0].is_string()) continue;
      const std::string source = value[0].get<std::string>();
      if (std::find(needed.begin(), needed.end(), source) == needed.end()) needed.push_back(source);
    }
  }
  ordered_json kept = ordered_json::object();
  for (const auto& [id, node] : graph.items()) {
    if (std::find(needed.begin(), needed.end(), id) != needed.end()) kept[id] = node;
  }
  return kept;
}

class comfyui_prompt_api {
 public:
  /// `files`: every tenant's files (file_api.hpp), where LoadImage's uploads are looked for;
  /// empty: uploads are not checked here, the worker's ComfyUI checks them.
  comfyui_prompt_api(store::contract& store, node_catalogs& catalogs, std::filesystem::path files)
      : store_(store), catalogs_(catalogs), files_(std::move(files)), dismissals_(files_) {}

  void add_routes(router& routes) {
    for (const std::string_view prefix : comfyui_bases) {
      const std::string base(prefix);
      routes.add(http::verb::get, base + "/prompt", access::user, this, &comfyui_prompt_api::get_prompt);
      routes.add(http::verb::post, base + "/prompt", access::user, this, &comfyui_prompt_api::post_prompt);
      routes.add(http::verb::get, base + "/queue", access::user, this, &comfyui_prompt_api::get_queue);
      routes.add(http::verb::post, base + "/queue", access::user, this, &comfyui_prompt_api::post_queue);
      routes.add(http::verb::post, base + "/interrupt", access::user, this, &comfyui_prompt_api::interrupt);
      routes.add(http::verb::get, base + "/history", access::user, this, &comfyui_prompt_api::history);
      routes.add(http::verb::get, base + "/history/{id}", access::user, this, &comfyui_prompt_api::history_of);
      routes.add(http::verb::post, base + "/history", access::user, this, &comfyui_prompt_api::post_history);
    }
    // ComfyUI has these under /api only.
    routes.add(http::verb::get, "/user/{name}/api/jobs", access::user, this, &comfyui_prompt_api::api_jobs);
    routes.add(http::verb::get, "/user/{name}/api/jobs/{id}", access::user, this, &comfyui_prompt_api::api_job);
  }

 private:
  // GET /prompt: the tenant's jobs that wait or run, as ComfyUI counts its queue.
  response get_prompt(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    std::size_t remaining = 0;
    for (const tenant_snapshot& t : store_.snapshot().tenants) {
      if (t.config.id == tenant) remaining = t.queued + t.running;
    }
    return comfyui_json_response(c.req, http::status::ok, {{"exec_info", {{"queue_remaining", remaining}}}});
  }

  // POST /prompt: validated as ComfyUI validates it, then queued as the tenant's job.
  response post_prompt(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    comfyui_same_origin(c);
    const auto refuse = [&](const ordered_json& body) {
      return comfyui_json_response(c.req, http::status::bad_request, body);
    };
    // Whatever the Content-Type: some clients send JSON as text/plain.
    const ordered_json body = ordered_json::parse(c.req.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return refuse(prompt_refusal("invalid_json", "The body is not a JSON object",
                                   "send {\"prompt\": <the API-format workflow>}"));
    }
    if (!body.contains("prompt")) return refuse(prompt_refusal("no_prompt", "No prompt provided", "No prompt provided"));
    const ordered_json& prompt = body["prompt"];
    if (!prompt.is_object()) {
      return refuse(prompt_refusal("invalid_prompt", "The prompt is not a JSON object of nodes",
                                   "export the workflow with Workflow -> Export (API)"));
    }

    std::string id;
    if (body.contains("prompt_id")) {
      id = comfyui::python_str(body["prompt_id"]);
      if (!is_valid_id(id)) {
        return refuse(prompt_refusal("invalid_prompt_id", "prompt_id '" + comfyq::detail::printable(id) +
                                                              "' cannot name a job: use up to 64 letters, digits, '.', "
                                                              "'_' or '-', starting with a letter or digit"));
      }
      if (store_.find(id)) {
        return refuse(prompt_refusal("prompt_id_taken", "prompt_id '" + id +
                                                            "' names a job already; send another, or none to have "
                                                            "one made"));
      }
    }

    // Validated against the workers' nodes; with none published yet (no worker has started),
    // the worker's ComfyUI validates it when it runs.
    const std::shared_ptr<const workers_catalog> catalog = catalogs_.of(store_.snapshot());
    ordered_json graph = prompt;
    ordered_json node_errors = ordered_json::object();
    if (catalog->documents > 0) {
      comfyui::validation_result v =
          // A list of choices that is empty everywhere (no model of the kind on any worker, or the
          // demo backend's, which runs any) takes any name: a worker's ComfyUI that has none
          // refuses the job with its own message, which becomes the job's reason.
          comfyui::prompt_validator(prompt, catalog->nodes,
                                    {.upload_exists = uploads_of(tenant), .any_choice_when_none_listed = true})
              .run(body.contains("partial_execution_targets") ? body["partial_execution_targets"] : ordered_json());
      if (!v.ok) return refuse(ordered_json{{"error", v.error}, {"node_errors", v.node_errors}});
      graph = v.node_errors.empty() ? std::move(v.prompt) : nodes_needed_by(v.prompt, v.outputs);
      node_errors = std::move(v.node_errors);
    }

    submit_request request{.tenant = tenant};
    request.workflow = graph.dump();
    request.shape = workflow_shape(nlohmann::json::parse(request.workflow));
    // Where a job runs is fairness's to say: "front" and "number" move a job only for an admin,
    // into the priority lane.
    request.priority = c.who.admin && (body.contains("number") ||
                                       (body.contains("front") && comfyui::detail::validation::truthy(body["front"])));
    request.id = id;
    id = store_.submit(std::move(request));
    if (body.contains("client_id") && body["client_id"].is_string()) {
      client_ids_.remember(id, body["client_id"].get<std::string>());
    }
    const std::optional<job> queued = store_.find(id);
    return comfyui_json_response(c.req, http::status::ok,
                                 {{"prompt_id", id}, {"number", queued ? queued->seq : 0}, {"node_errors", node_errors}});
  }

  // GET /queue: the tenant's running jobs and its waiting ones in the order they will start
  // (ComfyUI gives its heap's order; a client sorts by number, which here is submission order).
  response get_queue(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    const std::shared_ptr<const workers_catalog> catalog = catalogs_.of(store_.snapshot());
    ordered_json running = ordered_json::array();
    for (const job& j : jobs_of(tenant, {job_state::running})) {
      running.push_back(comfyui_queue_item(j, catalog->nodes, client_ids_.of(j.id)));
    }
    std::vector<job> waiting = jobs_of(tenant, {job_state::queued});
    std::map<std::string, std::size_t, std::less<>> place;
    for (const queue_position& p : store_.forecast()) place.emplace(p.job, p.position);
    const auto rank = [&](const job& j) {
      const auto found = place.find(j.id);
      return std::pair(found == place.end() ? std::numeric_limits<std::size_t>::max() : found->second, j.seq);
    };
    std::sort(waiting.begin(), waiting.end(), [&](const job& a, const job& b) { return rank(a) < rank(b); });
    ordered_json pending = ordered_json::array();
    for (const job& j : waiting) pending.push_back(comfyui_queue_item(j, catalog->nodes, client_ids_.of(j.id)));
    return comfyui_json_response(c.req, http::status::ok, {{"queue_running", running}, {"queue_pending", pending}});
  }

  // POST /queue {"delete": [ids]} or {"clear": true}: the tenant's own waiting jobs only.
  response post_queue(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    comfyui_same_origin(c);
    const ordered_json body = comfyui_json_body(c);
    std::vector<std::string> doomed;
    if (body.contains("clear") && comfyui::detail::validation::truthy(body["clear"])) {
      for (const job& j : jobs_of(tenant, {job_state::queued})) doomed.push_back(j.id);
    }
    if (body.contains("delete") && body["delete"].is_array()) {
      for (const ordered_json& id : body["delete"]) doomed.push_back(comfyui::python_str(id));
    }
    for (const std::string& id : doomed) {
      const std::optional<job> j = is_valid_id(id) ? store_.find(id) : std::nullopt;
      if (j && j->tenant == tenant && j->state == job_state::queued) store_.cancel(id);  // others are ignored, as ComfyUI does
    }
    return comfyui_empty_ok(c.req);
  }

  // POST /interrupt [{"prompt_id"}]: stops the tenant's running job (that one, or any of its own).
  response interrupt(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    comfyui_same_origin(c);
    const ordered_json body = c.req.body().empty() ? ordered_json::object() : comfyui_json_body(c);
    const std::optional<std::string> only =
        body.contains("prompt_id") && comfyui::detail::validation::truthy(body["prompt_id"])
            ? std::optional(comfyui::python_str(body["prompt_id"]))
            : std::nullopt;
    for (const job& j : jobs_of(tenant, {job_state::running})) {
      if (!only || *only == j.id) store_.cancel(j.id);
    }
    return comfyui_empty_ok(c.req);
  }

  // GET /history[?max_items=N&offset=K]: the tenant's prompts that ran, in the order they
  // ended, windowed as ComfyUI windows its history.
  response history(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    const query_parameters params(c.query, {"max_items", "offset"}, unknown_parameters::ignored);
    const std::optional<std::size_t> max_items = params.number("max_items", 0, 100'000, "items");
    std::vector<job> ended;
    for (job& j : jobs_of(tenant, {job_state::succeeded, job_state::failed, job_state::cancelled, job_state::dead})) {
      if (shown_in_history(j)) ended.push_back(std::move(j));
    }
    std::sort(ended.begin(), ended.end(), [](const job& a, const job& b) {
      return std::pair(a.finished_at, a.seq) < std::pair(b.finished_at, b.seq);
    });
    std::size_t offset = params.number("offset", 0, 100'000, "items").value_or(0);
    if (!params.get("offset") && max_items) offset = ended.size() > *max_items ? ended.size() - *max_items : 0;
    const std::shared_ptr<const workers_catalog> catalog = catalogs_.of(store_.snapshot());
    ordered_json out = ordered_json::object();
    for (std::size_t i = offset; i < ended.size() && (!max_items || out.size() < *max_items); ++i) {
      out[ended[i].id] = comfyui_history_entry(ended[i], catalog->nodes, client_ids_.of(ended[i].id));
    }
    return comfyui_json_response(c.req, http::status::ok, out);
  }

  // GET /history/{id}: {id: entry}, or {} when the tenant has no such prompt that ran.
  response history_of(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    const std::string& id = c.params[1];
    const std::optional<job> j = is_valid_id(id) ? store_.find(id) : std::nullopt;
    ordered_json out = ordered_json::object();
    if (j && j->tenant == tenant && shown_in_history(*j)) {
      out[id] = comfyui_history_entry(*j, catalogs_.of(store_.snapshot())->nodes, client_ids_.of(id));
    }
    return comfyui_json_response(c.req, http::status::ok, out);
  }

  // POST /history {"delete": [ids]} or {"clear": true}: removes the tenant's own ended prompts
  // from its history (comfyui_history_dismissals.hpp); the jobs and their outputs stay.
  response post_history(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    comfyui_same_origin(c);
    const ordered_json body = comfyui_json_body(c);
    if (body.contains("clear") && comfyui::detail::validation::truthy(body["clear"])) {
      time_point through{};
      for (const job& j : jobs_of(tenant, {job_state::succeeded, job_state::failed, job_state::cancelled, job_state::dead})) {
        through = std::max(through, j.finished_at);
      }
      dismissals_.clear(tenant, through);
    }
    if (body.contains("delete") && body["delete"].is_array()) {
      std::vector<std::string> ids;
      for (const ordered_json& id : body["delete"]) ids.push_back(comfyui::python_str(id));
      dismissals_.remove(tenant, ids);  // another's or an unknown id matches none of the tenant's
    }
    return comfyui_empty_ok(c.req);
  }

  // Whether ComfyUI's history shows `j`: it ran and ended, and its tenant did not remove it.
  bool shown_in_history(const job& j) { return in_comfyui_history(j) && !dismissals_.dismissed(j); }

  // GET /api/jobs: the tenant's jobs, waiting, running and ended, filtered, sorted and paged as
  // ComfyUI does (comfyq/comfyui/api_jobs.hpp); its refusals are {"error": "..."}.
  response api_jobs(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    const query_parameters params(c.query, {"status", "sort_by", "sort_order", "limit", "offset"}, unknown_parameters::ignored);
    const auto query = comfyui::read_api_jobs_query([&](std::string_view name) { return params.get(std::string(name)); });
    if (const std::string* error = std::get_if<std::string>(&query)) {
      return comfyui_json_response(c.req, http::status::bad_request, {{"error", *error}});
    }
    return comfyui_json_response(c.req, http::status::ok,
                                 comfyui::list_api_jobs(listed_jobs(tenant), std::get<comfyui::api_jobs_query>(query)));
  }

  // GET /api/jobs/{id}: one of the tenant's jobs with its workflow and outputs; 404 {"error"} otherwise.
  response api_job(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    const std::string& id = c.params[1];
    std::optional<job> j = is_valid_id(id) ? store_.find(id) : std::nullopt;
    if (j && j->tenant == tenant) {
      if (std::optional<ordered_json> found = comfyui::find_api_job(listed(std::vector<job>{std::move(*j)}), id)) {
        return comfyui_json_response(c.req, http::status::ok, *found);
      }
    }
    return comfyui_json_response(c.req, http::status::not_found, {{"error", "Job not found"}});
  }

  std::vector<comfyui::listed_job> listed_jobs(const std::string& tenant) { return listed(jobs_of(tenant, {})); }

  // Jobs as /api/jobs lists them: waiting, running, or ended after they ran (one cancelled
  // while it waited is gone, as from ComfyUI's queue).
  std::vector<comfyui::listed_job> listed(const std::vector<job>& jobs) {
    const std::shared_ptr<const workers_catalog> catalog = catalogs_.of(store_.snapshot());
    std::vector<comfyui::listed_job> out;
    for (const job& j : jobs) {
      if (j.state == job_state::queued || j.state == job_state::running) {
        out.push_back(comfyui::listed_from_queue(comfyui_queue_item(j, catalog->nodes, client_ids_.of(j.id)),
                                                 j.state == job_state::queued ? "pending" : "in_progress", j.seq));
      } else if (shown_in_history(j)) {
        out.push_back(
            comfyui::listed_from_history(j.id, comfyui_history_entry(j, catalog->nodes, client_ids_.of(j.id)), j.seq));
      }
    }
    return out;
  }

  // The tenant's jobs in `states`, newest first (the most a history keeps: 10,000).
  std::vector<job> jobs_of(const std::string& tenant, std::vector<job_state> states) {
    std::vector<job> jobs;
    job_query query{.tenant = tenant, .states = std::move(states), .limit = max_job_page};
    do {
      job_page page = store_.list_jobs(query);
      for (job& j : page.jobs) jobs.push_back(std::move(j));
      query.after = page.next;
    } while (!query.after.empty() && jobs.size() < 10'000);
    return jobs;
  }

  // Whether a LoadImage-style name ("photos/cat.png", "cat.png [input]") is one of the
  // tenant's inputs; none when the server keeps no files.
  std::function<bool(const std::string&)> uploads_of(const std::string& tenant) const {
    if (files_.empty()) return {};
    return [folder = files_ / tenant / "inputs"](const std::string& annotated) {
      std::string name = annotated;
      if (name.ends_with(" [input]")) name.resize(name.size() - 8);
      const std::filesystem::path path(name);
      if (name.empty() || path.is_absolute()) return false;
      for (const auto& part : path) {
        if (part == "..") return false;
      }
      std::error_code ec;
      return std::filesystem::is_regular_file(folder / path, ec);
    };
  }

  store::contract& store_;
  node_catalogs& catalogs_;
  std::filesystem::path files_;
  comfyui_history_dismissals dismissals_;
  comfyui_client_ids client_ids_;
};

}  // namespace comfyq::server
