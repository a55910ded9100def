#pragma once
// The WebSocket frames ComfyUI sends: {"type", "data"} text frames, and binary frames that
// start with a big-endian uint32 event type (1 preview, 3 progress text, 4 preview with
// metadata). Shapes and key order as recorded in the *.jsonl and *.bin files.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "comfyui_standin/python_text.hpp"

namespace comfyq::testing::standin {

/// Epoch milliseconds, as ComfyUI stamps its messages and create_time.
inline long long epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string text_frame(const std::string& type, const json& data) {
  return python_dumps(json{{"type", type}, {"data", data}});
}

/// {"type":"status"}; `sid` only in the frame a socket gets when it connects.
inline std::string status_frame(std::size_t queue_remaining, const std::optional<std::string>& sid = std::nullopt) {
  json data{{"status", {{"exec_info", {{"queue_remaining", queue_remaining}}}}}};
  if (sid) data["sid"] = *sid;
  return text_frame("status", data);
}

/// What GET /features answers and the reply to a client's feature_flags frame.
inline json server_features() {
  return json{{"supports_preview_metadata", true},
              {"max_upload_size", 104857600},
              {"extension", {{"manager", {{"supports_v4", true}}}}}};
}

namespace frame_detail {

inline void append_u32be(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xFFU);
}

}  // namespace frame_detail

/// Binary type 1 (PREVIEW_IMAGE): u32be 1, u32be format (2 = PNG), image bytes.
inline std::string preview_frame(const std::string& png) {
  std::string out;
  frame_detail::append_u32be(out, 1);
  frame_detail::append_u32be(out, 2);
  return out + png;
}

/// Binary type 4 (PREVIEW_IMAGE_WITH_METADATA): u32be 4, u32be length, metadata JSON, image.
inline std::string preview_with_metadata_frame(const std::string& png, const std::string& node_id,
                                               const std::string& prompt_id) {
  const std::string metadata = python_dumps(json{{"node_id", node_id},
                                                 {"prompt_id", prompt_id},
                                                 {"display_node_id", node_id},
                                                 {"parent_node_id", nullptr},
                                                 {"real_node_id", node_id},
                                                 {"image_type", "image/png"}});
  std::string out;
  frame_detail::append_u32be(out, 4);
  frame_detail::append_u32be(out, static_cast<std::uint32_t>(metadata.size()));
  return out + metadata + png;
}

/// Binary type 3 (TEXT): u32be 3, u32be node id length, node id, text.
inline std::string progress_text_frame(const std::string& node_id, const std::string& text) {
  std::string out;
  frame_detail::append_u32be(out, 3);
  frame_detail::append_u32be(out, static_cast<std::uint32_t>(node_id.size()));
  return out + node_id + text;
}

}  // namespace comfyq::testing::standin
