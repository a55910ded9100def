#pragma once
// A realistic small workflow for the benchmarks that carry one.

#include <string_view>

namespace comfyq_bench {

// Stable Diffusion txt2img as ComfyUI's frontend submits it (API format, 1,040 bytes).
inline constexpr std::string_view txt2img_workflow =
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

}  // namespace comfyq_bench
