#pragma once
// The ids stores give jobs submitted without one: "j", the submission time as 11 lowercase hex
// digits of Unix milliseconds (so ids sort by submission time), then 8 random characters from
// [0-9a-z], e.g. "j18bcfe56800k3x9q2ab". A counter would start again at "j1" in another queue,
// or in the same queue after its Redis was emptied, and the new job's outputs would land in the
// folder of the old one (<tenant>/outputs/<job>/<attempt>/); 36^8 random values per millisecond
// make a repeat astronomically unlikely. The Redis store writes the time part in Lua from its
// own clock (string.format('%011x', now)), with the random part from here.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

#include "comfyq/model.hpp"

namespace comfyq::store::detail {

inline constexpr std::size_t random_id_part_length = 8;

/// `random_id_part_length` random characters from [0-9a-z], from an engine of the calling
/// thread's own seeded by std::random_device.
inline std::string random_id_part() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seeds{device(), device(), device(), device()};
    return std::mt19937_64(seeds);
  }();
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::uniform_int_distribution<int> digit(0, 35);
  std::string part(random_id_part_length, '0');
  for (char& c : part) c = digits[digit(engine)];
  return part;
}

/// A generated job id for a submission at `now` (before 1970: as at 1970).
inline std::string generated_job_id(time_point now) {
  std::array<char, 24> time{};
  const auto ms = static_cast<unsigned long long>(std::max<std::int64_t>(now.time_since_epoch().count(), 0));
  std::snprintf(time.data(), time.size(), "%011llx", ms);
  return "j" + std::string(time.data()) + random_id_part();
}

}  // namespace comfyq::store::detail
