// Durability of the Redis store is Redis's own AOF. With appendfsync always, a redis-server
// killed (SIGKILL) in the middle of submissions and leases comes back, after replaying its AOF,
// with every acknowledged submission and completion: each job whole and in exactly one state,
// and the leases that were in flight expire and requeue. A call that failed with
// store_unavailable during the crash may or may not have happened, but never happened halfway.
// bench_redis_everysec_loss counts what appendfsync everysec loses.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "comfyq/redis/store.hpp"
#include "support/acknowledged_work.hpp"
#include "support/queue_audit.hpp"
#include "support/redis_server.hpp"
#include "support/redis_watch.hpp"
#include "support/shared_clock.hpp"
#include "support/time.hpp"
#include "support/unique_name.hpp"

using namespace std::chrono_literals;
using comfyq::job_state;
using comfyq::redis::store;
using comfyq::redis::store_options;
using comfyq::testing::acknowledged;
using comfyq::testing::at;
using comfyq::testing::eventually;
using comfyq::testing::submit_until_unavailable;
using comfyq::testing::tenant_of;
using comfyq::testing::work_until_unavailable;
using comfyq::testing::workflow_of;
using comfyq::testing::quick_to_give_up;
using comfyq::testing::redis_server;
using comfyq::testing::redis_server_options;
using comfyq::testing::shared_clock;
using comfyq::testing::unique_queue_name;

namespace {

void check_whole(const comfyq::job& j) {
  INFO("job " << j.id);
  CHECK(j.tenant == tenant_of(j.id));
  CHECK(j.workflow == workflow_of(j.id));
}

}  // namespace

TEST_CASE("appendfsync always: after a SIGKILL, every acknowledged call is back and in-flight leases requeue",
          "[redis][durability]") {
  constexpr comfyq::duration lease_ttl = 60s;
  redis_server server({.appendonly = true, .appendfsync = redis_server_options::fsync::always});
  shared_clock clock(at(0));
  const store_options options{
      .queue = unique_queue_name("durable"), .scheduler = {.lease_ttl = lease_ttl}, .clock = clock.reader()};
  const comfyq::redis::connection_options connect = quick_to_give_up(server);
  store producer_queue(connect, options), queue_a(connect, options), queue_b(connect, options), main_queue(connect, options);
  acknowledged told;
  std::optional<comfyq::lease> held;
  {
    std::jthread producer(submit_until_unavailable, std::ref(producer_queue), std::ref(told), "job");
    std::jthread worker_a(work_until_unavailable, std::ref(queue_a), std::ref(told), "gpu-a");
    std::jthread worker_b(work_until_unavailable, std::ref(queue_b), std::ref(told), "gpu-b");
    REQUIRE(eventually([&] { return told.submissions() >= 300 && told.completions() >= 100; }));
    // At least this lease is in flight at the crash, besides whatever the workers hold then.
    REQUIRE(eventually([&] { return (held = main_queue.lease("held-at-crash")).has_value(); }));
    {
      std::lock_guard lock(told.mutex);
      told.leased[held->job_id] = held->token;
    }
    server.kill();
  }  // each client stops at its first store_unavailable
  server.restart();

  store queue(server.connection_options(), options);
  std::vector<std::string> jobs = told.submitted;
  for (const std::string& id : told.submitted) {
    std::optional<comfyq::job> found = queue.find(id);
    INFO("acknowledged submission " << id);
    REQUIRE(found.has_value());
    check_whole(*found);
  }
  for (const std::string& id : told.maybe_submitted) {
    if (std::optional<comfyq::job> found = queue.find(id)) {
      check_whole(*found);
      jobs.push_back(id);
    }
  }
  for (const std::string& id : told.completed) {
    std::optional<comfyq::job> found = queue.find(id);
    INFO("acknowledged completion " << id);
    REQUIRE(found.has_value());
    CHECK(found->state == job_state::succeeded);
  }
  std::set<std::string> in_flight;
  for (const auto& [id, token] : told.leased) {
    std::optional<comfyq::job> found = queue.find(id);
    INFO("acknowledged lease " << id);
    REQUIRE(found.has_value());
    const comfyq::job& j = *found;
    if (told.maybe_completed.contains(id) && j.state == job_state::succeeded) continue;
    CHECK(j.state == job_state::running);
    CHECK(j.token == token);
    in_flight.insert(id);
  }
  std::map<job_state, std::size_t> by_state = comfyq::testing::audit_queue(queue, jobs);
  REQUIRE(in_flight.contains(held->job_id));

  // A lease whose reply the crash swallowed runs too, under a token no client knows: every
  // running job expires once its lease_ttl has passed.
  clock.advance(lease_ttl + 1s);
  CHECK(queue.expire() == by_state[job_state::running]);
  for (const auto& [id, token] : told.leased) {
    if (!in_flight.contains(id)) continue;
    const comfyq::job j = *queue.find(id);
    INFO("lease in flight at the crash: " << id);
    CHECK(j.state == job_state::queued);
    CHECK(j.failures == 1);
    CHECK_THAT(j.reason, Catch::Matchers::Contains("lease expired"));
    CHECK_THROWS_AS(queue.complete(id, token, {}), comfyq::lease_lost);
  }
  by_state = comfyq::testing::audit_queue(queue, jobs);
  CHECK(by_state[job_state::running] == 0);

  while (std::optional<comfyq::lease> next = queue.lease("after-restart")) queue.complete(next->job_id, next->token, {});
  by_state = comfyq::testing::audit_queue(queue, jobs);
  CHECK(by_state[job_state::succeeded] == jobs.size());
}
