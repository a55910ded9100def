#pragma once
// Expected GPU time of a job, learned from measured runtimes: an exponentially weighted
// moving average per (tenant, workflow shape), falling back to the average of that shape
// over all tenants (a newcomer's first job of a known shape), then to a configured default.
// A job without a shape has no history but its own tenant's: the average of every other
// tenant's shapeless jobs says nothing about it (a newcomer's 30 s job is no hog's 600 s one).

#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "comfyq/detail/string_map.hpp"
#include "comfyq/model.hpp"

namespace comfyq::detail {

class cost_estimator {
 public:
  cost_estimator(duration fallback, double smoothing) : fallback_(fallback), smoothing_(smoothing) {}

  duration estimate(std::uint32_t tenant, std::string_view shape) const {
    if (tenant < by_tenant_.size()) {
      if (auto it = by_tenant_[tenant].find(shape); it != by_tenant_[tenant].end()) return rounded(it->second);
    }
    if (shape.empty()) return fallback_;
    if (auto it = by_shape_.find(shape); it != by_shape_.end()) return rounded(it->second);
    return fallback_;
  }

  void record(std::uint32_t tenant, std::string_view shape, duration measured) {
    if (tenant >= by_tenant_.size()) by_tenant_.resize(tenant + 1);
    blend(by_tenant_[tenant], shape, static_cast<double>(measured.count()));
    blend(by_shape_, shape, static_cast<double>(measured.count()));
  }

  /// Sets a moving average read from elsewhere (the Redis store's forecast).
  void restore(std::uint32_t tenant, std::string_view shape, double average) {
    if (tenant >= by_tenant_.size()) by_tenant_.resize(tenant + 1);
    by_tenant_[tenant].insert_or_assign(std::string(shape), average);
  }
  void restore_shape(std::string_view shape, double average) { by_shape_.insert_or_assign(std::string(shape), average); }

 private:
  void blend(string_map<double>& averages, std::string_view shape, double sample) const {
    auto it = averages.find(shape);
    if (it == averages.end()) {
      averages.emplace(std::string(shape), sample);
    } else {
      it->second += smoothing_ * (sample - it->second);
    }
  }

  static duration rounded(double ms) { return duration{static_cast<std::int64_t>(std::floor(ms + 0.5))}; }

  duration fallback_;
  double smoothing_;
  std::vector<string_map<double>> by_tenant_;
  string_map<double> by_shape_;
};

}  // namespace comfyq::detail
