#pragma once
// What the pages ask beside the job and admin APIs: who the caller is (GET /api/v1/me), and for
// the instructor's dashboard the queue in lease order (GET /api/v1/queue/forecast), who used the
// GPUs lately (GET /api/v1/usage, usage_history.hpp) and what went wrong lately
// (GET /api/v1/errors, recent_errors.hpp).

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/server/api_error.hpp"
#include "comfyq/server/http.hpp"
#include "comfyq/server/job_api.hpp"
#include "comfyq/server/query_string.hpp"
#include "comfyq/server/recent_errors.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/server/usage_history.hpp"
#include "comfyq/store/clock.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

class dashboard_api {
 public:
  /// `usage` and `errors` are kept from the event feed by the server; all must outlive it.
  /// `now` is the time usage is reported at: the store's clock.
  /// `comfyui_ui`: whether participants have ComfyUI's web UI (comfyui_frontend_api.hpp).
  dashboard_api(store::contract& store, const usage_history& usage, recent_errors& errors, store::clock now,
                bool comfyui_ui = false)
      : store_(store), usage_(usage), errors_(errors), now_(std::move(now)), comfyui_ui_(comfyui_ui) {}

  void add_routes(router& routes) {
    routes.add(http::verb::get, "/api/v1/me", access::user, this, &dashboard_api::me);
    routes.add(http::verb::get, "/api/v1/queue/forecast", access::admin, this, &dashboard_api::forecast);
    routes.add(http::verb::get, "/api/v1/usage", access::admin, this, &dashboard_api::usage);
    routes.add(http::verb::get, "/api/v1/errors", access::admin, this, &dashboard_api::errors);
  }

 private:
  response me(const request_context& c) const {
    return json_response(c.req, http::status::ok,
                         {{"user", c.who.user}, {"admin", c.who.admin}, {"comfyui_ui", comfyui_ui_}});
  }

  /// The queued jobs that can start, in the order they will: position 1 starts next.
  response forecast(const request_context& c) {
    const query_parameters params(c.query, {"limit"});
    const std::size_t limit = params.number("limit", 1, 5000, "jobs").value_or(500);
    nlohmann::json jobs = nlohmann::json::array();
    for (const queue_position& p : store_.forecast(0, limit)) {
      const std::optional<job> j = store_.find(p.job);
      if (!j) continue;  // gone since the forecast was read
      nlohmann::json entry{{"job", p.job}, {"tenant", j->tenant}, {"position", p.position}, {"priority", j->priority},
                           {"submitted_at_ms", to_ms(j->submitted_at)}};
      if (p.eta) entry["eta_ms"] = to_ms(*p.eta);
      jobs.push_back(std::move(entry));
    }
    return json_response(c.req, http::status::ok, {{"jobs", std::move(jobs)}});
  }

  /// Each tenant's GPU time per minute of the last `minutes` (60), and its share of them.
  response usage(const request_context& c) {
    const query_parameters params(c.query, {"minutes"});
    const std::size_t minutes = params.number("minutes", 1, 24 * 60, "minutes").value_or(60);
    const usage_report report = usage_.report(now_(), minutes);
    nlohmann::json tenants = nlohmann::json::array();
    for (const tenant_usage& u : report.tenants) {
      nlohmann::json series = nlohmann::json::array();
      for (duration d : u.series) series.push_back(d.count());
      tenants.push_back({{"tenant", u.tenant}, {"gpu_ms", u.total.count()}, {"share", u.share}, {"series", std::move(series)}});
    }
    return json_response(c.req, http::status::ok,
                         {{"from_ms", to_ms(report.from)},
                          {"to_ms", to_ms(report.to)},
                          {"bucket_ms", report.bucket.count()},
                          {"tenants", std::move(tenants)}});
  }

  /// Failed and dead jobs, runs that wait again, workers whose ComfyUI went down or that are
  /// gone: newest first. Gone workers are looked for now, as nothing else would tell.
  response errors(const request_context& c) {
    errors_.observe_workers(store_.snapshot(), store_.ttls().worker_ttl);
    nlohmann::json list = nlohmann::json::array();
    for (const recent_error& e : errors_.latest()) {
      nlohmann::json entry{{"at_ms", to_ms(e.at)}, {"kind", e.kind}, {"reason", e.reason}};
      if (!e.tenant.empty()) entry["tenant"] = e.tenant;
      if (!e.job.empty()) entry["job"] = e.job;
      if (!e.worker.empty()) entry["worker"] = e.worker;
      list.push_back(std::move(entry));
    }
    return json_response(c.req, http::status::ok, {{"errors", std::move(list)}});
  }

  store::contract& store_;
  const usage_history& usage_;
  recent_errors& errors_;
  store::clock now_;
  bool comfyui_ui_;
};

}  // namespace comfyq::server
