// One reader of the store's event log fanned out to every subscriber: each gets every event
// once and in order, a subscriber that resumes after an id gets what followed it (or hears that
// it missed some), and one that leaves gets nothing more.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "comfyq/server/event_feed.hpp"
#include "comfyq/store/memory.hpp"

using namespace std::chrono_literals;

namespace {

// What one subscriber has got, with a wait for more.
struct inbox {
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<comfyq::store::logged_event> events;

  comfyq::server::event_feed::delivery sink() {
    return [this](const std::vector<comfyq::store::logged_event>& batch) {
      const std::lock_guard lock(mutex);
      events.insert(events.end(), batch.begin(), batch.end());
      arrived.notify_all();
    };
  }
  std::vector<comfyq::store::logged_event> wait_for(std::size_t count) {
    std::unique_lock lock(mutex);
    arrived.wait_for(lock, 10s, [&] { return events.size() >= count; });
    return events;
  }
};

void submit(comfyq::store::memory& queue, int count) {
  for (int n = 0; n < count; ++n) queue.submit({.tenant = "alice", .workflow = "{}"});
}

}  // namespace

TEST_CASE("event ids order numerically, the memory store's and Redis's alike", "[server][events]") {
  using comfyq::server::event_order;
  CHECK(event_order("9") < event_order("10"));
  CHECK(event_order("1700000000000-2") < event_order("1700000000000-10"));
  CHECK(event_order("1700000000000-10") < event_order("1700000000001-0"));
  CHECK_FALSE(event_order(""));
  CHECK_FALSE(event_order("x"));
  CHECK_FALSE(event_order("12-"));
  CHECK_FALSE(event_order("12-3-4"));
}

TEST_CASE("every subscriber gets every new event once, in order, from one reader", "[server][events]") {
  comfyq::store::memory queue;
  comfyq::server::event_feed feed(queue, {.wait = 50ms});
  feed.start();
  inbox first, second;
  const auto a = feed.subscribe("", first.sink());
  const auto b = feed.subscribe("", second.sink());
  CHECK(a.backlog.empty());
  CHECK(feed.subscribers() == 2);

  submit(queue, 30);
  const auto got = first.wait_for(30);
  REQUIRE(got.size() == 30);
  for (std::size_t i = 1; i < got.size(); ++i) CHECK(comfyq::server::event_order(got[i - 1].id) < comfyq::server::event_order(got[i].id));
  CHECK(second.wait_for(30).size() == 30);
  for (const auto& e : got) CHECK(e.value.type == comfyq::event_type::submitted);
}

TEST_CASE("a subscriber that resumes after an event id gets what followed it, then what comes", "[server][events]") {
  comfyq::store::memory queue;
  comfyq::server::event_feed feed(queue, {.wait = 50ms});
  feed.start();
  inbox watcher;
  const auto w = feed.subscribe("", watcher.sink());
  submit(queue, 5);
  const auto first_five = watcher.wait_for(5);
  REQUIRE(first_five.size() == 5);

  inbox resumed;
  const auto r = feed.subscribe(first_five[1].id, resumed.sink());
  CHECK_FALSE(r.gap);
  REQUIRE(r.backlog.size() == 3);
  CHECK(r.backlog.front().id == first_five[2].id);
  submit(queue, 1);
  const auto live = resumed.wait_for(1);
  REQUIRE(live.size() == 1);
  CHECK(comfyq::server::event_order(live[0].id) > comfyq::server::event_order(first_five[4].id));
}

TEST_CASE("a subscriber whose id the feed no longer keeps hears that it missed events", "[server][events]") {
  comfyq::store::memory queue;
  comfyq::server::event_feed feed(queue, {.kept = 4, .wait = 50ms});
  feed.start();
  inbox watcher;
  const auto w = feed.subscribe("", watcher.sink());
  submit(queue, 10);
  const auto all = watcher.wait_for(10);
  REQUIRE(all.size() == 10);

  inbox late_inbox, garbled_inbox;
  const auto late = feed.subscribe(all[0].id, late_inbox.sink());
  CHECK(late.gap);
  CHECK(late.backlog.size() == 4);
  const auto garbled = feed.subscribe("not-an-id", garbled_inbox.sink());
  CHECK(garbled.gap);
}

TEST_CASE("a subscriber that lets go gets nothing more", "[server][events]") {
  comfyq::store::memory queue;
  comfyq::server::event_feed feed(queue, {.wait = 50ms});
  feed.start();
  inbox kept, dropped;
  const auto k = feed.subscribe("", kept.sink());
  {
    const auto d = feed.subscribe("", dropped.sink());
    submit(queue, 1);
    REQUIRE(dropped.wait_for(1).size() == 1);
  }
  CHECK(feed.subscribers() == 1);
  submit(queue, 1);
  CHECK(kept.wait_for(2).size() == 2);
  CHECK(dropped.wait_for(1).size() == 1);
}
