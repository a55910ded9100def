#pragma once
// Identifiers of tenants, jobs and workers. They become folder names on disk
// (comfyq/<tenant>/<job>/...) and keys in stores, so the alphabet is small on purpose:
// letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters.
// That excludes "", ".", "..", '/', '\\', NUL, spaces and anything non-ASCII.

#include <cstddef>
#include <string>
#include <string_view>

#include "comfyq/errors.hpp"

namespace comfyq {

/// Longest accepted tenant, job or worker id.
inline constexpr std::size_t max_id_length = 64;

/// True if `id` is a valid tenant, job or worker id.
constexpr bool is_valid_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_id_length) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(id.front())) return false;
  for (char c : id) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

namespace detail {
inline std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 80)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  if (text.size() > 80) out += "...";
  return out;
}
}  // namespace detail

/// Throws invalid_input naming `field` unless `id` is valid.
inline void validate_id(std::string_view field, std::string_view id) {
  if (is_valid_id(id)) return;
  throw invalid_input(std::string(field),
                      "'" + detail::printable(id) + "' is not a valid id; use 1-64 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit");
}

}  // namespace comfyq
