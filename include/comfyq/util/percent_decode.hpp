#pragma once
// Percent-decoding (RFC 3986, section 2.1): of the user and password of a redis:// URL, so that a
// password may contain '@', ':' or '/' written as %40, %3A, %2F, and of the server's URL paths.

#include <optional>
#include <string>
#include <string_view>

namespace comfyq::util {

/// `text` with every %XY replaced by the byte 0xXY; nullopt if a '%' is not followed by two hex digits.
inline std::optional<std::string> percent_decode(std::string_view text) {
  const auto hex_value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    decoded += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return decoded;
}

}  // namespace comfyq::util
