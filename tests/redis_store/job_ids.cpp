// A queue whose Redis lost everything (FLUSHALL, a restart without persistence) starts again,
// and the ids it generates then are not those it generated before: a new job's outputs never
// land in the folder of a job from before the loss. Redis's clock is replaced by one that stands
// still, so only the random part of the ids tells them apart.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/store.hpp"
#include "support/redis_server.hpp"
#include "support/shared_clock.hpp"
#include "support/time.hpp"
#include "support/unique_name.hpp"

using comfyq::testing::at;

TEST_CASE("ids generated after Redis lost the queue are not those generated before", "[redis][ids]") {
  comfyq::testing::redis_server own;  // FLUSHALL empties it
  comfyq::testing::shared_clock clock(at(0));
  const comfyq::redis::store_options options{.queue = comfyq::testing::unique_queue_name(), .clock = clock.reader()};
  comfyq::redis::store queue(own.connection_options(), options);
  const auto submit_some = [](comfyq::redis::store& q) {
    std::set<std::string> ids;
    for (int n = 0; n < 20; ++n) ids.insert(q.submit({.tenant = "alice", .workflow = "{}"}));
    return ids;
  };
  const std::set<std::string> before = submit_some(queue);
  REQUIRE(before.size() == 20);

  comfyq::redis::connection admin(own.connection_options());
  admin.command({"FLUSHALL"}).expect_ok();
  const std::set<std::string> after_flush = submit_some(queue);  // configures the queue again
  comfyq::redis::store reopened(own.connection_options(), options);
  const std::set<std::string> after_reopening = submit_some(reopened);

  for (const std::set<std::string>* later : {&after_flush, &after_reopening}) {
    CHECK(later->size() == 20);
    for (const std::string& id : *later) {
      INFO("id " << id);
      CHECK_FALSE(before.contains(id));
    }
  }
  for (const std::string& id : after_reopening) CHECK_FALSE(after_flush.contains(id));
}
