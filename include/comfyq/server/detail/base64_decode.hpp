#pragma once
// Strict standard base64 (RFC 4648, padding required): how HTTP Basic credentials travel.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace comfyq::server::detail {

/// The bytes `text` encodes, or nullopt if it is not canonical padded base64.
inline std::optional<std::string> base64_decode(std::string_view text) {
  const auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t padding = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (padding == 1 && text[i + 2] == '=') return std::nullopt;  // "x=y=" is not padding
    unsigned group = 0;
    for (std::size_t k = 0; k < 4 - padding; ++k) {
      const int value = value_of(text[i + k]);
      if (value < 0) return std::nullopt;
      group |= static_cast<unsigned>(value) << (18 - 6 * k);
    }
    // Canonical only: the bits that padding drops must be zero.
    if ((padding == 1 && (group & 0xffu) != 0) || (padding == 2 && (group & 0xffffu) != 0)) return std::nullopt;
    bytes += static_cast<char>((group >> 16) & 0xffu);
    if (padding < 2) bytes += static_cast<char>((group >> 8) & 0xffu);
    if (padding < 1) bytes += static_cast<char>(group & 0xffu);
  }
  return bytes;
}

}  // namespace comfyq::server::detail
