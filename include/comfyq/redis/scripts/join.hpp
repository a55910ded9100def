#pragma once
// Joins Lua fragments into one source at compile time: the library (all.hpp) is a constant made
// of fragments that each stay in the header that documents them.

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
