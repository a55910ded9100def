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

}  // namespace comfyq::testing::contract
