#pragma once
// Queue positions and ETAs by replaying the real picks forward on a copy of the
// scheduling state: W workers, every run taking exactly its estimate, no new arrivals.
// Because the copy runs the same dispatcher and estimator code as the live queue,
// "position k" means the k-th job the live queue would lease under those assumptions.
// Runs that end at the same instant are taken in lease (token) order.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <queue>
#include <string_view>
#include <vector>

#include "comfyq/detail/cost_estimator.hpp"
#include "comfyq/detail/dispatcher.hpp"
#include "comfyq/snapshot.hpp"

namespace comfyq::detail {

/// A run in progress when the forecast starts.
struct running_run {
  std::uint32_t tenant = 0;
  std::string_view shape;
  duration charged{};
  time_point ends{};
  std::uint64_t token = 0;
};

/// `describe(handle)` returns {job id, shape} of a queued job.
template <class Describe>
std::vector<queue_position> forecast_starts(dispatcher state, cost_estimator estimates,
                                            const std::vector<running_run>& running, std::size_t workers,
                                            bool eta_known, time_point now, std::uint64_t last_token,
                                            Describe describe) {
  struct free_at {
    time_point at;
    std::uint64_t token;  // 0: a worker that is idle now
    std::uint32_t tenant;
    std::string_view shape;
    duration charged;
    bool ends_run;
    bool operator>(const free_at& other) const {
      return at != other.at ? at > other.at : token > other.token;
    }
  };
  std::priority_queue<free_at, std::vector<free_at>, std::greater<>> frees;
  for (std::size_t i = running.size(); i < workers; ++i) frees.push({now, 0, 0, {}, {}, false});
  for (const running_run& r : running) frees.push({std::max(now, r.ends), r.token, r.tenant, r.shape, r.charged, true});

  std::vector<queue_position> starts;
  std::size_t idle = 0;
  while (!frees.empty()) {
    free_at next = frees.top();
    frees.pop();
    if (next.ends_run) {
      state.finish(next.tenant, next.charged, next.charged);
      estimates.record(next.tenant, next.shape, next.charged);
    }
    ++idle;
    for (std::uint32_t h = state.pick(); idle > 0 && h != no_handle; h = state.pick()) {
      --idle;
      auto [id, shape] = describe(h);
      std::uint32_t tenant = state.entry(h).tenant;
      duration estimate = estimates.estimate(tenant, shape);
      state.start(h, estimate);
      starts.push_back(queue_position{std::string(id), starts.size() + 1,
                                      eta_known ? std::optional<time_point>(next.at) : std::nullopt});
      frees.push({next.at + estimate, ++last_token, tenant, shape, estimate, true});
    }
  }
  return starts;
}

}  // namespace comfyq::detail
