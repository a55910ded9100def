#pragma once
// Where a store's "now" comes from. The core never reads a clock; a store does, and tests
// give it a manual one so that both stores see exactly the same times.

#include <chrono>
#include <functional>

#include "comfyq/model.hpp"

namespace comfyq::store {

using clock = std::function<time_point()>;

/// The system clock in whole milliseconds.
inline time_point system_now() {
  return std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
}

}  // namespace comfyq::store
