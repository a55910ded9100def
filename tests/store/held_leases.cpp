// held_lease: a worker finds the lease it holds (after a restart under the same id, or when
// the answer of complete_and_lease was lost), and nothing once the run is over.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "comfyq/comfyq.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::testing::at;

namespace {

void check_same_lease(const comfyq::lease& held, const comfyq::lease& given) {
  CHECK(held.job_id == given.job_id);
  CHECK(held.tenant == given.tenant);
  CHECK(held.worker == given.worker);
  CHECK(held.workflow == given.workflow);
  CHECK(held.token == given.token);
  CHECK(held.attempt == given.attempt);
  CHECK(held.priority == given.priority);
  CHECK(held.expires_at == given.expires_at);
  CHECK(held.estimate == given.estimate);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("a worker's held lease is the lease it was given", "[store][held]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = R"({"3":{"class_type":"KSampler"}})"}, at(0));
  const std::optional<comfyq::lease> given = q.lease("w1", at(1));
  REQUIRE(given);
  const std::optional<comfyq::lease> held = q.held_lease("w1", at(2));
  REQUIRE(held);
  check_same_lease(*held, *given);
}

TEMPLATE_LIST_TEST_CASE("a held lease shows the expiry its heartbeats moved it to", "[store][held]", comfyq::testing::stores) {
  TestType q({.lease_ttl = 60s});
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto given = q.lease("w1", at(0));
  REQUIRE(given);
  q.heartbeat(id, given->token, at(50));
  const auto held = q.held_lease("w1", at(100));  // past the first expiry, within the second
  REQUIRE(held);
  CHECK(held->token == given->token);
  CHECK(held->expires_at == at(110));
}

TEMPLATE_LIST_TEST_CASE("a worker holds nothing once its job completed or failed", "[store][held]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto first = q.lease("w1", at(1));
  REQUIRE(first);
  q.complete(first->job_id, first->token, {}, at(2));
  CHECK_FALSE(q.held_lease("w1", at(3)));
  const auto second = q.lease("w1", at(4));
  REQUIRE(second);
  q.fail(second->job_id, second->token, "ComfyUI died", comfyq::failure::final, at(5));
  CHECK_FALSE(q.held_lease("w1", at(6)));
}

TEMPLATE_LIST_TEST_CASE("a worker whose lease expired holds nothing, and its job is requeued", "[store][held]", comfyq::testing::stores) {
  TestType q({.lease_ttl = 60s});
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  REQUIRE(q.lease("w1", at(0)));
  CHECK(q.held_lease("w1", at(59.999)));
  CHECK_FALSE(q.held_lease("w1", at(60)));
  CHECK(q.find(id)->state == comfyq::job_state::queued);
  CHECK(q.find(id)->failures == 1);
}

TEMPLATE_LIST_TEST_CASE("a worker that lost the answer of complete_and_lease finds the lease it was handed", "[store][held]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const std::string next = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const auto first = q.lease("w1", at(1));
  REQUIRE(first);
  q.set_now(at(2));
  const std::optional<comfyq::lease> handed = q.store().complete_and_lease(first->job_id, first->token, {}, "w1");
  REQUIRE(handed);
  REQUIRE(handed->job_id == next);
  const auto held = q.held_lease("w1", at(3));
  REQUIRE(held);
  check_same_lease(*held, *handed);
}

TEMPLATE_LIST_TEST_CASE("a worker holds only its own lease, and one that never leased holds none", "[store][held]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  q.submit({.tenant = "bob", .workflow = "{}"}, at(0));
  const auto one = q.lease("w1", at(1));
  const auto two = q.lease("w2", at(1));
  REQUIRE(one);
  REQUIRE(two);
  CHECK(q.held_lease("w1", at(2))->job_id == one->job_id);
  CHECK(q.held_lease("w2", at(2))->job_id == two->job_id);
  q.touch_worker("w3", at(2));
  CHECK_FALSE(q.held_lease("w3", at(3)));
  CHECK_FALSE(q.held_lease("w4", at(3)));
  CHECK_FALSE(q.held_lease("not a worker id", at(3)));
}
