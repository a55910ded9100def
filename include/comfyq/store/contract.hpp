#pragma once
// The store contract: every state transition and query of a queue, as one interface that the
// embedded memory store (store::memory, one process) and the Redis store (redis::store, many
// servers and workers) both implement, and that the server and the worker are written against.
//
// A store reads its own clock: the memory store an injected one (the system clock by default),
// the Redis store Redis's TIME, so lease expiry never depends on a worker's clock. Every call
// is atomic: it happens entirely or, when it throws, not at all. Errors are those of
// comfyq/errors.hpp; a store that cannot be reached throws store_unavailable.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/events.hpp"
#include "comfyq/job_query.hpp"
#include "comfyq/model.hpp"
#include "comfyq/scheduler_config.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/worker_info.hpp"

namespace comfyq::store {

/// An event as kept in a store's bounded event log. Ids increase; a reader passes the id of
/// the last event it saw to resume after it.
struct logged_event {
  std::string id{};
  comfyq::event value{};
};

class contract {
 public:
  virtual ~contract() = default;

  // ---- configuration (shared by every server and worker of the queue) --------------------

  /// Adds a tenant or changes its weight and caps.
  virtual void set_tenant(const tenant_config& tenant) = 0;
  /// The tenant's settings, or nothing if it never was configured nor submitted.
  virtual std::optional<tenant_config> find_tenant(std::string_view id) = 0;
  /// A paused tenant keeps its queued jobs, but none of them starts until it is resumed.
  virtual void pause_tenant(std::string_view id) = 0;
  virtual void resume_tenant(std::string_view id) = 0;
  /// While the queue is paused, jobs are accepted but none starts.
  virtual void pause_queue() = 0;
  virtual void resume_queue() = 0;
  virtual void set_policy(policy p) = 0;
  /// Turns preemption on or off for the whole queue (scheduler_config::preemption): with it on,
  /// priority work that no idle worker will take has a running normal job make room for it at
  /// once; turned off, requests to make room that no worker has acted on are withdrawn.
  virtual void set_preemption(bool on) = 0;
  /// The lease_ttl and worker_ttl the queue applies (in Redis, those of whichever process
  /// configured it): a worker heartbeats, and waits for work, well within both.
  virtual queue_ttls ttls() = 0;

  // ---- jobs ------------------------------------------------------------------------------

  /// Queues a job and returns its id (invalid_input, quota_exceeded).
  virtual std::string submit(submit_request request) = 0;
  /// Queues several jobs in one step (one round trip in Redis) and returns their ids in order:
  /// what submit() of each in turn would do, except that all are queued before any is leased.
  /// All or none: a refusal queues none of them, and its field names the job refused
  /// ("jobs[2].tenant"). At most max_batch_size jobs (comfyq/submission.hpp).
  virtual std::vector<std::string> submit_many(std::vector<submit_request> requests) = 0;
  /// The next job by the current policy for `worker`, or nothing if none may start now.
  virtual std::optional<comfyq::lease> lease(std::string_view worker) = 0;
  /// Like lease(), but when nothing may start, waits up to `timeout` to be woken by work that
  /// may (a submission, a requeue, a resume) and tries again. No polling loop.
  virtual std::optional<comfyq::lease> wait_for_lease(std::string_view worker, duration timeout) = 0;
  /// Extends the lease; says whether to stop (cancel) or make room (preempt). lease_lost on a stale token.
  virtual lease_status heartbeat(std::string_view id, std::uint64_t token) = 0;
  /// Waits up to `timeout` for a request to stop the running job (a cancel or a preempt) and
  /// returns as soon as there is one, so that a worker hears of it at once rather than at its
  /// next heartbeat. Answers as heartbeat() does, but does not extend the lease. lease_lost on
  /// a stale token. Safe to call from a thread of its own while the worker heartbeats.
  virtual lease_status wait_for_stop_request(std::string_view id, std::uint64_t token, duration timeout) = 0;
  /// The lease `worker` holds now, if any: a worker restarted under the same id reclaims what its
  /// previous life held, and a worker that lost the answer of complete_and_lease() finds the
  /// lease that call may have handed it.
  virtual std::optional<comfyq::lease> held_lease(std::string_view worker) = 0;
  /// A running job's progress (e.g. {"node", "value", "max"}), published as a progress event.
  virtual void report_progress(std::string_view id, std::uint64_t token, const nlohmann::json& data) = 0;
  /// The job ran to the end with these outputs.
  virtual void complete(std::string_view id, std::uint64_t token, std::vector<manifest_entry> outputs) = 0;
  /// complete() and then lease() for `worker`, in one step (one round trip in Redis).
  virtual std::optional<comfyq::lease> complete_and_lease(std::string_view id, std::uint64_t token,
                                                          std::vector<manifest_entry> outputs,
                                                          std::string_view worker) = 0;
  /// The job failed; a retryable failure requeues it (counting an attempt), a final one does not.
  virtual void fail(std::string_view id, std::uint64_t token, std::string_view reason, failure kind) = 0;
  /// The worker gives the job back: requeued without an attempt, or cancelled if that was asked.
  virtual void release(std::string_view id, std::uint64_t token) = 0;
  /// Cancels a queued job at once, or asks a running job's worker to stop. Returns the state after.
  virtual job_state cancel(std::string_view id) = 0;
  /// Moves a queued job into (`priority`) or out of the priority lane. In it, the job starts
  /// before all normal work, in submission order, and with the queue's preemption on it makes
  /// room as a priority submission does; back in its tenant's lane it waits its tenant's turn.
  /// Logged as priority_changed; asking for the lane the job is in changes nothing. not_found
  /// for an unknown job, conflict for one that is not queued.
  virtual void set_priority(std::string_view id, bool priority) = 0;
  /// Queues a failed or dead job again under its id, as if submitted now (the back of its lane,
  /// no reason, max_attempts runs before it dies again; its attempt goes on counting). Logged as
  /// retried. not_found for an unknown job, conflict for one in another state, quota_exceeded
  /// when its tenant has max_queued jobs waiting.
  virtual void retry(std::string_view id) = 0;
  /// Reaps every expired lease now (lease() and the calls that take a token do it too).
  virtual std::size_t expire() = 0;
  /// Records that an idle worker is alive.
  virtual void touch_worker(std::string_view worker) = 0;

  // ---- workers ---------------------------------------------------------------------------

  /// Publishes what a worker is and how it is (also counts as touch_worker). A change of anything
  /// but liveness is logged as a worker_changed event.
  virtual void register_worker(const worker_info& worker) = 0;
  /// Forgets a worker that stopped, so that it no longer shows (logged as worker_removed).
  /// A worker that holds a lease is kept: false. A worker the store does not know: true.
  virtual bool remove_worker(std::string_view worker) = 0;
  /// Drains a worker: lease(), wait_for_lease() and complete_and_lease() give it nothing more,
  /// the job it runs runs to the end, its heartbeats say drain_requested and snapshot() shows it
  /// draining. Logged as drain_changed. not_found for a worker the store does not know.
  virtual void drain_worker(std::string_view worker) = 0;
  /// Lets a drained worker take work again (logged as drain_changed); not_found as drain_worker.
  virtual void resume_worker(std::string_view worker) = 0;
  /// Keeps a ComfyUI /object_info document under its sha256, once, shared by workers with the same nodes.
  virtual void put_object_info(std::string_view sha256, std::string_view document) = 0;
  /// The document put under `sha256`, or nothing.
  virtual std::optional<std::string> object_info(std::string_view sha256) = 0;

  // ---- queries ---------------------------------------------------------------------------

  /// A copy of the job, or nothing if unknown or forgotten.
  virtual std::optional<job> find(std::string_view id) = 0;
  /// The jobs `q` asks for, newest first, a page at a time (comfyq/job_query.hpp): cheap for a
  /// tenant with few jobs however many the queue holds. Jobs the store forgot are not listed.
  virtual job_page list_jobs(const job_query& q) = 0;
  /// Where a queued job stands, or nothing if it is not queued or cannot start now. Its entry
  /// in forecast(); cheap however long the queue is (docs/policies.md says what it costs).
  virtual std::optional<queue_position> position(std::string_view id) = 0;
  /// The first `limit` queued jobs that can start (all of them by default), in lease order,
  /// with ETAs for `workers` (0: those up now).
  virtual std::vector<queue_position> forecast(std::size_t workers = 0,
                                               std::size_t limit = std::numeric_limits<std::size_t>::max()) = 0;
  virtual queue_snapshot snapshot() = 0;

  // ---- events ----------------------------------------------------------------------------

  /// Up to `max` events logged after the event `after` ("0": from the oldest kept), waiting up
  /// to `wait` for the first one when there is none yet.
  virtual std::vector<logged_event> read_events(std::string_view after, std::size_t max, duration wait) = 0;
  /// The id of the newest event ("0" when there is none): read_events(last_event_id(), ...)
  /// gives only what happens from now on.
  virtual std::string last_event_id() = 0;
};

}  // namespace comfyq::store
