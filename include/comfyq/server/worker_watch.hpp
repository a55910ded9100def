#pragma once
// Whether any worker can run a job now, told to the operator when that changes: a server
// started before its ComfyUI, or whose ComfyUI died, says so and how to attach one, rather
// than queueing jobs in silence.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "comfyq/comfyui/worker_log.hpp"
#include "comfyq/model.hpp"
#include "comfyq/snapshot.hpp"

namespace comfyq::server {

/// The workers of a queue, by whether they can run a job.
struct worker_count {
  std::size_t working = 0;       ///< idle or busy: they run jobs
  std::size_t comfyui_down = 0;  ///< up, but their ComfyUI does not answer
  std::size_t other = 0;         ///< down (not heard from) or draining

  bool operator==(const worker_count&) const = default;
};

inline worker_count count_workers(const queue_snapshot& snapshot) {
  worker_count count;
  for (const worker_snapshot& w : snapshot.workers) {
    if (w.state == worker_state::idle || w.state == worker_state::busy) {
      ++count.working;
    } else if (w.state == worker_state::comfyui_down) {
      ++count.comfyui_down;
    } else {
      ++count.other;
    }
  }
  return count;
}

/// Reads snapshots and says when the answer to "can any worker run a job?" changes. "No" is
/// said once it has lasted `patience`, so that workers starting with their server, or one
/// that restarts, raise no alarm.
class worker_watch {
 public:
  /// `how_to_attach`: what the operator can do when no worker can run a job.
  explicit worker_watch(std::string how_to_attach, duration patience = std::chrono::seconds(5))
      : how_to_attach_(std::move(how_to_attach)), patience_(patience) {}

  /// The record to log when `snapshot` (taken at snapshot.at) changes the answer, or nothing.
  std::optional<comfyui::log_record> observe(const queue_snapshot& snapshot) {
    const worker_count count = count_workers(snapshot);
    const bool can_run = count.working > 0;
    if (can_run) {
      none_since_.reset();
    } else if (!none_since_) {
      none_since_ = snapshot.at;
    }
    if (!can_run && snapshot.at - *none_since_ < patience_) return std::nullopt;
    if (can_run == can_run_) return std::nullopt;
    can_run_ = can_run;
    const nlohmann::json fields{{"working", count.working}, {"comfyui_down", count.comfyui_down}};
    if (can_run) return comfyui::log_record{.level = comfyui::log_level::info, .event = "workers.connected", .fields = fields};
    nlohmann::json with_hint = fields;
    with_hint["message"] = "no GPU worker is connected: jobs are accepted and wait in the queue; " + how_to_attach_;
    return comfyui::log_record{.level = comfyui::log_level::warning, .event = "workers.none", .fields = with_hint};
  }

 private:
  std::string how_to_attach_;
  duration patience_;
  std::optional<time_point> none_since_{};
  std::optional<bool> can_run_{};  ///< what was said last
};

}  // namespace comfyq::server
