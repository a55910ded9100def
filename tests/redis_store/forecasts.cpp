// The Redis store answers positions and forecasts from a copy of the queue in its own process,
// which follows the queue's event stream and reads only what changed, in scripts of bounded
// size. Whatever path the copy took to catch up (many events in steps, a stream trimmed past
// it, a queue longer than a page, another process's changes, averages of jobs already
// forgotten), it answers as the memory store does after the same calls at the same times.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/detail/forecast_mirror.hpp"
#include "comfyq/redis/store.hpp"
#include "comfyq/store/memory.hpp"
#include "support/random.hpp"
#include "support/redis_server.hpp"
#include "support/shared_clock.hpp"
#include "support/time.hpp"
#include "support/unique_name.hpp"

using namespace std::chrono_literals;
using comfyq::testing::at;
using mirror = comfyq::redis::detail::forecast_mirror;

namespace {

std::string text(const std::vector<comfyq::queue_position>& forecast) {
  std::ostringstream out;
  for (const auto& p : forecast) {
    out << p.position << ' ' << p.job << " @" << (p.eta ? p.eta->time_since_epoch().count() : -1) << '\n';
  }
  return out.str();
}

std::string text(const std::optional<comfyq::queue_position>& p) {
  return p ? text(std::vector<comfyq::queue_position>{*p}) : "none\n";
}

// A memory store and a Redis store given the same calls at the same times.
struct twins {
  explicit twins(comfyq::scheduler_config config = {}, std::size_t event_log_limit = 10'000)
      : memory({.scheduler = config, .clock = clock.reader()}),
        redis(comfyq::testing::shared_redis().connection_options(),
              {.queue = comfyq::testing::unique_queue_name(),
               .scheduler = config,
               .event_log_limit = event_log_limit,
               .clock = clock.reader()}) {}

  /// A second store object on the Redis queue, as another process would have.
  comfyq::redis::store another() {
    return comfyq::redis::store(comfyq::testing::shared_redis().connection_options(),
                                {.queue = redis_queue(), .clock = clock.reader()});
  }
  std::string redis_queue() const {
    const std::string& prefix = redis.prefix();  // "comfyq:{<queue>}:"
    return prefix.substr(8, prefix.size() - 10);
  }

  // Submits to both under one id: each store would draw its own.
  void submit(comfyq::submit_request request) {
    request.id = "j" + std::to_string(ids.size() + 1);
    ids.push_back(memory.submit(request));
    REQUIRE(redis.submit(request) == ids.back());
  }

  // Random calls, the same on both: submissions, leases, completions after a while, failures,
  // cancellations, pauses and policy changes. Each is refused by both or by neither.
  void churn(comfyq::testing::random& rng, int steps) {
    for (int step = 0; step < steps; ++step) {
      clock.advance(std::chrono::milliseconds(rng.between(0, 3000)));
      const std::string tenant = "t" + std::to_string(rng.between(0, 5));
      const int op = rng.between(0, 99);
      if (op < 40) {
        submit({.tenant = tenant, .shape = rng.chance(50) ? "image" : "video", .priority = rng.chance(10)});
      } else if (op < 60) {
        const std::string worker = "w" + std::to_string(rng.between(0, 2));
        const std::optional<comfyq::lease> granted = memory.lease(worker);
        const std::optional<comfyq::lease> same = redis.lease(worker);
        REQUIRE(granted.has_value() == same.has_value());
        if (granted) leases.push_back(*granted);
      } else if (op < 85 && !leases.empty()) {
        const std::size_t at = static_cast<std::size_t>(rng.between(0, static_cast<int>(leases.size()) - 1));
        const comfyq::lease held = leases[at];
        leases.erase(leases.begin() + static_cast<std::ptrdiff_t>(at));
        clock.advance(std::chrono::seconds(rng.between(1, 90)));
        both([&](comfyq::store::contract& q) {
          if (op < 80) {
            q.complete(held.job_id, held.token, {});
          } else {
            q.fail(held.job_id, held.token, "boom", comfyq::failure::retryable);
          }
        });
      } else if (op < 90 && !ids.empty()) {
        const std::string id = ids[static_cast<std::size_t>(rng.between(0, static_cast<int>(ids.size()) - 1))];
        both([&](comfyq::store::contract& q) { q.cancel(id); });
      } else if (op < 95) {
        const bool paused = rng.chance(40);
        both([&](comfyq::store::contract& q) {
          if (paused) {
            q.pause_tenant(tenant);
          } else {
            q.resume_tenant(tenant);
          }
        });
      } else {
        const auto p = static_cast<comfyq::policy>(rng.between(0, 2));
        both([&](comfyq::store::contract& q) { q.set_policy(p); });
      }
    }
  }

  template <class Call>
  void both(Call&& call) {
    auto outcome = [&](comfyq::store::contract& q) -> std::string {
      try {
        call(q);
        return "done";
      } catch (const comfyq::error& e) {
        return e.what();
      }
    };
    REQUIRE(outcome(memory) == outcome(redis));
  }

  // Both forecasts, and the positions of every job, are the same.
  void agree(comfyq::store::contract& other) {
    INFO("at " << clock.now().time_since_epoch().count());
    REQUIRE(text(other.forecast(0)) == text(memory.forecast(0)));
    CHECK(text(other.forecast(2, 5)) == text(memory.forecast(2, 5)));
    for (const std::string& id : ids) CHECK(text(other.position(id)) == text(memory.position(id)));
  }
  void agree() { agree(redis); }

  comfyq::testing::shared_clock clock{at(0)};
  comfyq::store::memory memory;
  comfyq::redis::store redis;
  std::vector<std::string> ids{};
  std::vector<comfyq::lease> leases{};
};

// Calls of `command` (lowercase) on the shared test Redis so far, scripts' own included.
long long calls(std::string_view command) {
  comfyq::redis::connection admin(comfyq::testing::shared_redis().connection_options());
  const std::string info(admin.command({"INFO", "commandstats"}).string());
  const std::string field = "cmdstat_" + std::string(command) + ":calls=";
  const std::size_t found = info.find(field);
  return found == std::string::npos ? 0 : std::stoll(info.substr(found + field.size()));
}

}  // namespace

TEST_CASE("the Redis store's copy catches up with many changes in steps of bounded size", "[redis][store]") {
  comfyq::testing::random rng(31);
  twins queues;
  for (int w = 0; w < 3; ++w) {
    queues.memory.touch_worker("w" + std::to_string(w));
    queues.redis.touch_worker("w" + std::to_string(w));
  }
  queues.agree();  // the copy is made
  for (int round = 0; round < 6; ++round) {
    // Several times the events one step reads, completions among them.
    queues.churn(rng, static_cast<int>(mirror::events_per_step) * (round % 3 + 1) / 2 + rng.between(0, 40));
    INFO("round " << round);
    queues.agree();
  }
}

TEST_CASE("a copy whose last event was trimmed from the stream reads the queue afresh", "[redis][store]") {
  comfyq::testing::random rng(32);
  twins queues({}, 20);  // a stream of about 20 events
  queues.memory.touch_worker("w0");
  queues.redis.touch_worker("w0");
  queues.churn(rng, 30);
  queues.agree();
  for (int round = 0; round < 4; ++round) {
    queues.churn(rng, 150);  // far more than the stream keeps
    INFO("round " << round);
    queues.agree();
  }
}

TEST_CASE("a queue longer than a page is read in pages, every lane whole", "[redis][store]") {
  comfyq::testing::random rng(33);
  twins queues;
  queues.memory.touch_worker("w0");
  queues.redis.touch_worker("w0");
  for (std::size_t i = 0; i < mirror::page * 5 / 2; ++i) {
    // Most jobs with one tenant, so that its lane takes several pages; some in the priority lane.
    queues.submit({.tenant = rng.chance(70) ? "big" : "t" + std::to_string(rng.between(0, 3)), .priority = rng.chance(3)});
    queues.clock.advance(1ms);
  }
  queues.churn(rng, 40);
  comfyq::redis::store fresh = queues.another();
  queues.agree(fresh);
  queues.agree();
}

TEST_CASE("another process's copy follows the changes this one makes", "[redis][store]") {
  comfyq::testing::random rng(34);
  twins queues;
  comfyq::redis::store other = queues.another();
  queues.memory.touch_worker("w1");
  queues.redis.touch_worker("w1");
  for (int round = 0; round < 8; ++round) {
    queues.churn(rng, rng.between(1, 60));
    INFO("round " << round);
    queues.agree(other);
  }
}

TEST_CASE("averages learned from jobs forgotten before the copy caught up are read again", "[redis][store]") {
  comfyq::testing::random rng(35);
  twins queues({.lease_ttl = 24h, .worker_ttl = 24h, .history_limit = 2});
  queues.memory.touch_worker("w0");
  queues.redis.touch_worker("w0");
  queues.churn(rng, 20);
  queues.agree();
  for (int round = 0; round < 4; ++round) {
    // Completions whose jobs leave the history before the copy reads them, fewer and more than
    // the events one step reads.
    for (int i = 0, n = round % 2 == 0 ? 12 : static_cast<int>(mirror::events_per_step) / 2; i < n; ++i) {
      queues.submit({.tenant = "t" + std::to_string(i % 3), .shape = i % 2 ? "image" : "video"});
      const std::optional<comfyq::lease> granted = queues.memory.lease("w0");
      REQUIRE(granted);
      REQUIRE(queues.redis.lease("w0")->token == granted->token);
      queues.clock.advance(std::chrono::seconds(rng.between(1, 200)));
      queues.memory.complete(granted->job_id, granted->token, {});
      queues.redis.complete(granted->job_id, granted->token, {});
    }
    queues.churn(rng, 10);
    INFO("round " << round);
    queues.agree();
  }
}

TEST_CASE("a position asked again while nothing changed costs Redis one function call that reads no job", "[redis][store]") {
  twins queues;
  queues.redis.touch_worker("w0");
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(queues.redis.submit({.tenant = "t" + std::to_string(i % 7)}));
  REQUIRE(queues.redis.position(ids.back()));  // the copy is made
  const long long functions = calls("fcall"), gets = calls("get"), mgets = calls("mget");
  queues.clock.advance(5s);
  CHECK(queues.redis.position(ids[150])->position == 151);
  CHECK(calls("fcall") == functions + 1);
  CHECK(calls("get") == gets);
  CHECK(calls("mget") == mgets);

  // One submission: the next question reads that job and its tenant, not the queue.
  queues.redis.submit({.tenant = "t3"});
  const long long before = calls("get");
  CHECK(queues.redis.position(ids[10])->position == 11);
  CHECK(calls("get") - before == 2);
}
