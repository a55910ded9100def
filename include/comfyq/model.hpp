#pragma once
// The job model: what a job, a tenant, a lease and a job's outputs are.
// Time is always a parameter (`time_point`, milliseconds since the epoch): the core reads no clock.

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace comfyq {

/// Durations are whole milliseconds.
using duration = std::chrono::milliseconds;
/// Instants are milliseconds since the Unix epoch, supplied by the caller (or by Redis TIME).
using time_point = std::chrono::sys_time<std::chrono::milliseconds>;

/// Lifecycle of a job; see docs/state-machine.md.
///   queued ─lease→ running ─complete→ succeeded
///                          ├─fail(failure::final)→ failed
///                          └─release on cancel request→ cancelled
///   queued ─cancel→ cancelled;  running ─expire/fail(failure::retryable)/release/preempt→ queued | dead
enum class job_state : std::uint8_t { queued, running, succeeded, failed, cancelled, dead };

/// What a worker's fail() says of the run, and so what becomes of the job.
enum class failure : std::uint8_t {
  retryable,  ///< the job may succeed elsewhere (its worker or ComfyUI died): requeued, counting an attempt
  final,      ///< running it again would end the same way (a bad workflow): the job is failed
};

/// The order in which the scheduler serves normal (non-priority) work.
enum class policy : std::uint8_t {
  fifo,         ///< submission order, as ComfyUI itself does
  round_robin,  ///< one job per tenant in turn
  fair_share,   ///< equal GPU time per unit of weight (the default)
};

constexpr std::string_view to_string(job_state state) noexcept {
  switch (state) {
    case job_state::queued: return "queued";
    case job_state::running: return "running";
    case job_state::succeeded: return "succeeded";
    case job_state::failed: return "failed";
    case job_state::cancelled: return "cancelled";
    case job_state::dead: return "dead";
  }
  return "unknown";
}

constexpr std::string_view to_string(policy p) noexcept {
  switch (p) {
    case policy::fifo: return "fifo";
    case policy::round_robin: return "round_robin";
    case policy::fair_share: return "fair_share";
  }
  return "unknown";
}

/// True for the states a job never leaves.
constexpr bool is_finished(job_state state) noexcept {
  return state != job_state::queued && state != job_state::running;
}

constexpr std::optional<job_state> parse_job_state(std::string_view text) noexcept {
  for (auto s : {job_state::queued, job_state::running, job_state::succeeded, job_state::failed, job_state::cancelled,
                 job_state::dead}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

constexpr std::optional<policy> parse_policy(std::string_view text) noexcept {
  for (auto p : {policy::fifo, policy::round_robin, policy::fair_share}) {
    if (to_string(p) == text) return p;
  }
  return std::nullopt;
}

/// "No limit" for max_running and max_queued.
inline constexpr std::uint32_t unlimited = std::numeric_limits<std::uint32_t>::max();

/// A participant, the instructor or a tool: whoever submits jobs and owns their outputs.
struct tenant_config {
  std::string id{};
  double weight = 1.0;                  ///< share of GPU time relative to other tenants (fair_share)
  std::uint32_t max_running = unlimited;  ///< jobs of this tenant running at once
  std::uint32_t max_queued = unlimited;   ///< jobs of this tenant waiting at once; more are refused
};

/// One file a job produced, as kept with the job once it succeeded.
struct manifest_entry {
  std::string name{};        ///< path relative to the job's attempt folder, e.g. "out_00001_.png"
  std::uint64_t size = 0;  ///< bytes
  std::string sha256;      ///< lowercase hex
  std::string media_type{};  ///< e.g. "image/png", "video/mp4"
  std::string node{};        ///< id of the workflow node that wrote it

  friend bool operator==(const manifest_entry&, const manifest_entry&) = default;
};

/// What a caller asks for when submitting a job.
struct submit_request {
  std::string tenant{};
  std::string workflow{};  ///< API-format graph as JSON text; opaque to the scheduler
  std::string shape{};     ///< cost-estimation key (see workflow_shape()); empty means "unknown shape"
  bool priority = false; ///< the priority lane (instructor demos): served before all normal work
  std::string id{};        ///< optional caller-chosen job id; empty lets the store (or scheduler) choose
  /// The submitter's own estimate of the job's GPU time, charged when it starts and used for
  /// forecasts in place of what comfyq learned (a tool that knows its workload); 0 lets comfyq
  /// estimate from measured runs. The measured runtime still teaches the averages.
  duration estimate{};
};

/// A job and everything the queue knows about it.
struct job {
  std::string id{};
  std::string tenant{};
  std::string workflow{};
  std::string shape{};
  bool priority = false;
  duration estimate{};                 ///< the submitter's estimate; 0: none
  job_state state = job_state::queued;
  std::uint64_t seq = 0;               ///< submission order, unique within a queue
  time_point submitted_at{};
  time_point started_at{};             ///< when the current (or last) lease began
  time_point finished_at{};            ///< when it reached a final state
  std::uint32_t attempt = 0;           ///< leases so far; the number of the current one while running
  std::uint32_t failures = 0;          ///< runs that counted against max_attempts (expired, retryable failure)
  std::uint64_t token = 0;             ///< fencing token of the current (or last) lease
  std::string worker{};                  ///< worker holding the current (or last) lease
  time_point lease_expires_at{};
  time_point last_heartbeat{};
  duration charged{};                  ///< estimated cost charged to the tenant when leased
  bool cancel_requested = false;       ///< running job: its worker is told to stop (wait_for_stop_request, heartbeat)
  bool preempt_requested = false;      ///< running job: give the GPU to priority work, requeue without an attempt
  std::string reason{};                  ///< why it failed, died, was cancelled or last requeued
  std::vector<manifest_entry> outputs{}; ///< set when it succeeded
};

/// A worker's right to run one job until `expires_at`, identified by its fencing token.
struct lease {
  std::string job_id{};
  std::string tenant{};
  std::string worker{};
  std::string workflow{};
  std::uint64_t token = 0;
  std::uint32_t attempt = 0;
  bool priority = false;
  time_point expires_at{};
  duration estimate{};
};

/// What a heartbeat tells the worker.
struct lease_status {
  time_point expires_at{};
  bool cancel_requested = false;   ///< interrupt ComfyUI, then release(): the job becomes cancelled
  bool preempt_requested = false;  ///< interrupt ComfyUI, then release(): the job is requeued, no attempt counted
  bool drain_requested = false;    ///< the worker is draining: finish this job, the store leases it nothing more
};

}  // namespace comfyq
