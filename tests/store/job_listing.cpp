// list_jobs: a tenant's jobs (or everyone's), newest first, filtered by state, a page at a time.
// A page's cursor goes on after its last job however many jobs arrive meanwhile; jobs the store
// forgot are not listed; bad queries are refused naming the field.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "comfyq/comfyq.hpp"
#include "support/expect_invalid.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::test::expect_invalid;
using comfyq::testing::at;

namespace {

std::vector<std::string> ids_of(const comfyq::job_page& page) {
  std::vector<std::string> out;
  for (const comfyq::job& j : page.jobs) out.push_back(j.id);
  return out;
}

// Every job the query lists, following `next` to the end.
template <class Queue>
std::vector<std::string> every_page(Queue& q, comfyq::job_query query) {
  std::vector<std::string> out;
  for (;;) {
    const comfyq::job_page page = q.list_jobs(query);
    for (const comfyq::job& j : page.jobs) out.push_back(j.id);
    if (page.next.empty()) return out;
    query.after = page.next;
  }
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("a tenant's jobs are listed newest first, a page at a time", "[store][listing]", comfyq::testing::stores) {
  TestType q;
  for (int n = 1; n <= 5; ++n) {
    q.submit({.tenant = "alice", .workflow = "{}", .id = "a" + std::to_string(n)}, at(n));
    if (n <= 3) q.submit({.tenant = "bob", .workflow = "{}", .id = "b" + std::to_string(n)}, at(n));
  }
  const comfyq::job_page first = q.list_jobs({.tenant = "alice", .limit = 2});
  CHECK(ids_of(first) == std::vector<std::string>{"a5", "a4"});
  REQUIRE_FALSE(first.next.empty());
  const comfyq::job_page second = q.list_jobs({.tenant = "alice", .limit = 2, .after = first.next});
  CHECK(ids_of(second) == std::vector<std::string>{"a3", "a2"});
  const comfyq::job_page third = q.list_jobs({.tenant = "alice", .limit = 2, .after = second.next});
  CHECK(ids_of(third) == std::vector<std::string>{"a1"});
  CHECK(third.next.empty());

  CHECK(every_page(q, {.limit = 3}) == std::vector<std::string>{"a5", "a4", "b3", "a3", "b2", "a2", "b1", "a1"});
  const comfyq::job_page whole = q.list_jobs({.tenant = "bob"});
  CHECK(ids_of(whole) == std::vector<std::string>{"b3", "b2", "b1"});
  CHECK(whole.next.empty());
  CHECK(whole.jobs.front().workflow == "{}");
  CHECK(whole.jobs.front().tenant == "bob");
}

TEMPLATE_LIST_TEST_CASE("a page that ends with the last job has no next", "[store][listing]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}", .id = "a1"}, at(0));
  q.submit({.tenant = "alice", .workflow = "{}", .id = "a2"}, at(0));
  const comfyq::job_page page = q.list_jobs({.tenant = "alice", .limit = 2});
  CHECK(ids_of(page) == std::vector<std::string>{"a2", "a1"});
  CHECK(page.next.empty());
}

TEMPLATE_LIST_TEST_CASE("a state filter lists only the jobs in those states", "[store][listing]", comfyq::testing::stores) {
  TestType q;
  for (int n = 1; n <= 4; ++n) q.submit({.tenant = "alice", .workflow = "{}", .id = "a" + std::to_string(n)}, at(0));
  const auto done = q.lease("w1", at(1));
  q.complete(done->job_id, done->token, {}, at(2));  // a1
  const auto failed = q.lease("w1", at(3));
  q.fail(failed->job_id, failed->token, "bad graph", comfyq::failure::final, at(4));  // a2
  REQUIRE(q.lease("w1", at(5)));  // a3 runs

  using comfyq::job_state;
  CHECK(ids_of(q.list_jobs({.tenant = "alice", .states = {job_state::queued}})) == std::vector<std::string>{"a4"});
  CHECK(ids_of(q.list_jobs({.tenant = "alice", .states = {job_state::succeeded, job_state::failed}})) ==
        std::vector<std::string>{"a2", "a1"});
  CHECK(ids_of(q.list_jobs({.states = {job_state::running}})) == std::vector<std::string>{"a3"});
  CHECK(q.list_jobs({.tenant = "alice", .states = {job_state::dead}}).jobs.empty());
  const comfyq::job_page failures = q.list_jobs({.tenant = "alice", .states = {job_state::failed}});
  REQUIRE(failures.jobs.size() == 1);
  CHECK(failures.jobs[0].reason == "bad graph");
}

TEMPLATE_LIST_TEST_CASE("a page's cursor goes on after its last job while newer jobs arrive", "[store][listing]", comfyq::testing::stores) {
  TestType q;
  for (int n = 1; n <= 4; ++n) q.submit({.tenant = "alice", .workflow = "{}", .id = "a" + std::to_string(n)}, at(n));
  const comfyq::job_page first = q.list_jobs({.tenant = "alice", .limit = 2});
  CHECK(ids_of(first) == std::vector<std::string>{"a4", "a3"});
  for (int n = 5; n <= 7; ++n) q.submit({.tenant = "alice", .workflow = "{}", .id = "a" + std::to_string(n)}, at(n));
  const comfyq::job_page second = q.list_jobs({.tenant = "alice", .limit = 2, .after = first.next});
  CHECK(ids_of(second) == std::vector<std::string>{"a2", "a1"});
  CHECK(second.next.empty());
}

TEMPLATE_LIST_TEST_CASE("jobs the store forgot are no longer listed", "[store][listing]", comfyq::testing::stores) {
  TestType q({.history_limit = 2});
  for (int n = 1; n <= 5; ++n) q.submit({.tenant = "alice", .workflow = "{}", .id = "a" + std::to_string(n)}, at(0));
  for (int n = 1; n <= 4; ++n) {
    const auto l = q.lease("w1", at(n));
    q.complete(l->job_id, l->token, {}, at(n));
  }
  // a1 and a2 left the history of two finished jobs.
  CHECK_FALSE(q.find("a1"));
  CHECK(every_page(q, {.tenant = "alice", .limit = 1}) == std::vector<std::string>{"a5", "a4", "a3"});
  CHECK(every_page(q, {.limit = 1}) == std::vector<std::string>{"a5", "a4", "a3"});
}

TEMPLATE_LIST_TEST_CASE("a tenant the queue never saw has no jobs", "[store][listing]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  const comfyq::job_page page = q.list_jobs({.tenant = "nobody"});
  CHECK(page.jobs.empty());
  CHECK(page.next.empty());
}

TEMPLATE_LIST_TEST_CASE("a query no store can answer is refused, naming its field", "[store][listing]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  CHECK(expect_invalid([&] { q.list_jobs({.limit = 0}); }).field() == "limit");
  CHECK(expect_invalid([&] { q.list_jobs({.limit = comfyq::max_job_page + 1}); }).field() == "limit");
  CHECK(expect_invalid([&] { q.list_jobs({.after = "abc"}); }).field() == "after");
  CHECK(expect_invalid([&] { q.list_jobs({.after = "-1"}); }).field() == "after");
  CHECK(expect_invalid([&] { q.list_jobs({.after = "12 "}); }).field() == "after");
  CHECK(expect_invalid([&] { q.list_jobs({.tenant = "no/such"}); }).field() == "tenant");
  CHECK(expect_invalid([&] { q.list_jobs({.states = {static_cast<comfyq::job_state>(42)}}); }).field() == "states");
  CHECK(q.list_jobs({.limit = comfyq::max_job_page}).jobs.size() == 1);
}

TEMPLATE_LIST_TEST_CASE("a filter few jobs match is paged through a bounded number of jobs at a time", "[store][listing]", comfyq::testing::stores) {
  TestType q;
  const std::string oldest = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  q.cancel(oldest, at(0));
  for (std::size_t n = 0; n < comfyq::job_page_scan; ++n) q.submit({.tenant = "alice", .workflow = "{}"}, at(1));
  const comfyq::job_page first = q.list_jobs({.tenant = "alice", .states = {comfyq::job_state::cancelled}});
  CHECK(first.jobs.empty());  // the page looked at job_page_scan queued jobs and found none
  REQUIRE_FALSE(first.next.empty());
  const comfyq::job_page second =
      q.list_jobs({.tenant = "alice", .states = {comfyq::job_state::cancelled}, .after = first.next});
  CHECK(ids_of(second) == std::vector<std::string>{oldest});
  CHECK(second.next.empty());
}
