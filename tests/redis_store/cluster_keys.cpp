// Redis Cluster: every key of a queue carries the hash tag "{<queue>}", so all of them live in
// one slot and each script, which touches many of them, runs on one node. The keys a queue's
// whole life leaves behind all have one CLUSTER KEYSLOT. (Redis itself does not catch a script
// that strays: scripts without a "#!lua" flags line may touch keys of any slot the node owns.)
// And the store runs on a cluster node: no SELECT, no command across slots.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/store.hpp"
#include "comfyq/util/sha256.hpp"
#include "support/redis_server.hpp"
#include "support/redis_watch.hpp"
#include "support/unique_name.hpp"

using comfyq::redis::connection;
using comfyq::testing::eventually;
using comfyq::testing::redis_server;
using comfyq::testing::redis_server_options;
using comfyq::testing::unique_queue_name;

namespace {

// Every kind of key a queue has: the part of its name after the prefix, up to a ':'.
const std::set<std::string> key_kinds{"q",       "j",    "wf", "out", "t",    "tq",  "pq", "elig",    "backlog", "tags",
                                      "leases",  "workers", "wjob", "w", "oi", "hist", "est", "ev", "tenants", "waiting",
                                      "stop",    "jobs", "tj", "drain"};

// A queue's life that leaves every kind of key behind: jobs queued (normal and priority),
// running, and finished with outputs; tenants, workers (one registered, with its /object_info),
// estimates and events; a running job asked to stop, which leaves a wake-up for a worker waiting
// for stop requests. A worker blocked in wait_for_lease adds "waiting" while it waits; its
// mailbox "mb:<worker>" holds a lease only between the hand-off and the worker's BLPOP. A
// drained worker adds "drain".
void live_a_queue(comfyq::redis::store& queue) {
  queue.set_tenant({.id = "alice", .weight = 2.0});
  for (int n = 0; n < 3; ++n) queue.submit({.tenant = "alice", .workflow = "{}", .shape = "sdxl"});
  queue.submit({.tenant = "bob", .workflow = "{}"});
  const std::optional<comfyq::lease> first = queue.lease("gpu-0");
  REQUIRE(first.has_value());
  queue.complete(first->job_id, first->token,
                 {{.name = "out_00001_.png", .size = 3, .sha256 = std::string(64, 'a'), .media_type = "image/png", .node = "9"}});
  const std::optional<comfyq::lease> second = queue.lease("gpu-1");
  REQUIRE(second.has_value());
  queue.cancel(second->job_id);
  queue.submit({.tenant = "carol", .workflow = "{}", .priority = true});
  queue.touch_worker("gpu-2");
  const std::string nodes = R"({"KSampler":{}})";
  queue.put_object_info(comfyq::util::sha256_hex(nodes), nodes);
  queue.register_worker({.id = "gpu-3", .comfyui = "127.0.0.1:8188", .object_info = comfyq::util::sha256_hex(nodes)});
  queue.drain_worker("gpu-2");
}

std::vector<std::string> keys_of_server(connection& redis) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    const comfyq::redis::reply page = redis.command({"SCAN", cursor, "COUNT", "1000"});
    cursor = std::string(page.at(0).string());
    for (comfyq::redis::reply_view key : page.at(1).elements()) keys.emplace_back(key.string());
  } while (cursor != "0");
  return keys;
}

long long slot_of(connection& cluster, std::string_view key) {
  return cluster.command({"CLUSTER", "KEYSLOT", key}).integer();
}

redis_server_options cluster_node() {
  return {.extra_config = {"cluster-enabled yes", "cluster-port " + std::to_string(redis_server::free_loopback_port())}};
}

}  // namespace

TEST_CASE("every key of a queue hashes to one Redis Cluster slot", "[redis][cluster]") {
  redis_server plain;  // a server of its own: every key on it is the queue's
  comfyq::redis::store queue(plain.connection_options(), {.queue = unique_queue_name()});
  live_a_queue(queue);
  queue.pause_queue();  // so that a worker waits for work
  auto waiting = std::async(std::launch::async, [&] { return queue.wait_for_lease("gpu-4", std::chrono::seconds(10)); });
  REQUIRE(eventually([&] { return comfyq::testing::blocked_clients(plain) == 1; }));

  connection redis(plain.connection_options());
  const std::vector<std::string> keys = keys_of_server(redis);
  queue.resume_queue();
  CHECK(waiting.get().has_value());
  std::set<std::string> kinds;
  for (const std::string& key : keys) {
    INFO("key " << key);
    REQUIRE(key.starts_with(queue.prefix()));
    const std::string_view rest = std::string_view(key).substr(queue.prefix().size());
    kinds.emplace(rest.substr(0, rest.find(':')));
  }
  for (const std::string& kind : key_kinds) {
    INFO("no key of kind " << kind << " among " << keys.size() << " keys");
    CHECK(kinds.contains(kind));
  }

  redis_server cluster(cluster_node());
  connection slots(cluster.connection_options());
  const long long queue_slot = slot_of(slots, queue.prefix());
  for (const std::string& key : keys) {
    INFO("key " << key);
    CHECK(slot_of(slots, key) == queue_slot);
  }
}

TEST_CASE("different queues spread over Redis Cluster slots", "[redis][cluster]") {
  redis_server cluster(cluster_node());
  connection slots(cluster.connection_options());
  std::set<long long> seen;
  for (int n = 0; n < 8; ++n) seen.insert(slot_of(slots, "comfyq:{" + unique_queue_name() + "}:q"));
  CHECK(seen.size() > 1);
}

TEST_CASE("a queue runs on a one-node Redis Cluster", "[redis][cluster]") {
  redis_server cluster(cluster_node());
  connection admin(cluster.connection_options());
  admin.command({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}).expect_ok();
  REQUIRE(eventually([&] {
    return admin.command({"CLUSTER", "INFO"}).string().find("cluster_state:ok") != std::string_view::npos;
  }));

  comfyq::redis::store queue(cluster.connection_options(), {.queue = unique_queue_name()});
  live_a_queue(queue);
  CHECK(queue.snapshot().succeeded == 1);
  CHECK(queue.forecast(0).size() == 3);

}
