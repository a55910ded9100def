// drain_worker: a drained worker is leased nothing more (lease, wait_for_lease,
// complete_and_lease), while the job it runs runs to the end; its heartbeats and the snapshot
// say it is draining, and it counts neither as free for preemption nor among the workers a
// forecast expects. resume_worker lets it take work again.
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

namespace {

template <class Queue>
comfyq::worker_state state_of(Queue& q, const std::string& worker, double now) {
  for (const comfyq::worker_snapshot& w : q.snapshot(at(now)).workers) {
    if (w.id == worker) return w.state;
  }
  FAIL("no worker " << worker);
  return comfyq::worker_state::down;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("a drained worker finishes its job and is leased nothing more", "[store][drain]", comfyq::testing::stores) {
  TestType q;
  for (int n = 0; n < 3; ++n) q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto running = q.lease("w1", at(1));
  REQUIRE(running);
  CHECK_FALSE(q.heartbeat(running->job_id, running->token, at(2)).drain_requested);
  q.drain_worker("w1", at(3));

  const comfyq::lease_status status = q.heartbeat(running->job_id, running->token, at(4));
  CHECK(status.drain_requested);
  CHECK_FALSE(status.cancel_requested);
  CHECK_FALSE(status.preempt_requested);
  CHECK(state_of(q, "w1", 4) == comfyq::worker_state::draining);
  q.set_now(at(5));
  CHECK_FALSE(q.store().complete_and_lease(running->job_id, running->token, {}, "w1"));
  CHECK(q.find(running->job_id)->state == comfyq::job_state::succeeded);
  CHECK_FALSE(q.lease("w1", at(6)));
  CHECK_FALSE(q.store().wait_for_lease("w1", 300ms));
  CHECK(state_of(q, "w1", 6) == comfyq::worker_state::draining);
  CHECK(q.lease("w2", at(7)));  // the work is there for the others
}

TEMPLATE_LIST_TEST_CASE("a resumed worker takes work again", "[store][drain]", comfyq::testing::stores) {
  TestType q;
  q.touch_worker("w1", at(0));
  q.drain_worker("w1", at(0));
  q.submit({.tenant = "alice", .workflow = "{}"}, at(1));
  CHECK_FALSE(q.lease("w1", at(2)));
  q.resume_worker("w1", at(3));
  CHECK(state_of(q, "w1", 3) == comfyq::worker_state::idle);
  CHECK(q.lease("w1", at(4)));
}

TEMPLATE_LIST_TEST_CASE("draining or resuming a worker the store does not know is refused", "[store][drain]", comfyq::testing::stores) {
  TestType q;
  CHECK(expect_error<comfyq::not_found>([&] { q.drain_worker("ghost", at(0)); }).field() == "worker");
  CHECK(expect_error<comfyq::not_found>([&] { q.resume_worker("ghost", at(0)); }).field() == "worker");
  CHECK(expect_error<comfyq::not_found>([&] { q.drain_worker("not an id", at(0)); }).field() == "worker");
  CHECK(q.events().empty());
}

TEMPLATE_LIST_TEST_CASE("a drain is logged as drain_changed, once per change", "[store][drain]", comfyq::testing::stores) {
  TestType q;
  q.touch_worker("w1", at(0));
  q.drain_worker("w1", at(1));
  q.drain_worker("w1", at(2));
  q.resume_worker("w1", at(3));
  q.resume_worker("w1", at(4));
  std::vector<comfyq::event> changes;
  for (const comfyq::event& e : q.events()) {
    if (e.type == comfyq::event_type::drain_changed) changes.push_back(e);
  }
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].worker == "w1");
  CHECK(changes[0].at == at(1));
  CHECK(changes[0].data == nlohmann::json{{"draining", true}});
  CHECK(changes[1].at == at(3));
  CHECK(changes[1].data == nlohmann::json{{"draining", false}});
}

TEMPLATE_LIST_TEST_CASE("a removed worker that comes back is not drained", "[store][drain]", comfyq::testing::stores) {
  TestType q;
  q.touch_worker("w1", at(0));
  q.drain_worker("w1", at(0));
  REQUIRE(q.remove_worker("w1", at(1)));
  q.submit({.tenant = "alice", .workflow = "{}"}, at(2));
  CHECK(q.lease("w1", at(3)));
}

TEMPLATE_LIST_TEST_CASE("a drained idle worker is not free for priority work: a running job makes room", "[store][drain]", comfyq::testing::stores) {
  TestType q({.preemption = true});
  q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto running = q.lease("w1", at(1));
  q.touch_worker("w2", at(1));
  q.submit({.tenant = "instructor", .workflow = "{}", .priority = true}, at(2));
  CHECK_FALSE(q.heartbeat(running->job_id, running->token, at(3)).preempt_requested);  // w2 will take it
  q.drain_worker("w2", at(4));
  CHECK(q.heartbeat(running->job_id, running->token, at(5)).preempt_requested);
}

TEMPLATE_LIST_TEST_CASE("a drained worker does not count among the workers a forecast expects", "[store][drain]", comfyq::testing::stores) {
  TestType q({.default_estimate = 60s});
  for (int n = 0; n < 4; ++n) q.submit({.tenant = "t" + std::to_string(n), .workflow = "{}"}, at(0));
  q.touch_worker("w1", at(0));
  q.touch_worker("w2", at(0));
  q.drain_worker("w2", at(1));
  const auto expected = q.forecast(at(2), 1);
  const auto forecast = q.forecast(at(2));
  REQUIRE(forecast.size() == expected.size());
  for (std::size_t k = 0; k < forecast.size(); ++k) {
    CHECK(forecast[k].job == expected[k].job);
    CHECK(forecast[k].eta == expected[k].eta);
  }
  CHECK(q.position(forecast.back().job, at(2))->eta == expected.back().eta);
}
