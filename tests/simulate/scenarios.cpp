// Small workshops whose every number can be worked out by hand: fixed-length jobs, no
// thinking, everyone arriving at once. They pin down what each measurement means.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <string>

#include "comfyq/sim/simulate.hpp"

using namespace std::chrono_literals;
using comfyq::policy;

namespace {

// user01 keeps three 300 s jobs queued, user02 three 30 s jobs; one worker; 9900 s = 10 rounds
// of fifo's cycle (user01's three jobs, then user02's three: 990 s).
comfyq::sim::scenario hog_and_light(policy p, double seconds = 9'900) {
  return {.users = 2,
          .policy = p,
          .hours = seconds / 3'600,
          .profiles = {{"hog", 300s, 300s}, {"light", 30s, 30s}},
          .max_think = 0s,
          .max_stagger = 0s,
          .late_join_at = 0s,
          .demo_every = 0s};
}

const comfyq::sim::tenant_result& tenant(const comfyq::sim::result& r, const std::string& id) {
  for (const auto& t : r.tenants) {
    if (t.id == id) return t;
  }
  FAIL("no tenant " << id);
  return r.tenants.front();
}

}  // namespace

TEST_CASE("fifo gives a hog ten times the GPU time of a light user: Jain 0.599") {
  comfyq::sim::result r = comfyq::sim::simulate(hog_and_light(policy::fifo));
  CHECK(tenant(r, "user01").gpu_seconds == Approx(9'000));
  CHECK(tenant(r, "user02").gpu_seconds == Approx(900));
  CHECK(tenant(r, "user01").share == Approx(9'000.0 / 9'900));
  CHECK(r.fairness.jain_tenants == 2);
  CHECK(r.fairness.window_start_s == 0);
  CHECK(*r.fairness.jain == Approx(9'900.0 * 9'900 / (2 * (9'000.0 * 9'000 + 900.0 * 900))));
  CHECK(r.utilization == Approx(1.0));
}

TEST_CASE("Jain's index per window: each fifo cycle of 990 s is one window at 0.599") {
  comfyq::sim::scenario s = hog_and_light(policy::fifo);
  s.jain_window = 990s;
  comfyq::sim::result r = comfyq::sim::simulate(s);
  REQUIRE(r.fairness.windows.size() == 10);
  const double cycle = 990.0 * 990 / (2 * (900.0 * 900 + 90.0 * 90));
  for (double jain : r.fairness.windows) CHECK(jain == Approx(cycle));
  CHECK(*r.fairness.windows_mean == Approx(cycle));
  CHECK(*r.fairness.windows_min == Approx(cycle));
}

TEST_CASE("a job still running at the end counts for the part that ran") {
  // 150 s past the tenth cycle user01's next job has run 150 of its 300 s.
  comfyq::sim::result r = comfyq::sim::simulate(hog_and_light(policy::fifo, 10'050));
  CHECK(tenant(r, "user01").gpu_seconds == Approx(9'150));
  CHECK(tenant(r, "user01").completed == 30);
  CHECK(*r.fairness.jain == Approx(10'050.0 * 10'050 / (2 * (9'150.0 * 9'150 + 900.0 * 900))));
}

TEST_CASE("under fifo the light user's lag grows by 405 s every cycle") {
  // Just before its k-th turn (t = 990k + 900) it has 90k s of the 990k + 900 s served: lag 405k + 450.
  comfyq::sim::result r = comfyq::sim::simulate(hog_and_light(policy::fifo));
  CHECK(r.fairness.max_lag_s == Approx(405.0 * 9 + 450));
  CHECK(r.fairness.max_lag_tenant == "user02");
  CHECK(r.fairness.max_lag_at_s == Approx(990.0 * 9 + 900));
  CHECK(r.fairness.longest_job_s == Approx(300));
}

TEST_CASE("waits are measured from submission to start, per tenant") {
  // Steady state: user02's job waits behind two of its own and three of user01's (960 s);
  // user01's behind two of its own and three of user02's (690 s).
  comfyq::sim::result r = comfyq::sim::simulate(hog_and_light(policy::fifo));
  CHECK(tenant(r, "user02").wait.p50 == Approx(960));
  CHECK(tenant(r, "user02").wait.max == Approx(960));
  CHECK(tenant(r, "user01").wait.p95 == Approx(690));
  CHECK(tenant(r, "user01").wait.max == Approx(690));
  CHECK(r.wait.jobs == tenant(r, "user01").wait.jobs + tenant(r, "user02").wait.jobs);
}

TEST_CASE("round_robin alternates jobs, so the hog still gets ten times the GPU time") {
  comfyq::sim::result r = comfyq::sim::simulate(hog_and_light(policy::round_robin));
  CHECK(tenant(r, "user01").gpu_seconds == Approx(9'000));
  CHECK(tenant(r, "user02").gpu_seconds == Approx(900));
  CHECK(*r.fairness.jain == Approx(0.599).epsilon(0.001));
}

TEST_CASE("fair_share splits GPU time evenly between the hog and the light user") {
  comfyq::sim::result r = comfyq::sim::simulate(hog_and_light(policy::fair_share));
  double hog = tenant(r, "user01").gpu_seconds, light = tenant(r, "user02").gpu_seconds;
  CHECK(hog + light == Approx(9'900));
  CHECK(std::abs(hog - light) <= 300);  // within one of the hog's jobs
  CHECK(*r.fairness.jain > 0.99);
  CHECK(r.fairness.max_lag_s <= r.fairness.longest_job_s);
}

TEST_CASE("the late joiner's wait counts the completions before its first job starts") {
  // Two users keep five 100 s jobs waiting behind the running one; user03 arrives at 1050 s.
  comfyq::sim::scenario s{.users = 3,
                          .policy = policy::fifo,
                          .hours = 1,
                          .profiles = {{"fixed", 100s, 100s}},
                          .max_think = 0s,
                          .max_stagger = 0s,
                          .late_join_at = 1'050s,
                          .demo_every = 0s};
  SECTION("fifo: behind all six jobs ahead of it") {
    comfyq::sim::result r = comfyq::sim::simulate(s);
    CHECK(r.late_joiner.joined);
    CHECK(r.late_joiner.started);
    CHECK(r.late_joiner.joined_at_s == Approx(1'050));
    CHECK(r.late_joiner.completions == 6);
    CHECK(r.late_joiner.wait_s == Approx(550));
    CHECK(tenant(r, "user03").late_joiner);
    CHECK(r.fairness.window_start_s == Approx(1'050));
  }
  SECTION("fair_share: at the next completion") {
    s.policy = policy::fair_share;
    comfyq::sim::result r = comfyq::sim::simulate(s);
    CHECK(r.late_joiner.completions == 1);
    CHECK(r.late_joiner.wait_s == Approx(50));
  }
}

TEST_CASE("a participant who joins while another holds every worker lags by workers x job / 2") {
  // user01 takes all three workers at 0 with 600 s jobs; user02 arrives at 1 s. At 600 s user01 has
  // 3 x 599 s of GPU time since user02 arrived, user02 none: fair is half, 898.5 s.
  comfyq::sim::scenario s{.users = 2,
                          .workers = 3,
                          .hours = 1,
                          .profiles = {{"fixed", 600s, 600s}},
                          .max_think = 0s,
                          .max_stagger = 0s,
                          .late_join_at = 1s,
                          .demo_every = 0s};
  comfyq::sim::result r = comfyq::sim::simulate(s);
  CHECK(r.fairness.max_lag_s == Approx(898.5));
  CHECK(r.fairness.max_lag_tenant == "user02");
  CHECK(r.fairness.max_lag_at_s == Approx(600));
  CHECK(r.late_joiner.completions == 1);
  CHECK(r.late_joiner.wait_s == Approx(599));
}

TEST_CASE("a demo waits for the running job, or interrupts it with preemption") {
  // One participant, 100 s jobs back to back; a 60 s demo at 1050 s, halfway through a job.
  comfyq::sim::scenario s{.users = 1,
                          .policy = policy::fifo,
                          .hours = 1,
                          .outstanding = 1,
                          .profiles = {{"fixed", 100s, 100s}},
                          .max_think = 0s,
                          .max_stagger = 0s,
                          .late_join_at = 0s,
                          .first_demo_at = 1'050s,
                          .demo_every = 1h,
                          .demo_shortest = 60s,
                          .demo_longest = 60s};
  SECTION("without preemption it starts at the next completion") {
    comfyq::sim::result r = comfyq::sim::simulate(s);
    CHECK(r.demos.submitted == 1);
    CHECK(r.demos.started == 1);
    CHECK(r.demos.max_completions == 1);
    CHECK(r.demos.max_wait_s == Approx(50));
    CHECK(r.preemptions == 0);
    CHECK(tenant(r, "instructor").gpu_seconds == Approx(60));
    CHECK(tenant(r, "instructor").instructor);
  }
  SECTION("with preemption it starts at once and the interrupted job runs again from the start") {
    s.preemption = true;
    comfyq::sim::result r = comfyq::sim::simulate(s);
    CHECK(r.demos.max_completions == 0);
    CHECK(r.demos.max_wait_s == 0);
    CHECK(r.preemptions == 1);
    // The 50 s lost to the interruption still occupied the GPU: it counts, but one job fewer ends.
    CHECK(tenant(r, "user01").gpu_seconds == Approx(3'540));
    CHECK(tenant(r, "user01").completed == 34);
    CHECK(r.utilization == Approx(1.0));
  }
}

TEST_CASE("a run in which no participant arrives has no Jain index") {
  comfyq::sim::result r = comfyq::sim::simulate({.users = 1, .hours = 1, .late_join_at = 2h, .demo_every = 0s});
  CHECK_FALSE(r.fairness.jain.has_value());
  CHECK(r.fairness.jain_tenants == 0);
  CHECK_FALSE(r.late_joiner.joined);
  CHECK(r.jobs_submitted == 0);
  CHECK(r.utilization == 0);
  CHECK_FALSE(nlohmann::json(r)["fairness"].contains("jain"));
}
