// What the worker adds to a job beyond ComfyUI's own execution, on loopback: lease (Redis),
// stage, tag, open the WebSocket, POST /prompt, follow the frames, GET /history, GET /view of
// its one small output, write it and its manifest to the tenant's folder, complete (Redis).
// ComfyUI is the stand-in with no node delay running EmptyImage 64x64 -> ImageInvert ->
// SaveImage, so nearly all of each iteration is the worker's. Each iteration submits one job
// (untimed) and times worker.step(), which leases, runs and completes it. The aim: p50 < 20 ms.
//
//   Time                  mean per job (manual time)
//   p50_ms p90_ms p99_ms  its percentiles, in milliseconds

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/worker.hpp"
#include "comfyq/redis/store.hpp"
#include "comfyui_standin/standin.hpp"
#include "support/percentile.hpp"
#include "support/redis_info.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

nlohmann::json small_job() {
  return {{"1", {{"class_type", "EmptyImage"}, {"inputs", {{"width", 64}, {"height", 64}, {"batch_size", 1}, {"color", 0}}}}},
          {"2", {{"class_type", "ImageInvert"}, {"inputs", {{"image", {"1", 0}}}}}},
          {"3", {{"class_type", "SaveImage"}, {"inputs", {{"images", {"2", 0}}, {"filename_prefix", "bench"}}}}}};
}

void worker_overhead_per_job(benchmark::State& state) {
  comfyq_bench::flush_redis();
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / ("comfyq-bench-worker-" + std::to_string(::getpid()));
  comfyq::testing::comfyui_standin comfyui({.output_dir = (scratch / "comfyui" / "output").string()});
  comfyq::redis::store queue(comfyq_bench::private_redis().connection_options(), {.queue = "bench-worker"});
  comfyq::comfyui::tenant_directory files(scratch / "tenants");
  comfyq::comfyui::worker worker(queue, comfyq::comfyui::http_client({.host = "127.0.0.1", .port = comfyui.port()}),
                                 files, files, {.id = "bench-worker"});
  const std::string workflow = small_job().dump();
  // Untimed: the first job also brings the worker up (/system_stats, /object_info, registering).
  queue.submit({.tenant = "alice", .workflow = workflow});
  worker.step();
  std::vector<double> samples;
  for (auto _ : state) {
    queue.submit({.tenant = "alice", .workflow = workflow});
    const auto started = clock_type::now();
    if (worker.step() != 1) state.SkipWithError("the worker did not run the job");
    const auto took = clock_type::now() - started;
    state.SetIterationTime(std::chrono::duration<double>(took).count());
    samples.push_back(std::chrono::duration<double, std::milli>(took).count());
  }
  state.counters["p50_ms"] = comfyq_bench::percentile(samples, 0.50);
  state.counters["p90_ms"] = comfyq_bench::percentile(samples, 0.90);
  state.counters["p99_ms"] = comfyq_bench::percentile(samples, 0.99);
  std::filesystem::remove_all(scratch);
}

}  // namespace

BENCHMARK(worker_overhead_per_job)->UseManualTime()->Unit(benchmark::kMillisecond);
