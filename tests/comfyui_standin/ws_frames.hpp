#pragma once
// The stand-in writes WebSocket frames as comfyq does (comfyq/comfyui/ws_frames.hpp), with
// ComfyUI's clock and its feature flags.

#include <chrono>
#include <string>

#include "comfyq/comfyui/ws_frames.hpp"
#include "comfyui_standin/python_text.hpp"

namespace comfyq::testing::standin {

using comfyq::comfyui::preview_with_metadata_frame;
using comfyq::comfyui::progress_text_frame;
using comfyq::comfyui::status_frame;
using comfyq::comfyui::text_frame;

/// Epoch milliseconds, as ComfyUI stamps its messages and create_time.
inline long long epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// What GET /features answers and the reply to a client's feature_flags frame.
inline json server_features() {
  return json{{"supports_preview_metadata", true},
              {"max_upload_size", 104857600},
              {"extension", {{"manager", {{"supports_v4", true}}}}}};
}

/// Binary type 1 (PREVIEW_IMAGE) of a PNG.
inline std::string preview_frame(const std::string& png) { return *comfyq::comfyui::preview_frame(png); }

}  // namespace comfyq::testing::standin
