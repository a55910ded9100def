#pragma once
// unordered_map keyed by std::string that can be searched with a std::string_view
// without building a temporary string (C++20 heterogeneous lookup).

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace comfyq::detail {

// Deliberately not noexcept: libstdc++ then stores each key's hash in its node, so a lookup
// compares stored hashes instead of rehashing every key it walks past in a bucket chain.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

template <class Value>
using string_map = std::unordered_map<std::string, Value, string_hash, std::equal_to<>>;

}  // namespace comfyq::detail
