// The Redis store's events are a bounded Redis Stream: read in order with increasing ids,
// resumable after any id a reader saw, trimmed to about event_log_limit entries, and readable
// with a wait that a change made through another store object ends.
#include <catch2/catch.hpp>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/store.hpp"
#include "support/expect_error.hpp"
#include "support/redis_server.hpp"
#include "support/redis_watch.hpp"
#include "support/unique_name.hpp"

using namespace std::chrono_literals;
using comfyq::event_type;
using comfyq::duration;
using comfyq::redis::store;
using comfyq::store::logged_event;
using comfyq::testing::shared_redis;
using comfyq::testing::unique_queue_name;

namespace {

// A stream id "<milliseconds>-<sequence>" as a pair that orders like the stream does.
std::pair<std::uint64_t, std::uint64_t> stream_order(std::string_view id) {
  const std::size_t dash = id.find('-');
  REQUIRE(dash != std::string_view::npos);
  std::pair<std::uint64_t, std::uint64_t> order{};
  std::from_chars(id.data(), id.data() + dash, order.first);
  std::from_chars(id.data() + dash + 1, id.data() + id.size(), order.second);
  return order;
}

std::vector<std::string> ids_of(const std::vector<logged_event>& events) {
  std::vector<std::string> ids;
  for (const logged_event& e : events) ids.push_back(e.id);
  return ids;
}

store on_shared_redis(comfyq::redis::store_options options) {
  return store(shared_redis().connection_options(), std::move(options));
}

}  // namespace

TEST_CASE("events read from 0 come in order with increasing ids, and resume after any of them", "[redis][events]") {
  store queue = on_shared_redis({.queue = unique_queue_name()});
  const std::string a = queue.submit({.tenant = "alice", .workflow = "{}"});
  const std::string b = queue.submit({.tenant = "bob", .workflow = "{}"});
  const std::optional<comfyq::lease> running = queue.lease("gpu-0");
  REQUIRE(running.has_value());
  queue.complete(running->job_id, running->token, {});
  queue.cancel(running->job_id == a ? b : a);

  const std::vector<logged_event> events = queue.read_events("0", 100, duration::zero());
  std::vector<event_type> types;
  for (const logged_event& e : events) types.push_back(e.value.type);
  CHECK(types == std::vector{event_type::submitted, event_type::submitted, event_type::leased, event_type::succeeded,
                             event_type::cancelled});
  CHECK(events[0].value.job == a);
  CHECK(events[1].value.job == b);
  for (std::size_t k = 1; k < events.size(); ++k) {
    INFO("event " << k << ": " << events[k - 1].id << " then " << events[k].id);
    CHECK(stream_order(events[k - 1].id) < stream_order(events[k].id));
  }

  const std::vector<std::string> all = ids_of(events);
  for (std::size_t k = 0; k < all.size(); ++k) {
    INFO("resuming after event " << k << ", " << all[k]);
    CHECK(ids_of(queue.read_events(all[k], 100, duration::zero())) ==
          std::vector<std::string>(all.begin() + static_cast<std::ptrdiff_t>(k) + 1, all.end()));
  }
  CHECK(ids_of(queue.read_events("0", 2, duration::zero())) == std::vector<std::string>(all.begin(), all.begin() + 2));
}

TEST_CASE("reading after last_event_id gives only what happens from then on", "[redis][events]") {
  store queue = on_shared_redis({.queue = unique_queue_name()});
  CHECK(queue.last_event_id() == "0");
  queue.submit({.tenant = "alice", .workflow = "{}"});
  const std::string last = queue.last_event_id();
  CHECK(last == queue.read_events("0", 100, duration::zero()).back().id);
  CHECK(queue.read_events(last, 100, duration::zero()).empty());

  const std::string later = queue.submit({.tenant = "bob", .workflow = "{}"});
  const std::vector<logged_event> fresh = queue.read_events(last, 100, duration::zero());
  REQUIRE(fresh.size() == 1);
  CHECK(fresh[0].value.type == event_type::submitted);
  CHECK(fresh[0].value.job == later);
}

TEST_CASE("the event stream keeps about event_log_limit events", "[redis][events]") {
  constexpr std::size_t limit = 100;
  store queue = on_shared_redis({.queue = unique_queue_name(), .event_log_limit = limit});
  queue.submit({.tenant = "alice", .workflow = "{}"});
  const std::optional<comfyq::lease> running = queue.lease("gpu-0");
  REQUIRE(running.has_value());
  const std::string first = queue.read_events("0", 1, duration::zero()).at(0).id;
  for (int step = 0; step < 998; ++step) {
    queue.report_progress(running->job_id, running->token, {{"node", "3"}, {"value", step}, {"max", 998}});
  }

  // MAXLEN ~ trims whole stream nodes only (stream-node-max-entries, 100 by default), never
  // below the limit.
  comfyq::redis::connection redis(shared_redis().connection_options());
  const long long kept = redis.command({"XLEN", queue.prefix() + "ev"}).integer();
  CHECK(kept >= static_cast<long long>(limit));
  CHECK(kept <= static_cast<long long>(limit) + 100);
  const std::vector<logged_event> events = queue.read_events("0", 10'000, duration::zero());
  CHECK(events.size() == static_cast<std::size_t>(kept));
  CHECK(events.front().id != first);
  CHECK(events.back().id == queue.last_event_id());
  CHECK(events.back().value.data["value"] == 997);
}

TEST_CASE("reading events with a wait returns the event another store object logs", "[redis][events]") {
  const std::string name = unique_queue_name();
  store reader = on_shared_redis({.queue = name});
  store writer = on_shared_redis({.queue = name});
  const std::string after = reader.last_event_id();

  std::future<std::vector<logged_event>> reading =
      std::async(std::launch::async, [&] { return reader.read_events(after, 10, 10s); });
  REQUIRE(comfyq::testing::eventually([] { return comfyq::testing::blocked_clients(shared_redis()) >= 1; }));
  const std::string id = writer.submit({.tenant = "alice", .workflow = "{}"});

  const std::vector<logged_event> got = reading.get();
  REQUIRE(got.size() == 1);
  CHECK(got[0].value.type == event_type::submitted);
  CHECK(got[0].value.job == id);
  CHECK(got[0].value.tenant == "alice");
}

TEST_CASE("an invalid event cursor is invalid_input naming after", "[redis][events]") {
  store queue = on_shared_redis({.queue = unique_queue_name()});
  for (duration wait : {duration::zero(), duration(50ms)}) {
    const auto error =
        comfyq::test::expect_error<comfyq::invalid_input>([&] { queue.read_events("not-an-id", 10, wait); });
    CHECK(error.field() == "after");
    CHECK_THAT(error.what(), Catch::Matchers::Contains("not-an-id") && Catch::Matchers::Contains("pass \"0\""));
  }
}
