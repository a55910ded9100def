#pragma once
// unordered_map keyed by std::string that can be searched with a std::string_view
// without building a temporary string (C++20 heterogeneous lookup).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace comfyq::util {

// The keys are short (ids, workflow shapes), so they are hashed inline, eight bytes at a time:
// std::hash's out-of-line hash was a tenth of the instructions of a job's lifecycle.
// Deliberately not noexcept: libstdc++ then stores each key's hash in its node, so a lookup
// compares stored hashes instead of rehashing every key it walks past in a bucket chain.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const { return static_cast<std::size_t>(hash64(text)); }

  /// Well mixed in every bit, the top ones included.
  static std::uint64_t hash64(std::string_view text) {
    std::uint64_t hash = text.size();
    for (; text.size() >= 8; text.remove_prefix(8)) {
      std::uint64_t word;
      std::memcpy(&word, text.data(), 8);
      hash = mix(hash ^ word);
    }
    std::uint64_t tail = 0;
    for (char c : text) tail = tail << 8 | static_cast<unsigned char>(c);
    return mix(hash ^ tail);
  }

  // Multiplying spreads each bit upwards; folding the top half back spreads it downwards.
  static std::uint64_t mix(std::uint64_t x) {
    x *= 0x9e3779b97f4a7c15ULL;
    return x ^ (x >> 32);
  }
};

template <class Value>
using string_map = std::unordered_map<std::string, Value, string_hash, std::equal_to<>>;

}  // namespace comfyq::util
