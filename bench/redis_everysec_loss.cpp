// What appendfsync everysec costs in durability: four clients submit to a Redis store as fast
// as they can, the redis-server is SIGKILLed mid-stream and restarted from its AOF, and the
// submissions it had acknowledged but lost are counted (appendfsync always, the setting
// docs/redis-store.md recommends, loses none: tests/redis_store/durability.cpp checks that).
// One benchmark iteration is one kill.
//
//   build/bench/bench_redis_everysec_loss --benchmark_repetitions=5

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "comfyq/redis/store.hpp"
#include "support/acknowledged_work.hpp"
#include "support/redis_server.hpp"
#include "support/redis_watch.hpp"
#include "support/unique_name.hpp"

namespace {

using comfyq::testing::acknowledged;
using comfyq::testing::redis_server;
using comfyq::testing::redis_server_options;

void everysec_loss_on_sigkill(benchmark::State& state) {
  constexpr int producers = 4;
  double acknowledged_total = 0, lost_total = 0;
  for (auto _ : state) {
    redis_server server({.appendonly = true, .appendfsync = redis_server_options::fsync::everysec});
    const comfyq::redis::store_options options{.queue = comfyq::testing::unique_queue_name("everysec")};
    std::vector<std::unique_ptr<comfyq::redis::store>> queues;
    for (int p = 0; p < producers; ++p) {
      queues.push_back(std::make_unique<comfyq::redis::store>(comfyq::testing::quick_to_give_up(server), options));
    }
    acknowledged told;
    {
      std::vector<std::jthread> clients;
      for (int p = 0; p < producers; ++p) {
        clients.emplace_back(comfyq::testing::submit_until_unavailable, std::ref(*queues[p]), std::ref(told),
                             "p" + std::to_string(p));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // a few fsync periods: the kill lands anywhere in one
      server.kill();
    }
    server.restart();
    comfyq::redis::store queue(server.connection_options(), options);
    std::size_t lost = 0;
    for (const std::string& id : told.submitted) lost += queue.find(id) ? 0 : 1;
    acknowledged_total += static_cast<double>(told.submitted.size());
    lost_total += static_cast<double>(lost);
  }
  state.counters["acknowledged"] = benchmark::Counter(acknowledged_total, benchmark::Counter::kAvgIterations);
  state.counters["lost"] = benchmark::Counter(lost_total, benchmark::Counter::kAvgIterations);
}
BENCHMARK(everysec_loss_on_sigkill)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
