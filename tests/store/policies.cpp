// The order in which work starts: fifo, round_robin, fair_share, the priority lane, caps,
// pause and preemption.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "comfyq/comfyq.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::job_state;
using comfyq::policy;
using comfyq::testing::at;
using comfyq::testing::submit;

namespace {

// Long enough that runs in these tests never need a heartbeat, nor workers a sign of life.
constexpr comfyq::duration long_lease = 24h;

// Leases and completes jobs one at a time on one worker; returns the tenants in start order.
std::vector<std::string> drain(auto& q, double from = 0) {
  std::vector<std::string> order;
  double t = from;
  while (auto lease = q.lease("w1", at(t))) {
    order.push_back(lease->tenant);
    t += 10;
    q.complete(lease->job_id, lease->token, {}, at(t));
  }
  return order;
}

// Keeps every tenant backlogged on one worker for `seconds`; job lengths per tenant.
std::map<std::string, double> gpu_seconds_when_backlogged(auto& q,
                                                         const std::map<std::string, double>& job_seconds,
                                                         double seconds) {
  std::map<std::string, double> used;
  for (const auto& [tenant, length] : job_seconds) {
    for (int i = 0; i < 3; ++i) submit(q, tenant, 0, false, tenant);
  }
  double t = 0;
  while (t < seconds) {
    auto lease = q.lease("w1", at(t));
    REQUIRE(lease);
    double length = job_seconds.at(lease->tenant);
    t += length;
    used[lease->tenant] += length;
    q.complete(lease->job_id, lease->token, {}, at(t));
    submit(q, lease->tenant, t, false, lease->tenant);
  }
  return used;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("fifo starts jobs in submission order across tenants", "[store]", comfyq::testing::stores) {
  TestType q({.policy = policy::fifo});
  for (const char* tenant : {"alice", "alice", "bob", "alice", "carol", "bob"}) submit(q, tenant);
  CHECK(drain(q) == std::vector<std::string>{"alice", "alice", "bob", "alice", "carol", "bob"});
}

TEMPLATE_LIST_TEST_CASE("round_robin starts one job per tenant in turn", "[store]", comfyq::testing::stores) {
  TestType q({.policy = policy::round_robin});
  for (const char* tenant : {"alice", "alice", "alice", "bob", "bob", "carol"}) submit(q, tenant);
  CHECK(drain(q) == std::vector<std::string>{"alice", "bob", "carol", "alice", "bob", "alice"});
}

TEMPLATE_LIST_TEST_CASE("fair_share gives equal GPU time to a tenant with long jobs and one with short jobs", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease});
  auto used = gpu_seconds_when_backlogged(q, {{"video", 300}, {"images", 15}}, 4 * 3600);
  CHECK(std::abs(used["video"] - used["images"]) <= 300);
  CHECK(used["video"] > 3600);
}

TEMPLATE_LIST_TEST_CASE("round_robin gives a tenant with long jobs far more GPU time: the reason fair_share exists", "[store]", comfyq::testing::stores) {
  TestType q({.policy = policy::round_robin, .lease_ttl = long_lease, .worker_ttl = long_lease});
  auto used = gpu_seconds_when_backlogged(q, {{"video", 300}, {"images", 15}}, 4 * 3600);
  CHECK(used["video"] > 10 * used["images"]);
}

TEMPLATE_LIST_TEST_CASE("fair_share divides GPU time in proportion to weight", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease});
  q.set_tenant({.id = "heavy", .weight = 2}, at(0));
  q.set_tenant({.id = "light", .weight = 1}, at(0));
  auto used = gpu_seconds_when_backlogged(q, {{"heavy", 60}, {"light", 60}}, 6 * 3600);
  CHECK(used["heavy"] / used["light"] == Approx(2.0).epsilon(0.05));
}

TEMPLATE_LIST_TEST_CASE("a newcomer that arrives level with a hog starts before the hog's next job", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease});
  for (int i = 0; i < 5; ++i) submit(q, "hog");
  auto running = q.lease("w1", at(0));
  submit(q, "newcomer", 1);
  q.complete(running->job_id, running->token, {}, at(60));
  auto next = q.lease("w1", at(60));
  REQUIRE(next);
  CHECK(next->tenant == "newcomer");
}

TEMPLATE_LIST_TEST_CASE("a newcomer is not overtaken by a tenant whose running job ended sooner than estimated", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease, .default_estimate = 60s});
  for (int i = 0; i < 2; ++i) {
    submit(q, "a");
    submit(q, "b");
  }
  auto la = q.lease("w1", at(0));
  auto lb = q.lease("w2", at(0));
  REQUIRE(la->tenant != lb->tenant);
  submit(q, "newcomer", 10);
  q.complete(la->job_id, la->token, {}, at(30));  // half its estimate: a's charge is refunded in part
  CHECK(q.lease("w1", at(30))->tenant == "newcomer");
}

TEMPLATE_LIST_TEST_CASE("with two workers a newcomer re-enters at the start tag of the work in service", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease, .default_estimate = 60s});
  for (int i = 0; i < 5; ++i) submit(q, "hog", 0, false, "h");
  auto first = q.lease("w1", at(0));   // start tag 0, the hog's clock 60
  auto second = q.lease("w2", at(0));  // start tag 60, the hog's clock 120
  REQUIRE((first && second));
  q.complete(first->job_id, first->token, {}, at(20));  // 20 s of 60 charged: the hog's clock is 80
  for (int i = 0; i < 3; ++i) submit(q, "newcomer", 21);
  // The virtual time is the second run's start tag, 60 (the hog's settled clock is only 20).
  auto newcomer = q.lease("w1", at(21));
  REQUIRE(newcomer->tenant == "newcomer");  // 60 against 80
  q.complete(newcomer->job_id, newcomer->token, {}, at(81));
  // The newcomer's clock is 120, the hog's 80: entering at 20 instead, it would be level at 80
  // and, with nothing running, go again.
  CHECK(q.lease("w1", at(81))->tenant == "hog");
}

TEMPLATE_LIST_TEST_CASE("a newcomer among 19 backlogged tenants starts at the next completion", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease});
  for (int u = 0; u < 19; ++u) {
    for (int i = 0; i < 3; ++i) submit(q, "user" + std::to_string(u), 0, false, "video");
  }
  double t = 0;
  for (int i = 0; i < 40; ++i) {  // run a while so clocks spread out
    auto lease = q.lease("w1", at(t));
    t += 30 + (i % 7) * 20;
    q.complete(lease->job_id, lease->token, {}, at(t));
    submit(q, lease->tenant, t, false, "video");
  }
  auto running = q.lease("w1", at(t));
  submit(q, "newcomer", t + 1);
  q.complete(running->job_id, running->token, {}, at(t + 90));
  CHECK(q.lease("w1", at(t + 90))->tenant == "newcomer");
}

TEMPLATE_LIST_TEST_CASE("a tenant returning from idleness gets no credit for the time it was away", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease});
  submit(q, "bob");
  submit(q, "alice");
  drain(q);  // both have used some GPU; bob goes away
  double t = 100;
  for (int i = 0; i < 30; ++i) {  // alice alone for 30 jobs
    submit(q, "alice", t);
    auto lease = q.lease("w1", at(t));
    t += 60;
    q.complete(lease->job_id, lease->token, {}, at(t));
  }
  for (int i = 0; i < 6; ++i) {
    submit(q, "alice", t);
    submit(q, "bob", t);
  }
  auto order = drain(q, t);
  // Bob would win ~30 jobs in a row if idleness banked credit; it re-enters level with alice.
  int longest_bob_run = 0, run = 0;
  for (const auto& tenant : order) {
    run = tenant == "bob" ? run + 1 : 0;
    longest_bob_run = std::max(longest_bob_run, run);
  }
  CHECK(longest_bob_run <= 2);
}

TEMPLATE_LIST_TEST_CASE("the priority lane is served before all normal work, in submission order", "[store]", comfyq::testing::stores) {
  for (policy p : {policy::fifo, policy::round_robin, policy::fair_share}) {
    TestType q({.policy = p});
    submit(q, "alice", 0);
    submit(q, "bob", 1);
    std::string demo1 = submit(q, "instructor", 2, true);
    std::string demo2 = submit(q, "instructor", 3, true);
    CHECK(q.lease("w1", at(4))->job_id == demo1);
    CHECK(q.lease("w2", at(4))->job_id == demo2);
    CHECK_FALSE(q.lease("w3", at(4))->priority);
  }
}

TEMPLATE_LIST_TEST_CASE("max_running keeps a tenant from taking more workers", "[store]", comfyq::testing::stores) {
  TestType q;
  q.set_tenant({.id = "alice", .max_running = 1}, at(0));
  submit(q, "alice");
  submit(q, "alice");
  auto first = q.lease("w1", at(0));
  CHECK_FALSE(q.lease("w2", at(0)));
  submit(q, "bob", 1);
  CHECK(q.lease("w2", at(1))->tenant == "bob");
  q.complete(first->job_id, first->token, {}, at(10));
  CHECK(q.lease("w1", at(10))->tenant == "alice");
}

TEMPLATE_LIST_TEST_CASE("a paused tenant's jobs wait while others run, and start once resumed", "[store]", comfyq::testing::stores) {
  TestType q;
  submit(q, "alice");
  submit(q, "bob");
  q.pause_tenant("alice", at(0));
  CHECK(q.lease("w1", at(1))->tenant == "bob");
  CHECK_FALSE(q.lease("w2", at(1)));
  q.resume_tenant("alice", at(2));
  CHECK(q.lease("w2", at(2))->tenant == "alice");
  CHECK_THROWS_AS(q.pause_tenant("nobody", at(3)), comfyq::not_found);
}

TEMPLATE_LIST_TEST_CASE("a paused queue accepts jobs but starts none", "[store]", comfyq::testing::stores) {
  TestType q;
  q.pause_queue(at(0));
  std::string id = submit(q, "alice", 1);
  CHECK_FALSE(q.lease("w1", at(2)));
  CHECK(q.find(id)->state == job_state::queued);
  q.resume_queue(at(3));
  CHECK(q.lease("w1", at(3))->job_id == id);
}

TEMPLATE_LIST_TEST_CASE("switching the policy at run time changes the next pick", "[store]", comfyq::testing::stores) {
  TestType q({.policy = policy::fifo});
  for (int i = 0; i < 3; ++i) submit(q, "alice");
  submit(q, "bob");
  CHECK(q.lease("w1", at(1))->tenant == "alice");
  q.set_policy(policy::round_robin, at(2));
  CHECK(q.current_policy() == policy::round_robin);
  CHECK(q.lease("w2", at(2))->tenant == "bob");
}

TEMPLATE_LIST_TEST_CASE("with preemption, a priority job interrupts the most recently started normal job", "[store]", comfyq::testing::stores) {
  TestType q({.preemption = true});
  submit(q, "alice");
  submit(q, "bob");
  auto older = q.lease("w1", at(0));
  auto newer = q.lease("w2", at(5));
  std::string demo = submit(q, "instructor", 10, true);
  CHECK_FALSE(q.heartbeat(older->job_id, older->token, at(11)).preempt_requested);
  CHECK(q.heartbeat(newer->job_id, newer->token, at(11)).preempt_requested);
  q.release(newer->job_id, newer->token, at(12));
  auto victim = q.find(newer->job_id);
  CHECK(victim->state == job_state::queued);
  CHECK(victim->failures == 0);
  CHECK(q.lease("w2", at(12))->job_id == demo);
  q.complete(older->job_id, older->token, {}, at(20));
  CHECK(q.lease("w1", at(20))->job_id == newer->job_id);  // the victim kept its place
}

TEMPLATE_LIST_TEST_CASE("without preemption, or with an idle worker, nothing is interrupted", "[store]", comfyq::testing::stores) {
  for (bool preemption : {false, true}) {
    TestType q({.preemption = preemption});
    submit(q, "alice");
    auto running = q.lease("w1", at(0));
    if (preemption) CHECK_FALSE(q.lease("w2", at(1)));  // w2 is up and idle
    submit(q, "instructor", 2, true);
    CHECK_FALSE(q.heartbeat(running->job_id, running->token, at(3)).preempt_requested);
  }
}

TEMPLATE_LIST_TEST_CASE("a lease charges the estimate at once and completion settles the measured runtime", "[store]", comfyq::testing::stores) {
  TestType q({.default_estimate = 100s});
  submit(q, "alice");
  auto lease = q.lease("w1", at(0));
  auto clock = [&] { return q.snapshot(at(0)).tenants.at(0).virtual_clock; };
  CHECK(clock() == 100'000.0);
  q.complete(lease->job_id, lease->token, {}, at(40));
  CHECK(clock() == 40'000.0);
  CHECK(q.snapshot(at(40)).tenants.at(0).gpu_time == 40s);
}

TEMPLATE_LIST_TEST_CASE("a run lost to release or expiry is refunded, and a failed run is paid for", "[store]",
                        comfyq::testing::stores) {
  TestType q({.default_estimate = 100s});
  submit(q, "alice");
  auto clock = [&] { return q.snapshot(at(0)).tenants.at(0).virtual_clock; };
  auto lease = q.lease("w1", at(0));
  q.release(lease->job_id, lease->token, at(30));
  CHECK(clock() == 0.0);
  lease = q.lease("w1", at(30));
  q.expire(at(90));
  CHECK(clock() == 0.0);
  lease = q.lease("w1", at(100));
  q.fail(lease->job_id, lease->token, "bad", comfyq::failure::final, at(120));
  CHECK(clock() == 20'000.0);
}

TEMPLATE_LIST_TEST_CASE("estimates learn measured runtimes per tenant and workflow shape", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease, .default_estimate = 60s, .estimate_smoothing = 0.5});
  auto run = [&](const std::string& tenant, const std::string& shape, double seconds, double t) {
    submit(q, tenant, t, false, shape);
    auto lease = q.lease("w1", at(t));
    q.complete(lease->job_id, lease->token, {}, at(t + seconds));
    return lease->estimate;
  };
  CHECK(run("alice", "ltx", 200, 0) == 60s);      // nothing measured yet
  CHECK(run("alice", "ltx", 100, 1000) == 200s);  // first measurement
  CHECK(run("alice", "ltx", 100, 2000) == 150s);  // halfway to 100
  CHECK(run("bob", "ltx", 100, 3000) == 125s);    // bob: the shape's average over tenants
  CHECK(run("bob", "sdxl", 10, 4000) == 60s);     // unknown shape
}

TEMPLATE_LIST_TEST_CASE("a submitter's estimate is charged at lease and forecast with, and the measured runtime still teaches", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease, .default_estimate = 60s});
  const std::string first = q.submit({.tenant = "alice", .shape = "ltx", .estimate = 300s}, at(0));
  CHECK(q.find(first)->estimate == 300s);
  const std::string second = q.submit({.tenant = "alice", .shape = "ltx"}, at(0));
  q.touch_worker("w1", at(0));
  CHECK(q.position(second, at(0))->eta == at(300));  // behind 300 s, not the default's 60
  auto lease = q.lease("w1", at(0));
  CHECK(lease->estimate == 300s);
  CHECK(q.snapshot(at(0)).tenants.at(0).virtual_clock == 300'000.0);
  q.complete(lease->job_id, lease->token, {}, at(200));
  CHECK(q.lease("w1", at(200))->estimate == 200s);  // learned from the run, not from the estimate
}

TEMPLATE_LIST_TEST_CASE("a newcomer's job without a shape is estimated at the default, never at another tenant's average", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease, .default_estimate = 60s, .estimate_smoothing = 0.5});
  auto run = [&](const std::string& tenant, double seconds, double t) {
    submit(q, tenant, t, false, "");
    auto lease = q.lease("w1", at(t));
    q.complete(lease->job_id, lease->token, {}, at(t + seconds));
    return lease->estimate;
  };
  CHECK(run("hog", 600, 0) == 60s);
  CHECK(run("hog", 600, 1000) == 600s);      // its own history
  CHECK(run("newcomer", 30, 2000) == 60s);   // not the hog's 600 s
  CHECK(run("newcomer", 30, 3000) == 30s);
}

TEMPLATE_LIST_TEST_CASE("a priority run is charged to its tenant's clock like any other", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease, .default_estimate = 100s});
  submit(q, "instructor", 0, true);
  const std::string instructors_normal = submit(q, "instructor", 0);
  const std::string participants = submit(q, "participant", 0);
  auto demo = q.lease("w1", at(0));
  REQUIRE(demo);
  CHECK(demo->priority);
  q.complete(demo->job_id, demo->token, {}, at(100));
  // Uncharged, the instructor's clock would tie with the participant's and its older job go
  // first; the 100 s demo puts it behind.
  auto next = q.lease("w1", at(100));
  REQUIRE(next);
  CHECK(next->job_id == participants);
}

TEMPLATE_LIST_TEST_CASE("a worker that just completed a job is alive: a priority job waits for it, nothing is preempted", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = 150s, .worker_ttl = 60s, .preemption = true});  // no lease expires within the test
  submit(q, "alice");
  submit(q, "bob");
  auto finishing = q.lease("w1", at(0));
  auto running = q.lease("w2", at(0));
  // w1 says nothing for longer than worker_ttl, then completes: that is a sign of life.
  q.complete(finishing->job_id, finishing->token, {}, at(100));
  submit(q, "instructor", 100, true);
  CHECK_FALSE(q.find(running->job_id)->preempt_requested);
}

TEMPLATE_LIST_TEST_CASE("a preempt request is withdrawn when a worker that freed up first takes the priority job", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = long_lease, .worker_ttl = long_lease, .preemption = true});
  submit(q, "alice");
  submit(q, "bob");
  auto first = q.lease("w1", at(0));
  auto second = q.lease("w2", at(5));
  const std::string demo = submit(q, "instructor", 10, true);
  REQUIRE(q.find(second->job_id)->preempt_requested);

  q.complete(first->job_id, first->token, {}, at(12));
  CHECK(q.lease("w1", at(12))->job_id == demo);
  CHECK_FALSE(q.heartbeat(second->job_id, second->token, at(13)).preempt_requested);
  CHECK_FALSE(q.find(second->job_id)->preempt_requested);
}

TEMPLATE_LIST_TEST_CASE("a tenant's change is an event with its settings as the API writes them, unlimited caps as null", "[store][tenants]", comfyq::testing::stores) {
  TestType q;
  q.set_tenant({.id = "alice", .weight = 2.0, .max_running = 1}, at(0));
  q.pause_tenant("alice", at(1));
  std::vector<nlohmann::json> said;
  for (const comfyq::event& e : q.events()) {
    if (e.type == comfyq::event_type::tenant_changed && e.tenant == "alice") said.push_back(e.data);
  }
  REQUIRE(said.size() == 2);
  CHECK(said[0] == nlohmann::json{{"weight", 2.0}, {"max_running", 1}, {"max_queued", nullptr}, {"paused", false}});
  CHECK(said[1].at("paused") == true);
}
