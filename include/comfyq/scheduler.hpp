#pragma once
// The queue: jobs, leases with fencing tokens, requeue, caps, pause, preemption, and the
// fair choice of what runs next. Single-threaded, no I/O, no clock: every call takes `now`.
//
//   comfyq::scheduler queue;                          // fair_share, 60 s leases
//   queue.set_tenant({.id = "alice", .weight = 1}, now);
//   std::string id = queue.submit({.tenant = "alice", .workflow = graph_json}, now);
//   if (auto lease = queue.lease("worker-1", now)) {
//     queue.heartbeat(lease->job_id, lease->token, now + 20s);
//     queue.complete(lease->job_id, lease->token, outputs, now + 40s);
//   }
//
// A call that throws changes nothing. Calls that act on a lease take its fencing token and
// throw lease_lost when the token is not the job's current one: a worker that was presumed
// dead can never overwrite the work of the worker that took over. Expired leases are reaped
// at the start of every call that takes a token or leases (and by expire()).

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/detail/flat_id_index.hpp"
#include "comfyq/detail/indexed_heap.hpp"
#include "comfyq/engine/cost_estimator.hpp"
#include "comfyq/engine/dispatcher.hpp"
#include "comfyq/engine/forecast.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/events.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/job_query.hpp"
#include "comfyq/model.hpp"
#include "comfyq/scheduler_config.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/store/refusals.hpp"
#include "comfyq/submission.hpp"
#include "comfyq/util/string_map.hpp"
#include "comfyq/worker_info.hpp"

namespace comfyq {

class scheduler {
 public:
  /// Receives every event, synchronously, in order.
  using event_sink = std::function<void(const event&)>;

  explicit scheduler(scheduler_config config = {})
      : config_((validate(config), std::move(config))),
        dispatch_(config_.policy),
        estimates_(config_.default_estimate, config_.estimate_smoothing) {}

  // Leases and the dispatcher refer to this object's own storage.
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  const scheduler_config& config() const noexcept { return config_; }
  void on_event(event_sink sink) { sink_ = std::move(sink); }

  // ---- configuration -------------------------------------------------------------------

  /// Adds a tenant or changes its weight and caps (jobs already queued or running stay).
  void set_tenant(const tenant_config& tenant, time_point now) {
    validate_id("tenant.id", tenant.id);
    validate_tenant_settings("tenant", tenant);
    std::uint32_t t = tenant_index(tenant.id, tenant);
    tenants_[t].config = tenant;
    dispatch_.configure_tenant(t, tenant.weight, tenant.max_running);
    changed();
    emit_tenant(t, now);
  }

  /// The tenant's settings, or nullptr if it never was configured nor submitted.
  const tenant_config* find_tenant(std::string_view id) const {
    auto it = tenant_ids_.find(id);
    return it == tenant_ids_.end() ? nullptr : &tenants_[it->second].config;
  }

  /// A paused tenant keeps its queued jobs, but none of them starts until it is resumed.
  void pause_tenant(std::string_view id, time_point now) { set_tenant_paused(id, true, now); }
  void resume_tenant(std::string_view id, time_point now) { set_tenant_paused(id, false, now); }

  /// While the queue is paused, jobs are accepted but none starts.
  void pause_queue(time_point now) { set_queue_paused(true, now); }
  void resume_queue(time_point now) { set_queue_paused(false, now); }

  void set_policy(policy p, time_point now) {
    dispatch_.set_policy(p);
    changed();
    emit_queue(now);
  }

  /// Turns preemption on (planning it for the priority work waiting now) or off (withdrawing
  /// the requests to make room).
  void set_preemption(bool on, time_point now) {
    config_.preemption = on;
    if (on) {
      plan_preemptions(now);
    } else {
      leases_.for_each([&](std::uint32_t h) { slots_[h].data.preempt_requested = false; });
    }
    emit_queue(now);
  }

  policy current_policy() const noexcept { return dispatch_.current_policy(); }
  bool queue_paused() const noexcept { return dispatch_.paused(); }

  // ---- jobs ----------------------------------------------------------------------------

  /// Queues a job and returns its id. Throws invalid_input for a bad tenant or id,
  /// quota_exceeded when the tenant already has max_queued jobs waiting.
  std::string submit(submit_request request, time_point now) {
    auto known = tenant_ids_.find(request.tenant);
    if (known == tenant_ids_.end()) validate_id("tenant", request.tenant);  // known ids were checked when added
    validate_submission(request);
    if (!request.id.empty() && ids_.contains(request.id)) throw store::duplicate_job_id(request.id);
    if (known != tenant_ids_.end()) {
      const tenant_record& tenant = tenants_[known->second];
      if (dispatch_.tenant(known->second).queued >= tenant.config.max_queued) {
        throw store::queue_full(request.tenant, tenant.config.max_queued);
      }
    }
    std::uint32_t t = known != tenant_ids_.end() ? known->second : add_tenant(request.tenant, config_.new_tenant);
    std::uint32_t h = allocate_slot();
    job& j = slots_[h].data;
    if (request.id.empty()) {
      assign_generated_id(h);
    } else {
      j.id = std::move(request.id);
      ids_.insert(j.id, h);  // not used: checked above
    }
    j.tenant = std::move(request.tenant);
    j.workflow = std::move(request.workflow);
    j.shape = std::move(request.shape);
    j.priority = request.priority;
    j.estimate = request.estimate;
    j.state = job_state::queued;
    j.seq = ++last_seq_;
    j.submitted_at = now;
    slots_[h].tenant = t;
    list(h);
    dispatch_.enqueue(h, t, j.seq, j.priority);
    changed();
    ++counts_[index(job_state::queued)];
    emit(event_type::submitted, j, now);
    if (j.priority) plan_preemptions(now);
    return slots_[h].data.id;
  }

  /// Queues every job of `requests` as submit() would, one after another, or none of them if
  /// any is refused; the error's field names the job ("jobs[2].tenant"). Returns their ids.
  std::vector<std::string> submit_many(std::vector<submit_request> requests, time_point now) {
    refuse_batch(requests);
    std::vector<std::string> ids;
    ids.reserve(requests.size());
    for (submit_request& request : requests) ids.push_back(submit(std::move(request), now));
    return ids;
  }

  /// Gives `worker` the next job by the current policy, or nothing if none may start now.
  std::optional<comfyq::lease> lease(std::string_view worker, time_point now) {
    auto known = workers_.find(worker);
    if (known == workers_.end()) validate_id("worker", worker);  // known ids were checked when first seen
    expire(now);  // adds and removes no worker, so `known` stays valid
    worker_record& w =
        known != workers_.end() ? known->second : workers_.emplace(std::string(worker), worker_record{}).first->second;
    w.last_seen = std::max(w.last_seen, now);
    if (w.draining) return std::nullopt;
    std::uint32_t h = dispatch_.pick();
    if (h == engine::no_handle) return std::nullopt;
    job& j = slots_[h].data;
    std::uint32_t t = slots_[h].tenant;
    duration estimate = engine::charge_for(estimates_, t, {j.shape, j.estimate});
    dispatch_.start(h, estimate);
    changed();
    prefetch(dispatch_.front());
    move_count(job_state::queued, job_state::running);
    j.state = job_state::running;
    ++j.attempt;
    j.token = ++last_token_;
    j.worker.assign(worker);
    j.started_at = now;
    j.last_heartbeat = now;
    j.lease_expires_at = now + config_.lease_ttl;
    j.charged = estimate;
    j.cancel_requested = false;
    j.preempt_requested = false;
    leases_.push(h, {j.lease_expires_at, j.token});
    w.job = h;
    slots_[h].runner = &w;
    emit(event_type::leased, j, now);
    if (j.priority) plan_preemptions(now);  // one priority job fewer waits
    return lease_of(j);
  }

  /// The lease `worker` holds, if it runs a job (its lease not yet expired at `now`).
  std::optional<comfyq::lease> held_lease(std::string_view worker, time_point now) {
    expire(now);
    auto known = workers_.find(worker);
    if (known == workers_.end() || known->second.job == no_slot) return std::nullopt;
    return lease_of(slots_[known->second.job].data);
  }

  /// Extends the lease and tells the worker whether to stop (cancel) or make room (preempt).
  lease_status heartbeat(std::string_view id, std::uint64_t token, time_point now) {
    expire(now);
    std::uint32_t h = held(id, token);
    job& j = slots_[h].data;
    j.last_heartbeat = now;
    j.lease_expires_at = now + config_.lease_ttl;
    leases_.update(h, {j.lease_expires_at, j.token});
    touch(j.worker, now);
    return status_of(h);
  }

  /// What heartbeat() would answer, without extending the lease. lease_lost on a stale token.
  lease_status lease_status_of(std::string_view id, std::uint64_t token, time_point now) {
    expire(now);
    return status_of(held(id, token));
  }

  /// The job ran to the end; `outputs` is its manifest. Completion wins over a pending cancel:
  /// the work is done and nothing is thrown away.
  void complete(std::string_view id, std::uint64_t token, std::vector<manifest_entry> outputs, time_point now) {
    expire(now);
    std::uint32_t h = held(id, token);
    touch(slots_[h].data.worker, now);  // a worker that reports is alive, busy or not
    job& j = slots_[h].data;
    duration cost = measured(j, now);
    estimates_.record(slots_[h].tenant, j.shape, cost);
    end_run(h, cost);
    j.outputs = std::move(outputs);
    finish(h, job_state::succeeded, "", now);
  }

  /// The job failed. A retryable failure (e.g. ComfyUI died under it) counts against
  /// max_attempts and requeues; a final one (e.g. ComfyUI rejected the workflow) does not retry.
  void fail(std::string_view id, std::uint64_t token, std::string_view reason, failure kind, time_point now) {
    expire(now);
    std::uint32_t h = held(id, token);
    touch(slots_[h].data.worker, now);  // a worker that reports is alive, busy or not
    job& j = slots_[h].data;
    duration cost = measured(j, now);
    if (j.cancel_requested) {
      end_run(h, cost);
      finish(h, job_state::cancelled, "cancelled while running", now);
    } else if (kind == failure::final) {
      end_run(h, cost);
      finish(h, job_state::failed, std::string(reason), now);
    } else {
      count_failure(h, cost, std::string(reason), now);
    }
  }

  /// The worker gives the job back without a result: after a cancel request it becomes
  /// cancelled; otherwise (shutdown, preemption) it is requeued without counting an attempt.
  void release(std::string_view id, std::uint64_t token, time_point now) {
    expire(now);
    std::uint32_t h = held(id, token);
    touch(slots_[h].data.worker, now);  // a worker that reports is alive, busy or not
    job& j = slots_[h].data;
    if (j.cancel_requested) {
      end_run(h, duration::zero());
      finish(h, job_state::cancelled, "cancelled while running", now);
    } else {
      requeue(h, duration::zero(), j.preempt_requested ? "preempted by priority work" : "released by its worker", now);
    }
  }

  /// A queued job is cancelled at once; a running one is marked, and its worker told. Returns the job's state after the call (a finished job is left alone).
  job_state cancel(std::string_view id, time_point now) {
    std::uint32_t h = existing_job(id);
    job& j = slots_[h].data;
    if (j.state == job_state::queued) {
      dispatch_.remove(h);
      changed();
      finish(h, job_state::cancelled, "cancelled while queued", now);
      if (j.priority) plan_preemptions(now);
      return job_state::cancelled;
    }
    if (j.state == job_state::running && !j.cancel_requested) {
      j.cancel_requested = true;
      emit(event_type::cancel_requested, j, now);
    }
    return j.state;
  }

  /// Moves a queued job into (`priority`) or out of the priority lane, where it waits in
  /// submission order, and plans preemptions as for a priority submission. conflict when the job
  /// is not queued. Logged as priority_changed; asking for the lane it is in changes nothing.
  void set_priority(std::string_view id, bool priority, time_point now) {
    std::uint32_t h = existing_job(id);
    job& j = slots_[h].data;
    if (j.state != job_state::queued) throw store::not_queued(j.id, j.state);
    if (j.priority == priority) return;
    dispatch_.move_lane(h, priority);
    changed();
    j.priority = priority;
    emit(event_type::priority_changed, j, now, {{"priority", priority}});
    plan_preemptions(now);
  }

  /// Queues a failed or dead job again under its id, as if submitted now: it joins the back of
  /// its lane, with no reason and max_attempts runs before it dies again. Its attempt goes on
  /// counting, so that each run keeps a folder of its own. conflict for a job in another state,
  /// quota_exceeded when its tenant has max_queued jobs waiting. Logged as retried.
  void retry(std::string_view id, time_point now) {
    std::uint32_t h = existing_job(id);
    job& j = slots_[h].data;
    if (j.state != job_state::failed && j.state != job_state::dead) throw store::not_retryable(j.id, j.state);
    const std::uint32_t t = slots_[h].tenant;
    const tenant_config& tenant = tenants_[t].config;
    if (dispatch_.tenant(t).queued >= tenant.max_queued) throw store::queue_full(j.tenant, tenant.max_queued);
    history_.erase(std::find(history_.begin(), history_.end(), h));
    move_count(j.state, job_state::queued);
    unlist(h);
    j.seq = ++last_seq_;
    j.submitted_at = now;
    list(h);
    j.state = job_state::queued;
    j.failures = 0;
    j.finished_at = {};
    j.reason.clear();
    dispatch_.enqueue(h, t, j.seq, j.priority);
    changed();
    emit(event_type::retried, j, now);
    if (j.priority) plan_preemptions(now);
  }

  /// Drains a worker (`draining`): lease() gives it nothing more, while the job it runs runs to
  /// the end; or lets a drained worker take work again. not_found for a worker the queue does not
  /// know. Logged as drain_changed; asking for what already is changes nothing.
  void set_draining(std::string_view worker, bool draining, time_point now) {
    auto known = workers_.find(worker);
    if (known == workers_.end()) throw store::unknown_worker(worker);
    if (known->second.draining == draining) return;
    known->second.draining = draining;
    changed();  // it no longer counts (or counts again) among the workers a forecast has
    if (sink_) {
      sink_(event{.type = event_type::drain_changed, .at = now, .worker = std::string(worker),
                  .data = {{"draining", draining}}});
    }
    plan_preemptions(now);
  }

  /// Ends every lease that expired by `now`: the job is requeued (counting an attempt), dead
  /// after max_attempts, or cancelled if that was requested. Returns how many expired.
  std::size_t expire(time_point now) {
    std::size_t reaped = 0;
    while (!leases_.empty() && leases_.top_key().first <= now) {
      std::uint32_t h = leases_.top();
      job& j = slots_[h].data;
      ++reaped;
      if (j.cancel_requested) {
        end_run(h, duration::zero());
        finish(h, job_state::cancelled, "cancelled while running (its worker stopped answering)", now);
      } else {
        count_failure(h, duration::zero(), "lease expired: worker '" + j.worker + "' stopped heartbeating", now);
      }
    }
    if (reaped > 0) plan_preemptions(now);
    return reaped;
  }

  /// Records that a worker is alive (an idle worker calls this, or lease(), regularly).
  void touch_worker(std::string_view worker, time_point now) {
    validate_id("worker", worker);
    touch(worker, now);
  }

  /// Forgets a worker that stopped (logged as worker_removed). One that runs a job is kept:
  /// false. An unknown one: true.
  bool remove_worker(std::string_view worker, time_point now) {
    expire(now);
    auto known = workers_.find(worker);
    if (known == workers_.end()) return true;
    const worker_record* w = &known->second;
    // Jobs keep a pointer to the worker of their run until it ends.
    for (const slot& s : slots_) {
      if (s.used && s.data.state == job_state::running && s.runner == w) return false;
    }
    workers_.erase(known);
    if (sink_) sink_(event{.type = event_type::worker_removed, .at = now, .worker = std::string(worker)});
    return true;
  }

  /// Records what a worker is and how it is, and that it is alive. A registration that differs
  /// from the worker's last one (or its first) is logged as worker_changed.
  void register_worker(const worker_info& info, time_point now) {
    validate_worker_info(info);
    worker_record& w = touch(info.id, now);
    if (w.registration == info) return;
    w.registration = info;
    emit_worker(info, now);
  }

  /// Publishes a running job's progress (e.g. {"node", "value", "max"}) as a progress event.
  void report_progress(std::string_view id, std::uint64_t token, const nlohmann::json& data, time_point now) {
    expire(now);
    const job& j = slots_[held(id, token)].data;
    if (!sink_) return;
    sink_(event{.type = event_type::progress,
                .at = now,
                .job = j.id,
                .tenant = j.tenant,
                .worker = j.worker,
                .attempt = j.attempt,
                .data = data});
  }

  // ---- queries -------------------------------------------------------------------------

  /// The job, or nullptr if unknown or forgotten. Valid until the next call that changes the queue.
  const job* find(std::string_view id) const {
    std::uint32_t h = ids_.find(id);
    return h == no_slot ? nullptr : &slots_[h].data;
  }

  /// Calls `visit(const job&)` for every job the queue holds, in no particular order.
  template <class Visit>
  void for_each_job(Visit&& visit) const {
    for (const slot& s : slots_) {
      if (s.used) visit(s.data);
    }
  }

  /// The jobs `q` asks for, newest first, a page at a time (comfyq/job_query.hpp): one lookup in
  /// the tenant's own index, then O(1) per job looked at, never more than job_page_scan.
  job_page list_jobs(const job_query& q) const {
    const job_listing listing = read_job_query(q);
    job_page page;
    const listed_jobs* index = &listed_;
    if (!q.tenant.empty()) {
      auto t = tenant_ids_.find(q.tenant);
      if (t == tenant_ids_.end()) return page;
      index = &tenants_[t->second].listed;
    }
    std::size_t looked = 0;
    auto it = std::make_reverse_iterator(index->lower_bound(listing.below));
    for (; it != index->rend() && page.jobs.size() < q.limit && looked < job_page_scan; ++it, ++looked) {
      const job& j = slots_[it->second].data;
      if (listing.wants(j.state)) page.jobs.push_back(j);
    }
    if (it != index->rend()) page.next = job_cursor(std::prev(it)->first);
    return page;
  }

  /// Where a queued job stands, with the workers up now, or nothing if it is not queued or
  /// cannot start (its tenant or the queue is paused). The same as its entry in forecast().
  /// Costs O(tenants + k log tenants) for a job at position k the first time after a change of
  /// the queue, and a lookup after that: one replay of the queue is kept for every query until
  /// the queue changes (detail/forecast.hpp), so even this const call must not run concurrently
  /// with another call.
  std::optional<queue_position> position(std::string_view id, time_point now) const {
    std::uint32_t h = ids_.find(id);
    if (h == no_slot || slots_[h].data.state != job_state::queued) return std::nullopt;
    if (dispatch_.paused() || dispatch_.tenant(slots_[h].tenant).paused) return std::nullopt;
    std::size_t up = live_workers(now);
    replay_until(now, up, [&] { return forecast_.rank_of(h).has_value(); });
    std::optional<std::size_t> rank = forecast_.rank_of(h);
    if (!rank) return std::nullopt;
    return position_at(*rank, now, up > 0);
  }

  /// The first `limit` queued jobs that can start, in the order they would be leased, with
  /// expected start times for `workers` workers (0: the workers up now; no ETA when none is
  /// up). Costs O(tenants + limit log tenants) at most; shares position()'s replay.
  std::vector<queue_position> forecast(time_point now, std::size_t workers = 0,
                                       std::size_t limit = std::numeric_limits<std::size_t>::max()) const {
    std::size_t up = workers > 0 ? workers : live_workers(now);
    replay_until(now, up, [&] { return forecast_.starts().size() >= limit; });
    std::vector<queue_position> out;
    out.reserve(std::min(limit, forecast_.starts().size()));
    for (std::size_t k = 0; k < forecast_.starts().size() && k < limit; ++k) out.push_back(position_at(k, now, up > 0));
    return out;
  }

  /// Workers heard from within worker_ttl, less those drained: the workers that take work.
  std::size_t live_workers(time_point now) const {
    return static_cast<std::size_t>(std::count_if(workers_.begin(), workers_.end(), [&](const auto& w) {
      return is_live(w.second, now) && !w.second.draining;
    }));
  }

  /// Everything a dashboard shows, as of `now`.
  queue_snapshot snapshot(time_point now) const {
    queue_snapshot s;
    s.at = now;
    s.policy = dispatch_.current_policy();
    s.paused = dispatch_.paused();
    s.preemption = config_.preemption;
    s.queued = counts_[index(job_state::queued)];
    s.running = counts_[index(job_state::running)];
    s.succeeded = counts_[index(job_state::succeeded)];
    s.failed = counts_[index(job_state::failed)];
    s.cancelled = counts_[index(job_state::cancelled)];
    s.dead = counts_[index(job_state::dead)];
    for (const tenant_record& t : tenants_) s.gpu_time += t.gpu_time;
    const std::vector<std::uint32_t> priority_queued = dispatch_.priority_queued();
    for (std::uint32_t t = 0; t < tenants_.size(); ++t) {
      const engine::tenant_account& a = dispatch_.tenant(t);
      double share = s.gpu_time.count() > 0
                         ? static_cast<double>(tenants_[t].gpu_time.count()) / static_cast<double>(s.gpu_time.count())
                         : 0.0;
      s.tenants.push_back({tenants_[t].config, a.paused, a.queued, a.running, tenants_[t].gpu_time, share,
                           a.virtual_clock(), priority_queued[t]});
    }
    std::sort(s.tenants.begin(), s.tenants.end(),
              [](const tenant_snapshot& a, const tenant_snapshot& b) { return a.config.id < b.config.id; });
    for (const auto& [id, w] : workers_) {
      bool busy = w.job != no_slot;
      worker_info said = w.registration.value_or(worker_info{});
      s.workers.push_back({.id = id,
                           .state = worker_state_of(w.last_seen, now, config_.worker_ttl, said.condition, busy, w.draining),
                           .job = busy ? slots_[w.job].data.id : std::string(),
                           .last_seen = w.last_seen,
                           .comfyui = std::move(said.comfyui),
                           .comfyui_version = std::move(said.comfyui_version),
                           .gpu = std::move(said.gpu),
                           .object_info = std::move(said.object_info)});
    }
    std::sort(s.workers.begin(), s.workers.end(),
              [](const worker_snapshot& a, const worker_snapshot& b) { return a.id < b.id; });
    return s;
  }

 private:
  static constexpr std::uint32_t no_slot = 0xffffffffu;
  struct worker_record {
    time_point last_seen{};
    std::uint32_t job = no_slot;  ///< the slot of the job it runs (its last lease, while that runs)
    std::optional<worker_info> registration{};  ///< what it last published, if it ever did
    bool draining = false;  ///< drained (set_draining): leases nothing
  };
  struct slot {
    job data;
    std::uint32_t tenant = 0;
    bool used = false;
    worker_record* runner = nullptr;  ///< the worker of its last lease (map nodes never move)
  };
  /// Jobs by submission number (seq), for listing.
  using listed_jobs = std::map<std::uint64_t, std::uint32_t>;
  struct tenant_record {
    tenant_config config;
    duration gpu_time{};
    listed_jobs listed{};  ///< the tenant's jobs that the queue holds
  };
  struct slot_id {
    const std::vector<slot>* slots;
    std::string_view operator()(std::uint32_t h) const { return (*slots)[h].data.id; }
  };
  using id_index = detail::flat_id_index<slot_id>;
  static_assert(id_index::npos == no_slot);
  static constexpr std::size_t index(job_state state) { return static_cast<std::size_t>(state); }

  void set_tenant_paused(std::string_view id, bool paused, time_point now) {
    std::uint32_t t = existing_tenant(id);
    dispatch_.set_tenant_paused(t, paused);
    changed();
    emit_tenant(t, now);
    plan_preemptions(now);
  }

  void set_queue_paused(bool paused, time_point now) {
    dispatch_.set_paused(paused);
    changed();
    emit_queue(now);
    plan_preemptions(now);
  }

  void move_count(job_state from, job_state to) {
    --counts_[index(from)];
    ++counts_[index(to)];
  }

  std::uint32_t tenant_index(std::string_view id, const tenant_config& settings) {
    auto it = tenant_ids_.find(id);
    return it != tenant_ids_.end() ? it->second : add_tenant(id, settings);
  }

  std::uint32_t add_tenant(std::string_view id, const tenant_config& settings) {
    tenant_config config = settings;
    config.id = std::string(id);
    std::uint32_t t = dispatch_.add_tenant(config.weight, config.max_running);
    tenants_.push_back({std::move(config), {}});
    tenant_ids_.emplace(std::string(id), t);
    return t;
  }

  std::uint32_t existing_tenant(std::string_view id) const {
    auto it = tenant_ids_.find(id);
    if (it == tenant_ids_.end()) throw store::unknown_tenant(id);
    return it->second;
  }

  std::uint32_t existing_job(std::string_view id) const {
    std::uint32_t h = ids_.find(id);
    if (h == no_slot) throw store::unknown_job(id);
    return h;
  }

  // Throws what submit() would refuse of a batch's first job it refuses, counting the jobs before
  // it in the batch as queued.
  void refuse_batch(std::span<const submit_request> requests) const {
    validate_batch(requests);
    util::string_map<std::uint32_t> waiting;  // queued jobs by tenant, those before in the batch included
    util::string_map<std::size_t> chosen;     // the ids the batch chooses, and which job chose each
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const submit_request& request = requests[i];
      if (!request.id.empty() && (ids_.contains(request.id) || !chosen.emplace(request.id, i).second)) {
        throw in_batch(store::duplicate_job_id(request.id), i);
      }
      auto known = tenant_ids_.find(request.tenant);
      const bool is_new = known == tenant_ids_.end();
      const std::uint32_t max_queued = is_new ? config_.new_tenant.max_queued : tenants_[known->second].config.max_queued;
      auto count = waiting.try_emplace(request.tenant, is_new ? 0 : dispatch_.tenant(known->second).queued).first;
      if (count->second >= max_queued) throw in_batch(store::queue_full(request.tenant, max_queued), i);
      ++count->second;
    }
  }

  // The slot of a job running under `token`; anything else is a lost lease.
  std::uint32_t held(std::string_view id, std::uint64_t token) const {
    std::uint32_t h = ids_.find(id);
    if (h == no_slot) throw store::unknown_lease(id);
    const job& j = slots_[h].data;
    if (j.state != job_state::running || j.token != token) throw store::lost_lease(j.id, token, j.state, j.token);
    return h;
  }

  std::uint32_t allocate_slot() {
    std::uint32_t h;
    if (!free_slots_.empty()) {
      h = free_slots_.back();
      free_slots_.pop_back();
    } else {
      h = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    slots_[h].used = true;
    return h;
  }

  // Ids the scheduler chooses: "j" and a counter, skipping any that a caller chose. Unique only
  // within this scheduler: another one counts from "j1" too. The stores pass ids of their own
  // that stay unique beyond a queue's life (store/detail/job_ids.hpp).
  void assign_generated_id(std::uint32_t h) {
    std::string& id = slots_[h].data.id;
    do {
      // Built from a buffer: GCC 12 at -O3 warns falsely (-Wrestrict) on "j" + std::to_string(n).
      char text[24] = {'j'};
      id.assign(text, std::to_chars(text + 1, std::end(text), ++last_generated_id_).ptr);
    } while (!ids_.insert(id, h));
  }

  // A job joins (leaves) the indexes list_jobs() reads, under its current seq.
  void list(std::uint32_t h) {
    listed_.emplace(slots_[h].data.seq, h);
    tenants_[slots_[h].tenant].listed.emplace(slots_[h].data.seq, h);
  }
  void unlist(std::uint32_t h) {
    listed_.erase(slots_[h].data.seq);
    tenants_[slots_[h].tenant].listed.erase(slots_[h].data.seq);
  }

  // What a heartbeat tells the worker of the running job h.
  lease_status status_of(std::uint32_t h) const {
    const job& j = slots_[h].data;
    return lease_status{j.lease_expires_at, j.cancel_requested, j.preempt_requested, slots_[h].runner->draining};
  }

  worker_record& touch(std::string_view worker, time_point now) {
    auto it = workers_.find(worker);
    if (it == workers_.end()) it = workers_.emplace(std::string(worker), worker_record{}).first;
    it->second.last_seen = std::max(it->second.last_seen, now);
    return it->second;
  }

  // Something a forecast reads changed: the kept replay is stale.
  void changed() noexcept { ++generation_; }

  // Takes the kept replay for `up` workers at `now` until `enough()` or its end.
  template <class Enough>
  void replay_until(time_point now, std::size_t up, Enough&& enough) const {
    std::size_t workers = std::max<std::size_t>(up, 1);
    auto begin = [&] {
      std::vector<engine::running_run> running;
      leases_.for_each([&](std::uint32_t h) {
        const job& j = slots_[h].data;
        running.push_back({slots_[h].tenant, j.shape, j.charged, j.started_at + j.charged, j.token});
      });
      return std::make_unique<engine::forecast_replay>(dispatch_, estimates_, running, workers, now, last_token_);
    };
    auto cost_of = [this](std::uint32_t h) { return engine::job_cost{slots_[h].data.shape, slots_[h].data.estimate}; };
    forecast_.replay_until(generation_, workers, now, config_.forecast_reuse, begin, cost_of, enough);
  }

  queue_position position_at(std::size_t rank, time_point now, bool eta_known) const {
    const engine::forecast_start& s = forecast_.starts()[rank];
    return queue_position{slots_[s.job].data.id, rank + 1,
                          eta_known ? std::optional<time_point>(forecast_.eta(s, now)) : std::nullopt};
  }

  // Asks the CPU to start loading job h, the one the next lease most likely starts: with
  // 100,000 jobs queued it is rarely in cache, and waiting for it dominated a lease.
  void prefetch([[maybe_unused]] std::uint32_t h) const {
#if defined(__GNUC__)
    if (h == engine::no_handle) return;
    const char* bytes = reinterpret_cast<const char*>(&slots_[h]);
    for (std::size_t at = 0; at < sizeof(slot); at += 64) __builtin_prefetch(bytes + at);  // 64-byte cache lines
    __builtin_prefetch(&dispatch_.entry(h));
#endif
  }

  bool is_live(const worker_record& w, time_point now) const { return now - w.last_seen < config_.worker_ttl; }

  static duration measured(const job& j, time_point now) { return std::max(duration::zero(), now - j.started_at); }

  // The lease is over; the tenant pays `cost` instead of what was charged at lease time.
  void end_run(std::uint32_t h, duration cost) {
    job& j = slots_[h].data;
    leases_.erase(h);
    dispatch_.finish(slots_[h].tenant, h, j.charged, cost);
    changed();
    tenants_[slots_[h].tenant].gpu_time += cost;
    release_worker(h);
  }

  void requeue(std::uint32_t h, duration cost, std::string reason, time_point now) {
    job& j = slots_[h].data;
    leases_.erase(h);
    dispatch_.restart(h, j.charged, cost);
    changed();
    tenants_[slots_[h].tenant].gpu_time += cost;
    release_worker(h);
    move_count(job_state::running, job_state::queued);
    j.state = job_state::queued;
    j.cancel_requested = false;
    j.preempt_requested = false;
    j.reason = std::move(reason);
    emit(event_type::requeued, j, now);
  }

  void count_failure(std::uint32_t h, duration cost, std::string reason, time_point now) {
    job& j = slots_[h].data;
    ++j.failures;
    if (j.failures >= config_.max_attempts) {
      end_run(h, cost);
      finish(h, job_state::dead,
             reason + " (failed " + std::to_string(j.failures) + " of max_attempts " +
                 std::to_string(config_.max_attempts) + ")",
             now);
    } else {
      requeue(h, cost, std::move(reason), now);
    }
  }

  void release_worker(std::uint32_t h) {
    if (slots_[h].runner->job == h) slots_[h].runner->job = no_slot;
  }

  // The job reaches a final state and joins the bounded history.
  void finish(std::uint32_t h, job_state state, std::string reason, time_point now) {
    job& j = slots_[h].data;
    move_count(j.state, state);
    j.state = state;
    j.finished_at = now;
    j.reason = std::move(reason);
    j.cancel_requested = false;
    j.preempt_requested = false;
    emit(final_event(state), j, now);
    history_.push_back(h);
    while (history_.size() > config_.history_limit) forget(history_.front());
  }

  void forget(std::uint32_t h) {
    history_.pop_front();
    --counts_[index(slots_[h].data.state)];
    unlist(h);
    ids_.erase(slots_[h].data.id, h);
    // Made anew in place: assigning a fresh slot{} would move every member.
    std::destroy_at(&slots_[h]);
    std::construct_at(&slots_[h]);
    free_slots_.push_back(h);
  }

  static event_type final_event(job_state state) {
    switch (state) {
      case job_state::succeeded: return event_type::succeeded;
      case job_state::failed: return event_type::failed;
      case job_state::cancelled: return event_type::cancelled;
      default: return event_type::dead;
    }
  }

  // With preemption on, every priority job that no idle worker will take gets one running
  // normal job interrupted for it: the most recently started one, which loses the least work.
  // Requests no longer needed (the priority job was taken by a worker that freed up first, or
  // cancelled) are withdrawn, the longest-running first, so their runs are not thrown away.
  void plan_preemptions(time_point now) {
    if (!config_.preemption || dispatch_.paused()) return;
    const std::size_t waiting = dispatch_.priority_waiting();
    std::size_t idle = 0;
    for (const auto& [id, w] : workers_) idle += is_live(w, now) && w.job == no_slot && !w.draining;
    const std::size_t needed = waiting > idle ? waiting - idle : 0;
    std::vector<std::uint32_t> asked;
    std::vector<std::uint32_t> candidates;
    leases_.for_each([&](std::uint32_t h) {
      const job& j = slots_[h].data;
      if (j.preempt_requested) {
        asked.push_back(h);
      } else if (!j.priority && !j.cancel_requested) {
        candidates.push_back(h);
      }
    });
    const auto later_lease_first = [this](std::uint32_t a, std::uint32_t b) {
      return slots_[a].data.token > slots_[b].data.token;
    };
    std::sort(asked.begin(), asked.end(), later_lease_first);
    for (std::size_t i = needed; i < asked.size(); ++i) slots_[asked[i]].data.preempt_requested = false;
    std::sort(candidates.begin(), candidates.end(), later_lease_first);
    for (std::size_t i = 0; asked.size() + i < needed && i < candidates.size(); ++i) {
      job& j = slots_[candidates[i]].data;
      j.preempt_requested = true;
      emit(event_type::preempt_requested, j, now);
    }
  }

  void emit(event_type type, const job& j, time_point now, nlohmann::json data = {}) {
    if (!sink_) return;
    bool explains = type == event_type::requeued || is_finished(j.state);
    sink_(event{.type = type,
                .at = now,
                .job = j.id,
                .tenant = j.tenant,
                .worker = j.worker,
                .attempt = j.attempt,
                .reason = explains ? j.reason : std::string(),
                .data = std::move(data)});
  }

  // As the API writes a cap: null when unlimited.
  static nlohmann::json cap_json(std::uint32_t cap) { return cap == unlimited ? nlohmann::json() : nlohmann::json(cap); }

  void emit_tenant(std::uint32_t t, time_point now) {
    if (!sink_) return;
    const tenant_config& c = tenants_[t].config;
    sink_(event{.type = event_type::tenant_changed,
                .at = now,
                .tenant = c.id,
                .data = {{"weight", c.weight},
                         {"max_running", cap_json(c.max_running)},
                         {"max_queued", cap_json(c.max_queued)},
                         {"paused", dispatch_.tenant(t).paused}}});
  }

  void emit_queue(time_point now) {
    if (!sink_) return;
    sink_(event{.type = event_type::queue_changed,
                .at = now,
                .data = {{"policy", to_string(dispatch_.current_policy())},
                         {"paused", dispatch_.paused()},
                         {"preemption", config_.preemption}}});
  }

  static comfyq::lease lease_of(const job& j) {
    return comfyq::lease{.job_id = j.id,
                         .tenant = j.tenant,
                         .worker = j.worker,
                         .workflow = j.workflow,
                         .token = j.token,
                         .attempt = j.attempt,
                         .priority = j.priority,
                         .expires_at = j.lease_expires_at,
                         .estimate = j.charged};
  }

  void emit_worker(const worker_info& info, time_point now) {
    if (!sink_) return;
    sink_(event{.type = event_type::worker_changed,
                .at = now,
                .worker = info.id,
                .data = {{"comfyui", info.comfyui},
                         {"comfyui_version", info.comfyui_version},
                         {"gpu", info.gpu},
                         {"condition", to_string(info.condition)},
                         {"object_info", info.object_info}}});
  }

  scheduler_config config_;
  engine::dispatcher dispatch_;
  engine::cost_estimator estimates_;
  std::vector<slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  id_index ids_{slot_id{&slots_}};
  std::vector<tenant_record> tenants_;
  util::string_map<std::uint32_t> tenant_ids_;
  util::string_map<worker_record> workers_;
  detail::indexed_heap<std::pair<time_point, std::uint64_t>> leases_;  // by {expiry, token}: ties go in lease order
  std::deque<std::uint32_t> history_;
  listed_jobs listed_;  ///< every job the queue holds, by seq
  std::array<std::size_t, 6> counts_{};
  std::uint64_t last_seq_ = 0;
  std::uint64_t last_token_ = 0;
  std::uint64_t last_generated_id_ = 0;
  std::uint64_t generation_ = 0;  ///< counts changes of what a forecast reads
  mutable engine::forecast_cache forecast_;  ///< the replay position() and forecast() share
  event_sink sink_;
};

}  // namespace comfyq
