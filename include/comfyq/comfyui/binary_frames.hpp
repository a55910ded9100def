#pragma once
// The binary frames ComfyUI sends on its WebSocket (comfyui-protocol/PROTOCOL.md §4, "Binary
// frames"). Each begins with a big-endian u32 event type:
//   1  preview image:                u32 format (1 JPEG, 2 PNG), image bytes
//   3  progress text:                u32 node id length, node id, text
//   4  preview image with metadata:  u32 JSON length, JSON {node_id, prompt_id, image_type, ...},
//                                    image bytes (sent instead of 1 to clients that asked for it)
// A type 1 frame names no prompt or node: it belongs to whatever runs on that ComfyUI.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/detail/json_text.hpp"
#include "comfyq/errors.hpp"

namespace comfyq::comfyui {

enum class binary_type : std::uint32_t {
  preview_image = 1,
  progress_text = 3,
  preview_image_with_metadata = 4,
};

/// One binary frame. `payload` views the frame's bytes: the image, or the text.
struct binary_frame {
  binary_type type = binary_type::preview_image;
  std::string media_type{};  ///< previews: "image/jpeg", "image/png", or the metadata's image_type
  std::string prompt_id{};   ///< type 4 only; "" otherwise
  std::string node{};        ///< types 3 and 4; "" for type 1
  std::string_view payload{};
};

namespace detail {

inline std::uint32_t read_u32be(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at])) << 24 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
}

// The `length` bytes after the u32 at offset 4; throws when the frame is shorter.
inline std::string_view counted_part(std::string_view frame, std::uint32_t length, const char* field) {
  if (frame.size() - 8 < length) {
    throw comfyui_protocol_error(field, "says " + std::to_string(length) + " bytes, but the frame has only " +
                                            std::to_string(frame.size() - 8) + " after it");
  }
  return frame.substr(8, length);
}

}  // namespace detail

/// Reads one binary frame. Throws comfyui_protocol_error for a frame shorter than its header, an
/// unknown type (2 is ComfyUI-internal and never sent), an unknown image format, a length that
/// runs past the end, or type 4 metadata that is not a JSON object.
inline binary_frame parse_binary_frame(std::string_view frame) {
  if (frame.size() < 8) {
    throw comfyui_protocol_error("ws.binary", "a binary frame of " + std::to_string(frame.size()) +
                                                  " bytes is shorter than its 8-byte header");
  }
  const std::uint32_t type = detail::read_u32be(frame, 0);
  const std::uint32_t word = detail::read_u32be(frame, 4);
  binary_frame f;
  switch (type) {
    case 1:
      if (word != 1 && word != 2) {
        throw comfyui_protocol_error("ws.binary.format",
                                     "is " + std::to_string(word) + "; ComfyUI sends 1 (JPEG) or 2 (PNG)");
      }
      f.type = binary_type::preview_image;
      f.media_type = word == 1 ? "image/jpeg" : "image/png";
      f.payload = frame.substr(8);
      return f;
    case 3: {
      f.type = binary_type::progress_text;
      const std::string_view node = detail::counted_part(frame, word, "ws.binary.node_id_length");
      f.node = std::string(node);
      f.payload = frame.substr(8 + node.size());
      return f;
    }
    case 4: {
      f.type = binary_type::preview_image_with_metadata;
      const std::string_view text = detail::counted_part(frame, word, "ws.binary.metadata_length");
      const nlohmann::json metadata = nlohmann::json::parse(text, nullptr, false);
      if (metadata.is_discarded() || !metadata.is_object()) {
        throw comfyui_protocol_error("ws.binary.metadata", "must be a JSON object");
      }
      f.prompt_id = detail::text_at(metadata, "prompt_id");
      f.node = detail::text_at(metadata, "node_id");
      f.media_type = detail::text_at(metadata, "image_type");
      f.payload = frame.substr(8 + text.size());
      return f;
    }
    default:
      throw comfyui_protocol_error("ws.binary.type", "is " + std::to_string(type) +
                                                         "; ComfyUI sends 1 (preview), 3 (text) or 4 (preview "
                                                         "with metadata)");
  }
}

/// A frame parsed from a temporary would view bytes that are gone at the end of the statement:
/// keep the bytes in a variable (or a binary_message) that outlives the frame.
template <class Bytes>
  requires std::same_as<Bytes, std::string>
binary_frame parse_binary_frame(Bytes&& temporary) = delete;

}  // namespace comfyq::comfyui
