// The JSON API's jobs on a real server over loopback, with the memory store: submit, read,
// cancel, progress while a job runs, and every refusal, each of which names what is wrong and
// changes nothing.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_server.hpp"

namespace http = boost::beast::http;
using comfyq::testing::refusal;
using comfyq::testing::running_server;
using comfyq::testing::workflow;

TEST_CASE("a participant submits a job and reads it back with its place in the queue", "[server]") {
  running_server s;
  comfyq::testing::http_answer made = s.submit("alice", {{"workflow", workflow}});
  INFO(made.body);
  REQUIRE(made.status == 201);
  const nlohmann::json job = made.json();
  const std::string id = job.at("id");
  CHECK(job.at("tenant") == "alice");
  CHECK(job.at("state") == "queued");
  CHECK(job.at("position") == 1);
  CHECK(made.headers[http::field::location] == "/api/v1/jobs/" + id);
  CHECK(s.queue.find(id)->shape == comfyq::workflow_shape(workflow));

  comfyq::testing::http_answer read = s.call(http::verb::get, "/api/v1/jobs/" + id, "alice");
  REQUIRE(read.status == 200);
  CHECK(read.json().at("id") == id);
  CHECK(s.call(http::verb::get, "/api/v1/jobs/" + id, "admin").status == 200);
}

TEST_CASE("another tenant's job answers 404, as one that does not exist, and stays as it was", "[server]") {
  running_server s;
  const std::string id = s.submit("alice", {{"workflow", workflow}}).json().at("id");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs/" + id, "bob"), 404).at("code") == "not_found");
  CHECK(refusal(s.call(http::verb::post, "/api/v1/jobs/" + id + "/cancel", "bob"), 404).at("code") == "not_found");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs/j-none", "bob"), 404).at("code") == "not_found");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs/..%2F..%2Fetc", "bob"), 404).at("code") == "not_found");
  CHECK(s.queue.find(id)->state == comfyq::job_state::queued);
}

TEST_CASE("a participant cancels its own queued job", "[server]") {
  running_server s;
  const std::string id = s.submit("alice", {{"workflow", workflow}}).json().at("id");
  comfyq::testing::http_answer cancelled = s.call(http::verb::post, "/api/v1/jobs/" + id + "/cancel", "alice");
  REQUIRE(cancelled.status == 200);
  CHECK(cancelled.json().at("state") == "cancelled");
  CHECK(s.queue.find(id)->state == comfyq::job_state::cancelled);
}

TEST_CASE("bad submissions are refused naming what is wrong, and nothing is queued", "[server]") {
  running_server s;
  CHECK(refusal(s.call(http::verb::post, "/api/v1/jobs", "alice", "{\"workflow\": {}", "application/json"), 400)
            .at("code") == "invalid_json");
  CHECK(refusal(s.call(http::verb::post, "/api/v1/jobs", "alice", "[1, 2]"), 400).at("code") == "invalid_json");
  CHECK(refusal(s.call(http::verb::post, "/api/v1/jobs", "alice", "workflow=1", "text/plain"), 415).at("code") ==
        "unsupported_media_type");
  CHECK(refusal(s.submit("alice", {{"workflow", workflow}, {"priorty", true}}), 422).at("field") == "priorty");
  CHECK(refusal(s.submit("alice", nlohmann::json::object()), 422).at("field") == "workflow");
  CHECK(refusal(s.submit("alice", {{"workflow", {{"nodes", nlohmann::json::array()}, {"links", nlohmann::json::array()}}}}),
                422)
            .at("field") == "workflow");
  CHECK(refusal(s.submit("alice", {{"workflow", workflow}, {"priority", "yes"}}), 422).at("field") == "priority");
  CHECK(refusal(s.submit("alice", {{"workflow", workflow}, {"priority", true}}), 403).at("field") == "priority");
  CHECK(refusal(s.submit("alice", {{"workflow", workflow}, {"estimate_ms", -5}}), 422).at("field") == "estimate");
  CHECK(refusal(s.submit("alice", {{"workflow", workflow}, {"id", "a/b"}}), 422).at("field") == "id");
  CHECK(s.queue.snapshot().queued == 0);
}

TEST_CASE("an admin submits to the priority lane", "[server]") {
  running_server s;
  comfyq::testing::http_answer made = s.submit("admin", {{"workflow", workflow}, {"priority", true}});
  REQUIRE(made.status == 201);
  CHECK(made.json().at("priority") == true);
}

TEST_CASE("the server answers 401 without a user, 404 and 405 for routes it does not have", "[server]") {
  running_server s;
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs/x", ""), 401).at("code") == "unauthorized");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/nothing", "alice"), 404).at("code") == "not_found");
  comfyq::testing::http_answer wrong = s.call(http::verb::put, "/api/v1/jobs", "alice");
  CHECK(refusal(wrong, 405).at("code") == "method_not_allowed");
}

TEST_CASE("health checks answer without a user", "[server]") {
  running_server s;
  CHECK(s.call(http::verb::get, "/healthz", "").json().at("status") == "ok");
  CHECK(s.call(http::verb::get, "/readyz", "").json().at("status") == "ready");
}

TEST_CASE("a body over the limit is refused with 413 and the server goes on serving", "[server]") {
  running_server s;
  const std::string huge = "{\"workflow\": \"" + std::string(2 << 20, 'x') + "\"}";
  CHECK(refusal(s.call(http::verb::post, "/api/v1/jobs", "alice", huge), 413).at("code") == "payload_too_large");
  CHECK(s.submit("alice", {{"workflow", workflow}}).status == 201);
}

TEST_CASE("a running job shows the progress it reported last, a finished one none", "[server][events]") {
  running_server s;
  const std::string id = s.submitted("alice");
  const auto lease = s.queue.lease("w1");
  REQUIRE(lease);
  s.queue.report_progress(id, lease->token, {{"node", "3"}, {"value", 4}, {"max", 20}});
  s.queue.report_progress(id, lease->token, {{"node", "3"}, {"value", 5}, {"max", 20}});

  nlohmann::json job;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const auto shows_last = [](const nlohmann::json& j) { return j.contains("progress") && j["progress"]["value"] == 5; };
  do {
    job = s.call(http::verb::get, "/api/v1/jobs/" + id, "alice").json();
  } while (!shows_last(job) && std::chrono::steady_clock::now() < deadline);
  REQUIRE(job.contains("progress"));
  CHECK(job.at("progress").at("value") == 5);
  CHECK(job.at("progress").at("max") == 20);

  s.queue.complete(id, lease->token, {});
  const auto settled = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    job = s.call(http::verb::get, "/api/v1/jobs/" + id, "alice").json();
  } while (job.contains("progress") && std::chrono::steady_clock::now() < settled);
  CHECK(job.at("state") == "succeeded");
  CHECK_FALSE(job.contains("progress"));
}

TEST_CASE("a participant submits several jobs in one request and gets them back in order", "[server][batch]") {
  running_server s;
  const nlohmann::json batch{{"jobs", {{{"workflow", workflow}, {"id", "first"}}, {{"workflow", workflow}, {"estimate_ms", 5000}}}}};
  comfyq::testing::http_answer made = s.call(http::verb::post, "/api/v1/jobs/batch", "alice", batch.dump());
  INFO(made.body);
  REQUIRE(made.status == 201);
  const nlohmann::json jobs = made.json().at("jobs");
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].at("id") == "first");
  CHECK(jobs[0].at("position") == 1);
  CHECK(jobs[1].at("position") == 2);
  for (const nlohmann::json& job : jobs) {
    CHECK(job.at("tenant") == "alice");
    CHECK(s.queue.find(job.at("id").get<std::string>())->state == comfyq::job_state::queued);
  }
  CHECK(s.queue.find(jobs[1].at("id").get<std::string>())->estimate == std::chrono::milliseconds(5000));
}

TEST_CASE("a batch with a bad job is refused whole, naming the job and its field", "[server][batch]") {
  running_server s;
  s.queue.set_tenant({.id = "alice", .max_queued = 2});
  const auto refused = [&](const nlohmann::json& body, unsigned status) {
    return refusal(s.call(http::verb::post, "/api/v1/jobs/batch", "alice", body.dump()), status);
  };
  const nlohmann::json good{{"workflow", workflow}};
  CHECK(refused({{"jobs", {good, {{"workflow", workflow}, {"priorty", true}}}}}, 422).at("field") == "jobs[1].priorty");
  CHECK(refused({{"jobs", {good, {{"workflow", workflow}, {"priority", true}}}}}, 403).at("field") == "jobs[1].priority");
  CHECK(refused({{"jobs", {good, good, {{"workflow", {{"nodes", nlohmann::json::array()}, {"links", nlohmann::json::array()}}}}}}}, 422).at("field") ==
        "jobs[2].workflow");
  CHECK(refused({{"jobs", {good, {{"workflow", workflow}, {"estimate_ms", -5}}}}}, 422).at("field") == "jobs[1].estimate");
  CHECK(refused({{"jobs", {good, 7}}}, 422).at("field") == "jobs[1]");
  CHECK(refused({{"jobs", good}}, 422).at("field") == "jobs");
  CHECK(refused(nlohmann::json::object(), 422).at("field") == "jobs");
  const nlohmann::json over_quota = refused({{"jobs", {good, good, good}}}, 429);
  CHECK(over_quota.at("field") == "jobs[2].tenant");
  CHECK(over_quota.at("code") == "quota_exceeded");
  CHECK(s.queue.snapshot().queued == 0);
}
