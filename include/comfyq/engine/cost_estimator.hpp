#pragma once
// Expected GPU time of a job, learned from measured runtimes: an exponentially weighted
// moving average per (tenant, workflow shape), falling back to the average of that shape
// over all tenants (a newcomer's first job of a known shape), then to a configured default.
// A job without a shape has no history but its own tenant's: the average of every other
// tenant's shapeless jobs says nothing about it (a newcomer's 30 s job is no hog's 600 s one).

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/model.hpp"
#include "comfyq/util/string_map.hpp"

namespace comfyq::engine {

class cost_estimator {
 public:
  cost_estimator(duration fallback, double smoothing) : fallback_(fallback), smoothing_(smoothing) {}

  duration estimate(std::uint32_t tenant, std::string_view shape) const {
    if (std::optional<double> average = tenant_average(tenant, shape)) return rounded(*average);
    if (std::optional<double> average = shape_average(shape)) return rounded(*average);
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

  std::optional<double> tenant_average(std::uint32_t tenant, std::string_view shape) const {
    if (tenant >= by_tenant_.size()) return std::nullopt;
    auto it = by_tenant_[tenant].find(shape);
    return it == by_tenant_[tenant].end() ? std::nullopt : std::optional(it->second);
  }
  /// Over all tenants; none for a job without a shape.
  std::optional<double> shape_average(std::string_view shape) const {
    if (shape.empty()) return std::nullopt;
    auto it = by_shape_.find(shape);
    return it == by_shape_.end() ? std::nullopt : std::optional(it->second);
  }
  duration fallback() const noexcept { return fallback_; }
  double smoothing() const noexcept { return smoothing_; }

  /// An average after one more sample (the first sample is the average).
  static double blended(std::optional<double> average, double sample, double smoothing) {
    return average ? *average + smoothing * (sample - *average) : sample;
  }
  static duration rounded(double ms) { return duration{static_cast<std::int64_t>(std::floor(ms + 0.5))}; }

 private:
  void blend(util::string_map<double>& averages, std::string_view shape, double sample) const {
    auto it = averages.find(shape);
    if (it == averages.end()) {
      averages.emplace(std::string(shape), sample);
    } else {
      it->second = blended(it->second, sample, smoothing_);
    }
  }

  duration fallback_;
  double smoothing_;
  std::vector<util::string_map<double>> by_tenant_;
  util::string_map<double> by_shape_;
};

/// What a forecast's simulated runs teach the estimator, kept on top of the live averages so
/// that a forecast neither changes them nor copies them: the same answers as a copy of the
/// live estimator given the same records. Valid while the live estimator does not change.
class estimate_overlay {
 public:
  explicit estimate_overlay(const cost_estimator& live) : live_(&live) {}

  duration estimate(std::uint32_t tenant, std::string_view shape) const {
    if (std::optional<double> average = tenant_average(tenant, shape)) return cost_estimator::rounded(*average);
    if (std::optional<double> average = shape_average(shape)) return cost_estimator::rounded(*average);
    return live_->fallback();
  }

  void record(std::uint32_t tenant, std::string_view shape, duration measured) {
    auto sample = static_cast<double>(measured.count());
    if (tenant >= by_tenant_.size()) by_tenant_.resize(tenant + 1);
    blend(by_tenant_[tenant], shape, sample, [&] { return live_->tenant_average(tenant, shape); });
    blend(by_shape_, shape, sample, [&] { return live_->shape_average(shape); });
  }

 private:
  std::optional<double> tenant_average(std::uint32_t tenant, std::string_view shape) const {
    if (tenant < by_tenant_.size()) {
      if (auto it = by_tenant_[tenant].find(shape); it != by_tenant_[tenant].end()) return it->second;
    }
    return live_->tenant_average(tenant, shape);
  }
  std::optional<double> shape_average(std::string_view shape) const {
    if (shape.empty()) return std::nullopt;
    auto it = by_shape_.find(shape);
    return it != by_shape_.end() ? std::optional(it->second) : live_->shape_average(shape);
  }
  // `live()` is the live average, which the first record of this overlay blends into.
  template <class Live>
  void blend(util::string_map<double>& averages, std::string_view shape, double sample, Live&& live) const {
    auto it = averages.find(shape);
    if (it == averages.end()) {
      averages.emplace(std::string(shape), cost_estimator::blended(live(), sample, live_->smoothing()));
    } else {
      it->second = cost_estimator::blended(it->second, sample, live_->smoothing());
    }
  }

  const cost_estimator* live_;
  std::vector<util::string_map<double>> by_tenant_;
  util::string_map<double> by_shape_;
};

/// What sets a job's charge when it starts: its shape, and the estimate its submitter gave (0: none).
struct job_cost {
  std::string_view shape;
  duration submitted{};
};

/// A job's charge at lease: its submitter's estimate when it gave one, else what `estimates`
/// (a cost_estimator or an estimate_overlay) learned.
template <class Estimates>
duration charge_for(const Estimates& estimates, std::uint32_t tenant, job_cost cost) {
  return cost.submitted > duration::zero() ? cost.submitted : estimates.estimate(tenant, cost.shape);
}

}  // namespace comfyq::engine
