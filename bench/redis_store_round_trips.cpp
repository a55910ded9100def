// Round trips to Redis per job and per heartbeat under load, on the busy queue of
// support/busy_queue.hpp (fair_share, 100 tenants, a standing backlog, 50 leases held), one
// connection. The aim: at most 3 per job for its lifecycle (submit, lease, complete; fewer when
// completing a job leases the next in the same script), 1 per heartbeat.
//
//   job/separate_calls      submit, lease, complete (a 51st worker, so the 50 keep theirs)
//   job/complete_and_lease  submit, then complete a held job and lease the next in one call
//   heartbeat               a heartbeat of one of the 50 leases, in turn
//   floor/no_op_script      not the store: an EVALSHA of `return 1`, what any round trip costs
//
//   store_calls    store calls the benchmark made, per job (heartbeat)
//   round_trips    requests Redis read, per job (INFO stats total_reads_processed, less the
//                  benchmark's own INFO commands)
//   lua_calls      FCALL and EVALSHA commands Redis ran, per job (INFO commandstats)
//   redis_exec_us  Redis time executing them, per job (INFO commandstats)
//   redis_cpu_us   Redis CPU time, user + system, per job (INFO cpu): execution, the event loop
//                  and the socket system calls
//
// A worker waiting for work on an idle queue takes more: see redis_store_lease_latency.

#include <benchmark/benchmark.h>

#include <string_view>

#include "comfyq/redis/script.hpp"
#include "support/busy_queue.hpp"
#include "support/busy_scenarios.hpp"
#include "support/redis_info.hpp"

namespace {

using comfyq_bench::redis_info;

// Runs `cycle` once per iteration and reports what Redis did for it.
template <class Cycle>
void count_round_trips(benchmark::State& state, int store_calls, Cycle cycle) {
  const redis_info before = redis_info::now();
  for (auto _ : state) cycle();
  const redis_info after = redis_info::now();
  const comfyq_bench::redis_work work{before, after, static_cast<double>(state.iterations())};
  state.counters["store_calls"] = store_calls;
  state.counters["round_trips"] = work.round_trips();
  state.counters["lua_calls"] = work.calls("fcall") + work.calls("evalsha");
  state.counters["redis_exec_us"] = work.exec_us("fcall") + work.exec_us("evalsha");
  state.counters["redis_cpu_us"] = work.cpu_us();
  state.SetItemsProcessed(state.iterations());
}

template <class Scenario>
void store_round_trips(benchmark::State& state) {
  comfyq_bench::busy_queue queue;
  Scenario scenario(queue);
  count_round_trips(state, Scenario::store_calls, [&] { scenario.cycle(); });
}

constexpr std::string_view return_one = "return 1";
const comfyq::redis::script no_op{"no_op", return_one};

void no_op_script(benchmark::State& state) {
  comfyq::redis::connection redis(comfyq_bench::private_redis().connection_options());
  redis.eval(no_op, {}, {});  // loads it
  count_round_trips(state, 0, [&] { redis.eval(no_op, {}, {}); });
}

}  // namespace

BENCHMARK_TEMPLATE(store_round_trips, comfyq_bench::separate_calls)->Name("job/separate_calls")->UseRealTime();
BENCHMARK_TEMPLATE(store_round_trips, comfyq_bench::complete_and_lease_calls)
    ->Name("job/complete_and_lease")
    ->UseRealTime();
BENCHMARK_TEMPLATE(store_round_trips, comfyq_bench::heartbeats)->Name("heartbeat")->UseRealTime();
BENCHMARK(no_op_script)->Name("floor/no_op_script")->UseRealTime();
