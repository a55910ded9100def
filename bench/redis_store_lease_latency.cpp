// Latency from a submission to a waiting worker holding the job's lease, on loopback. A worker
// thread waits in wait_for_lease (blocked in BLPOP on its mailbox) on an empty queue
// (fair_share, 100 tenants). Each iteration waits until Redis reports the worker blocked, notes
// the time, submits a job, and the worker notes the time wait_for_lease returns with the lease
// (steady_clock, one process); untimed, the worker then completes the job and waits again.
// The aim: p50 under 150 µs, p99 under 1 ms.
//
//   Time                      mean latency (manual time)
//   p50_us p90_us p99_us max_us  its percentiles, in microseconds
//   submit_us                 the median time submit() took (the submitter's round trip)
//   round_trips, fcall        per job, as in redis_store_round_trips: the submission (which
//                             leases the job to the worker and puts it in its mailbox), the
//                             worker's lease attempt that found nothing and registered it as
//                             waiting, its BLPOP and the completion

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "comfyq/redis/store.hpp"
#include "support/busy_queue.hpp"
#include "support/percentile.hpp"
#include "support/redis_info.hpp"
#include "support/tenant_ids.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using comfyq_bench::redis_info;

std::int64_t ticks(clock_type::time_point t) { return t.time_since_epoch().count(); }
double micros(clock_type::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Waits for work and notes when it holds a lease; stops after a job submitted once `stopping` is set.
struct waiting_worker {
  comfyq::redis::store& store;
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> leased_at{0};  ///< ticks() when it last got a lease; 0 once reset
  std::jthread thread{[this] { run(); }};  // last: starts once the members above exist

  void run() {
    while (!stopping) {
      const std::optional<comfyq::lease> lease = store.wait_for_lease("worker-waiting", 1s);
      if (!lease) continue;
      leased_at = ticks(clock_type::now());
      leased_at.notify_one();
      store.complete(lease->job_id, lease->token, {});
    }
  }
};

void submit_to_waiting_worker(benchmark::State& state) {
  comfyq_bench::flush_redis();
  comfyq::redis::store store(comfyq_bench::private_redis().connection_options(), comfyq_bench::busy_queue_options());
  const std::vector<std::string> tenants = comfyq_bench::make_tenant_ids(comfyq_bench::busy_tenants);
  comfyq_bench::submitter jobs(store, tenants, 0);
  waiting_worker worker{store};
  std::vector<double> latencies;
  std::vector<double> submits;

  comfyq_bench::wait_until_blocked();
  const redis_info before = redis_info::now();
  for (auto _ : state) {
    comfyq_bench::wait_until_blocked();
    worker.leased_at = 0;
    const clock_type::time_point submitted = clock_type::now();
    jobs.submit();
    submits.push_back(micros(clock_type::now() - submitted));
    worker.leased_at.wait(0);
    const clock_type::duration latency = clock_type::duration(worker.leased_at.load() - ticks(submitted));
    state.SetIterationTime(std::chrono::duration<double>(latency).count());
    latencies.push_back(micros(latency));
  }
  const redis_info after = redis_info::now();
  worker.stopping = true;
  jobs.submit();

  const comfyq_bench::redis_work work{before, after, static_cast<double>(state.iterations())};
  state.counters["p50_us"] = comfyq_bench::percentile(latencies, 0.50);
  state.counters["p90_us"] = comfyq_bench::percentile(latencies, 0.90);
  state.counters["p99_us"] = comfyq_bench::percentile(latencies, 0.99);
  state.counters["max_us"] = *std::max_element(latencies.begin(), latencies.end());
  state.counters["submit_us"] = comfyq_bench::percentile(submits, 0.50);
  state.counters["round_trips"] = work.round_trips();
  state.counters["fcall"] = work.calls("fcall");
}

}  // namespace

BENCHMARK(submit_to_waiting_worker)->UseManualTime();
