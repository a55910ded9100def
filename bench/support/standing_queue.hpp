#pragma once
// A queue kept at a standing length over 1,000 tenants, for the scheduler benchmarks: every
// cycle submits one job, leases one and completes it. The history is filled before timing
// starts (history_limit, default 10,000), so every completion also forgets the oldest
// finished job. Time advances 1 ms per lease.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/scheduler.hpp"
#include "tenant_ids.hpp"

namespace comfyq_bench {

inline constexpr std::size_t tenant_count = 1'000;

/// The lane every job of a standing queue is submitted to.
enum class lane { normal, priority };

struct standing_queue {
  comfyq::scheduler queue;
  std::vector<std::string> tenants = make_tenant_ids(tenant_count);
  std::string workflow;
  bool priority = false;
  comfyq::time_point now{std::chrono::milliseconds{1'700'000'000'000}};
  std::size_t next_tenant = 0;

  standing_queue(comfyq::policy policy, std::size_t queued, lane jobs_lane, std::string_view workflow_text = {})
      : queue(comfyq::scheduler_config{.policy = policy}),
        workflow(workflow_text),
        priority(jobs_lane == lane::priority) {
    for (std::size_t i = 0; i < queued; ++i) submit();
    for (std::size_t i = 0; i < queue.config().history_limit; ++i) cycle();
  }

  void submit() {
    queue.submit({.tenant = tenants[next_tenant], .workflow = workflow, .priority = priority}, now);
    next_tenant = next_tenant + 1 == tenants.size() ? 0 : next_tenant + 1;
  }

  comfyq::lease lease() {
    std::optional<comfyq::lease> lease = queue.lease("gpu-worker-1", now);
    now += std::chrono::milliseconds(1);
    return std::move(*lease);
  }

  void complete(const comfyq::lease& lease) { queue.complete(lease.job_id, lease.token, {}, now); }

  void cycle() {
    submit();
    complete(lease());
  }

  /// Items per second and the queue length at the end, for the report.
  void report(benchmark::State& state) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["queued"] = static_cast<double>(queue.snapshot(now).queued);
  }
};

}  // namespace comfyq_bench
