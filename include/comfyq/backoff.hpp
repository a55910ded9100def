#pragma once
// Waits between attempts to reach something that is down (a worker's ComfyUI, the store):
// exponential, capped and jittered, so that the workers of a GPU machine whose ComfyUIs died
// together do not all knock again at the same instant. Pure: the caller supplies the
// randomness and does the waiting.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>

#include "comfyq/errors.hpp"
#include "comfyq/model.hpp"

namespace comfyq {

struct backoff_policy {
  duration initial = std::chrono::milliseconds(500);  ///< the longest first wait
  duration max = std::chrono::seconds(30);           ///< no wait is longer
  double factor = 2.0;                               ///< growth per failed attempt

  /// Throws invalid_input naming `field` (e.g. "comfyui_backoff") unless the waits make sense.
  void validate(const std::string& field) const {
    if (initial <= duration::zero()) throw invalid_input(field + ".initial", "must be above 0 ms (500 ms is a good start)");
    if (max < initial) throw invalid_input(field + ".max", "must be at least " + field + ".initial");
    if (!std::isfinite(factor) || factor < 1.0 || factor > 100.0) {
      throw invalid_input(field + ".factor", "must be between 1 and 100 (2 doubles each wait)");
    }
  }
};

/// After the n-th failure in a row, waits between half and all of min(max, initial * factor^n)
/// ("equal jitter"): never much shorter than planned, never in lockstep with another worker.
class backoff {
 public:
  explicit backoff(backoff_policy policy = {}) : policy_(policy) { policy_.validate("backoff"); }

  /// The wait after one more failure; `unit_random` is uniform in [0, 1).
  duration next(double unit_random) {
    const double ceiling = std::min(static_cast<double>(policy_.max.count()),
                                    static_cast<double>(policy_.initial.count()) * std::pow(policy_.factor, failures_));
    failures_ = std::min<std::uint32_t>(failures_ + 1, 64);
    const double jitter = std::clamp(unit_random, 0.0, 1.0);
    return duration(static_cast<duration::rep>(std::llround(ceiling * (0.5 + 0.5 * jitter))));
  }

  /// Back to the first wait, once the thing answers again.
  void reset() noexcept { failures_ = 0; }
  /// Failures since the last reset().
  std::uint32_t failures() const noexcept { return failures_; }

 private:
  backoff_policy policy_;
  std::uint32_t failures_ = 0;
};

}  // namespace comfyq
