// Queue positions as events: after a batch of the log, each queued job whose place changed gets
// a position_changed event for its owner, in the real lease order; so does one that hears how
// many wait once that moved enough; a job that leaves the queue and progress reports make none,
// and a stream that joins gets every current place.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "comfyq/server/queue_positions.hpp"
#include "comfyq/store/memory.hpp"

using comfyq::event_type;
using comfyq::store::logged_event;

namespace {

// The log's events after `cursor`, moving it on.
std::vector<logged_event> news(comfyq::store::memory& queue, std::string& cursor) {
  std::vector<logged_event> batch = queue.read_events(cursor, 1000, std::chrono::milliseconds(0));
  if (!batch.empty()) cursor = batch.back().id;
  return batch;
}

// "job tenant position" for each event, in order.
std::vector<std::string> places(const std::vector<logged_event>& events) {
  std::vector<std::string> shown;
  for (const logged_event& e : events) {
    CHECK(e.value.type == event_type::position_changed);
    CHECK(e.id.empty());  // derived: nothing to resume from
    shown.push_back(e.value.job + " " + e.value.tenant + " " + std::to_string(e.value.data.at("position").get<int>()));
  }
  return shown;
}

}  // namespace

TEST_CASE("queued jobs get their places in lease order, and only those whose place moved hear again",
          "[server][events][positions]") {
  comfyq::store::memory queue;
  comfyq::server::queue_positions positions(queue);
  std::string cursor = "0";

  const std::string a1 = queue.submit({.tenant = "alice", .workflow = "{}"});
  const std::string a2 = queue.submit({.tenant = "alice", .workflow = "{}"});
  const std::string b1 = queue.submit({.tenant = "bob", .workflow = "{}"});
  const std::vector<logged_event> first = positions.after(news(queue, cursor));
  // Fair share puts bob's first job before alice's second.
  CHECK(places(first) == std::vector<std::string>{a1 + " alice 1", b1 + " bob 2", a2 + " alice 3"});
  for (const logged_event& e : first) CHECK(e.value.data.at("queued") == 3);

  // A job at the back moves no one, but in a short queue everyone hears how many wait now.
  const std::string b2 = queue.submit({.tenant = "bob", .workflow = "{}"});
  const std::vector<logged_event> joined = positions.after(news(queue, cursor));
  REQUIRE(places(joined) == std::vector<std::string>{a1 + " alice 1", b1 + " bob 2", a2 + " alice 3", b2 + " bob 4"});
  for (const logged_event& e : joined) CHECK(e.value.data.at("queued") == 4);

  // The first one starts: everyone behind it moves up; the started job gets no place.
  const auto lease = queue.lease("gpu0");
  REQUIRE(lease);
  REQUIRE(lease->job_id == a1);
  const std::vector<logged_event> moved = positions.after(news(queue, cursor));
  CHECK(places(moved) == std::vector<std::string>{b1 + " bob 1", a2 + " alice 2", b2 + " bob 3"});

  // Progress moves no one: the queue is not even read.
  queue.report_progress(lease->job_id, lease->token, {{"value", 1}, {"max", 2}});
  CHECK(positions.after(news(queue, cursor)).empty());

  // A stream that joins now starts from every current place.
  CHECK(places(positions.now()) == std::vector<std::string>{b1 + " bob 1", a2 + " alice 2", b2 + " bob 3"});

  // A cancelled job leaves; the one behind it moves up, the one before hears that fewer wait.
  queue.cancel(a2);
  CHECK(places(positions.after(news(queue, cursor))) == std::vector<std::string>{b1 + " bob 1", b2 + " bob 2"});
}

TEST_CASE("in a long queue a job hears how many wait once that moved by a tenth, not at every submission",
          "[server][events][positions]") {
  comfyq::store::memory queue;
  comfyq::server::queue_positions positions(queue, std::chrono::hours(1));
  std::string cursor = "0";
  std::vector<std::string> jobs;
  for (int i = 0; i < 25; ++i) jobs.push_back(queue.submit({.tenant = "t" + std::to_string(100 + i), .workflow = "{}"}));
  REQUIRE(positions.after(news(queue, cursor)).size() == 25);

  const std::string j26 = queue.submit({.tenant = "late", .workflow = "{}"});
  const std::vector<logged_event> one_more = positions.after(news(queue, cursor));
  REQUIRE(one_more.size() == 1);  // 26 of 25 is not yet news for the others
  CHECK(one_more.front().value.job == j26);

  const std::string j27 = queue.submit({.tenant = "later", .workflow = "{}"});
  const std::vector<logged_event> two_more = positions.after(news(queue, cursor));
  CHECK(two_more.size() == 26);  // the first 25 heard 25, now 27; the 26th heard 26
  for (const logged_event& e : two_more) {
    CHECK(e.value.job != j26);
    CHECK(e.value.data.at("queued") == 27);
  }
}

TEST_CASE("a job queued before the feed's first batch is still attributed to its tenant", "[server][events][positions]") {
  comfyq::store::memory queue;
  comfyq::server::queue_positions positions(queue);
  const std::string early = queue.submit({.tenant = "carol", .workflow = "{}"});
  std::string cursor = queue.last_event_id();  // the submission itself is never seen
  queue.submit({.tenant = "dave", .workflow = "{}"});
  const std::vector<logged_event> first = positions.after(news(queue, cursor));
  REQUIRE(first.size() == 2);
  CHECK(first.front().value.job == early);
  CHECK(first.front().value.tenant == "carol");
}

TEST_CASE("a job that waits on but cannot start hears position null, and its place again when it can",
          "[server][events][positions]") {
  comfyq::store::memory queue;
  comfyq::server::queue_positions positions(queue);
  std::string cursor = "0";
  const std::string a = queue.submit({.tenant = "alice", .workflow = "{}"});
  const std::string b = queue.submit({.tenant = "bob", .workflow = "{}"});
  REQUIRE(positions.after(news(queue, cursor)).size() == 2);

  queue.pause_tenant("alice");
  const std::vector<logged_event> paused = positions.after(news(queue, cursor));
  REQUIRE(paused.size() == 2);  // alice's job is held, bob's moves up
  for (const logged_event& e : paused) {
    if (e.value.job == a) {
      CHECK(e.value.tenant == "alice");
      CHECK(e.value.data.at("position").is_null());
      CHECK_FALSE(e.value.data.contains("eta_ms"));
    } else {
      CHECK(e.value.job == b);
      CHECK(e.value.data.at("position") == 1);
    }
  }
  CHECK(places(positions.now()) == std::vector<std::string>{b + " bob 1"});

  queue.resume_tenant("alice");
  CHECK(places(positions.after(news(queue, cursor))) == std::vector<std::string>{a + " alice 1", b + " bob 2"});

  // A job that leaves the queue hears nothing of it here: its own event says so.
  queue.cancel(a);
  CHECK(places(positions.after(news(queue, cursor))) == std::vector<std::string>{b + " bob 1"});
}
