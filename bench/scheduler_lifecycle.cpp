// Full job lifecycles per second on one thread: submit + lease + complete, with a standing
// queue of 100,000 jobs over 1,000 tenants, for each policy.
//
// Setup (untimed): 100,000 jobs queued round-robin over 1,000 tenants, then 10,000 lifecycles
// so that the history (history_limit, default 10,000) is full and every completion also
// forgets the oldest finished job, as in a long-running queue. Each timed iteration submits
// one job (tenants in turn), leases one and completes it one millisecond later, so the queue
// stays at 100,000. The `txt2img` cases carry a realistic 1 KB API-format workflow (copied into
// the request, moved into the job, copied into the lease); the `empty_workflow` cases isolate
// the scheduling work. items_per_second is lifecycles per second.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string_view>

#include "comfyq/scheduler.hpp"
#include "support/standing_queue.hpp"
#include "support/txt2img.hpp"

namespace {

using comfyq_bench::txt2img_workflow;

constexpr std::size_t standing_jobs = 100'000;

void lifecycle(benchmark::State& state, comfyq::policy policy, std::string_view workflow) {
  comfyq_bench::standing_queue q(policy, standing_jobs, comfyq_bench::lane::normal, workflow);
  for (auto _ : state) q.cycle();
  q.report(state);
}

}  // namespace

BENCHMARK_CAPTURE(lifecycle, fifo/empty_workflow, comfyq::policy::fifo, std::string_view{});
BENCHMARK_CAPTURE(lifecycle, round_robin/empty_workflow, comfyq::policy::round_robin, std::string_view{});
BENCHMARK_CAPTURE(lifecycle, fair_share/empty_workflow, comfyq::policy::fair_share, std::string_view{});
BENCHMARK_CAPTURE(lifecycle, fifo/txt2img, comfyq::policy::fifo, txt2img_workflow);
BENCHMARK_CAPTURE(lifecycle, round_robin/txt2img, comfyq::policy::round_robin, txt2img_workflow);
BENCHMARK_CAPTURE(lifecycle, fair_share/txt2img, comfyq::policy::fair_share, txt2img_workflow);
