// GET /metrics over a real server with the memory store on a clock the test moves: jobs per
// tenant, workers by state and the queue's pause as they are at the scrape; waits, runs and
// outcomes as the event feed tells them, counted from the server's start.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "api_server.hpp"
#include "sse_client.hpp"
#include "support/shared_clock.hpp"

namespace http = boost::beast::http;
using comfyq::testing::running_server;
using comfyq::testing::shared_clock;
using comfyq::testing::sse_client;
using namespace std::chrono_literals;

namespace {

const comfyq::time_point scrape_epoch{std::chrono::hours(24 * 365 * 55)};

/// A scrape's samples by name and labels as written (`comfyq_jobs_running{tenant="alice"}`).
using samples = std::map<std::string, double>;

samples parse(const std::string& text) {
  samples out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.starts_with('#')) continue;
    const std::size_t space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

samples scrape(std::uint16_t port) {
  const comfyq::testing::http_answer answer = comfyq::testing::http_call(port, http::verb::get, "/metrics");
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  return parse(answer.body);
}

// Scrapes until `key` reads `value` (the feed delivers its events on a thread of its own), for
// 10 s at most; the last scrape either way.
samples scrape_until(std::uint16_t port, const std::string& key, double value) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  samples got = scrape(port);
  while (!(got.contains(key) && got.at(key) == value) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    got = scrape(port);
  }
  return got;
}

double at(const samples& s, const std::string& key) {
  INFO(key);
  REQUIRE(s.contains(key));
  return s.at(key);
}

std::string finished(const std::string& outcome) { return "comfyq_jobs_finished_total{outcome=\"" + outcome + "\"}"; }

void register_workers(comfyq::store::memory& queue, const std::string& prefix, int n,
                      comfyq::worker_condition condition = comfyq::worker_condition::ready) {
  for (int i = 0; i < n; ++i) queue.register_worker({.id = prefix + std::to_string(i), .condition = condition});
}

}  // namespace

TEST_CASE("GET /metrics needs no user and answers in Prometheus's text format", "[server][metrics]") {
  running_server s;
  const comfyq::testing::http_answer answer = s.call(http::verb::get, "/metrics", "");
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  CHECK(answer.headers[http::field::content_type] == "text/plain; version=0.0.4");
  CHECK(answer.body.find("# TYPE comfyq_job_wait_seconds histogram") != std::string::npos);
  CHECK(answer.body.find("# TYPE comfyq_jobs_finished_total counter") != std::string::npos);
  const samples empty = parse(answer.body);
  CHECK(at(empty, "comfyq_queue_paused") == 0);
  CHECK(at(empty, "comfyq_event_stream_clients") == 0);
  CHECK(at(empty, "comfyq_job_wait_seconds_count") == 0);
  CHECK(at(empty, "comfyq_job_run_seconds_count") == 0);
  for (const char* outcome : {"succeeded", "failed", "cancelled", "dead"}) CHECK(at(empty, finished(outcome)) == 0);
  for (const char* state : {"idle", "busy", "down", "draining", "comfyui_down"}) {
    CHECK(at(empty, std::string("comfyq_workers{state=\"") + state + "\"}") == 0);
  }

  REQUIRE(s.call(http::verb::post, "/api/v1/queue/pause", "admin").status == 200);
  CHECK(at(scrape(s.web.port()), "comfyq_queue_paused") == 1);
}

TEST_CASE("a scrape counts each tenant's jobs, workers by state, and the waits, runs and outcomes of jobs",
          "[server][metrics]") {
  shared_clock clock(scrape_epoch);
  running_server s({.clock = clock.reader()});
  register_workers(s.queue, "gone-", 3);  // heard from at the start only: down by the scrape

  const std::string a1 = s.submitted("alice");
  const std::string a2 = s.submitted("alice");
  const std::string a3 = s.submitted("alice");
  clock.advance(2s);
  const auto first = s.queue.lease("w1");  // waited 2 s
  REQUIRE(first);
  REQUIRE(first->job_id == a1);
  clock.advance(4s);
  s.queue.complete(a1, first->token, {});  // ran 4 s
  const auto second = s.queue.lease("w1");  // waited 6 s
  REQUIRE(second);
  REQUIRE(second->job_id == a2);
  clock.advance(20s);
  s.queue.fail(a2, second->token, "bad workflow", comfyq::failure::final);  // ran 20 s
  const auto third = s.queue.lease("w2");  // waited 26 s, runs on
  REQUIRE(third);
  REQUIRE(third->job_id == a3);

  s.submitted("bob");
  const std::string b2 = s.submitted("bob");
  const std::string b3 = s.submitted("bob");
  REQUIRE(s.call(http::verb::put, "/api/v1/jobs/" + b2 + "/priority", "admin", R"({"priority": true})").status == 200);
  REQUIRE(s.call(http::verb::post, "/api/v1/jobs/" + b3 + "/cancel", "bob").status == 200);

  clock.advance(40s);  // the "gone-" workers are down; those heard from below are not
  s.queue.touch_worker("w1");
  register_workers(s.queue, "idle-", 1);
  register_workers(s.queue, "broken-", 2, comfyq::worker_condition::comfyui_down);
  register_workers(s.queue, "leaving-", 4);
  for (int i = 0; i < 4; ++i) s.queue.drain_worker("leaving-" + std::to_string(i));

  const samples got = scrape_until(s.web.port(), finished("cancelled"), 1);
  CHECK(at(got, "comfyq_jobs_queued{lane=\"normal\",tenant=\"alice\"}") == 0);
  CHECK(at(got, "comfyq_jobs_queued{lane=\"priority\",tenant=\"alice\"}") == 0);
  CHECK(at(got, "comfyq_jobs_running{tenant=\"alice\"}") == 1);
  CHECK(at(got, "comfyq_jobs_queued{lane=\"normal\",tenant=\"bob\"}") == 1);
  CHECK(at(got, "comfyq_jobs_queued{lane=\"priority\",tenant=\"bob\"}") == 1);
  CHECK(at(got, "comfyq_jobs_running{tenant=\"bob\"}") == 0);

  CHECK(at(got, finished("succeeded")) == 1);
  CHECK(at(got, finished("failed")) == 1);
  CHECK(at(got, finished("cancelled")) == 1);
  CHECK(at(got, finished("dead")) == 0);

  CHECK(at(got, "comfyq_job_wait_seconds_count") == 3);
  CHECK(at(got, "comfyq_job_wait_seconds_sum") == 2 + 6 + 26);
  CHECK(at(got, "comfyq_job_wait_seconds_bucket{le=\"1\"}") == 0);
  CHECK(at(got, "comfyq_job_wait_seconds_bucket{le=\"5\"}") == 1);
  CHECK(at(got, "comfyq_job_wait_seconds_bucket{le=\"15\"}") == 2);
  CHECK(at(got, "comfyq_job_wait_seconds_bucket{le=\"30\"}") == 3);
  CHECK(at(got, "comfyq_job_wait_seconds_bucket{le=\"+Inf\"}") == 3);
  CHECK(at(got, "comfyq_job_run_seconds_count") == 2);  // the cancelled job never ran; a3 still runs
  CHECK(at(got, "comfyq_job_run_seconds_sum") == 4 + 20);
  CHECK(at(got, "comfyq_job_run_seconds_bucket{le=\"2\"}") == 0);
  CHECK(at(got, "comfyq_job_run_seconds_bucket{le=\"5\"}") == 1);
  CHECK(at(got, "comfyq_job_run_seconds_bucket{le=\"10\"}") == 1);
  CHECK(at(got, "comfyq_job_run_seconds_bucket{le=\"30\"}") == 2);

  CHECK(at(got, "comfyq_workers{state=\"idle\"}") == 2);  // w1 and idle-0
  CHECK(at(got, "comfyq_workers{state=\"busy\"}") == 1);
  CHECK(at(got, "comfyq_workers{state=\"down\"}") == 3);
  CHECK(at(got, "comfyq_workers{state=\"draining\"}") == 4);
  CHECK(at(got, "comfyq_workers{state=\"comfyui_down\"}") == 2);
}

TEST_CASE("a requeued job waits again, and only the run that ended it counts as its run", "[server][metrics]") {
  shared_clock clock(scrape_epoch);
  running_server s({.scheduler = {.max_attempts = 2}, .clock = clock.reader()});
  const std::string id = s.submitted("bob");
  const std::string other = s.submitted("bob");
  clock.advance(1s);
  const auto first = s.queue.lease("w1");
  const auto others = s.queue.lease("w2");
  REQUIRE(first);
  REQUIRE(first->job_id == id);
  REQUIRE(others);
  clock.advance(3s);
  s.queue.fail(id, first->token, "ComfyUI went away", comfyq::failure::retryable);  // requeued
  s.queue.fail(other, others->token, "ComfyUI went away", comfyq::failure::retryable);
  REQUIRE(s.call(http::verb::post, "/api/v1/jobs/" + other + "/cancel", "bob").status == 200);  // while it waits
  clock.advance(2s);
  const auto second = s.queue.lease("w1");
  REQUIRE(second);
  REQUIRE(second->job_id == id);
  clock.advance(7s);
  s.queue.fail(id, second->token, "ComfyUI went away", comfyq::failure::retryable);  // its last attempt: dead
  REQUIRE(s.queue.find(id)->state == comfyq::job_state::dead);

  const samples got = scrape_until(s.web.port(), finished("dead"), 1);
  CHECK(at(got, finished("dead")) == 1);
  CHECK(at(got, finished("cancelled")) == 1);
  CHECK(at(got, finished("failed")) == 0);
  CHECK(at(got, "comfyq_job_wait_seconds_count") == 3);
  CHECK(at(got, "comfyq_job_wait_seconds_sum") == 1 + 1 + 2);
  CHECK(at(got, "comfyq_job_run_seconds_count") == 1);
  CHECK(at(got, "comfyq_job_run_seconds_sum") == 7);
}

TEST_CASE("what happened before the server started is not counted, but tells when a running job began",
          "[server][metrics]") {
  shared_clock clock(scrape_epoch);
  comfyq::store::memory queue({.clock = clock.reader()});
  const std::string before = queue.submit({.tenant = "alice", .workflow = comfyq::testing::workflow.dump()});
  const std::string running = queue.submit({.tenant = "alice", .workflow = comfyq::testing::workflow.dump()});
  clock.advance(1s);
  const auto done = queue.lease("w1");
  REQUIRE(done);
  REQUIRE(done->job_id == before);
  queue.complete(before, done->token, {});
  clock.advance(2s);
  const auto runs = queue.lease("w1");
  REQUIRE(runs);
  REQUIRE(runs->job_id == running);

  comfyq::server::server web(queue, {.port = 0});
  web.start();
  clock.advance(8s);
  queue.complete(running, runs->token, {});

  const samples got = scrape_until(web.port(), "comfyq_job_run_seconds_count", 1);
  CHECK(at(got, finished("succeeded")) == 1);  // `running` only
  CHECK(at(got, "comfyq_job_wait_seconds_count") == 0);  // both started before the server
  CHECK(at(got, "comfyq_job_run_seconds_count") == 1);
  CHECK(at(got, "comfyq_job_run_seconds_sum") == 8);  // from its lease, before the server started
}

TEST_CASE("a scrape counts the open event streams", "[server][metrics]") {
  running_server s;
  CHECK(at(scrape(s.web.port()), "comfyq_event_stream_clients") == 0);
  sse_client alice(s.web.port(), "/api/v1/events", {{"X-Test-User", "alice"}});
  sse_client admin(s.web.port(), "/api/v1/events", {{"X-Test-User", "admin"}});
  const samples got = scrape_until(s.web.port(), "comfyq_event_stream_clients", 2);
  CHECK(at(got, "comfyq_event_stream_clients") == 2);
}
