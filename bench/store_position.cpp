// Where a job stands, asked of the memory store: 100,000 jobs queued over 1,000 tenants
// (support/position_queue.hpp). What a server that shows every participant their place pays
// per question. Each iteration is one question, timed alone (steady_clock); the clock of the
// store moves 1 ms per question.
//
//   position/between_changes       position() of a job picked at random, nothing changing in
//                                  between: the replay kept since the last change answers, taken
//                                  further when a job deeper than any asked before comes up
//   position/after_change          a change (untimed), then position() of a job picked at
//                                  random: the first question after a change replays up to it
//   position/within/N              the same for a job among the first N in line (1,000: about
//                                  every tenant's next job)
//   first_100/after_change         forecast(0, 100) after a change
//   whole_forecast/after_change    forecast() of every job after a change: what each position()
//                                  cost before a replay was kept (it ran this, then searched)
//
// Counters: p50_us, p99_us, max_us of the questions, in microseconds; position the mean
// position of the jobs asked about.
//
//   build-release/bench/bench_store_position --benchmark_min_time=2

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "comfyq/store/memory.hpp"
#include "support/percentile.hpp"
#include "support/position_queue.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using comfyq_bench::position_queue;

// The queue, built once for every benchmark of the program (each keeps its length).
struct memory_queue {
  comfyq::time_point now{std::chrono::milliseconds{1'700'000'000'000}};
  comfyq::store::memory store{{.scheduler = comfyq_bench::position_config(), .clock = [this] { return now; }}};
  position_queue queue{store, now};
  memory_queue() { queue.fill(); }
};

memory_queue& shared_queue() {
  static memory_queue q;
  return q;
}

// Which job the n-th question is about: spread over the whole queue.
std::size_t pick(std::size_t n) { return n * 48'271 + 11; }

struct questions {
  std::vector<double> micros;
  double positions = 0;

  template <class Ask>
  void time(benchmark::State& state, Ask&& ask) {
    const clock_type::time_point start = clock_type::now();
    const std::size_t position = ask();
    const double spent = std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
    state.SetIterationTime(spent / 1e6);
    micros.push_back(spent);
    positions += static_cast<double>(position);
  }

  void report(benchmark::State& state) {
    state.counters["p50_us"] = comfyq_bench::percentile(micros, 0.50);
    state.counters["p99_us"] = comfyq_bench::percentile(micros, 0.99);
    state.counters["max_us"] = *std::max_element(micros.begin(), micros.end());
    state.counters["position"] = positions / static_cast<double>(micros.size());
  }
};

std::size_t where(const std::optional<comfyq::queue_position>& p) { return p ? p->position : 0; }

void position_between_changes(benchmark::State& state) {
  memory_queue& q = shared_queue();
  q.queue.change();
  questions asked;
  std::size_t n = 0;
  for (auto _ : state) {
    q.now += std::chrono::milliseconds(1);
    const std::string& job = q.queue.some_job(pick(++n));
    asked.time(state, [&] { return where(q.store.position(job)); });
  }
  asked.report(state);
}

void position_after_change(benchmark::State& state) {
  memory_queue& q = shared_queue();
  questions asked;
  std::size_t n = 0;
  for (auto _ : state) {
    q.queue.change();
    q.now += std::chrono::milliseconds(1);
    const std::string& job = q.queue.some_job(pick(++n));
    asked.time(state, [&] { return where(q.store.position(job)); });
  }
  asked.report(state);
}

void position_within_after_change(benchmark::State& state) {
  memory_queue& q = shared_queue();
  const auto depth = static_cast<std::size_t>(state.range(0));
  questions asked;
  std::size_t n = 0;
  for (auto _ : state) {
    const std::vector<comfyq::queue_position> front = q.store.forecast(0, depth);  // untimed: which jobs are in front
    const std::string job = front[pick(++n) % front.size()].job;
    q.queue.change();
    q.now += std::chrono::milliseconds(1);
    asked.time(state, [&] { return where(q.store.position(job)); });
  }
  asked.report(state);
}

void first_100_after_change(benchmark::State& state) {
  memory_queue& q = shared_queue();
  questions asked;
  for (auto _ : state) {
    q.queue.change();
    q.now += std::chrono::milliseconds(1);
    asked.time(state, [&] { return q.store.forecast(0, 100).size(); });
  }
  asked.report(state);
}

void whole_forecast_after_change(benchmark::State& state) {
  memory_queue& q = shared_queue();
  questions asked;
  for (auto _ : state) {
    q.queue.change();
    q.now += std::chrono::milliseconds(1);
    asked.time(state, [&] { return q.store.forecast(0).size(); });
  }
  asked.report(state);
}

}  // namespace

BENCHMARK(position_between_changes)->Name("position/between_changes")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(position_after_change)->Name("position/after_change")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(position_within_after_change)->Name("position/within")->Arg(100)->Arg(1'000)->Arg(10'000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(first_100_after_change)->Name("first_100/after_change")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(whole_forecast_after_change)->Name("whole_forecast/after_change")->UseManualTime()->Unit(benchmark::kMicrosecond);
