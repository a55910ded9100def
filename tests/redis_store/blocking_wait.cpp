// wait_for_lease blocks in Redis (BLPOP on the worker's mailbox), not in a polling loop: a
// worker waiting through one store object gets the lease of a job that another store object, as
// in another process, submits, handed to it by the submission; with nothing to do it gives up
// after its timeout, and is then no longer handed anything. A lease handed to a worker whose
// wait broke off is not lost: it reaches the worker on its next wait. wait_for_stop_request
// blocks the same way, in BLPOP on the job's list of wake-ups.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "comfyq/redis/store.hpp"
#include "support/redis_server.hpp"
#include "support/redis_watch.hpp"
#include "support/shared_clock.hpp"
#include "support/unique_name.hpp"

using namespace std::chrono_literals;
using comfyq::redis::store;
using comfyq::testing::shared_redis;

namespace {

// Closes the connection of the one client blocked in BLPOP on `server`, as a network failure would.
void break_off_wait(const comfyq::testing::redis_server& server) {
  comfyq::redis::connection admin(server.connection_options());
  std::istringstream clients{std::string(admin.command({"CLIENT", "LIST"}).string())};
  for (std::string line; std::getline(clients, line);) {
    if (line.find("cmd=blpop") == std::string::npos) continue;
    const std::size_t id_at = line.find("id=") + 3;
    const std::string id = line.substr(id_at, line.find(' ', id_at) - id_at);
    REQUIRE(admin.command({"CLIENT", "KILL", "ID", id}).integer() == 1);
    return;
  }
  FAIL("no client blocked in BLPOP");
}

}  // namespace

TEST_CASE("a worker waiting for a lease gets the job another store object submits", "[redis][wait]") {
  const comfyq::redis::store_options options{.queue = comfyq::testing::unique_queue_name()};
  store worker_side(shared_redis().connection_options(), options);
  store client_side(shared_redis().connection_options(), options);

  std::future<std::optional<comfyq::lease>> waiting =
      std::async(std::launch::async, [&] { return worker_side.wait_for_lease("gpu-0", 10s); });
  // Submit only once the worker blocks in Redis, so the job reaches it by a hand-off.
  REQUIRE(comfyq::testing::eventually([] { return comfyq::testing::blocked_clients(shared_redis()) >= 1; }));
  const std::string id = client_side.submit({.tenant = "alice", .workflow = "{}"});

  const std::optional<comfyq::lease> granted = waiting.get();
  REQUIRE(granted.has_value());
  CHECK(granted->job_id == id);
  CHECK(granted->worker == "gpu-0");
}

TEST_CASE("waiting for a lease with nothing to do gives nothing after the timeout", "[redis][wait]") {
  store queue(shared_redis().connection_options(), {.queue = comfyq::testing::unique_queue_name()});
  const auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(queue.wait_for_lease("gpu-0", 200ms).has_value());
  CHECK(std::chrono::steady_clock::now() - started >= 200ms);  // it waited, rather than giving up at once
}

TEST_CASE("a worker whose wait timed out is not handed work", "[redis][wait]") {
  store queue(shared_redis().connection_options(), {.queue = comfyq::testing::unique_queue_name()});
  REQUIRE_FALSE(queue.wait_for_lease("gpu-0", 100ms).has_value());

  const std::string id = queue.submit({.tenant = "alice", .workflow = "{}"});
  CHECK(queue.find(id)->state == comfyq::job_state::queued);
  const std::optional<comfyq::lease> later = queue.wait_for_lease("gpu-0", 100ms);
  REQUIRE(later.has_value());
  CHECK(later->job_id == id);
}

TEST_CASE("two waiting workers each get one of two submissions", "[redis][wait]") {
  const comfyq::redis::store_options options{.queue = comfyq::testing::unique_queue_name()};
  store first_worker(shared_redis().connection_options(), options);
  store second_worker(shared_redis().connection_options(), options);
  store client_side(shared_redis().connection_options(), options);
  const long long blocked_before = comfyq::testing::blocked_clients(shared_redis());

  auto first = std::async(std::launch::async, [&] { return first_worker.wait_for_lease("gpu-0", 10s); });
  auto second = std::async(std::launch::async, [&] { return second_worker.wait_for_lease("gpu-1", 10s); });
  REQUIRE(comfyq::testing::eventually(
      [&] { return comfyq::testing::blocked_clients(shared_redis()) >= blocked_before + 2; }));
  const std::string a = client_side.submit({.tenant = "alice", .workflow = "{}"});
  const std::string b = client_side.submit({.tenant = "bob", .workflow = "{}"});

  const std::optional<comfyq::lease> one = first.get();
  const std::optional<comfyq::lease> other = second.get();
  REQUIRE(one.has_value());
  REQUIRE(other.has_value());
  CHECK(one->worker == "gpu-0");
  CHECK(other->worker == "gpu-1");
  CHECK(std::set<std::string>{one->job_id, other->job_id} == std::set<std::string>{a, b});
}

TEST_CASE("a lease handed to a worker whose wait broke off reaches it on its next wait", "[redis][wait]") {
  comfyq::testing::redis_server own;  // a server of its own: the only blocked client is the worker
  const comfyq::redis::store_options options{.queue = comfyq::testing::unique_queue_name()};
  store worker_side(comfyq::testing::quick_to_give_up(own), options);
  store client_side(own.connection_options(), options);

  auto broken = std::async(std::launch::async, [&] { return worker_side.wait_for_lease("gpu-0", 10s); });
  REQUIRE(comfyq::testing::eventually([&] { return comfyq::testing::blocked_clients(own) == 1; }));
  break_off_wait(own);
  CHECK_THROWS_AS(broken.get(), comfyq::store_unavailable);
  // Still registered as waiting: the submission leases the job to it.
  const std::string id = client_side.submit({.tenant = "alice", .workflow = "{}"});
  REQUIRE(client_side.find(id)->state == comfyq::job_state::running);

  const std::optional<comfyq::lease> next = worker_side.wait_for_lease("gpu-0", 1s);
  REQUIRE(next.has_value());
  CHECK(next->job_id == id);
  CHECK(next->worker == "gpu-0");
  CHECK_NOTHROW(worker_side.heartbeat(id, next->token));
}

TEST_CASE("a wait longer than one registration goes on until its timeout", "[redis][wait]") {
  const comfyq::redis::store_options options{.queue = comfyq::testing::unique_queue_name()};
  store worker_side(shared_redis().connection_options(), options);
  store client_side(shared_redis().connection_options(), options);

  auto waiting = std::async(std::launch::async, [&] { return worker_side.wait_for_lease("gpu-0", 10s); });
  std::this_thread::sleep_for(2500ms);  // past two renewals of the worker's one-second registration
  const std::string id = client_side.submit({.tenant = "alice", .workflow = "{}"});

  const std::optional<comfyq::lease> granted = waiting.get();
  REQUIRE(granted.has_value());
  CHECK(granted->job_id == id);
}

TEST_CASE("a lease that expires during another job's heartbeat is handed to a waiting worker", "[redis][wait]") {
  comfyq::testing::shared_clock clock(comfyq::time_point{std::chrono::hours(480'000)});
  const comfyq::redis::store_options options{.queue = comfyq::testing::unique_queue_name(),
                                             .scheduler = {.lease_ttl = 60s},
                                             .clock = clock.reader()};
  store queue(shared_redis().connection_options(), options);
  store worker_side(shared_redis().connection_options(), options);
  const long long blocked_before = comfyq::testing::blocked_clients(shared_redis());

  const std::string lapsing = queue.submit({.tenant = "alice", .workflow = "{}"});
  REQUIRE(queue.lease("gpu-0").has_value());  // expires at 60 s
  clock.advance(30s);
  queue.submit({.tenant = "bob", .workflow = "{}"});
  const std::optional<comfyq::lease> alive = queue.lease("gpu-1");  // expires at 90 s
  REQUIRE(alive.has_value());
  clock.advance(29'900ms);  // 59.9 s: nothing has expired, nothing is queued
  auto waiting = std::async(std::launch::async, [&] { return worker_side.wait_for_lease("gpu-2", 10s); });
  REQUIRE(comfyq::testing::eventually(
      [&] { return comfyq::testing::blocked_clients(shared_redis()) >= blocked_before + 1; }));
  clock.advance(500ms);  // 60.4 s: the first lease has expired; gpu-2 still waits (until 60.9 s)

  queue.heartbeat(alive->job_id, alive->token);
  // Within the heartbeat's own script, not at the waiting worker's next renewal.
  const std::optional<comfyq::job> handed = queue.find(lapsing);
  REQUIRE(handed.has_value());
  CHECK(handed->state == comfyq::job_state::running);
  CHECK(handed->worker == "gpu-2");
  const std::optional<comfyq::lease> granted = waiting.get();
  REQUIRE(granted.has_value());
  CHECK(granted->job_id == lapsing);
  CHECK(granted->attempt == 2);
}

TEST_CASE("a worker waiting for a stop request blocks in Redis until another store object cancels its job", "[redis][stop]") {
  comfyq::testing::redis_server own;  // a server of its own: the only blocked client is the waiter
  const comfyq::redis::store_options options{.queue = comfyq::testing::unique_queue_name()};
  store worker_side(own.connection_options(), options);
  store client_side(own.connection_options(), options);
  const std::string id = client_side.submit({.tenant = "alice", .workflow = "{}"});
  const std::optional<comfyq::lease> lease = worker_side.lease("gpu-0");
  REQUIRE(lease.has_value());

  // Longer than the suite may take: the wait ends only if the cancel wakes it.
  auto waiting = std::async(std::launch::async,
                            [&] { return worker_side.wait_for_stop_request(id, lease->token, std::chrono::hours(1)); });
  REQUIRE(comfyq::testing::eventually([&] { return comfyq::testing::blocked_clients(own) == 1; }));
  CHECK(client_side.cancel(id) == comfyq::job_state::running);
  CHECK(waiting.get().cancel_requested);
  CHECK(comfyq::testing::blocked_clients(own) == 0);
}
