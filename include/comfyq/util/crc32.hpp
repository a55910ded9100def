#pragma once
// CRC-32 as zip archives carry it (ISO 3309, the reflected polynomial 0xEDB88320), computed
// incrementally over streamed bytes. A table of 256 entries made at compile time.

#include <array>
#include <cstdint>
#include <string_view>

namespace comfyq::util {

class crc32 {
 public:
  void update(std::string_view bytes) noexcept {
    for (char c : bytes) value_ = table[(value_ ^ static_cast<std::uint8_t>(c)) & 0xffu] ^ (value_ >> 8);
  }
  std::uint32_t value() const noexcept { return ~value_; }

 private:
  static constexpr std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> entries{};
    for (std::uint32_t i = 0; i < entries.size(); ++i) {
      std::uint32_t c = i;
      for (int bit = 0; bit < 8; ++bit) c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      entries[i] = c;
    }
    return entries;
  }();

  std::uint32_t value_ = 0xffffffffu;
};

}  // namespace comfyq::util
