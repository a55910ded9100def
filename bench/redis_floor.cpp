// What no Redis store can beat on this machine and this Redis: the fewest commands a fair-share
// job lifecycle needs, in scripts with almost no Lua around them, driven the way the store's
// own benchmarks drive the store. The store's aims are stated against BullMQ and in absolute
// microseconds; these floors say how much of them any store could reach here.
//
// The scripts keep only: the job's record (one field, written at each step), its workflow, the
// tenant's queue and clock, the eligible tenants by clock, the leases by expiry, the history
// (1,000 kept, the oldest job deleted) and an event per state change in a stream (1,000 kept).
// The store keeps much more, which its users need and these leave out: settings, estimates,
// per-state counts, caps and pauses, fencing tokens, workers' presence, the priority lane,
// MessagePack records. So the store's numbers can only be worse.
//
//   minimal_lifecycle/threads:N  as redis_store_throughput: 50 jobs in flight over N client
//                                threads (one connection each, no pipelining), 100 tenants; per
//                                job one submit script (7 commands) and one complete-and-lease
//                                script (17 commands), warmed up until history and stream are full
//   minimal_hand_off             as redis_store_lease_latency: from a submission to the worker
//                                blocked in BLPOP holding the job; the submission's script (11
//                                commands) leases the job to the waiting worker and puts it in the
//                                worker's mailbox
//   bare_hand_off                the same with a bare RPUSH onto the worker's mailbox, no script:
//                                what any queue on Redis pays to reach a waiting worker
//
// Counters as in redis_store_throughput (items_per_second, redis_cpu_us, redis_exec_us,
// round_trips) and redis_store_lease_latency (p50_us, p90_us, p99_us).

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/script.hpp"
#include "support/busy_queue.hpp"
#include "support/percentile.hpp"
#include "support/redis_info.hpp"
#include "support/tenant_ids.hpp"

namespace {

using namespace std::chrono_literals;
using comfyq_bench::redis_info;
using comfyq_bench::redis_work;

// ARGV: tenant, workflow. Returns the job's id.
inline const comfyq::redis::script minimal_submit{"minimal_submit", R"lua(
local P = 'floor:{q}:'
local tenant = ARGV[1]
local id = redis.call('HINCRBY', P .. 'meta', 'seq', '1')
redis.call('HSET', P .. 'j:' .. id, 'd', tenant .. '|queued')
redis.call('SET', P .. 'wf:' .. id, ARGV[2])
redis.call('RPUSH', P .. 'tq:' .. tenant, id)
redis.call('ZADD', P .. 'elig', 'NX', redis.call('HGET', P .. 'clk', tenant) or '0', tenant)
redis.call('XADD', P .. 'ev', 'MAXLEN', '~', '1000', '*', 'e', 'submitted', 'j', id)
return id
)lua"};

// ARGV: the id of the job to complete ('' for none). Leases the job of the tenant with the
// smallest clock, charging it one unit; returns {id, workflow}, or nil when nothing is queued.
inline const comfyq::redis::script minimal_complete_and_lease{"minimal_complete_and_lease", R"lua(
local P = 'floor:{q}:'
local time = redis.call('TIME')
local now = time[1] .. string.sub('00000' .. time[2], -6, -4)
local done = ARGV[1]
if done ~= '' then
  local tenant = string.match(redis.call('HGET', P .. 'j:' .. done, 'd'), '^[^|]*')
  redis.call('ZREM', P .. 'leases', done)
  redis.call('HSET', P .. 'j:' .. done, 'd', tenant .. '|succeeded')
  redis.call('XADD', P .. 'ev', 'MAXLEN', '~', '1000', '*', 'e', 'succeeded', 'j', done)
  if redis.call('LPUSH', P .. 'hist', done) > 1000 then
    local forgotten = redis.call('RPOP', P .. 'hist')
    redis.call('DEL', P .. 'j:' .. forgotten, P .. 'wf:' .. forgotten)
  end
end
local tenant = redis.call('ZRANGE', P .. 'elig', '0', '0')[1]
if not tenant then return nil end
local id = redis.call('LPOP', P .. 'tq:' .. tenant)
local clock = redis.call('HINCRBY', P .. 'clk', tenant, '1')
if redis.call('LLEN', P .. 'tq:' .. tenant) == 0 then
  redis.call('ZREM', P .. 'elig', tenant)
else
  redis.call('ZADD', P .. 'elig', clock, tenant)
end
redis.call('HSET', P .. 'j:' .. id, 'd', tenant .. '|running')
redis.call('ZADD', P .. 'leases', now + 60000, id)
redis.call('XADD', P .. 'ev', 'MAXLEN', '~', '1000', '*', 'e', 'leased', 'j', id)
return {id, redis.call('GET', P .. 'wf:' .. id)}
)lua"};

// ARGV: tenant, workflow. Submits a job and, if a worker waits, leases it to that worker and
// puts "<id> <workflow>" in its mailbox.
inline const comfyq::redis::script minimal_submit_hand_off{"minimal_submit_hand_off", R"lua(
local P = 'floor:{q}:'
local tenant = ARGV[1]
local time = redis.call('TIME')
local now = time[1] .. string.sub('00000' .. time[2], -6, -4)
local id = redis.call('HINCRBY', P .. 'meta', 'seq', '1')
redis.call('SET', P .. 'wf:' .. id, ARGV[2])
redis.call('XADD', P .. 'ev', 'MAXLEN', '~', '1000', '*', 'e', 'submitted', 'j', id)
local worker = redis.call('ZRANGE', P .. 'waiting', '0', '0')[1]
if not worker then
  redis.call('HSET', P .. 'j:' .. id, 'd', tenant .. '|queued')
  redis.call('RPUSH', P .. 'tq:' .. tenant, id)
  redis.call('ZADD', P .. 'elig', 'NX', redis.call('HGET', P .. 'clk', tenant) or '0', tenant)
  return id
end
redis.call('ZREM', P .. 'waiting', worker)
redis.call('HINCRBY', P .. 'clk', tenant, '1')
redis.call('HSET', P .. 'j:' .. id, 'd', tenant .. '|running')
redis.call('ZADD', P .. 'leases', now + 60000, id)
redis.call('XADD', P .. 'ev', 'MAXLEN', '~', '1000', '*', 'e', 'leased', 'j', id)
redis.call('RPUSH', P .. 'mb:' .. worker, id .. ' ' .. ARGV[2])
return id
)lua"};

// Workers holding jobs, run from one thread over its own connection: for each worker in turn,
// submit a job, then complete the worker's job and lease its next one.
class minimal_workers {
 public:
  minimal_workers(const std::vector<std::string>& tenants, std::size_t first_tenant, std::size_t workers)
      : redis_(comfyq_bench::private_redis().connection_options()), tenants_(tenants), next_tenant_(first_tenant) {
    for (std::size_t i = 0; i < workers; ++i) jobs_.push_back(lease(""));
  }

  void cycle() {
    redis_.eval(minimal_submit, {}, {tenants_[next_tenant_], comfyq_bench::no_op_workflow});
    next_tenant_ = (next_tenant_ + 1) % tenants_.size();
    jobs_[next_worker_] = lease(jobs_[next_worker_]);
    next_worker_ = (next_worker_ + 1) % jobs_.size();
  }

 private:
  std::string lease(std::string_view completed) {
    comfyq::redis::reply next = redis_.eval(minimal_complete_and_lease, {}, {completed});
    if (next.is_nil()) throw std::runtime_error("minimal_complete_and_lease found nothing queued");
    return std::string(next.at(0).string());
  }

  comfyq::redis::connection redis_;
  const std::vector<std::string>& tenants_;
  std::size_t next_tenant_;
  std::size_t next_worker_ = 0;
  std::vector<std::string> jobs_;
};

// The backlog of the busy queue (one job per tenant beyond those in flight), then the workers,
// warmed up; made by thread 0 before the threads start their loops together.
struct minimal_run {
  std::vector<std::string> tenants = comfyq_bench::make_tenant_ids(comfyq_bench::busy_tenants);
  std::vector<minimal_workers> threads;
  std::optional<redis_info> before;

  explicit minimal_run(std::size_t thread_count) {
    comfyq_bench::flush_redis();
    comfyq::redis::connection& redis = comfyq_bench::admin_connection();
    for (std::size_t i = 0; i < tenants.size() + comfyq_bench::busy_in_flight; ++i) {
      redis.eval(minimal_submit, {}, {tenants[i % tenants.size()], comfyq_bench::no_op_workflow});
    }
    const std::size_t per_thread = comfyq_bench::busy_in_flight / thread_count;
    threads.reserve(thread_count);
    for (std::size_t t = 0; t < thread_count; ++t) threads.emplace_back(tenants, t * tenants.size() / thread_count, per_thread);
    for (std::size_t i = 0; i < comfyq_bench::busy_warm_up_jobs; ++i) threads[i % thread_count].cycle();
    before = redis_info::now();
  }
};

void minimal_lifecycle(benchmark::State& state) {
  static std::unique_ptr<minimal_run> run;
  const auto threads = static_cast<std::size_t>(state.threads());
  const auto me = static_cast<std::size_t>(state.thread_index());
  if (me == 0) run = std::make_unique<minimal_run>(threads);
  for (auto _ : state) run->threads[me].cycle();
  state.SetItemsProcessed(state.iterations());
  if (me != 0) return;

  const redis_info after = redis_info::now();
  const redis_work work{*run->before, after, static_cast<double>(state.iterations()) * static_cast<double>(threads)};
  state.counters["redis_cpu_us"] = work.cpu_us();
  state.counters["redis_exec_us"] = work.exec_us("evalsha");
  state.counters["round_trips"] = work.round_trips();
  run.reset();
}

using clock_type = std::chrono::steady_clock;

// Registers as waiting, blocks in BLPOP on its mailbox and notes when a job arrives, until stopped.
struct minimal_waiting_worker {
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> received_at{0};  ///< clock ticks when a job last arrived; 0 once reset
  std::jthread thread{[this] { run(); }};   // last: starts once the members above exist

  void run() {
    comfyq::redis::connection redis(comfyq_bench::private_redis().connection_options());
    while (!stopping) {
      redis.command({"ZADD", "floor:{q}:waiting", "1", "worker"});
      comfyq::redis::reply job = redis.command_with_timeout({"BLPOP", "floor:{q}:mb:worker", "1"}, 1s);
      if (job.is_nil()) continue;
      received_at = clock_type::now().time_since_epoch().count();
      received_at.notify_one();
    }
  }
};

// Times hand-offs to a waiting worker: `submit(n)` hands it the n-th job.
template <class Submit>
void time_hand_offs(benchmark::State& state, Submit submit) {
  minimal_waiting_worker worker;
  std::vector<double> latencies;
  std::size_t submitted = 0;
  for (auto _ : state) {
    comfyq_bench::wait_until_blocked();
    worker.received_at = 0;
    const clock_type::time_point start = clock_type::now();
    submit(submitted++);
    worker.received_at.wait(0);
    const clock_type::duration latency = clock_type::duration(worker.received_at.load()) - start.time_since_epoch();
    state.SetIterationTime(std::chrono::duration<double>(latency).count());
    latencies.push_back(std::chrono::duration<double, std::micro>(latency).count());
  }
  worker.stopping = true;  // it sees it when its BLPOP times out, within a second

  state.counters["p50_us"] = comfyq_bench::percentile(latencies, 0.50);
  state.counters["p90_us"] = comfyq_bench::percentile(latencies, 0.90);
  state.counters["p99_us"] = comfyq_bench::percentile(latencies, 0.99);
}

void minimal_hand_off(benchmark::State& state) {
  comfyq_bench::flush_redis();
  const std::vector<std::string> tenants = comfyq_bench::make_tenant_ids(comfyq_bench::busy_tenants);
  comfyq::redis::connection redis(comfyq_bench::private_redis().connection_options());
  time_hand_offs(state, [&](std::size_t n) {
    redis.eval(minimal_submit_hand_off, {}, {tenants[n % tenants.size()], comfyq_bench::no_op_workflow});
  });
}

// What any queue on Redis pays at least to reach a waiting worker: an RPUSH onto the list it
// blocks on in BLPOP, no script.
void bare_hand_off(benchmark::State& state) {
  comfyq_bench::flush_redis();
  comfyq::redis::connection redis(comfyq_bench::private_redis().connection_options());
  time_hand_offs(state, [&](std::size_t) { redis.command({"RPUSH", "floor:{q}:mb:worker", comfyq_bench::no_op_workflow}); });
}

}  // namespace

// The thread counts divide the 50 workers evenly.
BENCHMARK(minimal_lifecycle)->Threads(1)->Threads(10)->Threads(50)->UseRealTime();
BENCHMARK(minimal_hand_off)->UseManualTime();
BENCHMARK(bare_hand_off)->UseManualTime();
