#pragma once
// Comparing secrets (password hashes, tokens) without telling an attacker, by the time taken,
// how much of a guess was right.

#include <cstddef>
#include <string_view>

namespace comfyq::server::detail {

/// Equal texts, in a time that depends on their lengths only, never on where they differ.
inline bool equal_in_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return difference == 0;
}

}  // namespace comfyq::server::detail
