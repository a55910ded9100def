#pragma once
// Readable instants for tests: at(90) is 90 seconds after a fixed origin.

#include <chrono>

#include "comfyq/model.hpp"

namespace comfyq::testing {

inline constexpr time_point origin{std::chrono::milliseconds{1'700'000'000'000}};

inline time_point at(double seconds) {
  return origin + std::chrono::milliseconds{static_cast<long long>(seconds * 1000.0)};
}

}  // namespace comfyq::testing
