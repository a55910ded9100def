// How the cost of a lease grows with the length of the queue: it should not (no scan of the
// queue per lease). Queue lengths 1,000 / 10,000 / 100,000 jobs, always over 1,000 tenants
// (so 1 to 100 jobs per tenant: only the queue grows, not the number of tenants), for each
// policy. Workflows are empty: copying one costs the same at every queue length.
//
//   cycle/<policy>/<queued>       submit + lease + complete, the queue staying at <queued>
//   lease_only/<policy>/<queued>  lease alone; every queued/10 leases the timer stops while
//                                 those jobs are completed and as many submitted again, so the
//                                 queue stays between 90% and 100% of <queued> (the pause costs
//                                 two timer reads per batch of at least 100 leases)
//   priority_lane/cycle/<queued>, priority_lane/lease_only/<queued>
//                                 the same with every job in the priority lane
//   behind_blocked_priority/<n>   a normal cycle over 100,000 queued jobs (fair_share) while <n>
//                                 priority jobs wait for a tenant at max_running (1 of 1 running)
//   cold_job_record/<records>     the floor under lease_only: one read of a job-sized record in
//                                 random order, each read's address taken from the one before, over
//                                 as many records as the standing queue holds (queued + the 10,000
//                                 of history). The difference between its two sizes is what a
//                                 lease pays for the one job it must read once the queue no longer
//                                 fits in the CPU's caches, whatever the scheduler does.
//
// The standing queue is described in support/standing_queue.hpp.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "comfyq/scheduler.hpp"
#include "support/standing_queue.hpp"

namespace {

using namespace std::chrono_literals;

using comfyq_bench::lane;
using comfyq_bench::standing_queue;

void cycle(benchmark::State& state, comfyq::policy policy) {
  standing_queue q(policy, static_cast<std::size_t>(state.range(0)), lane::normal);
  for (auto _ : state) q.cycle();
  q.report(state);
}

void lease_only(benchmark::State& state, comfyq::policy policy, lane jobs_lane) {
  const auto queued = static_cast<std::size_t>(state.range(0));
  const std::size_t batch = std::max<std::size_t>(queued / 10, 100);
  standing_queue q(policy, queued, jobs_lane);
  std::vector<comfyq::lease> leased;
  leased.reserve(batch);
  for (auto _ : state) {
    leased.push_back(q.lease());
    if (leased.size() == batch) {
      state.PauseTiming();
      for (const comfyq::lease& lease : leased) q.complete(lease);
      for (std::size_t i = 0; i < batch; ++i) q.submit();
      leased.clear();
      state.ResumeTiming();
    }
  }
  q.report(state);
}

void priority_lane_cycle(benchmark::State& state) {
  standing_queue q(comfyq::policy::fair_share, static_cast<std::size_t>(state.range(0)), lane::priority);
  for (auto _ : state) q.cycle();
  q.report(state);
}

void priority_lane_lease_only(benchmark::State& state) {
  lease_only(state, comfyq::policy::fair_share, lane::priority);
}

void behind_blocked_priority(benchmark::State& state) {
  standing_queue q(comfyq::policy::fair_share, 100'000, lane::normal);
  q.queue.set_tenant({.id = "instructor", .max_running = 1}, q.now);
  q.queue.submit({.tenant = "instructor", .priority = true}, q.now);
  std::optional<comfyq::lease> demo = q.queue.lease("demo-worker", q.now);
  for (std::int64_t i = 0; i < state.range(0); ++i) q.queue.submit({.tenant = "instructor", .priority = true}, q.now);
  for (auto _ : state) {
    q.cycle();
    if (demo->expires_at - q.now < 10s) {  // keep the demo running, so its tenant stays at max_running
      demo->expires_at = q.queue.heartbeat(demo->job_id, demo->token, q.now).expires_at;
    }
  }
  q.report(state);
}

void cold_job_record(benchmark::State& state) {
  struct job_sized_record {
    std::uint32_t next;
    char rest[sizeof(comfyq::job) - sizeof(std::uint32_t)];
  };
  const auto records = static_cast<std::uint32_t>(state.range(0));
  std::vector<job_sized_record> table(records);
  std::vector<std::uint32_t> order(records);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), std::mt19937(1));
  for (std::uint32_t i = 0; i < records; ++i) table[order[i]].next = order[(i + 1) % records];
  std::uint32_t at = order[0];
  for (auto _ : state) {
    at = table[at].next;
    benchmark::DoNotOptimize(at);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void queue_lengths(benchmark::internal::Benchmark* b) {
  b->ArgName("queued")->Arg(1'000)->Arg(10'000)->Arg(100'000);
}

}  // namespace

BENCHMARK_CAPTURE(cycle, fifo, comfyq::policy::fifo)->Apply(queue_lengths);
BENCHMARK_CAPTURE(cycle, round_robin, comfyq::policy::round_robin)->Apply(queue_lengths);
BENCHMARK_CAPTURE(cycle, fair_share, comfyq::policy::fair_share)->Apply(queue_lengths);
BENCHMARK_CAPTURE(lease_only, fifo, comfyq::policy::fifo, lane::normal)->Apply(queue_lengths);
BENCHMARK_CAPTURE(lease_only, round_robin, comfyq::policy::round_robin, lane::normal)->Apply(queue_lengths);
BENCHMARK_CAPTURE(lease_only, fair_share, comfyq::policy::fair_share, lane::normal)->Apply(queue_lengths);
BENCHMARK(priority_lane_cycle)->Name("priority_lane/cycle")->Apply(queue_lengths);
BENCHMARK(priority_lane_lease_only)->Name("priority_lane/lease_only")->Apply(queue_lengths);
BENCHMARK(cold_job_record)->ArgName("records")->Arg(11'000)->Arg(110'000);
BENCHMARK(behind_blocked_priority)->ArgName("blocked")->Arg(0)->Arg(10)->Arg(100)->Arg(1'000);
