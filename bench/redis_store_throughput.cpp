// End-to-end throughput of the Redis store on loopback: jobs per second through submit, lease
// and complete with no-op work, fair_share over 100 tenants and 50 jobs in flight (the busy
// queue of support/busy_queue.hpp, warmed up). The 50 workers are split over `threads` client
// threads, each talking to Redis over its own connection (the store's pool), one command at a
// time (no pipelining): for each of its workers in turn a thread submits a job, then completes
// the worker's job and leases its next one in the same call. threads:1 is a single connection
// doing everything. batched_submissions is the same with each thread submitting 50 jobs at a
// time with submit_many (a tool that submits many at once), 1.02 round trips per job.
//
//   items_per_second  jobs per second, end to end
//   redis_cpu_us      Redis CPU time per job, user + system (INFO cpu)
//   redis_exec_us     of which executing the store's functions (INFO commandstats, fcall usec)
//   client_cpu_us     this process's CPU time per job, every thread (getrusage)
//   round_trips       per job, as Redis counts them (request reads)
//
// Redis and the client threads share the machine's cores: with few cores, jobs per second is
// bounded by redis_cpu_us + client_cpu_us per job; redis_cpu_us is the number that does not
// depend on the client machine. Run with --benchmark_min_time=2 or more for steady numbers.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include <sys/resource.h>

#include "support/busy_queue.hpp"
#include "support/redis_info.hpp"

namespace {

using comfyq_bench::busy_in_flight;
using comfyq_bench::redis_info;
using comfyq_bench::redis_work;

double process_cpu_us() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

// Made by thread 0 before the threads start their loops together; one worker_loop per thread.
struct shared_run {
  comfyq_bench::busy_queue queue;
  std::vector<comfyq_bench::worker_loop> loops;
  std::optional<redis_info> before;
  double client_cpu_before{};

  shared_run(std::size_t threads, std::size_t batch) {
    const std::size_t per_thread = busy_in_flight / threads;
    for (std::size_t t = 0; t < threads; ++t) {
      loops.emplace_back(queue.store, queue.tenants, t * queue.tenants.size() / threads,
                         queue.take_leases(t * per_thread, (t + 1) * per_thread), batch);
    }
    before = redis_info::now();
    client_cpu_before = process_cpu_us();
  }
};

void run_jobs(benchmark::State& state, std::size_t batch) {
  static std::unique_ptr<shared_run> run;
  const auto threads = static_cast<std::size_t>(state.threads());
  const auto me = static_cast<std::size_t>(state.thread_index());
  if (me == 0) run = std::make_unique<shared_run>(threads, batch);
  for (auto _ : state) run->loops[me].cycle();
  state.SetItemsProcessed(state.iterations());
  if (me != 0) return;

  const double client_cpu = process_cpu_us() - run->client_cpu_before;
  const redis_info after = redis_info::now();
  const double jobs = static_cast<double>(state.iterations()) * static_cast<double>(threads);
  const redis_work work{*run->before, after, jobs};
  state.counters["redis_cpu_us"] = work.cpu_us();
  state.counters["redis_exec_us"] = work.exec_us("fcall");
  state.counters["client_cpu_us"] = client_cpu / jobs;
  state.counters["round_trips"] = work.round_trips();
  run.reset();
}

void end_to_end(benchmark::State& state) { run_jobs(state, 1); }
void batched_submissions(benchmark::State& state) { run_jobs(state, 50); }

}  // namespace

// The thread counts divide the 50 workers evenly.
BENCHMARK(end_to_end)->Threads(1)->Threads(2)->Threads(5)->Threads(10)->Threads(50)->UseRealTime();
BENCHMARK(batched_submissions)->Threads(50)->UseRealTime();
