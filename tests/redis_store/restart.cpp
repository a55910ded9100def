// Redis restarting under running workers and clients: they get store_unavailable during the
// outage, back off, retry and carry on, and every acknowledged submission succeeds exactly once.
// The retries are the ones a real client makes: a submission again under the same id (an "id
// already used" refusal means the first one went through), a completion again with the same
// token (lease_lost means it went through: a stale token never succeeds twice).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "comfyq/redis/store.hpp"
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
using comfyq::testing::at;
using comfyq::testing::eventually;
using comfyq::testing::redis_server;
using comfyq::testing::redis_server_options;
using comfyq::testing::shared_clock;

namespace {

constexpr auto backoff = 20ms;

// What the clients saw, shared by their threads.
struct outcomes {
  std::atomic<int> unavailable{0};  ///< store_unavailable, from any client
  std::atomic<int> submitted{0};
  std::atomic<int> completed{0};
  std::mutex mutex;
  std::vector<std::string> acknowledged;                    ///< submissions known to have happened
  std::map<std::string, int> completions;                   ///< acknowledged complete() calls per job
  std::vector<std::pair<std::string, std::uint64_t>> runs;  ///< leases that ran to completion
};

// Submits "job-1", "job-2"... until stopped; a submission that failed is tried again under the
// same id until the store says it happened.
void submit_with_retries(std::stop_token stop, store& queue, outcomes& seen) {
  for (int n = 1; !stop.stop_requested(); ++n) {
    const std::string id = "job-" + std::to_string(n);
    for (;;) {
      try {
        queue.submit({.tenant = n % 3 == 0 ? "carol" : "dave", .workflow = "{}", .id = id});
        break;
      } catch (const comfyq::store_unavailable&) {
        ++seen.unavailable;
        std::this_thread::sleep_for(backoff);
      } catch (const comfyq::invalid_input& refused) {
        if (refused.field() != "id") throw;
        break;  // the submission that failed had gone through
      }
    }
    std::lock_guard lock(seen.mutex);
    seen.acknowledged.push_back(id);
    ++seen.submitted;
  }
}

// The worker loop: wait for a job, complete it and take the next in one call; after a failure,
// back off and complete the same lease again.
void work_with_retries(std::stop_token stop, store& queue, outcomes& seen, const std::string& worker) {
  std::optional<comfyq::lease> current;
  while (!stop.stop_requested()) {
    try {
      if (!current) current = queue.wait_for_lease(worker, 200ms);
      if (!current) continue;
      const comfyq::lease done = *current;
      current = queue.complete_and_lease(done.job_id, done.token, {}, worker);
      std::lock_guard lock(seen.mutex);
      ++seen.completions[done.job_id];
      seen.runs.emplace_back(done.job_id, done.token);
      ++seen.completed;
    } catch (const comfyq::store_unavailable&) {
      ++seen.unavailable;
      std::this_thread::sleep_for(backoff);
    } catch (const comfyq::lease_lost&) {
      current.reset();  // the completion that failed had gone through
    }
  }
}

}  // namespace

TEST_CASE("workers and clients ride out Redis restarts, and every job succeeds exactly once", "[redis][restart]") {
  constexpr comfyq::duration lease_ttl = 60s;
  redis_server server({.appendonly = true, .appendfsync = redis_server_options::fsync::always});
  shared_clock clock(at(0));  // stands still: no lease expires while Redis is away
  const store_options options{.queue = comfyq::testing::unique_queue_name("restart"),
                              .scheduler = {.lease_ttl = lease_ttl},
                              .event_log_limit = 1'000'000,
                              .clock = clock.reader()};
  const comfyq::redis::connection_options connect = comfyq::testing::quick_to_give_up(server);
  store client_queue(connect, options), queue_a(connect, options), queue_b(connect, options);
  outcomes seen;

  // Takes Redis down, waits until the clients noticed, brings it back and waits until both
  // submitting and working are under way again.
  const auto outage = [&](const std::function<void()>& take_down) {
    const int failures = seen.unavailable, submitted = seen.submitted, completed = seen.completed;
    take_down();
    REQUIRE(eventually([&] { return seen.unavailable > failures; }));
    server.restart();
    REQUIRE(eventually([&] { return seen.submitted > submitted + 20 && seen.completed > completed + 20; }));
  };
  {
    std::jthread client(submit_with_retries, std::ref(client_queue), std::ref(seen));
    std::jthread worker_a(work_with_retries, std::ref(queue_a), std::ref(seen), "gpu-a");
    std::jthread worker_b(work_with_retries, std::ref(queue_b), std::ref(seen), "gpu-b");
    REQUIRE(eventually([&] { return seen.completed >= 50; }));
    outage([&] { server.stop(); });
    outage([&] { server.kill(); });  // the AOF (appendfsync always) brings everything back

    client.request_stop();
    client.join();
    REQUIRE(eventually([&] { return client_queue.snapshot().queued == 0; }));
  }

  // A lease whose reply an outage swallowed is still running under a token no worker knows:
  // it expires, and the job runs again.
  store queue(server.connection_options(), options);
  clock.advance(lease_ttl + 1s);
  queue.expire();
  while (std::optional<comfyq::lease> next = queue.lease("sweeper")) {
    queue.complete(next->job_id, next->token, {});
    ++seen.completions[next->job_id];
  }

  std::map<job_state, std::size_t> by_state = comfyq::testing::audit_queue(queue, seen.acknowledged);
  CHECK(by_state[job_state::succeeded] == seen.acknowledged.size());
  for (const auto& [id, calls] : seen.completions) {
    INFO("job " << id);
    CHECK(calls == 1);
  }
  std::map<std::string, int> succeeded_events;
  for (const comfyq::store::logged_event& e : queue.read_events("0", 1'000'000, comfyq::duration::zero())) {
    if (e.value.type == comfyq::event_type::succeeded) ++succeeded_events[e.value.job];
  }
  CHECK(succeeded_events.size() == seen.acknowledged.size());
  for (const auto& [id, count] : succeeded_events) {
    INFO("job " << id);
    CHECK(count == 1);
  }

  // Completing again with a token that already completed is refused and changes nothing.
  REQUIRE_FALSE(seen.runs.empty());
  const auto& [id, token] = seen.runs.front();
  CHECK_THROWS_AS(queue.complete(id, token, {}), comfyq::lease_lost);
  CHECK(queue.find(id)->state == job_state::succeeded);
  CHECK(queue.snapshot().succeeded == seen.acknowledged.size());
}
