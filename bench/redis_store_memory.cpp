// Redis memory per queued job: INFO used_memory before and after submitting 100,000 jobs to an
// empty queue (fair_share, 100 tenants in turn, nothing leased, the store's default settings),
// divided by the number of jobs. The aim: under 400 B per job plus the workflow itself.
//
//   bytes_per_job    used_memory growth per queued job, everything included
//   beyond_workflow  bytes_per_job less the workflow's length (the aim: under 400)
//   event_log_bytes  the event stream's share of bytes_per_job (MEMORY USAGE): the stream keeps
//                    about event_log_limit (10,000) events, so its share falls as the queue grows
//   job_record_bytes, workflow_key_bytes  MEMORY USAGE of the last job's record and workflow key
//
// empty_workflow jobs carry "{}", txt2img ones a 1,040-byte API-format graph. An iteration
// submits all the jobs over one connection (items_per_second: submissions per second).

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/redis/store.hpp"
#include "support/busy_queue.hpp"
#include "support/redis_info.hpp"
#include "support/tenant_ids.hpp"
#include "support/txt2img.hpp"

namespace {

// A Debug build (the smoke run of scripts/test) only shows that it runs, with fewer jobs.
#ifdef NDEBUG
constexpr std::int64_t queued_jobs = 100'000;
#else
constexpr std::int64_t queued_jobs = 1'000;
#endif

using comfyq_bench::admin_connection;
using comfyq_bench::redis_info;

double memory_usage(const std::string& key) {
  return static_cast<double>(admin_connection().command({"MEMORY", "USAGE", key, "SAMPLES", "0"}).integer());
}

void queued_job_memory(benchmark::State& state, std::string_view workflow) {
  const auto jobs = static_cast<std::size_t>(state.range(0));
  comfyq_bench::flush_redis();
  comfyq::redis::store store(comfyq_bench::private_redis().connection_options(), {.queue = "bench"});
  const std::vector<std::string> tenants = comfyq_bench::make_tenant_ids(comfyq_bench::busy_tenants);
  comfyq_bench::submitter submitter(store, tenants, 0, workflow);
  std::string last = submitter.submit();  // loads the script: only jobs count below

  const redis_info before = redis_info::now();
  for (auto _ : state) {
    for (std::size_t i = 0; i < jobs; ++i) last = submitter.submit();
  }
  const redis_info after = redis_info::now();

  const double queued = static_cast<double>(state.iterations()) * static_cast<double>(jobs);
  const double bytes_per_job = comfyq_bench::redis_work{before, after, queued}.memory_bytes();
  state.counters["bytes_per_job"] = bytes_per_job;
  state.counters["beyond_workflow"] = bytes_per_job - static_cast<double>(workflow.size());
  state.counters["event_log_bytes"] = memory_usage(store.prefix() + "ev") / queued;
  state.counters["job_record_bytes"] = memory_usage(store.prefix() + "j:" + last);
  state.counters["workflow_key_bytes"] = memory_usage(store.prefix() + "wf:" + last);
  state.SetItemsProcessed(static_cast<std::int64_t>(queued));
}

}  // namespace

BENCHMARK_CAPTURE(queued_job_memory, empty_workflow, comfyq_bench::no_op_workflow)
    ->Arg(queued_jobs)->ArgName("jobs")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(queued_job_memory, txt2img, comfyq_bench::txt2img_workflow)
    ->Arg(queued_jobs)->ArgName("jobs")->Unit(benchmark::kMillisecond)->UseRealTime();
