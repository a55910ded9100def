// The sorted sets and hashes that grow with a queue's tenants, workers and running jobs use
// Redis's large encodings (skip list, hash table) from their first member on. Redis keeps small
// ones as listpacks, which every lookup scans and every insert rewrites: at 50-100 members that
// made the hot commands several times dearer (docs/redis-store.md). Redis chooses by the length
// of members and fields, so the scripts make those long enough; this checks that they do, with
// the shortest ids there are.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <utility>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/store.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"

TEST_CASE("the sets and hashes that grow with a queue never use Redis's listpack encoding", "[redis][layout]") {
  comfyq::testing::redis_server& server = comfyq::testing::shared_redis();
  const std::string name = comfyq::testing::unique_queue_name();
  comfyq::redis::store queue(server.connection_options(), {.queue = name});
  queue.submit({.tenant = "a", .workflow = "{}"});
  queue.submit({.tenant = "b", .workflow = "{}"});
  queue.submit({.tenant = "a", .workflow = "{}"});
  const std::optional<comfyq::lease> first = queue.lease("w");
  REQUIRE(first.has_value());
  queue.complete(first->job_id, first->token, {});  // a measured runtime: "est"
  REQUIRE(queue.lease("v").has_value());             // b's job runs; a's second waits, eligible

  comfyq::redis::connection admin(server.connection_options());
  const std::string prefix = "comfyq:{" + name + "}:";
  const std::pair<const char*, const char*> expected[] = {{"elig", "skiplist"},    {"backlog", "skiplist"}, {"tags", "skiplist"},
                                                          {"leases", "skiplist"},  {"workers", "skiplist"},
                                                          {"est", "hashtable"},    {"wjob", "hashtable"}};
  for (const auto& [key, encoding] : expected) {
    INFO("key " << key);
    CHECK(admin.command({"OBJECT", "ENCODING", prefix + key}).string() == encoding);
  }
}
