// Full job lifecycles per second on one thread: submit + lease + complete, with a standing
// queue of 100,000 jobs over 1,000 tenants, for each policy.
//
// Setup (untimed): 100,000 jobs queued round-robin over 1,000 tenants, then 10,000 lifecycles
// so that the history (history_limit, default 10,000) is full and every completion also
// forgets the oldest finished job, as in a long-running queue. Each timed iteration submits
// one job (tenants in turn), leases one and completes it one millisecond later, so the queue
// stays at 100,000. The `txt2img` cases carry a realistic 1 KB API-format workflow (copied into
// the request, moved into the job, copied into the lease); the `empty_workflow` cases isolate
// the scheduling work. items_per_second is lifecycles per second.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string_view>

#include "comfyq/scheduler.hpp"
#include "support/standing_queue.hpp"

namespace {

constexpr std::size_t standing_jobs = 100'000;

// Stable Diffusion txt2img as ComfyUI's frontend submits it (API format, 1,040 bytes).
constexpr std::string_view txt2img_workflow =
    R"({"3":{"class_type":"KSampler","inputs":{"seed":156680208700286,"steps":20,"cfg":8,)"
    R"("sampler_name":"euler","scheduler":"normal","denoise":1,"model":["4",0],"positive":["6",0],)"
    R"("negative":["7",0],"latent_image":["5",0]}},"4":{"class_type":"CheckpointLoaderSimple",)"
    R"("inputs":{"ckpt_name":"v1-5-pruned-emaonly.safetensors"}},"5":{"class_type":"EmptyLatentImage",)"
    R"("inputs":{"width":512,"height":512,"batch_size":1}},"6":{"class_type":"CLIPTextEncode",)"
    R"("inputs":{"text":"beautiful scenery nature glass bottle landscape, purple galaxy bottle,",)"
    R"("clip":["4",1]}},"7":{"class_type":"CLIPTextEncode","inputs":{"text":"text, watermark",)"
    R"("clip":["4",1]}},"8":{"class_type":"VAEDecode","inputs":{"samples":["3",0],"vae":["4",2]}},)"
    R"("9":{"class_type":"SaveImage","inputs":{"filename_prefix":"ComfyUI","images":["8",0]}},)"
    R"("10":{"class_type":"PreviewImage","inputs":{"images":["8",0]}},"11":{"class_type":"Note",)"
    R"("inputs":{"text":"Workshop exercise 2: change the prompt, keep the seed, compare the results."}},)"
    R"("_meta":{"title":"txt2img","comment":"padding to a typical small workflow size"}})";

void lifecycle(benchmark::State& state, comfyq::policy policy, std::string_view workflow) {
  comfyq_bench::standing_queue q(policy, standing_jobs, false, workflow);
  for (auto _ : state) q.cycle();
  q.report(state);
}

}  // namespace

BENCHMARK_CAPTURE(lifecycle, fifo/empty_workflow, comfyq::policy::fifo, std::string_view{});
BENCHMARK_CAPTURE(lifecycle, round_robin/empty_workflow, comfyq::policy::round_robin, std::string_view{});
BENCHMARK_CAPTURE(lifecycle, fair_share/empty_workflow, comfyq::policy::fair_share, std::string_view{});
BENCHMARK_CAPTURE(lifecycle, fifo/txt2img, comfyq::policy::fifo, txt2img_workflow);
BENCHMARK_CAPTURE(lifecycle, round_robin/txt2img, comfyq::policy::round_robin, txt2img_workflow);
BENCHMARK_CAPTURE(lifecycle, fair_share/txt2img, comfyq::policy::fair_share, txt2img_workflow);
