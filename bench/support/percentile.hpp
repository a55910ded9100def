#pragma once
// The percentiles benchmarks report as counters (p50, p90, p99 of per-iteration samples).

#include <algorithm>
#include <cstddef>
#include <vector>

namespace comfyq_bench {

/// The sample at `fraction` (0.5: the median) of `samples`, which it reorders.
inline double percentile(std::vector<double>& samples, double fraction) {
  const auto at = std::min(samples.size() - 1, static_cast<std::size_t>(fraction * static_cast<double>(samples.size())));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(at), samples.end());
  return samples[at];
}

}  // namespace comfyq_bench
