// wait_for_lease blocks in Redis (BLPOP on the queue's wake-up list), not in a polling loop:
// a worker waiting through one store object is woken by a job that another store object, as in
// another process, submits; with nothing to do it gives up after its timeout.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <optional>
#include <string>

#include "comfyq/redis/store.hpp"
#include "support/redis_server.hpp"
#include "support/redis_watch.hpp"
#include "support/unique_name.hpp"

using namespace std::chrono_literals;
using comfyq::redis::store;
using comfyq::testing::shared_redis;

TEST_CASE("a worker waiting for a lease gets the job another store object submits", "[redis][wait]") {
  const comfyq::redis::store_options options{.queue = comfyq::testing::unique_queue_name()};
  store worker_side(shared_redis().connection_options(), options);
  store client_side(shared_redis().connection_options(), options);

  std::future<std::optional<comfyq::lease>> waiting =
      std::async(std::launch::async, [&] { return worker_side.wait_for_lease("gpu-0", 10s); });
  // Submit only once the worker blocks in Redis, so the job reaches it by a wake-up.
  REQUIRE(comfyq::testing::eventually([] { return comfyq::testing::blocked_clients(shared_redis()) >= 1; }));
  const std::string id = client_side.submit({.tenant = "alice", .workflow = "{}"});

  const std::optional<comfyq::lease> granted = waiting.get();
  REQUIRE(granted.has_value());
  CHECK(granted->job_id == id);
  CHECK(granted->worker == "gpu-0");
}

TEST_CASE("waiting for a lease with nothing to do gives nothing after the timeout", "[redis][wait]") {
  store queue(shared_redis().connection_options(), {.queue = comfyq::testing::unique_queue_name()});
  CHECK_FALSE(queue.wait_for_lease("gpu-0", 200ms).has_value());
}
