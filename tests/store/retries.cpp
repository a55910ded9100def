// retry: a failed or dead job is queued again under its id, as if submitted now, with no reason
// and max_attempts runs before it dies again; its attempt goes on counting. Other states are
// refused, and so is a retry its tenant's max_queued has no room for; a refusal changes nothing.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "comfyq/comfyq.hpp"
#include "support/expect_error.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::test::expect_error;
using comfyq::testing::at;

TEMPLATE_LIST_TEST_CASE("a failed job is queued again under its id, its attempt counting on", "[store][retry]", comfyq::testing::stores) {
  TestType q;
  const std::string id = q.submit({.tenant = "alice", .workflow = R"({"1":{}})"}, at(0));
  const auto first = q.lease("w1", at(1));
  q.fail(id, first->token, "out of memory", comfyq::failure::final, at(2));
  REQUIRE(q.find(id)->state == comfyq::job_state::failed);

  q.retry(id, at(10));
  const comfyq::job j = *q.find(id);
  CHECK(j.state == comfyq::job_state::queued);
  CHECK(j.reason.empty());
  CHECK(j.failures == 0);
  CHECK(j.submitted_at == at(10));
  CHECK(j.finished_at == comfyq::time_point{});
  CHECK(j.workflow == R"({"1":{}})");
  CHECK(q.position(id, at(11)));
  const auto second = q.lease("w1", at(12));
  REQUIRE(second);
  CHECK(second->job_id == id);
  CHECK(second->attempt == 2);  // its own outputs folder, apart from the first run's
  CHECK(second->token > first->token);
}

TEMPLATE_LIST_TEST_CASE("a dead job is retried with max_attempts runs before it dies again", "[store][retry]", comfyq::testing::stores) {
  TestType q({.lease_ttl = 10s, .max_attempts = 2});
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  REQUIRE(q.lease("w1", at(0)));
  REQUIRE(q.lease("w1", at(10)));  // the first lease expired
  q.expire(at(20));
  REQUIRE(q.find(id)->state == comfyq::job_state::dead);
  CHECK(q.snapshot(at(20)).dead == 1);

  q.retry(id, at(21));
  CHECK(q.find(id)->failures == 0);
  CHECK(q.snapshot(at(21)).dead == 0);
  CHECK(q.snapshot(at(21)).queued == 1);
  REQUIRE(q.lease("w1", at(22)));
  q.expire(at(32));
  CHECK(q.find(id)->state == comfyq::job_state::queued);  // one failure of two
  REQUIRE(q.lease("w1", at(33)));
  q.expire(at(43));
  CHECK(q.find(id)->state == comfyq::job_state::dead);
  CHECK(q.find(id)->attempt == 4);
}

TEMPLATE_LIST_TEST_CASE("a retried job joins the back of its lane and lists as the newest", "[store][retry]", comfyq::testing::stores) {
  TestType q({.policy = comfyq::policy::fifo});
  q.submit({.tenant = "alice", .workflow = "{}", .id = "a1"}, at(0));
  q.submit({.tenant = "alice", .workflow = "{}", .id = "a2"}, at(0));
  const auto l = q.lease("w1", at(1));
  q.fail("a1", l->token, "boom", comfyq::failure::final, at(2));
  q.submit({.tenant = "bob", .workflow = "{}", .id = "b1"}, at(3));
  q.retry("a1", at(4));
  const comfyq::job_page page = q.list_jobs({.tenant = "alice"});
  REQUIRE(page.jobs.size() == 2);
  CHECK(page.jobs[0].id == "a1");
  CHECK(page.jobs[1].id == "a2");
  std::vector<std::string> order;
  for (const auto& p : q.forecast(at(5))) order.push_back(p.job);
  CHECK(order == std::vector<std::string>{"a2", "b1", "a1"});
}

TEMPLATE_LIST_TEST_CASE("only a failed or dead job is retried, a refusal changes nothing", "[store][retry]", comfyq::testing::stores) {
  TestType q({.policy = comfyq::policy::fifo});
  for (const char* id : {"j1", "j2", "j3", "j4"}) q.submit({.tenant = "alice", .workflow = "{}", .id = id}, at(0));
  REQUIRE(q.lease("w1", at(1))->job_id == "j1");  // running
  const auto done = q.lease("w2", at(1));
  q.complete(done->job_id, done->token, {}, at(2));  // j2 succeeded
  q.cancel("j4", at(2));                              // j3 stays queued
  const std::size_t logged = q.events().size();
  for (const char* id : {"j1", "j2", "j3", "j4"}) {
    INFO(id);
    const comfyq::conflict refused = expect_error<comfyq::conflict>([&] { q.retry(id, at(3)); });
    CHECK(refused.field() == "job");
    CHECK(std::string(refused.what()).find("only a failed or dead job") != std::string::npos);
  }
  CHECK(expect_error<comfyq::not_found>([&] { q.retry("nope", at(3)); }).field() == "job");
  CHECK(q.events().size() == logged);
  CHECK(q.find("j4")->state == comfyq::job_state::cancelled);
  CHECK(q.find("j2")->state == comfyq::job_state::succeeded);
}

TEMPLATE_LIST_TEST_CASE("a retry that its tenant's max_queued has no room for is refused", "[store][retry]", comfyq::testing::stores) {
  TestType q;
  q.set_tenant({.id = "alice", .max_queued = 1}, at(0));
  q.submit({.tenant = "alice", .workflow = "{}", .id = "a1"}, at(0));
  const auto l = q.lease("w1", at(1));
  q.fail("a1", l->token, "boom", comfyq::failure::final, at(2));
  q.submit({.tenant = "alice", .workflow = "{}", .id = "a2"}, at(3));
  CHECK(expect_error<comfyq::quota_exceeded>([&] { q.retry("a1", at(4)); }).field() == "tenant");
  CHECK(q.find("a1")->state == comfyq::job_state::failed);
  q.cancel("a2", at(5));
  q.retry("a1", at(6));
  CHECK(q.find("a1")->state == comfyq::job_state::queued);
}

TEMPLATE_LIST_TEST_CASE("a retry is logged as retried, and the job leaves the history it was in", "[store][retry]", comfyq::testing::stores) {
  TestType q({.history_limit = 1});
  q.submit({.tenant = "alice", .workflow = "{}", .id = "a1"}, at(0));
  q.submit({.tenant = "alice", .workflow = "{}", .id = "a2"}, at(0));
  const auto first = q.lease("w1", at(1));
  q.fail("a1", first->token, "boom", comfyq::failure::final, at(2));
  q.retry("a1", at(3));
  // a2 finishes, then a1's second run: a history of one keeps only the last, forgets no queued job.
  const auto second = q.lease("w1", at(4));
  REQUIRE(second->job_id == "a2");
  q.complete("a2", second->token, {}, at(5));
  REQUIRE(q.find("a1"));
  CHECK(q.find("a1")->state == comfyq::job_state::queued);
  CHECK(q.snapshot(at(5)).failed == 0);
  CHECK(q.snapshot(at(5)).succeeded == 1);

  std::vector<comfyq::event> retries;
  for (const comfyq::event& e : q.events()) {
    if (e.type == comfyq::event_type::retried) retries.push_back(e);
  }
  REQUIRE(retries.size() == 1);
  CHECK(retries[0].job == "a1");
  CHECK(retries[0].tenant == "alice");
  CHECK(retries[0].at == at(3));
  CHECK(retries[0].reason.empty());
}
