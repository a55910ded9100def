#pragma once
// The delays between reconnect attempts. Each one is drawn from [d/2, d], d doubling from
// initial_delay up to max_delay: growing, so a Redis that is down is not hammered, and jittered,
// so the many workers and servers that lost the same Redis do not reconnect in lockstep.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

#include "comfyq/redis/connection_options.hpp"

namespace comfyq::redis::detail {

class backoff {
 public:
  backoff(const reconnect_policy& policy, std::uint32_t seed) : policy_(policy), random_(seed) {}

  /// The delay before the next attempt.
  std::chrono::milliseconds next() {
    const std::chrono::milliseconds ceiling = ceiling_;
    ceiling_ = std::min(ceiling_ * 2, policy_.max_delay);
    std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(ceiling.count() / 2, ceiling.count());
    return std::chrono::milliseconds{pick(random_)};
  }

 private:
  reconnect_policy policy_;
  std::chrono::milliseconds ceiling_{policy_.initial_delay};
  std::minstd_rand random_;
};

}  // namespace comfyq::redis::detail
