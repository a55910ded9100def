#pragma once
// What happened in a queue, as a stream of events: the server's live views and the
// dashboard are built from these. A store numbers them and keeps a bounded tail.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "comfyq/model.hpp"

namespace comfyq {

enum class event_type : std::uint8_t {
  submitted,          ///< a job joined the queue
  leased,             ///< a worker started a job (attempt, worker)
  progress,           ///< a running job reported progress (data: node, value, max, ...)
  requeued,           ///< a run ended without a result and the job waits again (reason)
  succeeded,          ///< final: outputs are in the job's manifest
  failed,             ///< final: reason
  cancelled,          ///< final
  dead,               ///< final: it failed max_attempts times (reason)
  cancel_requested,   ///< a running job's worker will be told to stop
  preempt_requested,  ///< a running job's worker will be told to make room for priority work
  tenant_changed,     ///< a tenant was added, reconfigured, paused or resumed (data: the tenant)
  queue_changed,      ///< the policy or preemption changed, or the whole queue was paused or resumed (data)
  worker_changed,     ///< a worker registered or changed its registration (data: what it published)
  worker_removed,     ///< a worker that stopped was forgotten
  priority_changed,   ///< a queued job moved into or out of the priority lane (data: priority)
  retried,            ///< a failed or dead job was queued again
  drain_changed,      ///< a worker was asked to drain, or to take work again (data: draining)
  /// a queued job's place changed (data: position, queued, eta_ms). Derived from the queue by
  /// the server (server/queue_positions.hpp), never logged by a store.
  position_changed,
};

constexpr std::string_view to_string(event_type type) noexcept {
  switch (type) {
    case event_type::submitted: return "submitted";
    case event_type::leased: return "leased";
    case event_type::progress: return "progress";
    case event_type::requeued: return "requeued";
    case event_type::succeeded: return "succeeded";
    case event_type::failed: return "failed";
    case event_type::cancelled: return "cancelled";
    case event_type::dead: return "dead";
    case event_type::cancel_requested: return "cancel_requested";
    case event_type::preempt_requested: return "preempt_requested";
    case event_type::tenant_changed: return "tenant_changed";
    case event_type::queue_changed: return "queue_changed";
    case event_type::worker_changed: return "worker_changed";
    case event_type::worker_removed: return "worker_removed";
    case event_type::priority_changed: return "priority_changed";
    case event_type::retried: return "retried";
    case event_type::drain_changed: return "drain_changed";
    case event_type::position_changed: return "position_changed";
  }
  return "unknown";
}

constexpr std::optional<event_type> parse_event_type(std::string_view text) noexcept {
  for (int i = 0; i <= static_cast<int>(event_type::position_changed); ++i) {
    auto type = static_cast<event_type>(i);
    if (to_string(type) == text) return type;
  }
  return std::nullopt;
}

/// One thing that happened; fields that do not apply are empty.
struct event {
  event_type type{};
  time_point at{};
  std::string job{};
  std::string tenant{};
  std::string worker{};
  std::uint32_t attempt = 0;
  std::string reason{};
  nlohmann::json data{};  ///< type-specific details (progress values, tenant settings, worker registration)
};

}  // namespace comfyq
