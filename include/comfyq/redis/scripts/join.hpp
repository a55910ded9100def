#pragma once
// Joins Lua fragments into one script source at compile time, so that each script is a
// constant whose SHA-1 (its EVALSHA name) is known at compile time too.

#include <array>
#include <cstddef>
#include <string_view>

namespace comfyq::redis::scripts {

template <const std::string_view&... Parts>
struct joined {
 private:
  static constexpr auto storage = [] {
    std::array<char, (Parts.size() + ... + 0)> text{};
    std::size_t at = 0;
    for (std::string_view part : {Parts...}) {
      for (char c : part) text[at++] = c;
    }
    return text;
  }();

 public:
  static constexpr std::string_view value{storage.data(), storage.size()};
};

}  // namespace comfyq::redis::scripts
