#pragma once
// /api/v1/jobs: a participant submits, lists, reads and cancels its own jobs; an admin any job.
// A job of another tenant answers 404, as one that does not exist: its existence is not revealed.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/ids.hpp"
#include "comfyq/job_query.hpp"
#include "comfyq/json.hpp"
#include "comfyq/model.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/json_body.hpp"
#include "comfyq/server/progress_board.hpp"
#include "comfyq/server/query_string.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/submission.hpp"
#include "comfyq/workflow.hpp"

namespace comfyq::server {

inline std::int64_t to_ms(time_point t) { return t.time_since_epoch().count(); }

/// What the API shows of a job: its record without the workflow, and its place in the queue
/// while it waits (job_views adds what the queue says now).
inline nlohmann::json job_view(const job& j, const std::optional<queue_position>& place) {
  nlohmann::json view{{"id", j.id},
                      {"tenant", j.tenant},
                      {"state", j.state},
                      {"priority", j.priority},
                      {"submitted_at_ms", to_ms(j.submitted_at)},
                      {"attempt", j.attempt},
                      {"outputs", j.outputs}};
  if (j.state != job_state::queued) view["started_at_ms"] = to_ms(j.started_at);
  if (is_finished(j.state)) view["finished_at_ms"] = to_ms(j.finished_at);
  if (!j.reason.empty()) view["reason"] = j.reason;
  if (place) {
    view["position"] = place->position;
    if (place->eta) view["eta_ms"] = to_ms(*place->eta);
  }
  return view;
}

/// The API's view of a job as the queue stands now: job_view with its place while it waits and
/// its latest progress while it runs.
class job_views {
 public:
  /// `progress` may be null (no progress shown); both must outlive it.
  job_views(store::contract& store, const progress_board* progress) : store_(store), progress_(progress) {}

  nlohmann::json of(const job& j) const {
    nlohmann::json view = job_view(j, j.state == job_state::queued ? store_.position(j.id) : std::nullopt);
    if (progress_ != nullptr && j.state == job_state::running) {
      if (std::optional<nlohmann::json> latest = progress_->of(j.id)) view["progress"] = std::move(*latest);
    }
    return view;
  }

 private:
  store::contract& store_;
  const progress_board* progress_;
};

/// The job the route's first parameter names, if the caller may see it (an admin every job, a
/// participant its own); else api_error 404, whether it exists or not.
inline job visible_job(store::contract& store, const request_context& c) {
  const std::string& id = c.params[0];
  std::optional<job> j = is_valid_id(id) ? store.find(id) : std::nullopt;
  if (!j || (!c.who.admin && j->tenant != c.who.user)) {
    throw api_error(http::status::not_found, "not_found", "no job '" + comfyq::detail::printable(id) + "' of yours", "id");
  }
  return *j;
}

class job_api {
 public:
  job_api(store::contract& store, const job_views& views) : store_(store), views_(views) {}

  void add_routes(router& routes) {
    routes.add(http::verb::post, "/api/v1/jobs", access::user, this, &job_api::submit);
    routes.add(http::verb::post, "/api/v1/jobs/batch", access::user, this, &job_api::submit_batch);
    routes.add(http::verb::get, "/api/v1/jobs", access::user, this, &job_api::list);
    routes.add(http::verb::get, "/api/v1/jobs/{id}", access::user, this, &job_api::show);
    routes.add(http::verb::post, "/api/v1/jobs/{id}/cancel", access::user, this, &job_api::cancel);
  }

 private:
  response submit(const request_context& c) {
    const std::string id = store_.submit(submission(json_object_body(c.req), c));
    response res = json_response(c.req, http::status::created, view_of(id));
    res.set(http::field::location, "/api/v1/jobs/" + id);
    return res;
  }

  // {"jobs": [<a submission as POST /api/v1/jobs takes it>, ...]}: queued in one step, in
  // order, or none of them; a refusal's field names the job ("jobs[2].workflow").
  response submit_batch(const request_context& c) {
    nlohmann::json body = json_object_body(c.req, {"jobs"});
    if (!body.contains("jobs")) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "jobs is missing; send {\"jobs\": [{\"workflow\": <the API-format workflow>}, ...]}", "jobs");
    }
    const nlohmann::json& jobs = body["jobs"];
    require_type(jobs, "jobs", [](const nlohmann::json& v) { return v.is_array(); }, "an array of submissions");
    std::vector<submit_request> requests;
    requests.reserve(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      try {
        if (!jobs[i].is_object()) {
          throw api_error(http::status::unprocessable_entity, "invalid_input",
                          std::string("each job must be an object as POST /api/v1/jobs takes, not ") + jobs[i].type_name());
        }
        requests.push_back(submission(jobs[i], c));
      } catch (const api_error& refusal) {
        const std::string field = "jobs[" + std::to_string(i) + "]" + (refusal.field().empty() ? "" : "." + refusal.field());
        throw api_error(refusal.status(), refusal.code(), refusal.what(), field);
      } catch (const comfyq::invalid_input& refusal) {
        throw in_batch(refusal, i);
      }
    }
    nlohmann::json views = nlohmann::json::array();
    for (const std::string& id : store_.submit_many(std::move(requests))) views.push_back(view_of(id));
    return json_response(c.req, http::status::created, {{"jobs", std::move(views)}});
  }

  // The job the user of `c` asks for with `body`: {"workflow", and optionally "priority",
  // "estimate_ms", "id"}.
  static submit_request submission(const nlohmann::json& body, const request_context& c) {
    static constexpr std::array<std::string_view, 4> fields{"workflow", "priority", "estimate_ms", "id"};
    require_known_fields(body, fields);
    if (!body.contains("workflow")) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "workflow is missing; send {\"workflow\": <the API-format workflow>}", "workflow");
    }
    submit_request request{.tenant = c.who.user};
    const nlohmann::json& graph = body["workflow"];
    request.shape = workflow_shape(graph);  // validates it: a UI-format workflow is refused here
    request.workflow = graph.dump();
    if (body.contains("priority")) {
      require_type(body["priority"], "priority", [](const nlohmann::json& v) { return v.is_boolean(); }, "true or false");
      request.priority = body["priority"].get<bool>();
      if (request.priority && !c.who.admin) {
        throw api_error(http::status::forbidden, "forbidden", "only an admin may submit to the priority lane", "priority");
      }
    }
    if (body.contains("estimate_ms")) {
      require_type(body["estimate_ms"], "estimate_ms", [](const nlohmann::json& v) { return v.is_number_integer(); },
                   "a whole number of milliseconds");
      request.estimate = duration(body["estimate_ms"].get<std::int64_t>());
    }
    if (body.contains("id")) {
      require_type(body["id"], "id", [](const nlohmann::json& v) { return v.is_string(); }, "a string");
      request.id = body["id"].get<std::string>();
    }
    return request;
  }

  // A page of jobs, newest first: a participant's own, an admin's every tenant's (or one's).
  response list(const request_context& c) {
    const query_parameters params(c.query, {"state", "limit", "after", "tenant"});
    job_query query{.tenant = c.who.admin ? std::string() : c.who.user};
    if (const std::optional<std::string> tenant = params.get("tenant")) {
      if (!c.who.admin && *tenant != c.who.user) {
        throw api_error(http::status::forbidden, "forbidden", "only an admin lists another tenant's jobs", "tenant");
      }
      query.tenant = *tenant;
    }
    for (const std::string& name : params.list("state")) {
      const std::optional<job_state> state = parse_job_state(name);
      if (!state) {
        throw api_error(http::status::unprocessable_entity, "invalid_input",
                        "'" + comfyq::detail::printable(name) +
                            "' is not a job state; use queued, running, succeeded, failed, cancelled or dead, "
                            "comma-separated",
                        "state");
      }
      query.states.push_back(*state);
    }
    query.limit = params.number("limit", 1, max_job_page, "jobs a page").value_or(query.limit);
    query.after = params.get("after").value_or("");
    const job_page page = store_.list_jobs(query);
    nlohmann::json jobs = nlohmann::json::array();
    for (const job& j : page.jobs) {
      jobs.push_back(views_.of(j));
    }
    return json_response(c.req, http::status::ok,
                         {{"jobs", std::move(jobs)}, {"next", page.next.empty() ? nlohmann::json() : nlohmann::json(page.next)}});
  }

  response show(const request_context& c) {
    visible_job(store_, c);
    return json_response(c.req, http::status::ok, view_of(c.params[0]));
  }

  response cancel(const request_context& c) {
    visible_job(store_, c);
    store_.cancel(c.params[0]);
    return json_response(c.req, http::status::ok, view_of(c.params[0]));
  }

  nlohmann::json view_of(const std::string& id) {
    std::optional<job> j = store_.find(id);
    if (!j) throw api_error(http::status::not_found, "not_found", "no job '" + id + "'", "id");
    return views_.of(*j);
  }

  store::contract& store_;
  const job_views& views_;
};

}  // namespace comfyq::server
