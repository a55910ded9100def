// Every process of a queue shares its settings in Redis. One that configures the queue (the
// server) writes them; one that only works it (comfyq-worker) can keep what is there, and
// writes its own only to a queue that has none.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/store.hpp"
#include "support/expect_invalid.hpp"
#include "support/redis_server.hpp"
#include "support/shared_clock.hpp"
#include "support/time.hpp"
#include "support/unique_name.hpp"

using namespace std::chrono_literals;
using comfyq::redis::store;
using comfyq::testing::at;

namespace {

comfyq::redis::store_options with_lease_ttl(const std::string& queue, comfyq::duration ttl, bool keep,
                                            const comfyq::testing::shared_clock& clock) {
  comfyq::redis::store_options options{.queue = queue, .clock = clock.reader()};
  options.scheduler.lease_ttl = ttl;
  options.keep_existing_settings = keep;
  return options;
}

// The lease_ttl the queue applies, as the expiry of a fresh lease says.
comfyq::duration applied_lease_ttl(store& queue, const comfyq::testing::shared_clock& clock) {
  queue.submit({.tenant = "alice", .workflow = "{}"});
  const std::optional<comfyq::lease> lease = queue.lease("gpu-0");
  REQUIRE(lease.has_value());
  queue.complete(lease->job_id, lease->token, {});
  return lease->expires_at - clock.now();
}

}  // namespace

TEST_CASE("a store that keeps existing settings does not undo the server's", "[redis][settings]") {
  comfyq::testing::redis_server server;
  comfyq::testing::shared_clock clock(at(0));
  const std::string name = comfyq::testing::unique_queue_name();
  store server_side(server.connection_options(), with_lease_ttl(name, 5s, false, clock));

  store worker_side(server.connection_options(), with_lease_ttl(name, 60s, true, clock));
  CHECK(applied_lease_ttl(worker_side, clock) == 5s);

  SECTION("one that does not keep them overwrites them, for every process of the queue") {
    store other(server.connection_options(), with_lease_ttl(name, 60s, false, clock));
    CHECK(applied_lease_ttl(server_side, clock) == 60s);
  }
}

TEST_CASE("a store that keeps existing settings writes its own to a new queue", "[redis][settings]") {
  comfyq::testing::redis_server server;
  comfyq::testing::shared_clock clock(at(0));
  store worker_side(server.connection_options(), with_lease_ttl(comfyq::testing::unique_queue_name(), 7s, true, clock));
  CHECK(applied_lease_ttl(worker_side, clock) == 7s);
}

TEST_CASE("the policy, the pause and preemption set on a queue outlast a server that opens it again",
          "[redis][settings]") {
  comfyq::testing::redis_server server;
  comfyq::testing::shared_clock clock(at(0));
  const std::string name = comfyq::testing::unique_queue_name();
  {
    store first(server.connection_options(), with_lease_ttl(name, 5s, false, clock));
    first.set_policy(comfyq::policy::round_robin);
    first.pause_queue();
    first.set_preemption(true);
  }
  store again(server.connection_options(), with_lease_ttl(name, 9s, false, clock));
  const comfyq::queue_snapshot s = again.snapshot();
  CHECK(s.policy == comfyq::policy::round_robin);
  CHECK(s.paused);
  CHECK(s.preemption);
  CHECK(again.ttls().lease_ttl == 9s);  // the other settings are the new server's
}

TEST_CASE("a queue written in another key layout is refused and left as it was", "[redis][settings]") {
  comfyq::testing::redis_server server;
  comfyq::testing::shared_clock clock(at(0));
  const std::string name = comfyq::testing::unique_queue_name();
  const std::string queue_key = "comfyq:{" + name + "}:q";
  {
    store first(server.connection_options(), with_lease_ttl(name, 5s, false, clock));
    first.submit({.tenant = "alice", .workflow = "{}"});
  }
  comfyq::redis::connection admin(server.connection_options());
  const std::string ours(admin.command({"HGET", queue_key, "layout"}).string());

  // Another layout, or none at all: a build from before layouts were numbered.
  const bool numbered = GENERATE(true, false);
  if (numbered) {
    admin.command({"HSET", queue_key, "layout", "0"});
  } else {
    admin.command({"HDEL", queue_key, "layout"});
  }
  const std::string settings(admin.command({"HGET", queue_key, "cfg"}).string());
  const bool keep = GENERATE(false, true);
  INFO("numbered " << numbered << ", keep_existing_settings " << keep);

  const comfyq::invalid_input error =
      comfyq::test::expect_invalid([&] { store(server.connection_options(), with_lease_ttl(name, 60s, keep, clock)); });
  CHECK(error.field() == "queue");
  CHECK_THAT(error.what(), Catch::Contains("comfyq:{" + name + "}:*") &&
                               Catch::Contains(std::string("layout ") + (numbered ? "0" : "none")) &&
                               Catch::Contains("reads layout " + ours) && Catch::Contains("another queue name"));
  CHECK(admin.command({"HGET", queue_key, "cfg"}).string() == settings);
  CHECK(admin.command({"HEXISTS", queue_key, "layout"}).integer() == (numbered ? 1 : 0));
}

TEST_CASE("a store that keeps existing settings tells the queue's ttls, not its own", "[redis][settings]") {
  comfyq::testing::redis_server server;
  comfyq::testing::shared_clock clock(at(0));
  const std::string name = comfyq::testing::unique_queue_name();
  store server_side(server.connection_options(),
                    {.queue = name, .scheduler = {.lease_ttl = 5s, .worker_ttl = 20s}, .clock = clock.reader()});

  store worker_side(server.connection_options(), with_lease_ttl(name, 60s, true, clock));
  const comfyq::queue_ttls ttls = worker_side.ttls();
  CHECK(ttls.lease_ttl == 5s);
  CHECK(ttls.worker_ttl == 20s);
}
