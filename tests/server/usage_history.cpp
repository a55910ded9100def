// GPU use over time, from the event log: a run counts from its lease to its end, spread over
// the minutes it spans; a run still going counts up to the report's time; shares are of the
// window, not of the whole workshop.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "comfyq/server/usage_history.hpp"
#include "comfyq/store/memory.hpp"

using namespace std::chrono_literals;

namespace {

struct usage_queue {
  comfyq::time_point now{comfyq::duration(1'000 * 60'000)};  // on a minute's start
  comfyq::store::memory queue{{.scheduler = {.lease_ttl = std::chrono::hours(1), .worker_ttl = std::chrono::hours(1)}, .clock = [this] { return now; }}};
  comfyq::server::usage_history usage;
  std::string cursor = "0";

  // Feeds the history what the log holds since the last time, as the server's feed does.
  void feed() {
    const std::vector<comfyq::store::logged_event> batch = queue.read_events(cursor, 1000, 0ms);
    if (!batch.empty()) cursor = batch.back().id;
    usage.observe(batch);
  }
};

const comfyq::server::tenant_usage& of(const comfyq::server::usage_report& r, const std::string& tenant) {
  for (const auto& u : r.tenants) {
    if (u.tenant == tenant) return u;
  }
  FAIL("no usage of " << tenant);
  throw;
}

}  // namespace

TEST_CASE("a run counts in each minute it spans, and a running one up to now", "[server][usage]") {
  usage_queue q;
  const comfyq::time_point start = q.now;
  const std::string a = q.queue.submit({.tenant = "alice", .workflow = "{}"});
  const std::string b = q.queue.submit({.tenant = "bob", .workflow = "{}"});
  const auto alice_run = q.queue.lease("gpu0");
  REQUIRE(alice_run->job_id == a);
  q.now += 30s;
  const auto bob_run = q.queue.lease("gpu1");
  REQUIRE(bob_run->job_id == b);
  q.now += 60s;  // alice ran 90 s: 60 in the first minute, 30 in the second
  q.queue.complete(a, alice_run->token, {});
  q.now += 15s;
  q.feed();

  const comfyq::server::usage_report r = q.usage.report(q.now, 3);
  CHECK(r.bucket == 1min);
  CHECK(r.to == q.now);
  CHECK(r.from == start - 1min);  // the start of the minute two before now's
  REQUIRE(r.tenants.size() == 2);
  const auto& alice = of(r, "alice");
  CHECK(alice.series == std::vector<comfyq::duration>{0ms, 60s, 30s});
  CHECK(alice.total == 90s);
  // bob's run still goes: 30 s in the first minute, 45 s in the second, so far.
  const auto& bob = of(r, "bob");
  CHECK(bob.series == std::vector<comfyq::duration>{0ms, 30s, 45s});
  CHECK(alice.share == Approx(90.0 / 165.0));
  CHECK(bob.share == Approx(75.0 / 165.0));

  // A run that waits again counts as far as it went; a requeued run's next lease counts anew.
  q.queue.fail(b, bob_run->token, "its ComfyUI stopped", comfyq::failure::retryable);
  q.now += 10min;
  q.feed();
  const comfyq::server::usage_report later = q.usage.report(q.now, 60);
  CHECK(of(later, "bob").total == 75s);
  CHECK(of(later, "alice").total == 90s);
  // Minutes before the window are left out, and a tenant that used nothing in it with them.
  const comfyq::server::usage_report last_minutes = q.usage.report(q.now, 5);
  CHECK(last_minutes.tenants.empty());
}

TEST_CASE("usage is kept for its retention and no longer", "[server][usage]") {
  usage_queue q;
  comfyq::server::usage_history short_memory(1min, 10min);
  const std::string a = q.queue.submit({.tenant = "alice", .workflow = "{}"});
  const auto run = q.queue.lease("gpu0");
  q.now += 2min;
  q.queue.complete(a, run->token, {});
  const std::string a2 = q.queue.submit({.tenant = "alice", .workflow = "{}"});
  const auto run2 = q.queue.lease("gpu0");
  q.now += 20min;  // the second run ends long after: the first, and its own start, fall out
  q.queue.complete(a2, run2->token, {});
  short_memory.observe(q.queue.read_events("0", 1000, 0ms));
  CHECK(of(short_memory.report(q.now, 60), "alice").total == 10min);
}
