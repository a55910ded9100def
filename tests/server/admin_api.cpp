// The admin API over a real server: the queue, tenants, workers and jobs as an instructor sees
// and changes them; every route refused to participants (403); refusals that name the field.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_server.hpp"
#include "comfyq/worker_info.hpp"

namespace http = boost::beast::http;
using comfyq::testing::refusal;
using comfyq::testing::running_server;

TEST_CASE("every admin route answers 403 to a participant and changes nothing", "[server][admin]") {
  running_server s;
  const std::string id = s.submitted("alice");
  const std::vector<std::pair<http::verb, std::string>> routes{
      {http::verb::get, "/api/v1/queue"},
      {http::verb::post, "/api/v1/queue/pause"},
      {http::verb::post, "/api/v1/queue/resume"},
      {http::verb::put, "/api/v1/queue/policy"},
      {http::verb::put, "/api/v1/queue/preemption"},
      {http::verb::get, "/api/v1/tenants"},
      {http::verb::put, "/api/v1/tenants/alice"},
      {http::verb::post, "/api/v1/tenants/alice/pause"},
      {http::verb::post, "/api/v1/tenants/alice/resume"},
      {http::verb::get, "/api/v1/workers"},
      {http::verb::post, "/api/v1/workers/w1/drain"},
      {http::verb::post, "/api/v1/workers/w1/resume"},
      {http::verb::put, "/api/v1/jobs/" + id + "/priority"},
      {http::verb::post, "/api/v1/jobs/" + id + "/retry"},
  };
  for (const auto& [verb, target] : routes) {
    INFO(target);
    CHECK(refusal(s.call(verb, target, "alice", R"({"priority": true, "policy": "fifo", "preemption": true, "weight": 9})"), 403)
              .at("code") == "forbidden");
  }
  const comfyq::queue_snapshot after = s.queue.snapshot();
  CHECK_FALSE(after.paused);
  CHECK(after.policy == comfyq::policy::fair_share);
  CHECK_FALSE(after.preemption);
  CHECK_FALSE(s.queue.find(id)->priority);
  CHECK(s.queue.find_tenant("alice")->weight == 1.0);
}

TEST_CASE("an admin pauses and resumes the queue and switches its policy", "[server][admin]") {
  running_server s;
  s.submitted("alice");
  const nlohmann::json paused = s.call(http::verb::post, "/api/v1/queue/pause", "admin").json();
  CHECK(paused.at("paused") == true);
  CHECK(paused.at("queued") == 1);
  CHECK(s.queue.snapshot().paused);
  CHECK(s.call(http::verb::post, "/api/v1/queue/resume", "admin").json().at("paused") == false);

  CHECK(s.call(http::verb::put, "/api/v1/queue/policy", "admin", R"({"policy": "round_robin"})").json().at("policy") ==
        "round_robin");
  CHECK(s.queue.snapshot().policy == comfyq::policy::round_robin);
  CHECK(refusal(s.call(http::verb::put, "/api/v1/queue/policy", "admin", R"({"policy": "fastest"})"), 422)
            .at("field") == "policy");
  CHECK(refusal(s.call(http::verb::put, "/api/v1/queue/policy", "admin", R"({"policy": 1})"), 422).at("field") ==
        "policy");
  CHECK(s.queue.snapshot().policy == comfyq::policy::round_robin);
}

TEST_CASE("an admin turns preemption on and off, and a bad body changes nothing", "[server][admin]") {
  running_server s;
  CHECK(s.call(http::verb::get, "/api/v1/queue", "admin").json().at("preemption") == false);
  CHECK(s.call(http::verb::put, "/api/v1/queue/preemption", "admin", R"({"preemption": true})").json().at("preemption") ==
        true);
  CHECK(s.queue.snapshot().preemption);
  const nlohmann::json missing = refusal(s.call(http::verb::put, "/api/v1/queue/preemption", "admin", "{}"), 422);
  CHECK(missing.at("field") == "preemption");
  CHECK(missing.at("message") == "send {\"preemption\": true} to have priority work make room at once, false to have it wait");
  CHECK(refusal(s.call(http::verb::put, "/api/v1/queue/preemption", "admin", R"({"preemption": "no"})"), 422)
            .at("field") == "preemption");
  CHECK(s.queue.snapshot().preemption);
  CHECK(s.call(http::verb::put, "/api/v1/queue/preemption", "admin", R"({"preemption": false})").json().at("preemption") ==
        false);
  CHECK_FALSE(s.queue.snapshot().preemption);
}

TEST_CASE("an admin sets a tenant's weight and caps, keeps what it leaves out, and pauses it", "[server][admin]") {
  running_server s;
  const auto set = s.call(http::verb::put, "/api/v1/tenants/alice", "admin", R"({"weight": 2.5, "max_queued": 1})");
  INFO(set.body);
  REQUIRE(set.status == 200);
  CHECK(set.json().at("config").at("weight") == 2.5);
  CHECK(set.json().at("config").at("max_queued") == 1);
  CHECK(set.json().at("config").at("max_running").is_null());  // unlimited
  s.submitted("alice");
  CHECK(refusal(s.submit("alice", {{"workflow", comfyq::testing::workflow}}), 429).at("code") == "quota_exceeded");

  CHECK(s.call(http::verb::put, "/api/v1/tenants/alice", "admin", R"({"max_queued": null})").json().at("config").at(
            "weight") == 2.5);
  CHECK(s.queue.find_tenant("alice")->max_queued == comfyq::unlimited);
  CHECK(refusal(s.call(http::verb::put, "/api/v1/tenants/alice", "admin", R"({"weight": "heavy"})"), 422).at("field") ==
        "weight");
  CHECK(refusal(s.call(http::verb::put, "/api/v1/tenants/alice", "admin", R"({"wieght": 3})"), 422).at("field") ==
        "wieght");
  CHECK(s.queue.find_tenant("alice")->weight == 2.5);

  CHECK(s.call(http::verb::post, "/api/v1/tenants/alice/pause", "admin").json().at("paused") == true);
  CHECK(s.call(http::verb::post, "/api/v1/tenants/alice/resume", "admin").json().at("paused") == false);
  CHECK(refusal(s.call(http::verb::post, "/api/v1/tenants/nobody/pause", "admin"), 404).at("field") == "id");

  const nlohmann::json listed = s.call(http::verb::get, "/api/v1/tenants", "admin").json().at("tenants");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].at("config").at("id") == "alice");
  CHECK(listed[0].at("queued") == 1);
}

TEST_CASE("an admin moves a queued job into the priority lane and out, and only a queued one", "[server][admin]") {
  running_server s;
  const std::string first = s.submitted("alice");
  const std::string second = s.submitted("bob");
  const auto moved = s.call(http::verb::put, "/api/v1/jobs/" + second + "/priority", "admin", R"({"priority": true})");
  INFO(moved.body);
  REQUIRE(moved.status == 200);
  CHECK(moved.json().at("priority") == true);
  CHECK(moved.json().at("position") == 1);
  CHECK(s.queue.position(first)->position == 2);

  CHECK(s.call(http::verb::put, "/api/v1/jobs/" + second + "/priority", "admin", R"({"priority": false})")
            .json()
            .at("priority") == false);
  CHECK(refusal(s.call(http::verb::put, "/api/v1/jobs/" + second + "/priority", "admin", "{}"), 422).at("field") ==
        "priority");
  REQUIRE(s.call(http::verb::post, "/api/v1/jobs/" + first + "/cancel", "admin").status == 200);
  CHECK(refusal(s.call(http::verb::put, "/api/v1/jobs/" + first + "/priority", "admin", R"({"priority": true})"), 409)
            .at("code") == "conflict");
  CHECK(refusal(s.call(http::verb::put, "/api/v1/jobs/nosuchjob/priority", "admin", R"({"priority": true})"), 404)
            .at("code") == "not_found");
}

TEST_CASE("an admin retries a failed job, a job in another state is refused with 409", "[server][admin]") {
  running_server s;
  const std::string id = s.submitted("alice");
  CHECK(refusal(s.call(http::verb::post, "/api/v1/jobs/" + id + "/retry", "admin"), 409).at("code") == "conflict");
  const auto lease = s.queue.lease("w1");
  REQUIRE(lease);
  s.queue.fail(lease->job_id, lease->token, "the workflow names a model that is missing", comfyq::failure::final);

  const nlohmann::json failed = s.call(http::verb::get, "/api/v1/jobs?state=failed", "admin").json().at("jobs");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].at("reason") == "the workflow names a model that is missing");
  const auto retried = s.call(http::verb::post, "/api/v1/jobs/" + id + "/retry", "admin");
  INFO(retried.body);
  REQUIRE(retried.status == 200);
  CHECK(retried.json().at("state") == "queued");
  CHECK(refusal(s.call(http::verb::post, "/api/v1/jobs/nosuchjob/retry", "admin"), 404).at("code") == "not_found");
}

TEST_CASE("an admin sees the workers and drains one, which then takes no work", "[server][admin]") {
  running_server s;
  s.queue.register_worker({.id = "gpu-a", .comfyui = "127.0.0.1:8188", .gpu = "cuda:0 NVIDIA H100"});
  const nlohmann::json workers = s.call(http::verb::get, "/api/v1/workers", "admin").json().at("workers");
  REQUIRE(workers.size() == 1);
  CHECK(workers[0].at("id") == "gpu-a");
  CHECK(workers[0].at("state") == "idle");
  CHECK(workers[0].at("gpu") == "cuda:0 NVIDIA H100");

  CHECK(s.call(http::verb::post, "/api/v1/workers/gpu-a/drain", "admin").json().at("state") == "draining");
  s.submitted("alice");
  CHECK_FALSE(s.queue.lease("gpu-a"));
  CHECK(s.call(http::verb::post, "/api/v1/workers/gpu-a/resume", "admin").json().at("state") == "idle");
  CHECK(s.queue.lease("gpu-a"));
  CHECK(refusal(s.call(http::verb::post, "/api/v1/workers/nobody/drain", "admin"), 404).at("code") == "not_found");
}
