#pragma once
// Settings of one queue, with the checks that reject nonsense before anything changes.

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "comfyq/errors.hpp"
#include "comfyq/model.hpp"

namespace comfyq {

struct scheduler_config {
  comfyq::policy policy = comfyq::policy::fair_share;  ///< switchable later with set_policy()
  duration lease_ttl = std::chrono::seconds(60);      ///< a lease not renewed by a heartbeat for this long expires
  duration worker_ttl = std::chrono::seconds(60);     ///< a worker not heard from for this long counts as down
  std::uint32_t max_attempts = 3;                     ///< runs that may fail (expire, retryable failure) before a job is dead
  std::size_t history_limit = 10'000;                 ///< finished jobs kept; the oldest are forgotten first
  duration default_estimate = std::chrono::seconds(60);  ///< expected runtime before anything was measured
  double estimate_smoothing = 0.3;                    ///< weight of the newest runtime in the moving average
  bool preemption = false;                            ///< priority work may interrupt running normal jobs
  tenant_config new_tenant{};                         ///< settings of a tenant that submits before it was configured
  /// While the queue does not change, positions and forecasts are answered again from one made up
  /// to this long ago, its ETAs that follow the clock moved on to now (and from an older one while
  /// it is still exact, docs/policies.md); 0: each answer is exact at its instant. Each process
  /// decides for itself: the Redis store keeps it out of Redis.
  duration forecast_reuse = std::chrono::seconds(1);
};

/// How long a queue waits for a sign of life: from the worker of a running job before its
/// lease expires, and from any worker before it counts as down. A worker heartbeats more often.
struct queue_ttls {
  duration lease_ttl{};
  duration worker_ttl{};
};

/// Throws invalid_input naming `field` unless the tenant settings make sense.
inline void validate_tenant_settings(const std::string& field, const tenant_config& tenant) {
  if (!std::isfinite(tenant.weight) || tenant.weight <= 0.0 || tenant.weight > 1e6) {
    throw invalid_input(field + ".weight", "must be a number above 0 and at most 1000000 (got " +
                                                std::to_string(tenant.weight) + "); 1 is an equal share");
  }
  if (tenant.max_running == 0) {
    throw invalid_input(field + ".max_running", "must be at least 1; to stop a tenant's jobs from starting, pause it");
  }
  if (tenant.max_queued == 0) {
    throw invalid_input(field + ".max_queued", "must be at least 1; to refuse a tenant's jobs, pause it");
  }
}

/// Throws invalid_input naming the first setting that makes no sense.
inline void validate(const scheduler_config& config) {
  if (config.lease_ttl <= duration::zero()) {
    throw invalid_input("lease_ttl", "must be positive; workers heartbeat every third of it (60s is a good start)");
  }
  if (config.worker_ttl <= duration::zero()) {
    throw invalid_input("worker_ttl", "must be positive (60s is a good start)");
  }
  // A busy worker's signs of life are its heartbeats, every third of lease_ttl.
  if (config.worker_ttl <= config.lease_ttl / 3) {
    throw invalid_input("worker_ttl", "must be longer than a third of lease_ttl (" +
                                          std::to_string((config.lease_ttl / 3).count()) +
                                          " ms), how often workers heartbeat, or a healthy worker counts as down "
                                          "between two heartbeats (got " +
                                          std::to_string(config.worker_ttl.count()) +
                                          " ms); set worker_ttl to lease_ttl, or shorten lease_ttl");
  }
  if (config.max_attempts == 0) {
    throw invalid_input("max_attempts", "must be at least 1 (3 retries a job that hit a crashed worker twice)");
  }
  if (config.default_estimate <= duration::zero()) {
    throw invalid_input("default_estimate", "must be positive: the expected runtime of a job before any was measured");
  }
  if (!(config.estimate_smoothing > 0.0 && config.estimate_smoothing <= 1.0)) {
    throw invalid_input("estimate_smoothing", "must be above 0 and at most 1 (0.3 weighs the newest runtime by 30%)");
  }
  validate_tenant_settings("new_tenant", config.new_tenant);
  if (config.forecast_reuse < duration::zero()) {
    throw invalid_input("forecast_reuse", "must not be negative (0 answers every position exactly as of its instant)");
  }
}

}  // namespace comfyq
