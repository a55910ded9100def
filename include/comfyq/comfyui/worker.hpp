#pragma once
// comfyq::comfyui::worker: drives one ComfyUI with jobs from a queue (DESIGN.md, Worker).
//
//     comfyq::redis::store queue(...);                       // or store::memory, any store::contract
//     comfyq::comfyui::http_client comfyui({.host = "127.0.0.1", .port = 8188});
//     comfyq::comfyui::tenant_directory files("/srv/comfyq/tenants");
//     comfyq::comfyui::worker worker(queue, comfyui, files, files, {.id = "gpu0-a"});
//     worker.run();                                         // until worker.request_stop()
//
// The loop: make sure ComfyUI answers (registering the worker with its version, GPU and node
// definitions), wait for a lease, run the job (job_run.hpp), tell the store how it ended, and
// lease the next one in the same call when it can. A ComfyUI that cannot be reached is probed
// with jittered, capped backoff while the worker reports itself "comfyui_down"; a store that
// cannot be reached is retried the same way. A cancel or preempt request reaches the running
// job at once (stop_request_watch). After request_stop() the running job gets drain_grace to
// finish (the worker reports "draining"), nothing new is leased, and run() returns having
// removed the worker from the store's list.

#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/backoff.hpp"
#include "comfyq/comfyui/http_client.hpp"
#include "comfyq/comfyui/instance_state.hpp"
#include "comfyq/comfyui/job_run.hpp"
#include "comfyq/comfyui/stop_request_watch.hpp"
#include "comfyq/comfyui/tenant_files.hpp"
#include "comfyq/comfyui/worker_log.hpp"
#include "comfyq/comfyui/worker_options.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/input_staging.hpp"
#include "comfyq/model.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/util/sha256.hpp"

namespace comfyq::comfyui {

class worker {
  using clock = std::chrono::steady_clock;

 public:
  /// Throws invalid_input for options no worker can run with. Connects to nothing yet.
  worker(store::contract& store, http_client comfyui, input_store& inputs, output_store& outputs, worker_options options,
         log_sink log = {})
      : store_(store),
        comfyui_(std::move(comfyui)),
        inputs_(inputs),
        outputs_(outputs),
        options_((options.validate(), std::move(options))),
        log_(std::move(log)),
        waits_(options_.backoff),
        random_(std::random_device{}()) {
    info_.id = options_.id;
    info_.comfyui = comfyui_.options().address();
  }

  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  const worker_options& options() const noexcept { return options_; }

  /// Runs jobs until request_stop(); returns once the running job (if any) finished or was
  /// given back. Throws invalid_input, having done nothing, for options the queue's ttls leave
  /// no room for (worker_options::validate_against).
  void run() {
    log(log_level::info, "worker.started", {{"comfyui", info_.comfyui}});
    while (!stop_.load()) step();
    deregister();
    log(log_level::info, "worker.stopped");
  }

  /// Asks run() (and a running job) to stop; the job gets drain_grace to finish. Only sets a
  /// lock-free flag: safe to call from a signal handler or another thread.
  void request_stop() noexcept { stop_.store(true); }
  bool stop_requested() const noexcept { return stop_.load(); }

  /// One turn of run(): brings ComfyUI up if it is down (or waits a backoff step for it), else
  /// waits up to idle_wait for a job and runs it, and those it leases with it. Returns how many
  /// jobs it ran. A store that cannot be reached makes it wait a backoff step and return.
  std::size_t step() {
    try {
      if (!fits_queue_) check_fits_queue();
      if (!reclaimed_) reclaim_previous_lease();
      if (!comfyui_ready_ && !bring_up_comfyui()) return 0;
      std::optional<comfyq::lease> next = store_.wait_for_lease(options_.id, options_.idle_wait);
      if (!next) check_comfyui_while_idle();
      std::size_t ran = 0;
      while (next) {
        if (stop_.load()) {  // it came as the worker was asked to stop: it runs elsewhere
          give_back(*next);
          break;
        }
        ++ran;
        next = run_job(std::move(*next));
      }
      waits_.reset();
      return ran;
    } catch (const store_unavailable& e) {
      log(log_level::warning, "store.unavailable", {{"reason", e.what()}});
      pause(waits_.next(unit_random()));
      return 0;
    }
  }

 private:
  void log(log_level level, std::string event, nlohmann::json fields = nlohmann::json::object()) const {
    if (!log_) return;
    fields["worker"] = options_.id;
    log_(log_record{.level = level, .event = std::move(event), .fields = std::move(fields)});
  }

  double unit_random() { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }

  // Sleeps `wait`, waking early for a stop request.
  void pause(duration wait) {
    const auto until = clock::now() + wait;
    while (!stop_.load() && clock::now() < until) {
      std::this_thread::sleep_for(std::min<clock::duration>(until - clock::now(), std::chrono::milliseconds(100)));
    }
  }

  // Publishes the worker's registration with `condition` (also a sign of life).
  void say(worker_condition condition) {
    if (stop_.load() && condition == worker_condition::ready) condition = worker_condition::draining;
    info_.condition = condition;
    try {
      store_.register_worker(info_);
    } catch (const store_unavailable& e) {
      log(log_level::warning, "store.register_failed", {{"reason", e.what()}});
    }
  }

  // ---- the worker's own lifetime -------------------------------------------------------------

  // The ttls are the queue's, not this worker's (a Redis queue keeps those of whoever configured
  // it): a heartbeat they leave no room for would lose every job the worker runs.
  void check_fits_queue() {
    options_.validate_against(store_.ttls());
    fits_queue_ = true;
  }

  // A lease this worker's id still holds is its previous life's, killed while running the job:
  // it goes back to the queue now rather than when the lease expires, counting an attempt (the
  // job may be what killed it).
  void reclaim_previous_lease() {
    if (std::optional<comfyq::lease> held = store_.held_lease(options_.id)) {
      log(log_level::warning, "job.reclaimed", {{"job", held->job_id}, {"tenant", held->tenant}, {"attempt", held->attempt}});
      try {
        store_.fail(held->job_id, held->token, "worker '" + options_.id + "' restarted while running it",
                    failure::retryable);
      } catch (const lease_lost&) {
        // expired or taken over in between: nothing of it is this worker's any more
      }
    }
    reclaimed_ = true;
  }

  void give_back(const comfyq::lease& lease) {
    log(log_level::info, "job.given_back", {{"job", lease.job_id}, {"reason", "the worker is stopping"}});
    try {
      settle(lease, [&] { store_.release(lease.job_id, lease.token); });
    } catch (const comfyq::error& e) {
      log(log_level::warning, "job.give_back_failed", {{"job", lease.job_id}, {"reason", e.what()}});
    }
  }

  // A stopped worker leaves the store's list of workers instead of showing "draining" until
  // its registration times out.
  void deregister() {
    try {
      if (!store_.remove_worker(options_.id)) say(worker_condition::draining);
    } catch (const store_unavailable& e) {
      log(log_level::warning, "store.deregister_failed", {{"reason", e.what()}});
    }
  }

  // ---- ComfyUI up and down -----------------------------------------------------------------

  // Probes ComfyUI; when it answers, reads who it is and what nodes it has, clears what an
  // earlier life of this worker left queued there, and registers. Otherwise waits one backoff step.
  bool bring_up_comfyui() {
    try {
      const instance_identity identity = read_system_stats(comfyui_.system_stats());
      publish_object_info(comfyui_.object_info());
      clear_leftovers();
      info_.comfyui_version = identity.version;
      info_.gpu = identity.gpu;
    } catch (const comfyq::error& e) {
      if (e.code() != errc::comfyui_unavailable && e.code() != errc::comfyui_protocol) throw;
      if (waits_.failures() == 0) log(log_level::warning, "comfyui.down", {{"reason", e.what()}});
      say(worker_condition::comfyui_down);
      pause(waits_.next(unit_random()));
      return false;
    }
    log(log_level::info, "comfyui.up", {{"version", info_.comfyui_version}, {"gpu", info_.gpu}});
    waits_.reset();
    comfyui_ready_ = true;
    next_idle_check_ = clock::now() + options_.idle_check;
    say(worker_condition::ready);
    return true;
  }

  // Without work the worker asks nothing of ComfyUI, so it checks now and then: a ComfyUI that
  // stopped answering is brought up again by the next step, which says comfyui_down meanwhile.
  void check_comfyui_while_idle() {
    if (clock::now() < next_idle_check_) return;
    next_idle_check_ = clock::now() + options_.idle_check;
    try {
      comfyui_.system_stats();
    } catch (const comfyq::error& e) {
      if (e.code() != errc::comfyui_unavailable && e.code() != errc::comfyui_protocol) throw;
      comfyui_ready_ = false;
    }
  }

  // The node definitions go to the store only when they changed (a few MB each time otherwise).
  void publish_object_info(const nlohmann::json& object_info) {
    upload_inputs_ = upload_inputs_of(object_info);
    const std::string document = object_info.dump();
    const std::string sha256 = comfyq::util::sha256_hex(document);
    if (sha256 == info_.object_info) return;
    store_.put_object_info(sha256, document);
    info_.object_info = sha256;
    log(log_level::info, "comfyui.object_info_published", {{"sha256", sha256}, {"node_classes", object_info.size()}});
  }

  // Prompts this worker's client id left in ComfyUI (the worker was killed, or lost a lease)
  // would hold the GPU for a job someone else runs now.
  void clear_leftovers() {
    for (const queued_prompt& prompt : comfyui_.queue()) {
      if (prompt.client_id != options_.id) continue;
      if (prompt.running) {
        comfyui_.interrupt(prompt.prompt_id);
      } else {
        comfyui_.delete_pending(prompt.prompt_id);
      }
      log(log_level::info, "comfyui.leftover_stopped", {{"prompt_id", prompt.prompt_id}, {"running", prompt.running}});
    }
  }

  // ---- jobs ----------------------------------------------------------------------------------

  // Runs one job and tells the store how it ended; returns the next job when the store leased
  // one in the same call.
  std::optional<comfyq::lease> run_job(comfyq::lease lease) {
    log(log_level::info, "job.leased", {{"job", lease.job_id}, {"tenant", lease.tenant}, {"attempt", lease.attempt}});
    stop_requests_.watch(lease.job_id, lease.token);
    const run_result result =
        job_run(run_context{store_, comfyui_, inputs_, outputs_, options_, upload_inputs_, stop_, log_, stop_requests_,
                           [this] { say(worker_condition::draining); }},
                lease).run();
    stop_requests_.unwatch();
    log(result.end == run_end::succeeded ? log_level::info : log_level::warning, "job.ended",
        {{"job", lease.job_id}, {"tenant", lease.tenant}, {"attempt", lease.attempt},
         {"end", to_string(result.end)}, {"reason", result.reason}, {"outputs", result.outputs.size()}});
    if (result.comfyui_down) comfyui_ready_ = false;
    try {
      return report(lease, result);
    } catch (const lease_lost& e) {
      log(log_level::warning, "job.lease_lost", {{"job", lease.job_id}, {"reason", e.what()}});
      if (result.end == run_end::succeeded && !succeeded_with(lease)) discard(lease);
      return std::nullopt;
    }
  }

  // The outputs of an attempt whose lease was lost are nobody's; a failure to forget them
  // leaves files no job lists, never a job without its files.
  void discard(const comfyq::lease& lease) {
    try {
      outputs_.discard(lease.tenant, lease.job_id, lease.attempt);
    } catch (const std::exception& e) {
      log(log_level::warning, "job.discard_failed", {{"job", lease.job_id}, {"reason", e.what()}});
    }
  }

  // Whether the store lists the job as succeeded by this lease; when it cannot say, the files
  // are kept rather than lost.
  bool succeeded_with(const comfyq::lease& lease) {
    try {
      const std::optional<job> j = store_.find(lease.job_id);
      return !j || (j->state == job_state::succeeded && j->token == lease.token);
    } catch (const store_unavailable&) {
      return true;
    }
  }

  std::optional<comfyq::lease> report(const comfyq::lease& lease, const run_result& result) {
    const bool lease_next = !stop_.load() && comfyui_ready_;
    switch (result.end) {
      case run_end::succeeded:
        if (lease_next) {
          std::optional<comfyq::lease> next;
          const bool sent = settle(lease, [&] {
            next = store_.complete_and_lease(lease.job_id, lease.token, result.outputs, options_.id);
          });
          // An earlier send that was applied may have handed this worker a lease: take it up.
          return sent ? next : store_.held_lease(options_.id);
        }
        settle(lease, [&] { store_.complete(lease.job_id, lease.token, result.outputs); });
        return std::nullopt;
      case run_end::failed:
        settle(lease, [&] { store_.fail(lease.job_id, lease.token, result.reason, failure::final); });
        return std::nullopt;
      case run_end::failed_retryable:
        settle(lease, [&] { store_.fail(lease.job_id, lease.token, result.reason, failure::retryable); });
        say_if_dead(lease, result);
        return std::nullopt;
      case run_end::released:
        settle(lease, [&] { store_.release(lease.job_id, lease.token); });
        return std::nullopt;
      case run_end::lease_lost:  // a run learns of it before it writes any output
        return std::nullopt;
    }
    return std::nullopt;
  }

  // A retryable failure that used up the job's attempts made it dead; one that ComfyUI died of
  // every time is probably what kills it. Said once, when it is so, not at the first failure.
  void say_if_dead(const comfyq::lease& lease, const run_result& result) {
    try {
      const std::optional<job> j = store_.find(lease.job_id);
      if (!j || j->state != job_state::dead) return;
      const bool poison = result.reason == comfyui_died_reason;
      log(log_level::error, poison ? "job.poison_suspected" : "job.dead",
          {{"job", lease.job_id}, {"tenant", lease.tenant}, {"reason", j->reason}});
    } catch (const store_unavailable&) {
    }
  }

  // Tells the store how a run ended: `call` is complete, fail or release under the lease. A
  // store that does not answer is tried again for up to store_retry (after that the lease
  // expires and the job runs again elsewhere); but a send that failed may have been applied,
  // so before sending again the job's record is read: when it no longer runs under this
  // lease, the earlier send did its work. Returns false when that was so.
  template <class Call>
  bool settle(const comfyq::lease& lease, Call call) {
    const auto deadline = clock::now() + options_.store_retry;
    comfyq::backoff waits(options_.backoff);
    bool uncertain = false;
    for (;;) {
      try {
        if (uncertain && !still_running(lease)) {
          log(log_level::info, "job.outcome_already_recorded", {{"job", lease.job_id}});
          return false;
        }
        call();
        return true;
      } catch (const store_unavailable& e) {
        uncertain = true;
        if (clock::now() >= deadline) throw;
        log(log_level::warning, "store.retrying", {{"reason", e.what()}});
        std::this_thread::sleep_for(std::min<clock::duration>(waits.next(unit_random()), deadline - clock::now()));
      }
    }
  }

  bool still_running(const comfyq::lease& lease) {
    const std::optional<job> j = store_.find(lease.job_id);
    return j && j->state == job_state::running && j->token == lease.token;
  }

  store::contract& store_;
  http_client comfyui_;
  input_store& inputs_;
  output_store& outputs_;
  worker_options options_;
  log_sink log_;
  comfyq::backoff waits_;
  std::minstd_rand random_;
  std::atomic<bool> stop_{false};
  stop_request_watch stop_requests_{store_};
  bool comfyui_ready_ = false;
  clock::time_point next_idle_check_{};  ///< when an idle worker next checks its ComfyUI
  worker_info info_{};
  bool fits_queue_ = false;
  bool reclaimed_ = false;
  std::vector<upload_input> upload_inputs_ = known_upload_inputs();
};

}  // namespace comfyq::comfyui
