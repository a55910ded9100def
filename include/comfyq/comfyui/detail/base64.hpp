#pragma once
// Standard base64 (RFC 4648, with padding): how preview images travel inside JSON events.

#include <string>
#include <string_view>

namespace comfyq::comfyui::detail {

inline std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = bytes.size() - i < 3 ? bytes.size() - i : 3;
    unsigned group = static_cast<unsigned char>(bytes[i]) << 16;
    if (n > 1) group |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (n > 2) group |= static_cast<unsigned char>(bytes[i + 2]);
    text += alphabet[(group >> 18) & 63];
    text += alphabet[(group >> 12) & 63];
    text += n > 1 ? alphabet[(group >> 6) & 63] : '=';
    text += n > 2 ? alphabet[group & 63] : '=';
  }
  return text;
}

}  // namespace comfyq::comfyui::detail
