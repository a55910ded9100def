// Queue positions and ETAs follow the real order: with no new arrivals and runtimes equal to
// their estimates, the job reported at position k is the k-th to be leased, at its ETA.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "comfyq/comfyq.hpp"
#include "support/stores.hpp"
#include "support/random.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::testing::at;

namespace {

struct started {
  comfyq::lease lease;
  comfyq::time_point at;
};

// Builds a random queue with measured history, tenants with caps and weights, priority work
// and runs in progress on some of `workers` workers; returns the runs in progress.
std::vector<started> random_queue(auto& q, comfyq::testing::random& rng, int workers, double& now) {
  const char* shapes[] = {"ltx", "wan", "sdxl"};
  int tenants = rng.between(1, 8);
  for (int t = 0; t < tenants; ++t) {
    q.set_tenant({.id = "t" + std::to_string(t),
                  .weight = static_cast<double>(rng.between(1, 3)),
                  .max_running = rng.chance(30) ? 1u : comfyq::unlimited},
                 at(0));
  }
  auto submit_random = [&](double when) {
    q.submit({.tenant = "t" + std::to_string(rng.between(0, tenants - 1)),
              .shape = shapes[rng.between(0, 2)],
              .priority = rng.chance(10)},
             at(when));
  };
  // History: some completed runs so estimates differ per tenant and shape.
  for (int i = 0, n = rng.between(0, 20); i < n; ++i) {
    submit_random(now);
    auto lease = q.lease("w0", at(now));
    now += rng.between(5, 300);
    q.complete(lease->job_id, lease->token, {}, at(now));
  }
  for (int i = 0, n = rng.between(0, 40); i < n; ++i) submit_random(now);
  if (rng.chance(20)) q.set_policy(static_cast<comfyq::policy>(rng.between(0, 2)), at(now));
  std::vector<started> running;
  for (int w = 0, busy = rng.between(0, workers); w < busy; ++w) {
    if (auto lease = q.lease("w" + std::to_string(w), at(now))) running.push_back({*lease, at(now)});
    now += rng.between(0, 3);
  }
  return running;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("the job at position k is the k-th to be leased, at its ETA (random queues)", "[store]", comfyq::testing::stores) {
  comfyq::testing::random rng(20261123);
  for (int round = 0; round < 300; ++round) {
    TestType q({.lease_ttl = 24h * 30, .worker_ttl = 24h * 30});
    int workers = rng.between(1, 4);
    double start = 0;
    std::vector<started> running = random_queue(q, rng, workers, start);
    comfyq::time_point now = at(start);
    const std::vector<comfyq::queue_position> forecast = q.forecast(now, static_cast<std::size_t>(workers));

    // Drive the real queue: idle workers lease now; then runs end at start + estimate, ties in
    // lease order, and each freed worker leases at once, then any idle worker tries again.
    std::vector<std::pair<std::string, comfyq::time_point>> leased;
    std::vector<std::string> idle;
    for (int w = static_cast<int>(running.size()); w < workers; ++w) idle.push_back("w" + std::to_string(w));
    auto try_idle = [&](comfyq::time_point t) {
      for (auto it = idle.begin(); it != idle.end();) {
        if (auto lease = q.lease(*it, t)) {
          leased.emplace_back(lease->job_id, t);
          running.push_back({*lease, t});
          it = idle.erase(it);
        } else {
          ++it;
        }
      }
    };
    try_idle(now);
    while (!running.empty()) {
      auto next = std::min_element(running.begin(), running.end(), [](const started& a, const started& b) {
        auto ea = a.at + a.lease.estimate, eb = b.at + b.lease.estimate;
        return ea != eb ? ea < eb : a.lease.token < b.lease.token;
      });
      started done = *next;
      running.erase(next);
      comfyq::time_point end = done.at + done.lease.estimate;
      q.complete(done.lease.job_id, done.lease.token, {}, end);
      if (auto lease = q.lease(done.lease.worker, end)) {
        leased.emplace_back(lease->job_id, end);
        running.push_back({*lease, end});
      } else {
        idle.push_back(done.lease.worker);
      }
      try_idle(end);
    }

    INFO("round " << round << ", workers " << workers);
    REQUIRE(leased.size() == forecast.size());
    for (std::size_t k = 0; k < forecast.size(); ++k) {
      CHECK(forecast[k].position == k + 1);
      CHECK(forecast[k].job == leased[k].first);
      REQUIRE(forecast[k].eta);
      CHECK(*forecast[k].eta == leased[k].second);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("position() answers for one queued job, and nothing for jobs that cannot start", "[store]", comfyq::testing::stores) {
  TestType q({.default_estimate = 120s});
  std::string a = q.submit({.tenant = "alice"}, at(0));
  std::string b = q.submit({.tenant = "bob"}, at(0));
  std::string c = q.submit({.tenant = "carol"}, at(0));
  q.touch_worker("w1", at(0));
  q.touch_worker("w2", at(0));
  auto first = q.lease("w1", at(0));
  REQUIRE(first->job_id == a);
  auto pb = q.position(b, at(0));
  auto pc = q.position(c, at(0));
  REQUIRE(pb);
  REQUIRE(pc);
  CHECK(pb->position == 1);
  CHECK(*pb->eta == at(0));     // w2 is idle
  CHECK(pc->position == 2);
  CHECK(*pc->eta == at(120));   // when alice's run should end
  CHECK_FALSE(q.position(a, at(0)));  // running, not queued
  q.pause_tenant("carol", at(1));
  CHECK_FALSE(q.position(c, at(1)));
}

TEMPLATE_LIST_TEST_CASE("with no worker up, positions are known but ETAs are not", "[store]", comfyq::testing::stores) {
  TestType q;
  std::string a = q.submit({.tenant = "alice"}, at(0));
  auto p = q.position(a, at(0));
  REQUIRE(p);
  CHECK(p->position == 1);
  CHECK_FALSE(p->eta);
}
