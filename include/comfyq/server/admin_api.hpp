#pragma once
// The instructor's routes under /api/v1 (admins only; a participant gets 403): the queue, its
// tenants and workers as the store sees them, and every change an instructor makes during a
// workshop: pause and resume, policy, weights and caps, the priority lane, retries, drains.
// Each answers with the thing it changed, as it is after the change.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "comfyq/json.hpp"
#include "comfyq/model.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/job_api.hpp"
#include "comfyq/server/json_body.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

class admin_api {
 public:
  admin_api(store::contract& store, const job_views& views) : store_(store), views_(views) {}

  void add_routes(router& routes) {
    routes.add(http::verb::get, "/api/v1/queue", access::admin, this, &admin_api::queue);
    routes.add(http::verb::post, "/api/v1/queue/pause", access::admin, this, &admin_api::pause_queue);
    routes.add(http::verb::post, "/api/v1/queue/resume", access::admin, this, &admin_api::resume_queue);
    routes.add(http::verb::put, "/api/v1/queue/policy", access::admin, this, &admin_api::set_policy);
    routes.add(http::verb::put, "/api/v1/queue/preemption", access::admin, this, &admin_api::set_preemption);
    routes.add(http::verb::get, "/api/v1/tenants", access::admin, this, &admin_api::tenants);
    routes.add(http::verb::put, "/api/v1/tenants/{id}", access::admin, this, &admin_api::set_tenant);
    routes.add(http::verb::post, "/api/v1/tenants/{id}/pause", access::admin, this, &admin_api::pause_tenant);
    routes.add(http::verb::post, "/api/v1/tenants/{id}/resume", access::admin, this, &admin_api::resume_tenant);
    routes.add(http::verb::get, "/api/v1/workers", access::admin, this, &admin_api::workers);
    routes.add(http::verb::post, "/api/v1/workers/{id}/drain", access::admin, this, &admin_api::drain_worker);
    routes.add(http::verb::post, "/api/v1/workers/{id}/resume", access::admin, this, &admin_api::resume_worker);
    routes.add(http::verb::put, "/api/v1/jobs/{id}/priority", access::admin, this, &admin_api::set_priority);
    routes.add(http::verb::post, "/api/v1/jobs/{id}/retry", access::admin, this, &admin_api::retry);
  }

 private:
  // ---- the queue -------------------------------------------------------------------------

  /// Policy, pause, counts by state and GPU time; tenants and workers have routes of their own.
  response queue(const request_context& c) {
    const queue_snapshot s = store_.snapshot();
    return json_response(c.req, http::status::ok,
                         {{"policy", s.policy},
                          {"paused", s.paused},
                          {"preemption", s.preemption},
                          {"queued", s.queued},
                          {"running", s.running},
                          {"succeeded", s.succeeded},
                          {"failed", s.failed},
                          {"cancelled", s.cancelled},
                          {"dead", s.dead},
                          {"gpu_time_ms", s.gpu_time.count()},
                          {"tenants", s.tenants.size()},
                          {"workers", s.workers.size()}});
  }

  response pause_queue(const request_context& c) {
    store_.pause_queue();
    return queue(c);
  }

  response resume_queue(const request_context& c) {
    store_.resume_queue();
    return queue(c);
  }

  response set_policy(const request_context& c) {
    const nlohmann::json body = json_object_body(c.req, {"policy"});
    const auto policy_name = [&]() -> std::string {
      if (!body.contains("policy")) return "";
      require_type(body["policy"], "policy", [](const nlohmann::json& v) { return v.is_string(); }, "a string");
      return body["policy"].get<std::string>();
    }();
    const std::optional<policy> chosen = parse_policy(policy_name);
    if (!chosen) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "send {\"policy\": \"fair_share\"}, \"round_robin\" or \"fifo\"", "policy");
    }
    store_.set_policy(*chosen);
    return queue(c);
  }

  /// {"preemption": true}: priority work makes room at once; false: it waits for a free worker.
  response set_preemption(const request_context& c) {
    store_.set_preemption(boolean_field(c, "preemption", "to have priority work make room at once, false to have it wait"));
    return queue(c);
  }

  // ---- tenants ---------------------------------------------------------------------------

  response tenants(const request_context& c) {
    return json_response(c.req, http::status::ok, {{"tenants", store_.snapshot().tenants}});
  }

  /// Changes the fields given (weight, max_running, max_queued; a cap of null is unlimited) and
  /// keeps the others: a tenant not yet known starts from the defaults.
  response set_tenant(const request_context& c) {
    nlohmann::json body = json_object_body(c.req, {"weight", "max_running", "max_queued"});
    const std::string& id = c.params[0];
    validate_id("id", id);
    nlohmann::json changed = store_.find_tenant(id).value_or(tenant_config{.id = id});
    for (const auto& [field, value] : body.items()) changed[field] = value;
    store_.set_tenant(changed.get<tenant_config>());
    return tenant(c, id);
  }

  response pause_tenant(const request_context& c) {
    store_.pause_tenant(known_tenant(c.params[0]));
    return tenant(c, c.params[0]);
  }

  response resume_tenant(const request_context& c) {
    store_.resume_tenant(known_tenant(c.params[0]));
    return tenant(c, c.params[0]);
  }

  const std::string& known_tenant(const std::string& id) {
    if (!is_valid_id(id) || !store_.find_tenant(id)) {
      throw api_error(http::status::not_found, "not_found",
                      "no tenant '" + comfyq::detail::printable(id) + "'; a tenant exists once configured or once it "
                                                                          "submitted",
                      "id");
    }
    return id;
  }

  response tenant(const request_context& c, const std::string& id) {
    for (const tenant_snapshot& t : store_.snapshot().tenants) {
      if (t.config.id == id) return json_response(c.req, http::status::ok, t);
    }
    throw api_error(http::status::not_found, "not_found", "no tenant '" + comfyq::detail::printable(id) + "'", "id");
  }

  // ---- workers ---------------------------------------------------------------------------

  response workers(const request_context& c) {
    return json_response(c.req, http::status::ok, {{"workers", store_.snapshot().workers}});
  }

  response drain_worker(const request_context& c) {
    store_.drain_worker(c.params[0]);
    return worker(c);
  }

  response resume_worker(const request_context& c) {
    store_.resume_worker(c.params[0]);
    return worker(c);
  }

  response worker(const request_context& c) {
    for (const worker_snapshot& w : store_.snapshot().workers) {
      if (w.id == c.params[0]) return json_response(c.req, http::status::ok, w);
    }
    throw api_error(http::status::not_found, "not_found",
                    "no worker '" + comfyq::detail::printable(c.params[0]) + "'", "id");
  }

  // ---- jobs ------------------------------------------------------------------------------

  response set_priority(const request_context& c) {
    store_.set_priority(c.params[0],
                        boolean_field(c, "priority", "to move the job into the priority lane, false to move it out"));
    return job(c);
  }

  response retry(const request_context& c) {
    store_.retry(c.params[0]);
    return job(c);
  }

  response job(const request_context& c) {
    const std::optional<comfyq::job> j = store_.find(c.params[0]);
    if (!j) throw api_error(http::status::not_found, "not_found", "no job '" + comfyq::detail::printable(c.params[0]) + "'", "id");
    return json_response(c.req, http::status::ok, views_.of(*j));
  }

  // The body's one field, {"<field>": true|false}; `use` says what true does.
  static bool boolean_field(const request_context& c, const std::string& field, const std::string& use) {
    const nlohmann::json body = json_object_body(c.req, {field});
    if (!body.contains(field)) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "send {\"" + field + "\": true} " + use, field);
    }
    require_type(body[field], field, [](const nlohmann::json& v) { return v.is_boolean(); }, "true or false");
    return body[field].get<bool>();
  }

  store::contract& store_;
  const job_views& views_;
};

}  // namespace comfyq::server
