// submit_many: several jobs queued in one step, all or none, refusals naming the job refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "comfyq/comfyq.hpp"
#include "support/expect_error.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using comfyq::job_state;
using comfyq::submit_request;
using comfyq::test::expect_error;
using comfyq::testing::at;
using comfyq::testing::submit;

namespace {

submit_request job_of(const std::string& tenant, const std::string& id = "") {
  return {.tenant = tenant, .workflow = "{\"tenant\":\"" + tenant + "\"}", .id = id};
}

// How many submitted events the queue has logged.
template <class Queue>
std::size_t submissions_logged(Queue& q) {
  const std::vector<comfyq::event> events = q.events();
  return static_cast<std::size_t>(
      std::count_if(events.begin(), events.end(), [](const comfyq::event& e) { return e.type == comfyq::event_type::submitted; }));
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("submit_many queues every job in order, as submit would one after another", "[store][batch]", comfyq::testing::stores) {
  TestType q;
  q.set_tenant({.id = "alice", .weight = 1}, at(0));
  const std::vector<std::string> ids =
      q.submit_many({job_of("alice", "a1"), job_of("bob"), {.tenant = "alice", .workflow = "{}", .priority = true}}, at(1));
  REQUIRE(ids.size() == 3);
  CHECK(ids[0] == "a1");
  CHECK(ids[1] != ids[2]);
  for (const std::string& id : ids) {
    INFO("job " << id);
    REQUIRE(q.find(id).has_value());
    CHECK(q.find(id)->state == job_state::queued);
    CHECK(q.find(id)->submitted_at == at(1));
  }
  CHECK(q.find(ids[1])->tenant == "bob");
  CHECK(q.find(ids[1])->workflow == "{\"tenant\":\"bob\"}");
  CHECK(q.find_tenant("bob").has_value());  // a new tenant, as submit() makes one
  CHECK(submissions_logged(q) == 3);
  CHECK(q.snapshot(at(1)).queued == 3);

  // The priority job starts first, then the tenants' lanes in their order.
  CHECK(q.lease("w1", at(2))->job_id == ids[2]);
  std::vector<std::string> others{q.lease("w2", at(2))->job_id, q.lease("w3", at(2))->job_id};
  std::sort(others.begin(), others.end());
  std::vector<std::string> expected{ids[0], ids[1]};
  std::sort(expected.begin(), expected.end());
  CHECK(others == expected);
}

TEMPLATE_LIST_TEST_CASE("a batch over a tenant's max_queued is refused whole, naming the job that overflows", "[store][batch]", comfyq::testing::stores) {
  TestType q;
  q.set_tenant({.id = "alice", .max_queued = 3}, at(0));
  submit(q, "alice");
  // Two more fit; the third of alice's in the batch (its job 3) does not, so none is queued.
  const auto refusal = expect_error<comfyq::quota_exceeded>(
      [&] { q.submit_many({job_of("alice"), job_of("bob"), job_of("alice"), job_of("alice")}, at(1)); });
  CHECK(refusal.field() == "jobs[3].tenant");
  CHECK_THAT(refusal.what(), Catch::Contains("'alice' already has 3 jobs waiting (max_queued)"));
  CHECK(q.snapshot(at(1)).queued == 1);
  CHECK(!q.find_tenant("bob").has_value());
  CHECK(submissions_logged(q) == 1);
  CHECK(q.submit_many({job_of("alice"), job_of("bob"), job_of("alice")}, at(2)).size() == 3);
  CHECK(q.snapshot(at(2)).queued == 4);
}

TEMPLATE_LIST_TEST_CASE("a batch with an id already used, by the queue or earlier in the batch, is refused whole", "[store][batch]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}", .id = "taken"}, at(0));
  const auto used = expect_error<comfyq::invalid_input>([&] { q.submit_many({job_of("bob", "b1"), job_of("bob", "taken")}, at(1)); });
  CHECK(used.field() == "jobs[1].id");
  CHECK_THAT(used.what(), Catch::Contains("job id 'taken' is already used"));
  const auto twice = expect_error<comfyq::invalid_input>(
      [&] { q.submit_many({job_of("bob", "b1"), job_of("bob"), job_of("carol", "b1")}, at(1)); });
  CHECK(twice.field() == "jobs[2].id");
  CHECK(!q.find("b1").has_value());
  CHECK(q.snapshot(at(1)).queued == 1);
  CHECK(submissions_logged(q) == 1);
}

TEMPLATE_LIST_TEST_CASE("a batch with a malformed job is refused whole, naming the job and its field", "[store][batch]", comfyq::testing::stores) {
  TestType q;
  auto field_refused = [&](std::vector<submit_request> batch) {
    return expect_error<comfyq::invalid_input>([&] { q.submit_many(std::move(batch), at(1)); }).field();
  };
  CHECK(field_refused({job_of("alice"), job_of("../etc")}) == "jobs[1].tenant");
  CHECK(field_refused({{.tenant = "alice", .estimate = comfyq::duration(-1)}, job_of("bob")}) == "jobs[0].estimate");
  CHECK(field_refused({job_of("alice"), job_of("alice"), job_of("alice", "no spaces")}) == "jobs[2].id");
  CHECK(field_refused(std::vector<submit_request>(comfyq::max_batch_size + 1, job_of("alice"))) == "jobs");
  CHECK(q.snapshot(at(1)).queued == 0);
  CHECK(submissions_logged(q) == 0);
  CHECK(!q.find_tenant("alice").has_value());
}

TEMPLATE_LIST_TEST_CASE("an empty batch queues nothing", "[store][batch]", comfyq::testing::stores) {
  TestType q;
  CHECK(q.submit_many({}, at(1)).empty());
  CHECK(q.snapshot(at(1)).queued == 0);
  CHECK(submissions_logged(q) == 0);
}
