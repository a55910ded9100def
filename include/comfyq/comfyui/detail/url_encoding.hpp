#pragma once
// Percent-encoding for the query strings of ComfyUI's routes (/view?filename=..., /ws?clientId=...):
// file names and ids may hold spaces, '&', '#' or non-ASCII text.

#include <string>
#include <string_view>

namespace comfyq::comfyui::detail {

/// `text` with every byte but RFC 3986's unreserved characters written as %XX.
inline std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string encoded;
  encoded.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') || (byte >= '0' && byte <= '9') || byte == '-' ||
        byte == '_' || byte == '.' || byte == '~') {
      encoded += c;
    } else {
      encoded += '%';
      encoded += hex[byte >> 4];
      encoded += hex[byte & 0x0F];
    }
  }
  return encoded;
}

}  // namespace comfyq::comfyui::detail
