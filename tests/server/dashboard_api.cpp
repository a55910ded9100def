// The routes the pages read beside the job and admin APIs: who the caller is, the queue in
// lease order, GPU use over the last minutes, and recent errors; all but the first for admins.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/api_server.hpp"
#include "support/shared_clock.hpp"

namespace http = boost::beast::http;
using comfyq::testing::refusal;
using comfyq::testing::running_server;
using namespace std::chrono_literals;

namespace {

// Asks `target` as admin until `ready` holds of the answer (the boards learn from the event
// feed, a moment after the store); fails after 10 s.
template <class Ready>
nlohmann::json admin_answer_when(running_server& s, const std::string& target, Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  nlohmann::json body;
  do {
    const auto answer = s.call(http::verb::get, target, "admin");
    REQUIRE(answer.status == 200);
    body = answer.json();
    if (ready(body)) return body;
    std::this_thread::sleep_for(10ms);
  } while (std::chrono::steady_clock::now() < deadline);
  FAIL("never ready: " << body.dump());
  return body;
}

}  // namespace

TEST_CASE("me says who the caller is and whether it is an admin", "[server][dashboard]") {
  running_server s;
  CHECK(s.call(http::verb::get, "/api/v1/me", "alice").json() ==
        nlohmann::json{{"user", "alice"}, {"admin", false}, {"comfyui_ui", false}});
  CHECK(s.call(http::verb::get, "/api/v1/me", "admin").json() ==
        nlohmann::json{{"user", "admin"}, {"admin", true}, {"comfyui_ui", false}});
  refusal(s.call(http::verb::get, "/api/v1/me", ""), 401);
}

TEST_CASE("the dashboard's routes are for admins only", "[server][dashboard]") {
  running_server s;
  for (const char* target : {"/api/v1/queue/forecast", "/api/v1/usage", "/api/v1/errors"}) {
    INFO(target);
    CHECK(refusal(s.call(http::verb::get, target, "alice"), 403).at("code") == "forbidden");
  }
}

TEST_CASE("the forecast lists the queue in lease order with tenants, lanes and ETAs", "[server][dashboard]") {
  running_server s;
  const std::string a1 = s.submitted("alice");
  const std::string a2 = s.submitted("alice");
  const std::string b1 = s.submitted("bob");
  REQUIRE(s.call(http::verb::put, "/api/v1/jobs/" + a2 + "/priority", "admin", R"({"priority": true})").status == 200);
  s.queue.register_worker({.id = "gpu0"});

  const nlohmann::json order = s.call(http::verb::get, "/api/v1/queue/forecast", "admin").json().at("jobs");
  REQUIRE(order.size() == 3);
  // The priority lane first.
  CHECK(order[0].at("job") == a2);
  CHECK(order[0].at("priority") == true);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::string job = order[i].at("job");
    INFO(job);
    CHECK(order[i].at("position") == i + 1);
    CHECK(order[i].contains("eta_ms"));  // a worker is up
    CHECK(order[i].at("tenant") == (job == b1 ? "bob" : "alice"));
    CHECK(order[i].at("priority") == (job == a2));
    // The same place as the job's own view.
    CHECK(s.call(http::verb::get, "/api/v1/jobs/" + job, "admin").json().at("position") == i + 1);
  }
  CHECK(std::count_if(order.begin(), order.end(), [&](const nlohmann::json& e) { return e.at("job") == a1; }) == 1);

  const nlohmann::json first = s.call(http::verb::get, "/api/v1/queue/forecast?limit=1", "admin").json().at("jobs");
  REQUIRE(first.size() == 1);
  CHECK(first[0].at("job") == a2);
  CHECK(refusal(s.call(http::verb::get, "/api/v1/queue/forecast?limit=0", "admin"), 422).at("field") == "limit");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/queue/forecast?size=3", "admin"), 422).at("field") == "size");
}

TEST_CASE("usage shows each tenant's GPU time per minute and its share of the window", "[server][dashboard]") {
  // The server's event feed reads the clock on a thread of its own while the test moves it.
  comfyq::testing::shared_clock clock(comfyq::time_point{comfyq::duration(500 * 60'000)});
  running_server s(comfyq::store::memory_options{
      .scheduler = {.lease_ttl = std::chrono::hours(1), .worker_ttl = std::chrono::hours(1)}, .clock = clock.reader()});
  const std::string a = s.submitted("alice");
  const auto run = s.queue.lease("gpu0");
  REQUIRE(run->job_id == a);
  clock.advance(90s);
  s.queue.complete(a, run->token, {});
  clock.advance(10s);

  const nlohmann::json usage = admin_answer_when(s, "/api/v1/usage?minutes=3", [](const nlohmann::json& u) {
    return !u.at("tenants").empty();
  });
  CHECK(usage.at("bucket_ms") == 60'000);
  CHECK(usage.at("to_ms") == clock.now().time_since_epoch().count());
  REQUIRE(usage.at("tenants").size() == 1);
  const nlohmann::json& alice = usage.at("tenants")[0];
  CHECK(alice.at("tenant") == "alice");
  CHECK(alice.at("gpu_ms") == 90'000);
  CHECK(alice.at("share") == 1.0);
  CHECK(alice.at("series") == nlohmann::json{0, 60'000, 30'000});
  CHECK(refusal(s.call(http::verb::get, "/api/v1/usage?minutes=1441", "admin"), 422).at("field") == "minutes");
}

TEST_CASE("errors lists failed jobs with their tenant, worker and reason, newest first", "[server][dashboard]") {
  running_server s;
  const std::string a = s.submitted("alice");
  const auto run = s.queue.lease("gpu0");
  REQUIRE(run->job_id == a);
  s.queue.fail(a, run->token, "ComfyUI refused the workflow", comfyq::failure::final);

  const nlohmann::json errors = admin_answer_when(s, "/api/v1/errors", [](const nlohmann::json& e) {
    return !e.at("errors").empty();
  });
  const nlohmann::json& failed = errors.at("errors")[0];
  CHECK(failed.at("kind") == "job_failed");
  CHECK(failed.at("job") == a);
  CHECK(failed.at("tenant") == "alice");
  CHECK(failed.at("worker") == "gpu0");
  CHECK(failed.at("reason") == "ComfyUI refused the workflow");
  CHECK(failed.at("at_ms").is_number());
}

TEST_CASE("errors lists a worker that is no longer heard from", "[server][dashboard]") {
  comfyq::testing::shared_clock clock(comfyq::time_point{comfyq::duration(500 * 60'000)});
  running_server s(comfyq::store::memory_options{.clock = clock.reader()});
  s.queue.register_worker({.id = "gpu0"});
  clock.advance(s.queue.ttls().worker_ttl);
  const nlohmann::json errors = s.call(http::verb::get, "/api/v1/errors", "admin").json().at("errors");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].at("kind") == "worker_gone");
  CHECK(errors[0].at("worker") == "gpu0");
  CHECK(errors[0].at("at_ms") == clock.now().time_since_epoch().count());
}
