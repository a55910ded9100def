// The memory store and the Redis store are the same queue: the same seeded random operations
// at the same times give the same leases in the same order, the same refusals and the same
// jobs, tenants, workers and forecasts, step by step. Jobs are submitted under ids the test
// chooses: ids the stores generate have a random part (job_ids.cpp tests those).
#include <catch2/catch.hpp>

#ifdef COMFYQ_TEST_REDIS_STORE

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "comfyq/comfyq.hpp"
#include "support/random.hpp"
#include "support/random_steps.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::testing::at;

namespace {

using memory_queue = comfyq::testing::queue_under_test<comfyq::testing::memory_backend>;
using redis_queue = comfyq::testing::queue_under_test<comfyq::testing::redis_backend>;

// What a call answered: its result, or the kind and message of its refusal.
template <class Call>
std::string outcome(Call&& call) {
  try {
    return call();
  } catch (const comfyq::error& e) {
    return std::string("refused: ") + e.what();
  }
}

std::string describe(const std::optional<comfyq::lease>& l) {
  if (!l) return "no lease";
  std::ostringstream out;
  out << l->job_id << ' ' << l->tenant << ' ' << l->worker << ' ' << l->token << ' ' << l->attempt << ' '
      << l->priority << ' ' << l->expires_at.time_since_epoch().count() << ' ' << l->estimate.count();
  return out.str();
}

// Every job, tenant, worker and the forecast, as text.
std::string state_of(auto& q, const std::vector<std::string>& ids, comfyq::time_point now) {
  std::ostringstream out;
  for (const std::string& id : ids) {
    auto j = q.find(id);
    if (!j) {
      out << id << " gone\n";
      continue;
    }
    out << j->id << ' ' << j->tenant << ' ' << to_string(j->state) << ' ' << j->seq << ' ' << j->attempt << ' '
        << j->failures << ' ' << j->token << ' ' << j->worker << ' ' << j->started_at.time_since_epoch().count() << ' '
        << j->finished_at.time_since_epoch().count() << ' ' << j->lease_expires_at.time_since_epoch().count() << ' '
        << j->charged.count() << ' ' << j->cancel_requested << j->preempt_requested << ' ' << j->reason << '\n';
  }
  comfyq::queue_snapshot s = q.snapshot(now);
  out << to_string(s.policy) << ' ' << s.paused << ' ' << s.queued << ' ' << s.running << ' ' << s.succeeded << ' '
      << s.failed << ' ' << s.cancelled << ' ' << s.dead << ' ' << s.gpu_time.count() << '\n';
  for (const auto& t : s.tenants) {
    out << t.config.id << ' ' << t.config.weight << ' ' << t.config.max_running << ' ' << t.paused << ' ' << t.queued
        << '/' << t.queued_priority << ' ' << t.running << ' ' << t.gpu_time.count() << ' ' << t.virtual_clock << '\n';
  }
  for (const auto& w : s.workers) {
    out << w.id << ' ' << to_string(w.state) << ' ' << w.job << ' ' << w.last_seen.time_since_epoch().count() << ' '
        << w.comfyui << ' ' << w.comfyui_version << ' ' << w.gpu << ' ' << w.object_info << '\n';
  }
  for (const auto& p : q.forecast(now, 2)) out << p.position << ':' << p.job << '@' << p.eta->time_since_epoch().count() << ' ';
  out << '\n';
  for (const std::string tenant : {"", "t1"}) {
    comfyq::job_page page = q.list_jobs({.tenant = tenant, .states = {comfyq::job_state::queued, comfyq::job_state::dead}, .limit = 7});
    out << "list " << tenant << ':';
    for (const auto& j : page.jobs) out << ' ' << j.id << '/' << j.seq << '/' << j.priority;
    out << " next " << page.next << '\n';
  }
  return out.str();
}

}  // namespace

TEST_CASE("the memory and Redis stores give the same results for the same operations", "[store][redis]") {
  const int seeds = 4;
  const int steps = 1200;
  for (int seed = 1; seed <= seeds; ++seed) {
    comfyq::testing::random rng(static_cast<std::uint64_t>(seed));
    comfyq::scheduler_config config{.lease_ttl = 30s, .max_attempts = 3, .history_limit = 100'000,
                                    .default_estimate = 20s, .preemption = rng.chance(50)};
    memory_queue memory(config);
    redis_queue redis(config);
    std::vector<std::string> ids;
    struct held {
      std::string job;
      std::uint64_t token;
    };
    std::vector<held> leases;
    double now = 0;
    for (int step = 0; step < steps; ++step) {
      // Named, not structured bindings: the lambdas below use them, and clang 14 cannot
      // capture a structured binding.
      const comfyq::testing::random_step next = comfyq::testing::next_step(rng, now);
      const std::string& tenant = next.tenant;
      const std::string& worker = next.worker;
      const int op = next.op;
      now = next.now;
      const comfyq::time_point t = at(now);
      INFO("seed " << seed << " step " << step << " op " << op);
      // Both stores take the same call; the answers must be identical.
      auto both = [&](auto&& call) {
        std::string a = outcome([&] { return call(memory); });
        std::string b = outcome([&] { return call(redis); });
        REQUIRE(a == b);
        return a;
      };
      if (op < 25) {
        comfyq::submit_request request{.tenant = tenant,
                                       .shape = rng.chance(50) ? "a" : "b",
                                       .priority = rng.chance(8),
                                       .id = "e" + std::to_string(step)};
        std::string id = both([&](auto& q) { return q.submit(request, t); });
        if (!id.starts_with("refused")) ids.push_back(id);
      } else if (op < 45) {
        std::optional<comfyq::lease> granted;
        both([&](auto& q) {
          auto l = q.lease(worker, t);
          granted = l;
          return describe(l);
        });
        if (granted) leases.push_back({granted->job_id, granted->token});
      } else if (op < 85 && !leases.empty()) {
        const held l = leases[static_cast<std::size_t>(rng.between(0, static_cast<int>(leases.size()) - 1))];
        double duration_s = rng.between(0, 60);
        comfyq::time_point when = at(now + duration_s);
        const comfyq::failure kind = rng.chance(50) ? comfyq::failure::retryable : comfyq::failure::final;
        both([&](auto& q) -> std::string {
          if (op < 55) {
            comfyq::lease_status s = q.heartbeat(l.job, l.token, when);
            return std::to_string(s.expires_at.time_since_epoch().count()) + (s.cancel_requested ? " cancel" : "") +
                   (s.preempt_requested ? " preempt" : "") + (s.drain_requested ? " drain" : "");
          }
          if (op < 68) {
            q.complete(l.job, l.token, {{.name = "out.png", .size = 1, .sha256 = "ab", .media_type = "image/png", .node = "9"}}, when);
          } else if (op < 76) {
            q.fail(l.job, l.token, "boom", kind, when);
          } else {
            q.release(l.job, l.token, when);
          }
          return "done";
        });
        now += duration_s;
      } else if (op < 90 && !ids.empty()) {
        std::string id = ids[static_cast<std::size_t>(rng.between(0, static_cast<int>(ids.size()) - 1))];
        const int call = rng.between(0, 3);
        const bool priority = rng.chance(50);
        both([&](auto& q) -> std::string {
          if (call == 2) {
            q.set_priority(id, priority, t);
            return "moved";
          }
          if (call == 3) {
            q.retry(id, t);
            return "retried";
          }
          return std::string(to_string(q.cancel(id, t)));
        });
      } else if (op < 92) {
        both([&](auto& q) { return std::to_string(q.expire(t)); });
      } else if (op < 93 && rng.chance(30)) {
        const bool drain = rng.chance(50);
        both([&](auto& q) {
          if (drain) {
            q.drain_worker(worker, t);
          } else {
            q.resume_worker(worker, t);
          }
          return "done";
        });
      } else if (op < 93) {
        comfyq::worker_info info{.id = worker,
                                 .comfyui = "127.0.0.1:8188",
                                 .comfyui_version = rng.chance(50) ? "0.8.0" : "0.8.1",
                                 .condition = static_cast<comfyq::worker_condition>(rng.between(0, 2))};
        both([&](auto& q) {
          q.register_worker(info, t);
          return "done";
        });
      } else if (op < 95) {
        bool paused = rng.chance(60);
        both([&](auto& q) {
          if (paused) {
            q.pause_tenant(tenant, t);
          } else {
            q.resume_tenant(tenant, t);
          }
          return "done";
        });
      } else if (op < 96) {
        bool paused = rng.chance(30);
        both([&](auto& q) {
          if (paused) {
            q.pause_queue(t);
          } else {
            q.resume_queue(t);
          }
          return "done";
        });
      } else if (op < 98) {
        auto p = static_cast<comfyq::policy>(rng.between(0, 2));
        both([&](auto& q) {
          q.set_policy(p, t);
          return "done";
        });
      } else {
        comfyq::tenant_config settings{.id = tenant,
                                       .weight = static_cast<double>(rng.between(1, 4)) / 2.0,
                                       .max_running = static_cast<std::uint32_t>(rng.between(1, 3)),
                                       .max_queued = static_cast<std::uint32_t>(rng.between(5, 50))};
        both([&](auto& q) {
          q.set_tenant(settings, t);
          return "done";
        });
      }
      if (step % 50 == 49 || step == steps - 1) REQUIRE(state_of(memory, ids, at(now)) == state_of(redis, ids, at(now)));
    }
    auto events_as_text = [](auto& q) {
      std::ostringstream out;
      for (const comfyq::event& e : q.events()) {
        out << to_string(e.type) << ' ' << e.at.time_since_epoch().count() << ' ' << e.job << ' ' << e.tenant << ' '
            << e.worker << ' ' << e.attempt << ' ' << e.reason << ' ' << e.data.dump() << '\n';
      }
      return out.str();
    };
    CHECK(events_as_text(memory) == events_as_text(redis));
  }
}

#endif
