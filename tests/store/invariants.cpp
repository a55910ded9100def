// Random sequences of operations, thousands of steps, with the queue's invariants checked
// after every step: every job in exactly one state, at most one live lease per job, a stale
// token changes nothing, counts add up, no job is lost, only legal transitions happen.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "comfyq/comfyq.hpp"
#include "support/stores.hpp"
#include "support/random.hpp"
#include "support/random_steps.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::job_state;
using comfyq::testing::at;

namespace {

// Everything observable about the queue, for "nothing changed" comparisons.
std::string fingerprint(auto& q, comfyq::time_point now) {
  std::map<std::string, std::string> jobs;
  q.for_each_job([&](const comfyq::job& j) {
    std::ostringstream out;
    out << to_string(j.state) << ' ' << j.token << ' ' << j.attempt << ' ' << j.failures << ' ' << j.worker << ' '
        << j.lease_expires_at.time_since_epoch().count() << ' ' << j.cancel_requested << j.preempt_requested << ' '
        << j.reason << ' ' << j.charged.count();
    jobs[j.id] = out.str();
  });
  std::ostringstream out;
  for (const auto& [id, text] : jobs) out << id << ':' << text << '\n';
  auto s = q.snapshot(now);
  for (const auto& t : s.tenants) {
    out << t.config.id << ' ' << t.queued << ' ' << t.running << ' ' << t.gpu_time.count() << ' ' << t.virtual_clock
        << '\n';
  }
  for (const auto& p : q.forecast(now, 2)) out << p.job << ' ';
  return out.str();
}

bool legal(job_state from, job_state to) {
  if (from == to) return true;
  switch (from) {
    case job_state::queued: return to == job_state::running || to == job_state::cancelled;
    case job_state::running: return to != job_state::running;
    default: return false;  // final states are final
  }
}

struct held_lease {
  std::string job;
  std::uint64_t token;
  std::string worker;
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("random operations never break the queue's invariants", "[store]", comfyq::testing::stores) {
  const int seeds = TestType::property_seeds;
  const int steps = TestType::property_steps;
  for (int seed = 1; seed <= seeds; ++seed) {
    comfyq::testing::random rng(static_cast<std::uint64_t>(seed));
    TestType q({.lease_ttl = 30s,
                         .max_attempts = 3,
                         .history_limit = 100'000,
                         .preemption = rng.chance(50)});
    std::vector<std::string> submitted;
    std::map<std::string, job_state> last_state;
    std::vector<held_lease> leases;       // every lease ever handed out
    std::map<std::string, std::uint64_t> last_token;
    double now = 0;

    for (int step = 0; step < steps; ++step) {
      const auto [step_at, tenant, worker, op] = comfyq::testing::next_step(rng, now);
      now = step_at;
      const comfyq::time_point t = at(now);
      try {
        if (op < 25) {
          submitted.push_back(q.submit({.tenant = tenant, .shape = rng.chance(50) ? "a" : "b",
                                        .priority = rng.chance(8)}, t));
        } else if (op < 45) {
          if (auto lease = q.lease(worker, t)) {
            leases.push_back({lease->job_id, lease->token, worker});
            CHECK(lease->token > last_token[lease->job_id]);
            last_token[lease->job_id] = lease->token;
          }
        } else if (op < 85 && !leases.empty()) {
          // Act on a lease, current or stale; a stale one must change nothing.
          const held_lease l = leases[static_cast<std::size_t>(rng.between(0, static_cast<int>(leases.size()) - 1))];
          q.expire(t);
          auto j = q.find(l.job);
          bool current = j && j->state == job_state::running && j->token == l.token;
          std::string before = current ? "" : fingerprint(q, t);
          try {
            if (op < 55) {
              q.heartbeat(l.job, l.token, t);
            } else if (op < 68) {
              q.complete(l.job, l.token, {}, t);
            } else if (op < 76) {
              q.fail(l.job, l.token, "boom", rng.chance(50) ? comfyq::failure::retryable : comfyq::failure::final, t);
            } else {
              q.release(l.job, l.token, t);
            }
            CHECK(current);
          } catch (const comfyq::lease_lost&) {
            CHECK_FALSE(current);
            CHECK(fingerprint(q, t) == before);
          }
        } else if (op < 90 && !submitted.empty()) {
          q.cancel(submitted[static_cast<std::size_t>(rng.between(0, static_cast<int>(submitted.size()) - 1))], t);
        } else if (op < 93) {
          q.expire(t);
        } else if (op < 95) {
          if (q.find_tenant(tenant)) {
            if (rng.chance(60)) {
              q.pause_tenant(tenant, t);
            } else {
              q.resume_tenant(tenant, t);
            }
          }
        } else if (op < 96) {
          if (rng.chance(30)) {
            q.pause_queue(t);
          } else {
            q.resume_queue(t);
          }
        } else if (op < 98) {
          q.set_policy(static_cast<comfyq::policy>(rng.between(0, 2)), t);
        } else {
          q.set_tenant({.id = tenant,
                        .weight = static_cast<double>(rng.between(1, 4)),
                        .max_running = static_cast<std::uint32_t>(rng.between(1, 3)),
                        .max_queued = static_cast<std::uint32_t>(rng.between(5, 50))},
                       t);
        }
      } catch (const comfyq::quota_exceeded&) {
        // a refused submission: checked below like any other step
      }

      // Invariants, gathered per step so a failure says which ones broke.
      INFO("seed " << seed << " step " << step);
      std::vector<std::string> broken;
      auto expect = [&](bool ok, const std::string& what) {
        if (!ok) broken.push_back(what);
      };
      std::map<job_state, std::size_t> counted;
      std::map<std::string, std::pair<std::uint32_t, std::uint32_t>> per_tenant;  // queued, running
      std::set<std::uint64_t> live_tokens;
      std::size_t held = 0;
      q.for_each_job([&](const comfyq::job& j) {
        ++held;
        ++counted[j.state];
        auto previous = last_state.find(j.id);
        if (previous != last_state.end()) {
          expect(legal(previous->second, j.state), j.id + " went " + std::string(to_string(previous->second)) +
                                                      " -> " + std::string(to_string(j.state)));
        }
        last_state[j.id] = j.state;
        if (j.state == job_state::queued) ++per_tenant[j.tenant].first;
        if (j.state == job_state::running) {
          ++per_tenant[j.tenant].second;
          expect(live_tokens.insert(j.token).second, j.id + " shares a live token");
          expect(j.token == last_token[j.id], j.id + " runs under a token that is not its latest lease");
        }
      });
      expect(held == submitted.size(), "jobs held != jobs submitted");
      for (const auto& id : submitted) expect(q.find(id).has_value(), id + " was lost");
      auto s = q.snapshot(t);
      expect(s.queued == counted[job_state::queued], "queued count");
      expect(s.running == counted[job_state::running], "running count");
      expect(s.succeeded == counted[job_state::succeeded], "succeeded count");
      expect(s.failed == counted[job_state::failed], "failed count");
      expect(s.cancelled == counted[job_state::cancelled], "cancelled count");
      expect(s.dead == counted[job_state::dead], "dead count");
      for (const auto& ts : s.tenants) {
        expect(ts.queued == per_tenant[ts.config.id].first, ts.config.id + " queued count");
        expect(ts.running == per_tenant[ts.config.id].second, ts.config.id + " running count");
      }
      CHECK(broken == std::vector<std::string>{});
    }
  }
}
