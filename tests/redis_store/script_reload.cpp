// The store survives Redis forgetting things: without its library of functions (FUNCTION FLUSH,
// a restart without persistence) FCALL finds no function, and the store loads the library and
// calls again; a Redis that restarted empty (no AOF) has lost the queue's settings too, and the
// store writes them again, from however many threads find them gone at once.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/store.hpp"
#include "support/redis_server.hpp"
#include "support/shared_clock.hpp"
#include "support/time.hpp"
#include "support/unique_name.hpp"

using namespace std::chrono_literals;
using comfyq::job_state;
using comfyq::redis::connection;
using comfyq::redis::store;
using comfyq::testing::at;
using comfyq::testing::redis_server;
using comfyq::testing::unique_queue_name;

namespace {
bool loaded(connection& redis, const comfyq::redis::function_library& library) {
  return redis.command({"FUNCTION", "LIST", "LIBRARYNAME", library.name()}).size() == 1;
}
}  // namespace

TEST_CASE("after FUNCTION FLUSH the store's next call loads its library again", "[redis][scripts]") {
  redis_server server;
  store queue(server.connection_options(), {.queue = unique_queue_name()});
  connection admin(server.connection_options());
  const std::string first = queue.submit({.tenant = "alice", .workflow = "{}"});
  const std::optional<comfyq::lease> running = queue.lease("gpu-0");
  REQUIRE(running.has_value());

  REQUIRE(loaded(admin, comfyq::redis::scripts::library));
  admin.command({"FUNCTION", "FLUSH"}).expect_ok();
  REQUIRE_FALSE(loaded(admin, comfyq::redis::scripts::library));

  queue.complete(running->job_id, running->token, {});
  CHECK(loaded(admin, comfyq::redis::scripts::library));
  const std::string second = queue.submit({.tenant = "alice", .workflow = "{}"});
  CHECK(queue.find(first)->state == job_state::succeeded);
  CHECK(queue.forecast(0).size() == 1);
  CHECK(queue.snapshot().succeeded == 1);
  const std::optional<comfyq::lease> next = queue.lease("gpu-0");
  REQUIRE(next.has_value());
  CHECK(next->job_id == second);
}

TEST_CASE("after Redis restarted empty the store configures the queue again and keeps working", "[redis][scripts]") {
  redis_server server;  // no AOF: a restart loses everything
  comfyq::testing::shared_clock clock(at(0));
  store queue(server.connection_options(),
              {.queue = unique_queue_name(),
               .scheduler = {.policy = comfyq::policy::fifo, .lease_ttl = 90s},
               .clock = clock.reader()});
  const std::string lost = queue.submit({.tenant = "alice", .workflow = "{}", .id = "before-restart"});
  REQUIRE(queue.lease("gpu-0").has_value());

  server.kill();
  server.restart();
  connection admin(server.connection_options());
  REQUIRE(admin.command({"DBSIZE"}).integer() == 0);

  // The first call after the restart finds the queue unconfigured: nothing to lease, no error.
  CHECK_FALSE(queue.lease("gpu-0").has_value());
  CHECK_FALSE(queue.find(lost).has_value());
  const std::string fresh = queue.submit({.tenant = "bob", .workflow = "{}"});
  CHECK(queue.snapshot().policy == comfyq::policy::fifo);
  const std::optional<comfyq::lease> granted = queue.lease("gpu-0");
  REQUIRE(granted.has_value());
  CHECK(granted->job_id == fresh);
  CHECK(granted->expires_at == at(90));
  queue.complete(granted->job_id, granted->token, {});
  CHECK(queue.find(fresh)->state == job_state::succeeded);
}

TEST_CASE("threads sharing a store that all find the queue's settings gone write them again at once",
          "[redis][scripts]") {
  redis_server server;  // FLUSHALL empties it, as a restart without AOF does
  store queue(server.connection_options(),
              {.queue = unique_queue_name(), .scheduler = {.policy = comfyq::policy::fifo}});
  connection admin(server.connection_options());
  // Whether the store kept settings it found may be asked on any thread, at any time. (Catch2's
  // assertions are for the test's own thread: the other threads return what they saw.)
  std::atomic<bool> done{false};
  std::future<bool> asking = std::async(std::launch::async, [&] {
    bool kept = false;
    while (!done.load()) {
      kept = kept || queue.kept_existing_settings();
      std::this_thread::yield();
    }
    return kept;
  });
  constexpr int threads = 4;
  // Each round, threads whose connections are up call at once after the flush while Redis holds
  // back writes, so that every one of them finds the settings gone and writes them again.
  for (int round = 0; round < 3; ++round) {
    std::latch connected(threads);
    std::latch flushed(1);
    std::vector<std::future<std::string>> submitted;
    for (int t = 0; t < threads; ++t) {
      submitted.push_back(std::async(std::launch::async, [&] {
        (void)queue.find("not-there");  // connects this thread
        connected.count_down();
        flushed.wait();
        return queue.submit({.tenant = "alice", .workflow = "{}"});
      }));
    }
    connected.wait();
    admin.command({"FLUSHALL"}).expect_ok();
    admin.command({"CLIENT", "PAUSE", "200", "WRITE"}).expect_ok();  // the submissions wait in line
    flushed.count_down();
    for (std::future<std::string>& id : submitted) CHECK(queue.find(id.get()).has_value());
    CHECK(queue.snapshot().policy == comfyq::policy::fifo);
  }
  done = true;
  CHECK_FALSE(asking.get());
}
