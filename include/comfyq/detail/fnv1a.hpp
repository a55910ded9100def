#pragma once
// 64-bit FNV-1a, for keys that must be identical on every platform and in every process
// (std::hash promises neither).

#include <cstdint>
#include <string>
#include <string_view>

namespace comfyq::detail {

/// Incremental 64-bit FNV-1a over length-prefixed fields, so that ("ab","c") and ("a","bc") differ.
class fnv1a64 {
 public:
  /// Mixes in one field: its length as 8 little-endian bytes, then its bytes.
  void field(std::string_view bytes) noexcept {
    std::uint64_t length = bytes.size();
    for (int i = 0; i < 8; ++i) {
      byte(static_cast<std::uint8_t>(length & 0xff));
      length >>= 8;
    }
    for (char c : bytes) byte(static_cast<std::uint8_t>(c));
  }

  /// The hash so far as 16 lowercase hex digits.
  std::string hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string text(16, '0');
    for (int i = 15, shift = 0; i >= 0; --i, shift += 4) text[static_cast<std::size_t>(i)] = digits[(hash_ >> shift) & 0xf];
    return text;
  }

 private:
  void byte(std::uint8_t b) noexcept {
    hash_ ^= b;
    hash_ *= 0x100000001b3ULL;  // FNV 64-bit prime
  }

  std::uint64_t hash_ = 0xcbf29ce484222325ULL;  // FNV 64-bit offset basis
};

}  // namespace comfyq::detail
