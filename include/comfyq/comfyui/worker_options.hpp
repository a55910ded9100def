#pragma once
// How a comfyq worker runs its jobs: its id, how often it heartbeats, how long it lets a job
// run, drain and recover, and where it finds outputs. Every wait is bounded by one of these.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>

#include "comfyq/backoff.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/model.hpp"
#include "comfyq/scheduler_config.hpp"

namespace comfyq::comfyui {

struct worker_options {
  /// The worker's id in the queue, and the client_id its ComfyUI sends the job's frames to.
  std::string id{};
  /// How often the lease of a running job is renewed; keep it well below the queue's lease_ttl
  /// and worker_ttl (60 s by default), so that a late heartbeat or two does not lose the job.
  duration heartbeat_interval = std::chrono::seconds(10);
  /// How long one wait for work blocks before the worker looks at a stop request again.
  duration idle_wait = std::chrono::seconds(1);
  /// How often a worker without work checks that its ComfyUI still answers, so that one that
  /// went down shows as comfyui_down (and is brought up again) before a job finds it down.
  duration idle_check = std::chrono::seconds(10);
  /// A job that runs longer is interrupted and fails (not retried: it would run as long again).
  duration max_runtime = std::chrono::hours(2);
  /// After a stop request (SIGTERM), how long the running job may take to finish before the
  /// worker interrupts it and gives it back to the queue.
  duration drain_grace = std::chrono::seconds(60);
  /// After POST /interrupt, how long to wait for ComfyUI to stop the prompt: interrupts are
  /// cooperative, a node that does not check for them runs to its end.
  duration interrupt_wait = std::chrono::seconds(30);
  /// When the WebSocket drops mid-job, how long to try to reach ComfyUI again before the job
  /// counts as lost with it.
  duration reconnect_wait = std::chrono::seconds(20);
  /// How long to retry a store that cannot be reached before giving up on a job's result (its
  /// lease expires and the job runs again elsewhere).
  duration store_retry = std::chrono::seconds(60);
  /// Waits between attempts to reach a ComfyUI (or store) that is down.
  backoff_policy backoff{};
  /// Preview images (binary frames) up to this size are republished in progress events,
  /// base64-encoded; 0 republishes none. Events are kept in a bounded log: keep it small.
  std::size_t preview_max_bytes = 0;
  /// When set, outputs are read from this folder (ComfyUI's --output-directory, shared with
  /// the worker) instead of fetched with GET /view.
  std::string comfyui_output_dir{};

  /// Throws invalid_input naming the field for options no worker can run with.
  void validate() const {
    validate_id("worker.id", id);
    const auto positive = [](duration value, const char* field, const char* hint) {
      if (value <= duration::zero()) throw invalid_input(field, std::string("must be above 0 ms; ") + hint);
    };
    positive(heartbeat_interval, "worker.heartbeat_interval", "10 s suits the default lease_ttl of 60 s");
    positive(idle_wait, "worker.idle_wait", "1 s lets a stop request end an idle worker at once");
    positive(idle_check, "worker.idle_check", "10 s shows a ComfyUI that went down within seconds");
    positive(max_runtime, "worker.max_runtime", "set it above the longest job you expect");
    positive(drain_grace, "worker.drain_grace", "60 s lets most jobs finish");
    positive(interrupt_wait, "worker.interrupt_wait", "30 s covers a node that finishes before it stops");
    positive(reconnect_wait, "worker.reconnect_wait", "20 s covers a ComfyUI that restarts");
    positive(store_retry, "worker.store_retry", "60 s covers a Redis restart");
    backoff.validate("worker.backoff");
  }

  /// Throws invalid_input naming the field for options the queue's ttls leave no room for: its
  /// running jobs would lose their leases, or the worker would count as down, between two
  /// heartbeats (or two waits for work).
  void validate_against(const queue_ttls& queue) const {
    const auto ms = [](duration value) { return std::to_string(value.count()) + " ms"; };
    if (heartbeat_interval >= queue.lease_ttl || heartbeat_interval >= queue.worker_ttl) {
      const bool loses_lease = heartbeat_interval >= queue.lease_ttl;
      const duration a_third = std::max(std::min(queue.lease_ttl, queue.worker_ttl) / 3, duration(1));
      throw invalid_input(
          "worker.heartbeat_interval",
          "must be below the queue's " +
              (loses_lease ? "lease_ttl (" + ms(queue.lease_ttl) + "), or a running job's lease expires"
                           : "worker_ttl (" + ms(queue.worker_ttl) + "), or a busy worker counts as down") +
              " between two heartbeats (got " + ms(heartbeat_interval) +
              "); set it to a third of the smaller of the queue's lease_ttl and worker_ttl (" + ms(a_third) + ")");
    }
    if (idle_wait >= queue.worker_ttl) {
      const duration a_third = std::max(queue.worker_ttl / 3, duration(1));
      throw invalid_input("worker.idle_wait",
                          "must be below the queue's worker_ttl (" + ms(queue.worker_ttl) +
                              "), or an idle worker counts as down between two waits for work (got " + ms(idle_wait) +
                              "); set it to a third of worker_ttl (" + ms(a_third) + ") or less");
    }
  }
};

}  // namespace comfyq::comfyui
