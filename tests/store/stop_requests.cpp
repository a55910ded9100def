// wait_for_stop_request: a worker hears of a cancel or a preempt as soon as it is asked for,
// not at its next heartbeat; with none it waits out its timeout; a stale token is refused.
// The waits run on a thread of their own, as in a worker, while the test thread asks.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "comfyq/comfyq.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::testing::at;

namespace {

// Longer than any run of the suite may take: a wait that returns was woken, it did not time out
// (both stores check once more when the timeout has passed, which would find the request too).
constexpr comfyq::duration forever = std::chrono::hours(1);

// The request usually finds the wait under way after this; either way it must be answered.
void let_the_wait_start() { std::this_thread::sleep_for(200ms); }

}  // namespace

TEMPLATE_LIST_TEST_CASE("a cancel request wakes a worker waiting for a stop request", "[store][stop]", comfyq::testing::stores) {
  TestType q;
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto lease = q.lease("w1", at(1));
  REQUIRE(lease);
  q.set_now(at(2));  // the store's clock stands still while the wait runs on its thread

  auto waiting = std::async(std::launch::async, [&] { return q.store().wait_for_stop_request(id, lease->token, forever); });
  let_the_wait_start();
  CHECK(q.store().cancel(id) == comfyq::job_state::running);

  const comfyq::lease_status status = waiting.get();
  CHECK(status.cancel_requested);
  CHECK_FALSE(status.preempt_requested);
  CHECK(status.expires_at == lease->expires_at);
}

TEMPLATE_LIST_TEST_CASE("a preempt request wakes a worker waiting for a stop request", "[store][stop]", comfyq::testing::stores) {
  TestType q({.preemption = true});
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto lease = q.lease("w1", at(1));
  REQUIRE(lease);
  q.set_now(at(2));

  auto waiting = std::async(std::launch::async, [&] { return q.store().wait_for_stop_request(id, lease->token, forever); });
  let_the_wait_start();
  q.store().submit({.tenant = "instructor", .workflow = "{}", .priority = true});  // no idle worker takes it

  const comfyq::lease_status status = waiting.get();
  CHECK(status.preempt_requested);
  CHECK_FALSE(status.cancel_requested);
}

TEMPLATE_LIST_TEST_CASE("a stop request made before the wait is answered at once", "[store][stop]", comfyq::testing::stores) {
  TestType q;
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto lease = q.lease("w1", at(1));
  REQUIRE(lease);
  q.cancel(id, at(2));
  CHECK(q.wait_for_stop_request(id, lease->token, forever, at(3)).cancel_requested);
  CHECK(q.wait_for_stop_request(id, lease->token, forever, at(4)).cancel_requested);  // asked once, told every time
}

TEMPLATE_LIST_TEST_CASE("a wait with no stop request ends after its timeout with no request, the lease not extended", "[store][stop]", comfyq::testing::stores) {
  TestType q;
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto lease = q.lease("w1", at(1));
  REQUIRE(lease);

  const comfyq::duration timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  const comfyq::lease_status status = q.wait_for_stop_request(id, lease->token, timeout, at(10));
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK(waited >= timeout);  // it waited: a lower bound, not a speed
  CHECK_FALSE(status.cancel_requested);
  CHECK_FALSE(status.preempt_requested);
  CHECK(status.expires_at == lease->expires_at);  // a heartbeat at 10 s would have moved it
  CHECK(q.find(id)->lease_expires_at == lease->expires_at);
}

TEMPLATE_LIST_TEST_CASE("waiting for a stop request with a stale token is refused with lease_lost", "[store][stop]", comfyq::testing::stores) {
  TestType q;
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto first = q.lease("w1", at(1));
  REQUIRE(first);
  CHECK_THROWS_AS(q.wait_for_stop_request(id, first->token + 1, forever, at(2)), comfyq::lease_lost);

  q.fail(id, first->token, "ComfyUI died", comfyq::failure::retryable, at(3));
  const auto second = q.lease("w2", at(4));
  REQUIRE(second);
  CHECK_THROWS_AS(q.wait_for_stop_request(id, first->token, forever, at(5)), comfyq::lease_lost);
  q.complete(id, second->token, {}, at(6));
  CHECK_THROWS_AS(q.wait_for_stop_request(id, second->token, forever, at(7)), comfyq::lease_lost);
  CHECK_THROWS_AS(q.wait_for_stop_request("no-such-job", 1, forever, at(8)), comfyq::lease_lost);
}

TEMPLATE_LIST_TEST_CASE("a wait under an expired lease is refused with lease_lost, and the job requeued", "[store][stop]", comfyq::testing::stores) {
  TestType q({.lease_ttl = 60s});
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto lease = q.lease("w1", at(0));
  REQUIRE(lease);
  CHECK_THROWS_AS(q.wait_for_stop_request(id, lease->token, forever, at(60)), comfyq::lease_lost);
  CHECK(q.find(id)->state == comfyq::job_state::queued);
}

TEMPLATE_LIST_TEST_CASE("a request to a job that runs again after a preemption is for its new run only", "[store][stop]", comfyq::testing::stores) {
  TestType q({.preemption = true});
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto first = q.lease("w1", at(1));
  REQUIRE(first);
  const std::string demo = q.submit({.tenant = "instructor", .workflow = "{}", .priority = true}, at(2));
  REQUIRE(q.heartbeat(id, first->token, at(3)).preempt_requested);
  q.release(id, first->token, at(4));
  const auto demo_lease = q.lease("w1", at(5));
  REQUIRE(demo_lease);
  REQUIRE(demo_lease->job_id == demo);
  const auto again = q.lease("w2", at(6));
  REQUIRE(again);
  REQUIRE(again->job_id == id);

  // What woke the first run's waiter does not end a wait of the second.
  const comfyq::duration timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  const comfyq::lease_status status = q.wait_for_stop_request(id, again->token, timeout, at(7));
  CHECK(std::chrono::steady_clock::now() - started >= timeout);
  CHECK_FALSE(status.preempt_requested);
  CHECK_FALSE(status.cancel_requested);
}
