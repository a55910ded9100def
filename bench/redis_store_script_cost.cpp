// Redis time per call of each script, on the busy queue of support/busy_queue.hpp: which
// transitions cost what. Every command is logged to SLOWLOG during the run
// (slowlog-log-slower-than 0); of the last 10,000, the calls of each script give the time
// Redis spent executing one call, as INFO commandstats' usec but per script, in microseconds:
// the mean (<script>_us: submit_us, lease_us, complete_us, complete_and_lease_us,
// heartbeat_us) and the median (<script>_p50_us), which a server preempted now and then in
// the middle of a script, on a machine busy with other work, leaves as it is.
//
//   job/separate_calls      submit, lease, complete
//   job/complete_and_lease  submit, then complete a held job and lease the next in one call
//   heartbeat               a heartbeat of one of the 50 leases, in turn
//
// Logging every command costs Redis some time of its own: redis_store_throughput measures
// without it, and so does
//
//   heartbeat_under_load/threads:4  the 50 leases heartbeated from 4 threads at once, each over
//                                   its own connection; heartbeat_us is Redis's own count (INFO
//                                   commandstats, fcall usec per call). Kept busy, Redis spends
//                                   less per call than on calls that come one at a time.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/redis/scripts/all.hpp"
#include "support/busy_queue.hpp"
#include "support/busy_scenarios.hpp"
#include "support/redis_info.hpp"

namespace {

using comfyq_bench::admin_connection;
using comfyq_bench::busy_queue;
namespace scripts = comfyq::redis::scripts;

constexpr std::string_view logged_commands = "10000";

// The function an FCALL in the log ran, by its registered name; complete_job with a worker to
// lease for (its 8th argument) is complete_and_lease. Empty for anything else.
std::string_view script_of(comfyq::redis::reply_view arguments) {
  if (arguments.size() < 2 || arguments.at(0).string() != "FCALL") return {};
  const std::string_view name = arguments.at(1).string();
  if (name == scripts::complete_job.registered_name()) {
    return arguments.size() > 8 && !arguments.at(8).string().empty() ? "complete_and_lease" : "complete";
  }
  for (const comfyq::redis::library_function* f : {&scripts::submit_job, &scripts::lease_job, &scripts::heartbeat_job}) {
    if (name == f->registered_name()) return f->name();
  }
  return {};
}

// Runs `step` once per iteration with every command logged, and reports the mean time per call
// of each script it ran.
template <class Step>
void cost_per_script(benchmark::State& state, Step step) {
  comfyq::redis::connection& admin = admin_connection();
  admin.command({"CONFIG", "SET", "slowlog-max-len", logged_commands}).expect_ok();
  admin.command({"CONFIG", "SET", "slowlog-log-slower-than", "0"}).expect_ok();
  admin.command({"SLOWLOG", "RESET"}).expect_ok();
  for (auto _ : state) step();
  admin.command({"CONFIG", "SET", "slowlog-log-slower-than", "-1"}).expect_ok();

  std::map<std::string_view, std::vector<double>> spent;  // script -> microseconds of each call
  const comfyq::redis::reply log = admin.command({"SLOWLOG", "GET", logged_commands});
  for (comfyq::redis::reply_view entry : log.elements()) {
    const std::string_view script = script_of(entry.at(3));
    if (!script.empty()) spent[script].push_back(static_cast<double>(entry.at(2).integer()));
  }
  admin.command({"SLOWLOG", "RESET"}).expect_ok();
  for (auto& [script, calls] : spent) {
    const auto middle = calls.begin() + static_cast<std::ptrdiff_t>(calls.size() / 2);
    std::nth_element(calls.begin(), middle, calls.end());
    state.counters[std::string(script) + "_us"] = std::accumulate(calls.begin(), calls.end(), 0.0) / static_cast<double>(calls.size());
    state.counters[std::string(script) + "_p50_us"] = *middle;
  }
  state.SetItemsProcessed(state.iterations());
}

template <class Scenario>
void script_cost(benchmark::State& state) {
  busy_queue queue;
  Scenario scenario(queue);
  cost_per_script(state, [&] { scenario.cycle(); });
}

void heartbeat_under_load(benchmark::State& state) {
  static std::unique_ptr<busy_queue> queue;
  static std::optional<comfyq_bench::redis_info> before;
  const auto threads = static_cast<std::size_t>(state.threads());
  const auto me = static_cast<std::size_t>(state.thread_index());
  if (me == 0) {
    queue = std::make_unique<busy_queue>();
    before = comfyq_bench::redis_info::now();
  }
  std::size_t next = me;
  for (auto _ : state) {
    const comfyq::lease& lease = queue->leases[next];
    queue->store.heartbeat(lease.job_id, lease.token);
    next = (next + threads) % queue->leases.size();
  }
  state.SetItemsProcessed(state.iterations());
  if (me != 0) return;
  const comfyq_bench::redis_info after = comfyq_bench::redis_info::now();
  const comfyq_bench::redis_work work{*before, after, after.calls("fcall") - before->calls("fcall")};
  state.counters["heartbeat_us"] = work.exec_us("fcall");
  queue.reset();
}

}  // namespace

BENCHMARK_TEMPLATE(script_cost, comfyq_bench::separate_calls)->Name("job/separate_calls")->UseRealTime();
BENCHMARK_TEMPLATE(script_cost, comfyq_bench::complete_and_lease_calls)->Name("job/complete_and_lease")->UseRealTime();
BENCHMARK_TEMPLATE(script_cost, comfyq_bench::heartbeats)->Name("heartbeat")->UseRealTime();
BENCHMARK(heartbeat_under_load)->Threads(4)->UseRealTime();
