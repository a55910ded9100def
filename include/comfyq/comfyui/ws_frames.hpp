#pragma once
// The WebSocket frames ComfyUI sends (comfyui-protocol/PROTOCOL.md §4), written as it writes
// them: {"type", "data"} text frames with json.dumps spacing, and binary frames that start with
// a big-endian u32 event type (1 preview, 3 progress text, 4 preview with metadata); the
// reading side is binary_frames.hpp. Shapes and key order as recorded.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "comfyq/comfyui/python_text.hpp"

namespace comfyq::comfyui {

inline std::string text_frame(std::string_view type, const ordered_json& data) {
  return python_dumps(ordered_json{{"type", type}, {"data", data}});
}

/// {"type":"status"}; `sid` only in the frame a socket gets when it connects.
inline std::string status_frame(std::size_t queue_remaining, const std::optional<std::string>& sid = std::nullopt) {
  ordered_json data{{"status", {{"exec_info", {{"queue_remaining", queue_remaining}}}}}};
  if (sid) data["sid"] = *sid;
  return text_frame("status", data);
}

namespace detail {

inline void append_u32be(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xFFU);
}

}  // namespace detail

/// Binary type 1 (PREVIEW_IMAGE): u32be 1, u32be format (1 JPEG, 2 PNG), image bytes; nullopt
/// for an image of another type, which a type 1 frame cannot say.
inline std::optional<std::string> preview_frame(std::string_view image, std::string_view media_type = "image/png") {
  std::uint32_t format = 0;
  if (media_type == "image/jpeg") format = 1;
  if (media_type == "image/png") format = 2;
  if (format == 0) return std::nullopt;
  std::string out;
  detail::append_u32be(out, 1);
  detail::append_u32be(out, format);
  return out.append(image);
}

/// Binary type 4 (PREVIEW_IMAGE_WITH_METADATA): u32be 4, u32be length, metadata JSON, image.
inline std::string preview_with_metadata_frame(std::string_view image, const std::string& node_id,
                                               const std::string& prompt_id,
                                               std::string_view media_type = "image/png") {
  const std::string metadata = python_dumps(ordered_json{{"node_id", node_id},
                                                         {"prompt_id", prompt_id},
                                                         {"display_node_id", node_id},
                                                         {"parent_node_id", nullptr},
                                                         {"real_node_id", node_id},
                                                         {"image_type", media_type}});
  std::string out;
  detail::append_u32be(out, 4);
  detail::append_u32be(out, static_cast<std::uint32_t>(metadata.size()));
  return out.append(metadata).append(image);
}

/// Binary type 3 (TEXT): u32be 3, u32be node id length, node id, text.
inline std::string progress_text_frame(const std::string& node_id, std::string_view text) {
  std::string out;
  detail::append_u32be(out, 3);
  detail::append_u32be(out, static_cast<std::uint32_t>(node_id.size()));
  return out.append(node_id).append(text);
}

}  // namespace comfyq::comfyui
