#pragma once
// The demo backend of `comfyq-server serve --demo`: the ComfyUI imitation comfyq's tests run
// against (tests/comfyui_standin), in this process, slowed down so that a job takes a few
// seconds and shows its progress. It runs the node classes of a recorded ComfyUI 0.8.0 without
// models or pixels: every image is one colour.

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "comfyui_standin/standin.hpp"

namespace comfyq_server {

class demo_backend {
 public:
  static constexpr std::string_view label =
      "DEMO: jobs run on a CPU imitation of ComfyUI (one-colour images, no models), not on a GPU";

  explicit demo_backend(const std::filesystem::path& folder)
      : comfyui_({.output_dir = (folder / "output").string(), .knobs = demo_pace()}) {}

  std::string address() const { return "127.0.0.1:" + std::to_string(comfyui_.port()); }

 private:
  // A sampler's steps over four seconds, every other node a tenth of a second.
  static comfyq::testing::behaviour demo_pace() {
    comfyq::testing::behaviour pace;
    pace.node_delay = std::chrono::milliseconds(100);
    pace.sampler_previews = true;  // shown while a job runs when serve --preview-max-bytes lets them through
    pace.node_delays["KSampler"] = std::chrono::seconds(4);
    pace.node_delays["KSamplerAdvanced"] = std::chrono::seconds(4);
    pace.node_delays["SamplerCustom"] = std::chrono::seconds(4);
    pace.node_delays["SamplerCustomAdvanced"] = std::chrono::seconds(4);
    return pace;
  }

  comfyq::testing::comfyui_standin comfyui_;
};

}  // namespace comfyq_server
