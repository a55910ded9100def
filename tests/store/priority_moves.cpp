// set_priority: a queued job moves into or out of the priority lane, and is then leased by the
// lane's rules (priority first, in submission order; back in its tenant's lane, by fair share);
// positions and forecasts follow the move; only a queued job moves, and a refusal changes nothing.
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
std::vector<std::string> lease_all(Queue& q, double now) {
  std::vector<std::string> order;
  while (auto l = q.lease("w1", at(now))) {
    order.push_back(l->job_id);
    q.complete(l->job_id, l->token, {}, at(now));
  }
  return order;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("a job moved into the priority lane starts before all normal work", "[store][priority]", comfyq::testing::stores) {
  TestType q({.policy = comfyq::policy::fifo});
  for (const char* id : {"a1", "a2", "a3"}) q.submit({.tenant = "alice", .workflow = "{}", .id = id}, at(0));
  q.submit({.tenant = "bob", .workflow = "{}", .id = "b1"}, at(0));
  q.set_priority("b1", true, at(1));
  CHECK(q.find("b1")->priority);
  CHECK(lease_all(q, 2) == std::vector<std::string>{"b1", "a1", "a2", "a3"});
}

TEMPLATE_LIST_TEST_CASE("a job moved into the priority lane waits there in submission order", "[store][priority]", comfyq::testing::stores) {
  TestType q({.policy = comfyq::policy::fifo});
  q.submit({.tenant = "alice", .workflow = "{}", .id = "n1"}, at(0));
  q.submit({.tenant = "alice", .workflow = "{}", .id = "n2"}, at(0));
  q.submit({.tenant = "instructor", .workflow = "{}", .priority = true, .id = "p3"}, at(0));
  q.set_priority("n2", true, at(1));
  CHECK(lease_all(q, 2) == std::vector<std::string>{"n2", "p3", "n1"});
}

TEMPLATE_LIST_TEST_CASE("a job moved out of the priority lane waits its tenant's fair turn", "[store][priority]", comfyq::testing::stores) {
  TestType q({.default_estimate = 60s});
  // alice has used the GPU for 100 s; bob nothing.
  q.submit({.tenant = "alice", .workflow = "{}", .id = "a0"}, at(0));
  const auto ran = q.lease("w1", at(0));
  q.heartbeat(ran->job_id, ran->token, at(50));
  q.complete(ran->job_id, ran->token, {}, at(100));
  q.submit({.tenant = "alice", .workflow = "{}", .priority = true, .id = "a1"}, at(101));
  q.submit({.tenant = "bob", .workflow = "{}", .id = "b1"}, at(101));
  q.set_priority("a1", false, at(102));
  CHECK_FALSE(q.find("a1")->priority);
  CHECK(lease_all(q, 103) == std::vector<std::string>{"b1", "a1"});
}

TEMPLATE_LIST_TEST_CASE("positions and the forecast agree after jobs change lanes", "[store][priority]", comfyq::testing::stores) {
  TestType q({.forecast_reuse = 0ms});
  q.touch_worker("w1", at(0));
  q.touch_worker("w2", at(0));
  std::vector<std::string> ids;
  for (int n = 0; n < 12; ++n) {
    const std::string tenant = n % 3 == 0 ? "alice" : n % 3 == 1 ? "bob" : "carol";
    ids.push_back(q.submit({.tenant = tenant, .workflow = "{}", .priority = n % 5 == 0, .id = "j" + std::to_string(n)}, at(0)));
  }
  REQUIRE(q.lease("w1", at(1))->job_id == "j0");
  REQUIRE(q.forecast(at(2)).front().job == "j5");
  q.set_priority("j7", true, at(2));
  q.set_priority("j5", false, at(2));
  q.set_priority("j11", true, at(2));
  const auto after = q.forecast(at(3));
  REQUIRE(after.size() >= 3);
  CHECK(after[0].job == "j7");  // the priority lane, in submission order
  CHECK(after[1].job == "j10");
  CHECK(after[2].job == "j11");
  REQUIRE(after.size() == 11);
  for (const comfyq::queue_position& p : after) {
    INFO("job " << p.job);
    const auto asked = q.position(p.job, at(3));
    REQUIRE(asked);
    CHECK(asked->position == p.position);
    CHECK(asked->eta == p.eta);
  }
}

TEMPLATE_LIST_TEST_CASE("a snapshot counts each tenant's queued jobs in the priority lane", "[store][priority]", comfyq::testing::stores) {
  TestType q;
  for (const char* id : {"a1", "a2", "a3"}) q.submit({.tenant = "alice", .workflow = "{}", .id = id}, at(0));
  q.submit({.tenant = "bob", .workflow = "{}", .priority = true, .id = "b1"}, at(0));
  q.set_priority("a2", true, at(1));
  q.set_priority("a3", true, at(1));
  q.set_priority("a3", false, at(2));
  const auto lanes = [&](double now) {
    std::vector<std::string> shown;
    for (const auto& t : q.snapshot(at(now)).tenants) {
      shown.push_back(t.config.id + " " + std::to_string(t.queued) + "/" + std::to_string(t.queued_priority));
    }
    return shown;
  };
  CHECK(lanes(3) == std::vector<std::string>{"alice 3/1", "bob 1/1"});
  // Priority work starts first: once leased, it is no longer counted as queued.
  const auto first = q.lease("w1", at(4));
  REQUIRE(first);
  CHECK(first->job_id == "a2");
  CHECK(lanes(4) == std::vector<std::string>{"alice 2/0", "bob 1/1"});
  q.cancel("b1", at(5));
  CHECK(lanes(5) == std::vector<std::string>{"alice 2/0", "bob 0/0"});
}

TEMPLATE_LIST_TEST_CASE("only a queued job changes lanes, a refusal changes nothing", "[store][priority]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}", .id = "running"}, at(0));
  q.submit({.tenant = "alice", .workflow = "{}", .id = "done"}, at(0));
  const auto running = q.lease("w1", at(1));
  const auto done = q.lease("w2", at(1));
  q.complete(done->job_id, done->token, {}, at(2));
  const std::size_t logged = q.events().size();

  const comfyq::conflict busy = expect_error<comfyq::conflict>([&] { q.set_priority("running", true, at(3)); });
  CHECK(busy.code() == comfyq::errc::conflict);
  CHECK(busy.field() == "job");
  CHECK(std::string(busy.what()).find("running") != std::string::npos);
  CHECK(expect_error<comfyq::conflict>([&] { q.set_priority("done", true, at(3)); }).field() == "job");
  CHECK(expect_error<comfyq::not_found>([&] { q.set_priority("nope", true, at(3)); }).field() == "job");
  CHECK(expect_error<comfyq::not_found>([&] { q.set_priority("not an id", true, at(3)); }).field() == "job");
  CHECK_FALSE(q.find("running")->priority);
  CHECK(q.find("running")->state == comfyq::job_state::running);
  CHECK(q.events().size() == logged);
}

TEMPLATE_LIST_TEST_CASE("a move is logged as priority_changed, a move to the lane a job is in changes nothing", "[store][priority]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}", .id = "a1"}, at(0));
  q.set_priority("a1", false, at(1));
  q.set_priority("a1", true, at(2));
  q.set_priority("a1", true, at(3));
  q.set_priority("a1", false, at(4));
  std::vector<comfyq::event> moves;
  for (const comfyq::event& e : q.events()) {
    if (e.type == comfyq::event_type::priority_changed) moves.push_back(e);
  }
  REQUIRE(moves.size() == 2);
  CHECK(moves[0].job == "a1");
  CHECK(moves[0].tenant == "alice");
  CHECK(moves[0].at == at(2));
  CHECK(moves[0].data == nlohmann::json{{"priority", true}});
  CHECK(moves[1].data == nlohmann::json{{"priority", false}});
}

TEMPLATE_LIST_TEST_CASE("with preemption on, a job moved into the priority lane makes room as a priority submission does", "[store][priority]", comfyq::testing::stores) {
  TestType q({.preemption = true});
  q.submit({.tenant = "alice", .workflow = "{}", .id = "long"}, at(0));
  q.submit({.tenant = "bob", .workflow = "{}", .id = "demo"}, at(0));
  const auto running = q.lease("w1", at(1));
  REQUIRE(running);
  CHECK_FALSE(q.heartbeat(running->job_id, running->token, at(2)).preempt_requested);
  q.set_priority("demo", true, at(3));
  CHECK(q.heartbeat(running->job_id, running->token, at(4)).preempt_requested);
  q.set_priority("demo", false, at(5));  // no longer needed: withdrawn
  CHECK_FALSE(q.heartbeat(running->job_id, running->token, at(6)).preempt_requested);
}

TEMPLATE_LIST_TEST_CASE("preemption turned on makes room for the priority work waiting, turned off withdraws the requests", "[store][priority]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}", .id = "long"}, at(0));
  const auto running = q.lease("w1", at(1));
  REQUIRE(running);
  q.submit({.tenant = "bob", .workflow = "{}", .priority = true, .id = "demo"}, at(2));
  CHECK_FALSE(q.snapshot(at(2)).preemption);
  CHECK_FALSE(q.heartbeat(running->job_id, running->token, at(3)).preempt_requested);  // off: the demo waits

  q.set_preemption(true, at(4));
  CHECK(q.snapshot(at(4)).preemption);
  CHECK(q.heartbeat(running->job_id, running->token, at(5)).preempt_requested);
  q.set_preemption(false, at(6));
  CHECK_FALSE(q.snapshot(at(6)).preemption);
  CHECK_FALSE(q.heartbeat(running->job_id, running->token, at(7)).preempt_requested);

  // Each switch is a queue_changed event that says how the queue stands.
  std::vector<nlohmann::json> said;
  for (const comfyq::event& e : q.events()) {
    if (e.type == comfyq::event_type::queue_changed) said.push_back(e.data);
  }
  REQUIRE(said.size() == 2);
  CHECK(said[0] == nlohmann::json{{"policy", "fair_share"}, {"paused", false}, {"preemption", true}});
  CHECK(said[1].at("preemption") == false);
}
