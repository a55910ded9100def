// Where a job stands, asked of the Redis store: 100,000 jobs queued over 1,000 tenants
// (support/position_queue.hpp) on a private redis-server. What a server that shows every
// participant their place costs its own process and, above all, Redis, which every worker
// waits on. Each iteration is one question. Every command is logged to SLOWLOG during a run
// (slowlog-log-slower-than 0), which gives the time Redis spent on each one, as INFO
// commandstats' usec but per call: a script's own time, its commands included.
//
//   position/between_changes     position() of a job picked at random, nothing changing in
//                                between: one script finds that nothing was logged since
//   position/after_change        a change (untimed: complete_and_lease, a submission), then
//                                position() of a job picked at random: one script reads what the
//                                change's events name; the process replays up to the job
//   position/within/N            the same for a job among the first N in line (1,000: about
//                                every tenant's next job)
//   first_100/after_change       forecast(0, 100) after a change
//   copy_made_afresh             a second store object's first question, as a new process's:
//                                it reads the whole queue, in pages
//   previous/forecast_state      the script position() and forecast() ran before, once per
//                                question: every queued job read in one script (its reply
//                                only; the process then decoded it and replayed every job)
//
// Counters: p50_us, p99_us, max_us of the questions (wall, steady_clock, the call alone);
// redis_p50_us, redis_p99_us, redis_max_us: Redis's time for the commands and scripts of a
// question (the forecast's, not the change's); scripts: commands and scripts per question.
// copy_made_afresh reports redis_us (all of it), command_p99_us and longest_us (of single
// commands or scripts) and scripts instead.
//
//   build-release/bench/bench_redis_store_position --benchmark_min_time=2

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/redis/scripts/all.hpp"
#include "comfyq/redis/store.hpp"
#include "support/percentile.hpp"
#include "support/position_queue.hpp"
#include "support/redis_info.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using comfyq_bench::admin_connection;
using comfyq_bench::position_queue;
namespace scripts = comfyq::redis::scripts;

// What position() read before: the whole queue in one script (as it was until the store kept a
// copy of the queue), kept here to measure against.
constexpr std::string_view previous_forecast_state_body = R"lua(
local v = redis.call('HMGET', Q, 'turns', 'tok')
local tenants, queued, running = {}, {}, {}
local function shape_of(id) return load_job(id).sh end
for _, id in ipairs(redis.call('SMEMBERS', P .. 'tenants')) do
  local t = read_tenant(id)
  tenants[#tenants + 1] = {id, fmt(t.w), fmt(t.mr), t.pz and '1' or '0', fmt(t.sc), fmt(t.inf), fmt(t.turn), fmt(t.run)}
  local jobs = redis.call('ZRANGE', P .. 'tq:' .. id, '0', '-1', 'WITHSCORES')
  for i = 1, #jobs, 2 do queued[#queued + 1] = {jobs[i], id, jobs[i + 1], 0, shape_of(jobs[i])} end
end
local lane = redis.call('ZRANGE', P .. 'pq', '0', '-1', 'WITHSCORES')
for i = 1, #lane, 2 do
  local tenant, id = string.match(lane[i], '^([^:]*):(.*)$')
  queued[#queued + 1] = {id, tenant, lane[i + 1], 1, shape_of(id)}
end
for _, member in ipairs(redis.call('ZRANGE', P .. 'leases', '0', '-1')) do
  local j = load_job(id_in(member, 18))
  running[#running + 1] = {j.t, j.sh, fmt(j.chg), fmt(j.st), fmt(j.tok)}
end
local live = redis.call('ZCOUNT', P .. 'workers', '(' .. (now - S.wttl), '+inf')
local averages = {}
local est = redis.call('HGETALL', P .. 'est')
for i = 1, #est, 2 do
  if est[i] ~= HASH_TABLE_FIELD then
    averages[#averages + 1] = est[i]
    averages[#averages + 1] = est[i + 1]
  end
end
return {now, S.policy, S.paused and 1 or 0, v[1] or '0', v[2] or '0', live, tenants, queued, running, averages}
)lua";
const comfyq::redis::script previous_forecast_state{"previous_forecast_state",
                                                    scripts::query<previous_forecast_state_body>};

// The queue on the private Redis, built once for every benchmark of the program (each keeps
// its length).
struct redis_queue {
  comfyq::time_point now{std::chrono::milliseconds{1'700'000'000'000}};
  comfyq::redis::store store = make_store();
  position_queue queue{store, now};

  redis_queue() { queue.fill(); }

  comfyq::redis::store make_store(bool fresh = true) {
    if (fresh) comfyq_bench::flush_redis();
    return comfyq::redis::store(comfyq_bench::private_redis().connection_options(),
                                {.queue = "bench", .scheduler = comfyq_bench::position_config(), .clock = [this] { return now; }});
  }
};

redis_queue& shared_queue() {
  static redis_queue q;
  return q;
}

std::size_t pick(std::size_t n) { return n * 48'271 + 11; }

// Every command and script Redis runs is logged with its own time while one of these lives.
class command_log {
 public:
  command_log() {
    comfyq::redis::connection& admin = admin_connection();
    admin.command({"CONFIG", "SET", "slowlog-max-len", "1000000"}).expect_ok();
    admin.command({"CONFIG", "SET", "slowlog-log-slower-than", "0"}).expect_ok();
    admin.command({"SLOWLOG", "RESET"}).expect_ok();
  }
  command_log(const command_log&) = delete;
  command_log& operator=(const command_log&) = delete;
  ~command_log() { admin_connection().command({"CONFIG", "SET", "slowlog-log-slower-than", "-1"}); }

  /// Microseconds of each command or script a client sent since the last take() that `counts`,
  /// oldest first. (The log has the commands scripts ran too, from client "?:0": their time is
  /// part of their script's.)
  template <class Counts>
  std::vector<double> take(Counts&& counts) {
    comfyq::redis::connection& admin = admin_connection();
    const comfyq::redis::reply log = admin.command({"SLOWLOG", "GET", "-1"});
    admin.command({"SLOWLOG", "RESET"}).expect_ok();
    std::vector<double> spent;
    for (std::size_t i = log.size(); i-- > 0;) {  // the log is newest first
      const comfyq::redis::reply_view entry = log.at(i);
      if (entry.at(4).string() != "?:0" && counts(entry.at(3))) spent.push_back(static_cast<double>(entry.at(2).integer()));
    }
    return spent;
  }
};

// Whether a logged command is one a question runs (not a change's script, not the log's own).
bool asked(comfyq::redis::reply_view arguments) {
  const std::string_view command = arguments.at(0).string();
  if (command == "FCALL") {
    const std::string_view name = arguments.at(1).string();
    return name == scripts::sync_forecast.registered_name() || name == scripts::read_forecast_lanes.registered_name();
  }
  if (command == "EVALSHA") return arguments.at(1).string() == previous_forecast_state.sha1();
  for (std::string_view read : {"MGET", "HMGET", "HSCAN", "SMEMBERS", "XINFO", "XREVRANGE"}) {
    if (command == read) return true;
  }
  return false;
}

struct questions {
  std::vector<double> micros;
  std::vector<double> redis_micros;
  double scripts = 0;

  template <class Ask>
  void time(benchmark::State& state, command_log& log, Ask&& ask) {
    log.take([](comfyq::redis::reply_view) { return false; });  // the change's, not the question's
    const clock_type::time_point start = clock_type::now();
    ask();
    const double spent = std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
    state.SetIterationTime(spent / 1e6);
    micros.push_back(spent);
    const std::vector<double> redis = log.take(asked);
    redis_micros.push_back(std::accumulate(redis.begin(), redis.end(), 0.0));
    scripts += static_cast<double>(redis.size());
  }

  void report(benchmark::State& state) {
    state.counters["p50_us"] = comfyq_bench::percentile(micros, 0.50);
    state.counters["p99_us"] = comfyq_bench::percentile(micros, 0.99);
    state.counters["max_us"] = *std::max_element(micros.begin(), micros.end());
    state.counters["redis_p50_us"] = comfyq_bench::percentile(redis_micros, 0.50);
    state.counters["redis_p99_us"] = comfyq_bench::percentile(redis_micros, 0.99);
    state.counters["redis_max_us"] = *std::max_element(redis_micros.begin(), redis_micros.end());
    state.counters["scripts"] = scripts / static_cast<double>(micros.size());
  }
};

void position_between_changes(benchmark::State& state) {
  redis_queue& q = shared_queue();
  q.queue.change();
  q.store.position(q.queue.some_job(0));  // the copy is up to date, the replay kept
  command_log log;
  questions asked_now;
  std::size_t n = 0;
  for (auto _ : state) {
    q.now += std::chrono::milliseconds(1);
    const std::string& job = q.queue.some_job(pick(++n));
    asked_now.time(state, log, [&] { q.store.position(job); });
  }
  asked_now.report(state);
}

void position_after_change(benchmark::State& state) {
  redis_queue& q = shared_queue();
  command_log log;
  questions asked_now;
  std::size_t n = 0;
  for (auto _ : state) {
    q.queue.change();
    q.now += std::chrono::milliseconds(1);
    const std::string& job = q.queue.some_job(pick(++n));
    asked_now.time(state, log, [&] { q.store.position(job); });
  }
  asked_now.report(state);
}

void position_within_after_change(benchmark::State& state) {
  redis_queue& q = shared_queue();
  const auto depth = static_cast<std::size_t>(state.range(0));
  command_log log;
  questions asked_now;
  std::size_t n = 0;
  for (auto _ : state) {
    const std::vector<comfyq::queue_position> front = q.store.forecast(0, depth);  // untimed: which jobs are in front
    const std::string job = front[pick(++n) % front.size()].job;
    q.queue.change();
    q.now += std::chrono::milliseconds(1);
    asked_now.time(state, log, [&] { q.store.position(job); });
  }
  asked_now.report(state);
}

void first_100_after_change(benchmark::State& state) {
  redis_queue& q = shared_queue();
  command_log log;
  questions asked_now;
  for (auto _ : state) {
    q.queue.change();
    q.now += std::chrono::milliseconds(1);
    asked_now.time(state, log, [&] { q.store.forecast(0, 100); });
  }
  asked_now.report(state);
}

void copy_made_afresh(benchmark::State& state) {
  redis_queue& q = shared_queue();
  command_log log;
  std::vector<double> all;
  for (auto _ : state) {
    comfyq::redis::store another = q.make_store(false);
    log.take([](comfyq::redis::reply_view) { return false; });
    const clock_type::time_point start = clock_type::now();
    another.position(q.queue.some_job(1));
    state.SetIterationTime(std::chrono::duration<double>(clock_type::now() - start).count());
    const std::vector<double> redis = log.take(asked);
    all.insert(all.end(), redis.begin(), redis.end());
  }
  state.counters["redis_us"] = std::accumulate(all.begin(), all.end(), 0.0) / static_cast<double>(state.iterations());
  state.counters["command_p99_us"] = comfyq_bench::percentile(all, 0.99);
  state.counters["longest_us"] = *std::max_element(all.begin(), all.end());
  state.counters["scripts"] = static_cast<double>(all.size()) / static_cast<double>(state.iterations());
}

void previous_forecast_state_script(benchmark::State& state) {
  redis_queue& q = shared_queue();
  const std::string queue_key = q.store.prefix() + "q";
  command_log log;
  questions asked_now;
  for (auto _ : state) {
    asked_now.time(state, log, [&] { admin_connection().eval(previous_forecast_state, {queue_key}, {""}); });
  }
  asked_now.report(state);
}

}  // namespace

BENCHMARK(position_between_changes)->Name("position/between_changes")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(position_after_change)->Name("position/after_change")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(position_within_after_change)->Name("position/within")->Arg(100)->Arg(1'000)->Arg(10'000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(first_100_after_change)->Name("first_100/after_change")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(copy_made_afresh)->Name("copy_made_afresh")->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(previous_forecast_state_script)->Name("previous/forecast_state")->UseManualTime()->Unit(benchmark::kMillisecond);
