// Every transition of the job state machine, and what a stale fencing token may not do.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "comfyq/comfyq.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::failure;
using comfyq::job_state;
using comfyq::testing::at;
using comfyq::testing::submit;

TEMPLATE_LIST_TEST_CASE("a submitted job is queued, then running under a lease, then succeeded", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  CHECK(q.find(id)->state == job_state::queued);
  auto lease = q.lease("w1", at(1));
  REQUIRE(lease);
  CHECK(lease->job_id == id);
  CHECK(lease->attempt == 1);
  CHECK(lease->expires_at == at(1) + 60s);
  auto j = q.find(id);
  CHECK(j->state == job_state::running);
  CHECK(j->worker == "w1");
  std::vector<comfyq::manifest_entry> outputs{{.name = "out_00001_.png", .size = 3, .sha256 = "ab", .media_type = "image/png", .node = "9"}};
  q.complete(id, lease->token, outputs, at(31));
  j = q.find(id);
  CHECK(j->state == job_state::succeeded);
  CHECK(j->outputs == outputs);
  CHECK(j->finished_at == at(31));
}

TEMPLATE_LIST_TEST_CASE("nothing to lease is a value, not an error", "[store]", comfyq::testing::stores) {
  TestType q;
  CHECK_FALSE(q.lease("w1", at(0)));
}

TEMPLATE_LIST_TEST_CASE("a final failure ends the job as failed with its reason", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  auto lease = q.lease("w1", at(0));
  q.fail(id, lease->token, "node 3: value_bigger_than_max", failure::final, at(2));
  CHECK(q.find(id)->state == job_state::failed);
  CHECK(q.find(id)->reason == "node 3: value_bigger_than_max");
  CHECK_FALSE(q.lease("w1", at(3)));
}

TEMPLATE_LIST_TEST_CASE("a retryable failure requeues the job and counts an attempt", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  auto first = q.lease("w1", at(0));
  q.fail(id, first->token, "ComfyUI died", failure::retryable, at(5));
  CHECK(q.find(id)->state == job_state::queued);
  CHECK(q.find(id)->failures == 1);
  auto second = q.lease("w2", at(6));
  REQUIRE(second);
  CHECK(second->job_id == id);
  CHECK(second->attempt == 2);
  CHECK(second->token > first->token);
}

TEMPLATE_LIST_TEST_CASE("an expired lease requeues the job with an attempt counted", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  auto lease = q.lease("w1", at(0));
  CHECK(q.expire(at(59.999)) == 0);
  CHECK(q.expire(at(60)) == 1);
  auto j = q.find(id);
  CHECK(j->state == job_state::queued);
  CHECK(j->failures == 1);
  CHECK(j->reason.find("w1") != std::string::npos);
}

TEMPLATE_LIST_TEST_CASE("heartbeats keep a lease alive", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  auto lease = q.lease("w1", at(0));
  for (double t = 20; t <= 200; t += 20) {
    auto status = q.heartbeat(id, lease->token, at(t));
    CHECK(status.expires_at == at(t + 60));
  }
  CHECK(q.expire(at(259)) == 0);
  CHECK(q.find(id)->state == job_state::running);
}

TEMPLATE_LIST_TEST_CASE("lease calls reap expired leases first", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  q.lease("w1", at(0));
  auto retry = q.lease("w2", at(61));
  REQUIRE(retry);
  CHECK(retry->job_id == id);
  CHECK(retry->attempt == 2);
}

TEMPLATE_LIST_TEST_CASE("a job whose runs fail max_attempts times is dead, with the reason kept", "[store]", comfyq::testing::stores) {
  TestType q({.max_attempts = 2});
  std::string id = submit(q, "alice");
  q.lease("w1", at(0));
  q.expire(at(60));
  auto second = q.lease("w2", at(61));
  q.fail(id, second->token, "ComfyUI crashed while running it", failure::retryable, at(70));
  auto j = q.find(id);
  CHECK(j->state == job_state::dead);
  CHECK(j->reason.find("ComfyUI crashed while running it") != std::string::npos);
  CHECK(j->reason.find("max_attempts 2") != std::string::npos);
}

TEMPLATE_LIST_TEST_CASE("a release requeues without counting an attempt", "[store]", comfyq::testing::stores) {
  TestType q({.max_attempts = 1});
  std::string id = submit(q, "alice");
  for (int i = 0; i < 5; ++i) {
    auto lease = q.lease("w1", at(i));
    REQUIRE(lease);
    q.release(id, lease->token, at(i + 0.5));
  }
  CHECK(q.find(id)->state == job_state::queued);
  CHECK(q.find(id)->failures == 0);
  CHECK(q.find(id)->attempt == 5);
}

TEMPLATE_LIST_TEST_CASE("cancelling a queued job cancels it at once", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  CHECK(q.cancel(id, at(1)) == job_state::cancelled);
  CHECK(q.find(id)->state == job_state::cancelled);
  CHECK_FALSE(q.lease("w1", at(2)));
}

TEMPLATE_LIST_TEST_CASE("cancelling a running job asks its worker at the next heartbeat, and its release cancels it", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  auto lease = q.lease("w1", at(0));
  CHECK(q.cancel(id, at(1)) == job_state::running);
  CHECK(q.heartbeat(id, lease->token, at(2)).cancel_requested);
  q.release(id, lease->token, at(3));
  CHECK(q.find(id)->state == job_state::cancelled);
}

TEMPLATE_LIST_TEST_CASE("a running job whose cancel was requested is cancelled, not retried, when its lease expires", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  q.lease("w1", at(0));
  q.cancel(id, at(1));
  q.expire(at(61));
  CHECK(q.find(id)->state == job_state::cancelled);
}

TEMPLATE_LIST_TEST_CASE("completion wins over a pending cancel: finished work is kept", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  auto lease = q.lease("w1", at(0));
  q.cancel(id, at(1));
  q.complete(id, lease->token, {}, at(2));
  CHECK(q.find(id)->state == job_state::succeeded);
}

TEMPLATE_LIST_TEST_CASE("cancelling a finished job leaves it alone", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  auto lease = q.lease("w1", at(0));
  q.complete(id, lease->token, {}, at(2));
  CHECK(q.cancel(id, at(3)) == job_state::succeeded);
  CHECK_THROWS_AS(q.cancel("no-such-job", at(3)), comfyq::not_found);
}

TEMPLATE_LIST_TEST_CASE("a stale fencing token is refused and changes nothing", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  auto old = q.lease("w1", at(0));
  q.expire(at(60));
  auto current = q.lease("w2", at(61));
  REQUIRE(current->job_id == id);
  const comfyq::job before = *q.find(id);

  CHECK_THROWS_AS(q.heartbeat(id, old->token, at(62)), comfyq::lease_lost);
  CHECK_THROWS_AS(q.complete(id, old->token, {}, at(62)), comfyq::lease_lost);
  CHECK_THROWS_AS(q.fail(id, old->token, "x", failure::final, at(62)), comfyq::lease_lost);
  CHECK_THROWS_AS(q.release(id, old->token, at(62)), comfyq::lease_lost);

  auto after = q.find(id);
  CHECK(after->state == before.state);
  CHECK(after->token == before.token);
  CHECK(after->worker == "w2");
  CHECK(after->lease_expires_at == before.lease_expires_at);
  q.complete(id, current->token, {}, at(63));
  CHECK(q.find(id)->state == job_state::succeeded);
  CHECK_THROWS_AS(q.complete(id, current->token, {}, at(64)), comfyq::lease_lost);
}

TEMPLATE_LIST_TEST_CASE("a lease lost error names the token and says to drop the work", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  try {
    q.heartbeat(id, 12345, at(1));
    FAIL("expected lease_lost");
  } catch (const comfyq::lease_lost& e) {
    CHECK(e.code() == comfyq::errc::lease_lost);
    CHECK(e.field() == "token");
    CHECK(std::string(e.what()).find("[comfyq.lease_lost] token:") == 0);
    CHECK(std::string(e.what()).find("drop the work") != std::string::npos);
  }
}

TEMPLATE_LIST_TEST_CASE("bad input is refused with the field named, and nothing changes", "[store]", comfyq::testing::stores) {
  TestType q;
  const std::string taken = submit(q, "alice");
  auto refused = [&](auto&& call, const std::string& field) {
    try {
      call();
      FAIL("expected invalid_input for " + field);
    } catch (const comfyq::invalid_input& e) {
      CHECK(e.field() == field);
    }
  };
  refused([&] { q.submit({.tenant = "../etc"}, at(1)); }, "tenant");
  refused([&] { q.submit({.tenant = ""}, at(1)); }, "tenant");
  refused([&] { q.submit({.tenant = "bob", .id = "a/b"}, at(1)); }, "id");
  refused([&] { q.submit({.tenant = "bob", .id = taken}, at(1)); }, "id");
  refused([&] { q.submit({.tenant = "bob", .estimate = -1s}, at(1)); }, "estimate");
  refused([&] { q.submit({.tenant = "bob", .estimate = 24h * 8}, at(1)); }, "estimate");
  refused([&] { q.lease("worker one", at(1)); }, "worker");
  refused([&] { q.set_tenant({.id = "bob", .weight = 0}, at(1)); }, "tenant.weight");
  refused([&] { q.set_tenant({.id = "bob", .weight = -1}, at(1)); }, "tenant.weight");
  refused([&] { q.set_tenant({.id = "bob", .max_running = 0}, at(1)); }, "tenant.max_running");
  refused([&] { q.set_tenant({.id = "bob", .max_queued = 0}, at(1)); }, "tenant.max_queued");
  CHECK(!q.find_tenant("bob"));
  CHECK(q.snapshot(at(1)).queued == 1);
}

TEMPLATE_LIST_TEST_CASE("a nonsensical configuration is refused at construction", "[store]", comfyq::testing::stores) {
  CHECK_THROWS_AS(TestType({.lease_ttl = 0s}), comfyq::invalid_input);
  CHECK_THROWS_AS(TestType({.max_attempts = 0}), comfyq::invalid_input);
  CHECK_THROWS_AS(TestType({.estimate_smoothing = 0}), comfyq::invalid_input);
  CHECK_THROWS_AS(TestType({.estimate_smoothing = 1.5}), comfyq::invalid_input);
  CHECK_THROWS_AS(TestType({.forecast_reuse = -1ms}), comfyq::invalid_input);
}

TEMPLATE_LIST_TEST_CASE("a tenant at max_queued is refused with quota_exceeded and its queue is unchanged", "[store]", comfyq::testing::stores) {
  TestType q;
  q.set_tenant({.id = "alice", .max_queued = 2}, at(0));
  submit(q, "alice");
  submit(q, "alice");
  CHECK_THROWS_AS(submit(q, "alice"), comfyq::quota_exceeded);
  CHECK(q.snapshot(at(1)).queued == 2);
  q.lease("w1", at(1));
  CHECK_NOTHROW(submit(q, "alice", 2));
}

TEMPLATE_LIST_TEST_CASE("caller-chosen ids are kept and generated ids never collide with them", "[store]", comfyq::testing::stores) {
  TestType q;
  CHECK(q.submit({.tenant = "alice", .id = "j1"}, at(0)) == "j1");
  std::string generated = submit(q, "alice");
  CHECK(generated != "j1");
  CHECK(q.find(generated).has_value());
}

TEMPLATE_LIST_TEST_CASE("finished jobs are kept for a bounded history, oldest forgotten first", "[store]", comfyq::testing::stores) {
  TestType q({.history_limit = 3});
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(submit(q, "alice", i));
    auto lease = q.lease("w1", at(i));
    q.complete(lease->job_id, lease->token, {}, at(i + 0.5));
  }
  CHECK(!q.find(ids[0]));
  CHECK(!q.find(ids[1]));
  for (int i = 2; i < 5; ++i) CHECK(q.find(ids[i]).has_value());
  CHECK(q.snapshot(at(10)).succeeded == 3);
}

TEMPLATE_LIST_TEST_CASE("every state change is reported as an event, in order", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string id = submit(q, "alice");
  auto lease = q.lease("w1", at(1));
  q.fail(id, lease->token, "boom", failure::retryable, at(2));
  lease = q.lease("w1", at(3));
  q.cancel(id, at(4));
  q.release(id, lease->token, at(5));
  std::vector<comfyq::event> events = q.events();
  std::vector<comfyq::event_type> types;
  for (const auto& e : events) types.push_back(e.type);
  using T = comfyq::event_type;
  CHECK(types == std::vector<T>{T::submitted, T::leased, T::requeued, T::leased, T::cancel_requested, T::cancelled});
  CHECK(events[2].reason == "boom");
  CHECK(events[3].attempt == 2);
  CHECK(events[3].worker == "w1");
  CHECK(events[5].at == at(5));
}
