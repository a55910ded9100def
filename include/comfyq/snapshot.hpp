#pragma once
// Read-only views of a queue for dashboards and participants: who waits, what runs,
// who used how much GPU, and where a job stands in line.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/model.hpp"
#include "comfyq/worker_info.hpp"

namespace comfyq {

enum class worker_state : std::uint8_t {
  idle,          ///< heard from recently, holds no lease
  busy,          ///< holds a lease
  down,          ///< not heard from for worker_ttl
  draining,      ///< said it is draining: finishing what it runs, taking nothing new
  comfyui_down,  ///< said its ComfyUI does not answer
};

constexpr std::string_view to_string(worker_state state) noexcept {
  switch (state) {
    case worker_state::idle: return "idle";
    case worker_state::busy: return "busy";
    case worker_state::down: return "down";
    case worker_state::draining: return "draining";
    case worker_state::comfyui_down: return "comfyui_down";
  }
  return "unknown";
}

/// A worker's state as a snapshot shows it, the same in every store: down when not heard from
/// within `worker_ttl`; else the condition it reported, when not ready; else draining when the
/// store drains it (drain_worker); else busy or idle by whether it holds a lease.
constexpr worker_state worker_state_of(time_point last_seen, time_point now, duration worker_ttl,
                                       worker_condition condition, bool holds_lease, bool drained) noexcept {
  if (now - last_seen >= worker_ttl) return worker_state::down;
  if (condition == worker_condition::comfyui_down) return worker_state::comfyui_down;
  if (condition == worker_condition::draining || drained) return worker_state::draining;
  return holds_lease ? worker_state::busy : worker_state::idle;
}

struct tenant_snapshot {
  tenant_config config{};
  bool paused = false;
  std::uint32_t queued = 0;
  std::uint32_t running = 0;
  duration gpu_time{};        ///< measured GPU time of finished runs
  double share = 0.0;         ///< gpu_time / the queue's total gpu_time (0 when nothing ran)
  double virtual_clock = 0.0; ///< fair_share's clock: charged GPU milliseconds per unit of weight
  std::uint32_t queued_priority = 0;  ///< of the queued jobs, those in the priority lane
};

/// A worker as the store knows it; the fields it registers are empty if it never registered.
struct worker_snapshot {
  std::string id{};
  worker_state state = worker_state::idle;
  std::string job{};  ///< the job it runs, when it holds a lease
  time_point last_seen{};
  std::string comfyui{};          ///< as in worker_info
  std::string comfyui_version{};
  std::string gpu{};
  std::string object_info{};
};

struct queue_snapshot {
  time_point at{};
  comfyq::policy policy = comfyq::policy::fair_share;
  bool paused = false;
  bool preemption = false;  ///< scheduler_config::preemption, as set_preemption left it
  std::vector<tenant_snapshot> tenants{};  ///< sorted by id
  std::vector<worker_snapshot> workers{};  ///< sorted by id
  std::size_t queued = 0, running = 0, succeeded = 0, failed = 0, cancelled = 0, dead = 0;
  duration gpu_time{};
};

/// Where a queued job stands: `position` 1 starts next. With no new arrivals and runtimes equal
/// to their estimates, the job at position k is the k-th to be leased.
struct queue_position {
  std::string job{};
  std::size_t position = 0;
  std::optional<time_point> eta{};  ///< expected start; empty while no worker is up
};

}  // namespace comfyq
