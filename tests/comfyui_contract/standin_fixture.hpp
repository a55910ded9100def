#pragma once
// A stand-in in a scratch folder of its own (output/, input/, temp/), removed afterwards.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <string>
#include <system_error>

#include "comfyui_contract/recordings.hpp"
#include "comfyui_standin/standin.hpp"
#include "comfyui_standin/test_client.hpp"

namespace comfyq::testing::contract {

class scratch_folder {
 public:
  scratch_folder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "comfyui-standin-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  scratch_folder(const scratch_folder&) = delete;
  scratch_folder& operator=(const scratch_folder&) = delete;
  ~scratch_folder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct standin_fixture {
  explicit standin_fixture(behaviour knobs = {})
      : standin(standin_config{.output_dir = (scratch.path() / "output").string(), .knobs = std::move(knobs)}) {}

  scratch_folder scratch;
  comfyui_standin standin;
};

/// Polls GET /history/{id} until the job has an entry (at most `timeout`); the entry, or
/// null when it never came.
inline json wait_for_history(unsigned short port, const std::string& prompt_id,
                             std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const json history = http_get(port, "/history/" + prompt_id).json();
    if (history.contains(prompt_id)) return history.at(prompt_id);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return json();
}

/// The body of the `index`-th POST /prompt of a transcript.
inline json posted_prompt(const std::vector<json>& transcript, std::size_t index) {
  for (const auto& event : transcript) {
    if (event.value("dir", "") != "http") continue;
    const json& request = event.at("request");
    if (request.at("method") == "POST" && request.at("path").get<std::string>().ends_with("/prompt") && index-- == 0) {
      return request.at("json");
    }
  }
  throw std::runtime_error("the transcript has too few POST /prompt requests");
}

/// The recorded EmptyImage -> ImageInvert -> SaveImage job (job_saveimage_ws_legacy.jsonl),
/// as job `prompt_id` of client `client`.
inline json invert_job(const std::string& client, const std::string& prompt_id) {
  json body = posted_prompt(load_transcript("job_saveimage_ws_legacy.jsonl"), 0);
  body["client_id"] = client;
  body["prompt_id"] = prompt_id;
  return body;
}

/// A text-to-image graph (KSampler is node "3", SaveImage node "9") as job `prompt_id` of
/// client `client`; the checkpoint name is accepted although no model exists.
inline json sampler_job(const std::string& client, const std::string& prompt_id) {
  json prompt = json::parse(R"({
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
    "3": {"class_type": "KSampler", "inputs": {"model": ["4", 0], "seed": 1, "steps": 4, "cfg": 7.0,
          "sampler_name": "euler", "scheduler": "normal", "positive": ["6", 0], "negative": ["7", 0],
          "latent_image": ["5", 0], "denoise": 1.0}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "sampled/out"}}})");
  return json{{"prompt", prompt}, {"client_id", client}, {"prompt_id", prompt_id}};
}

}  // namespace comfyq::testing::contract
