#pragma once
// The Redis store: the scheduler's semantics, atomic in Redis, shared by many servers and
// workers. Every state transition is one Lua function (scripts/, one library of Redis
// Functions), run with FCALL in one round trip; time comes from Redis TIME; events go to a
// bounded Redis Stream; tenants, weights, caps, policy and pause flags live in Redis, so every
// process sees the same queue.
//
//   comfyq::redis::store queue(comfyq::redis::connection_options::from_url("redis://127.0.0.1:6379"),
//                              {.queue = "workshop"});
//   std::string id = queue.submit({.tenant = "alice", .workflow = graph});
//   if (auto lease = queue.wait_for_lease("gpu0", std::chrono::seconds(5))) { ... }
//
// Safe to use from many threads: each thread talks to Redis over its own connection (pool).
// When Redis cannot be reached a call throws store_unavailable; if the connection broke after
// the command was sent, the call may or may not have happened (the message says so).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/ids.hpp"
#include "comfyq/job_query.hpp"
#include "comfyq/json.hpp"
#include "comfyq/redis/connection_options.hpp"
#include "comfyq/redis/detail/decode.hpp"
#include "comfyq/redis/detail/forecast_mirror.hpp"
#include "comfyq/redis/detail/refusal.hpp"
#include "comfyq/redis/pool.hpp"
#include "comfyq/redis/scripts/all.hpp"
#include "comfyq/scheduler_config.hpp"
#include "comfyq/store/clock.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/store/detail/job_ids.hpp"
#include "comfyq/store/refusals.hpp"
#include "comfyq/submission.hpp"
#include "comfyq/worker_info.hpp"

namespace comfyq::redis {

struct store_options {
  std::string queue = "default";  ///< the queue's name: its keys are "comfyq:{<queue>}:..."
  scheduler_config scheduler{};   ///< written to Redis: every process of a queue must agree
  std::size_t event_log_limit = 10'000;  ///< events kept in the stream (about: trimming is approximate)
  /// Keep the settings the queue already has in Redis, writing `scheduler` and
  /// `event_log_limit` only to a queue that has none: for processes that work a queue
  /// another one configures (comfyq-worker beside the server), so they cannot undo its settings.
  bool keep_existing_settings = false;
  /// Tests only: a clock to use instead of Redis TIME, so that stores can be compared at the same times.
  std::optional<comfyq::store::clock> clock{};
};

class store final : public comfyq::store::contract {
 public:
  store(connection_options connect, store_options options)
      : options_((validate_options(options), std::move(options))),
        prefix_("comfyq:{" + options_.queue + "}:"),
        queue_key_(prefix_ + "q"),
        connections_(std::move(connect)),
        forecasts_({.call = [this](const library_function& f, std::span<const std::string_view> args) { return run(f, args); },
                    .command = [this](std::span<const std::string_view> argv) { return connection().command(argv); },
                    .prefix = prefix_},
                   options_.scheduler.forecast_reuse) {
    configure();
  }

  /// The key prefix of this queue, "comfyq:{<queue>}:".
  const std::string& prefix() const noexcept { return prefix_; }

  /// True when keep_existing_settings found settings in the queue and kept them: the options'
  /// scheduler settings (lease_ttl, max_attempts, ...) are not the queue's. A call on any thread
  /// that finds the settings gone (a Redis that restarted empty) writes them again and updates
  /// this, which may be asked on any thread meanwhile.
  bool kept_existing_settings() const noexcept { return kept_existing_settings_.load(); }

  void set_tenant(const tenant_config& tenant) override {
    validate_id("tenant.id", tenant.id);
    validate_tenant_settings("tenant", tenant);
    run(scripts::set_tenant, {tenant.id, fmt_double(tenant.weight), std::to_string(tenant.max_running),
                              std::to_string(tenant.max_queued)});
  }
  std::optional<tenant_config> find_tenant(std::string_view id) override {
    reply r = run(scripts::read_tenant_settings, {id});
    if (r.is_nil()) return std::nullopt;
    return tenant_config{.id = std::string(id),
                         .weight = detail::to_double(r.at(0).string()),
                         .max_running = static_cast<std::uint32_t>(detail::to_int(r.at(1).string())),
                         .max_queued = static_cast<std::uint32_t>(detail::to_int(r.at(2).string()))};
  }
  void pause_tenant(std::string_view id) override { run(scripts::pause_tenant, {id, flag(true)}); }
  void resume_tenant(std::string_view id) override { run(scripts::pause_tenant, {id, flag(false)}); }
  void pause_queue() override { run(scripts::pause_queue, {flag(true)}); }
  void resume_queue() override { run(scripts::pause_queue, {flag(false)}); }
  void set_policy(policy p) override { run(scripts::set_policy, {to_string(p)}); }
  void set_preemption(bool on) override { run(scripts::set_preemption, {flag(on)}); }
  queue_ttls ttls() override {
    reply r = run(scripts::read_ttls, {});
    return {.lease_ttl = duration(r.at(0).integer()), .worker_ttl = duration(r.at(1).integer())};
  }

  std::string submit(submit_request request) override {
    validate_id("tenant", request.tenant);
    validate_submission(request);
    // The random part of a generated id; Lua adds the time from Redis's clock.
    const std::string random = request.id.empty() ? comfyq::store::detail::random_id_part() : std::string();
    reply r = run(scripts::submit_job,
                  {request.tenant, request.id, request.shape, flag(request.priority), request.workflow, random,
                   std::to_string(request.estimate.count())});
    return std::string(r.string());
  }
  std::vector<std::string> submit_many(std::vector<submit_request> requests) override {
    validate_batch(requests);
    if (requests.empty()) return {};
    // Each job's arguments as submit() passes them; `texts` holds those made here (reserved: the
    // views stay valid).
    std::vector<std::string> texts;
    texts.reserve(requests.size() * 2);
    std::vector<std::string_view> args;
    args.reserve(requests.size() * 7);
    for (const submit_request& request : requests) {
      const std::string& random = texts.emplace_back(request.id.empty() ? comfyq::store::detail::random_id_part() : "");
      const std::string& estimate = texts.emplace_back(std::to_string(request.estimate.count()));
      args.insert(args.end(), {request.tenant, request.id, request.shape, flag(request.priority), request.workflow,
                               random, estimate});
    }
    reply r = run(scripts::submit_jobs, args);
    std::vector<std::string> ids;
    ids.reserve(requests.size());
    for (reply_view id : r.elements()) ids.emplace_back(id.string());
    return ids;
  }
  std::optional<comfyq::lease> lease(std::string_view worker) override {
    validate_id("worker", worker);
    return detail::decode_lease(run(scripts::lease_job, {worker}));
  }
  std::optional<comfyq::lease> wait_for_lease(std::string_view worker, duration timeout) override {
    validate_id("worker", worker);
    if (timeout <= duration::zero()) return lease(worker);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (duration left = timeout; left > duration::zero();
         left = std::chrono::duration_cast<duration>(deadline - std::chrono::steady_clock::now())) {
      // Leases if it can; else the script registers the worker as waiting for `step`, and the
      // next script that makes work startable leases it to the worker and puts the lease in its
      // mailbox. A later step renews the registration (and takes a lease handed in between).
      const duration step = std::min(left, longest_registration);
      reply r = run(scripts::lease_job, {worker, std::to_string(step.count())});
      if (!r.is_nil()) return detail::decode_lease(r);
      reply handed = connection().command_with_timeout({"BLPOP", mailbox_key(worker), seconds_text(step)}, step);
      if (!handed.is_nil()) return detail::decode_packed_lease(handed.at(1).string());
    }
    // Timed out: a hand-off that came just before the worker stopped waiting is still its own.
    reply late = run(scripts::stop_waiting, {worker});
    if (late.is_nil()) return std::nullopt;
    return detail::decode_packed_lease(late.string());
  }
  lease_status heartbeat(std::string_view id, std::uint64_t token) override {
    return decode_status(run(scripts::heartbeat_job, {id, std::to_string(token)}, token));
  }
  lease_status wait_for_stop_request(std::string_view id, std::uint64_t token, duration timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::string token_text = std::to_string(token);
    const std::string wake_ups = prefix_ + "stop:" + std::string(id);
    for (;;) {
      // A request pushes a wake-up to the job's list; one that comes after this check and before
      // the BLPOP waits in the list, so none is missed.
      const lease_status status = decode_status(run(scripts::read_stop_request, {id, token_text}, token));
      const auto left = std::chrono::duration_cast<duration>(deadline - std::chrono::steady_clock::now());
      if (status.cancel_requested || status.preempt_requested || left <= duration::zero()) return status;
      connection().command_with_timeout({"BLPOP", wake_ups, seconds_text(left)}, left);
    }
  }
  std::optional<comfyq::lease> held_lease(std::string_view worker) override {
    if (!is_valid_id(worker)) return std::nullopt;  // never seen, as in the memory store
    return detail::decode_lease(run(scripts::held_lease, {worker}));
  }
  void report_progress(std::string_view id, std::uint64_t token, const nlohmann::json& data) override {
    run(scripts::report_progress, {id, std::to_string(token), data.dump()}, token);
  }
  void complete(std::string_view id, std::uint64_t token, std::vector<manifest_entry> outputs) override {
    run(scripts::complete_job, {id, std::to_string(token), nlohmann::json(outputs).dump(), ""}, token);
  }
  std::optional<comfyq::lease> complete_and_lease(std::string_view id, std::uint64_t token,
                                                  std::vector<manifest_entry> outputs,
                                                  std::string_view worker) override {
    validate_id("worker", worker);
    return detail::decode_lease(
        run(scripts::complete_job, {id, std::to_string(token), nlohmann::json(outputs).dump(), worker}, token));
  }
  void fail(std::string_view id, std::uint64_t token, std::string_view reason, failure kind) override {
    run(scripts::fail_job, {id, std::to_string(token), reason, flag(kind == failure::retryable)}, token);
  }
  void release(std::string_view id, std::uint64_t token) override {
    run(scripts::release_job, {id, std::to_string(token)}, token);
  }
  job_state cancel(std::string_view id) override {
    return parse_job_state(run(scripts::cancel_job, {id}).string()).value_or(job_state::cancelled);
  }
  void set_priority(std::string_view id, bool priority) override {
    if (!is_valid_id(id)) throw comfyq::store::unknown_job(id);  // no job has it, as in the memory store
    run(scripts::set_job_priority, {id, flag(priority)});
  }
  void retry(std::string_view id) override {
    if (!is_valid_id(id)) throw comfyq::store::unknown_job(id);
    run(scripts::retry_job, {id});
  }
  std::size_t expire() override { return static_cast<std::size_t>(run(scripts::expire_leases, {}).integer()); }
  void touch_worker(std::string_view worker) override {
    validate_id("worker", worker);
    run(scripts::touch_worker, {worker});
  }

  void register_worker(const worker_info& worker) override {
    validate_worker_info(worker);
    run(scripts::register_worker, {worker.id, worker.comfyui, worker.comfyui_version, worker.gpu,
                                   to_string(worker.condition), worker.object_info});
  }
  bool remove_worker(std::string_view worker) override {
    if (!is_valid_id(worker)) return true;  // never seen, as in the memory store
    return run(scripts::remove_worker, {worker}).integer() == 1;
  }
  void drain_worker(std::string_view worker) override { set_draining(worker, true); }
  void resume_worker(std::string_view worker) override { set_draining(worker, false); }
  void put_object_info(std::string_view sha256, std::string_view document) override {
    validate_object_info(sha256, document);
    std::string key = object_info_key(sha256);
    // Workers with the same nodes share one document: only the first one sends its megabytes.
    if (connection().command({"EXISTS", key}).integer() == 1) return;
    reply r = connection().command({"SET", key, document, "NX"});
    if (!r.is_nil()) r.expect_ok();  // nil: another worker put it first
  }
  std::optional<std::string> object_info(std::string_view sha256) override {
    reply r = connection().command({"GET", object_info_key(sha256)});
    std::optional<std::string_view> document = r.string_or_nil();
    return document ? std::optional<std::string>(*document) : std::nullopt;
  }

  std::optional<job> find(std::string_view id) override {
    reply r = run(scripts::read_job, {id});
    if (r.is_nil()) return std::nullopt;
    return detail::decode_job(id, r);
  }
  job_page list_jobs(const job_query& q) override {
    read_job_query(q);  // refuses what the memory store refuses, with its words
    std::string states;
    for (job_state state : q.states) (states += to_string(state)) += ' ';
    reply r = run(scripts::list_jobs,
                  {q.tenant, states, std::to_string(q.limit), q.after, std::to_string(job_page_scan)});
    job_page page{.next = std::string(r.at(0).string())};
    reply_view jobs = r.at(1);
    for (std::size_t i = 0; i + 1 < jobs.size(); i += 2) page.jobs.push_back(detail::decode_job(jobs.at(i).string(), jobs.at(i + 1)));
    return page;
  }
  /// Made in this process from a copy of the queue that follows its event stream (see
  /// detail/forecast_mirror.hpp): a call costs Redis one small script, plus reading what changed.
  std::optional<queue_position> position(std::string_view id) override { return forecasts_.position(id); }
  std::vector<queue_position> forecast(std::size_t workers = 0,
                                       std::size_t limit = std::numeric_limits<std::size_t>::max()) override {
    return forecasts_.forecast(workers, limit);
  }
  queue_snapshot snapshot() override { return detail::decode_snapshot(run(scripts::read_snapshot, {})); }

  std::vector<comfyq::store::logged_event> read_events(std::string_view after, std::size_t max, duration wait) override {
    std::string count = std::to_string(std::max<std::size_t>(max, 1));
    std::string key = prefix_ + "ev";
    std::string cursor(after.empty() ? "0" : after);
    reply r = wait > duration::zero()
                  ? connection().command_with_timeout(
                        {"XREAD", "COUNT", count, "BLOCK", std::to_string(wait.count()), "STREAMS", key, cursor}, wait)
                  : connection().command({"XREAD", "COUNT", count, "STREAMS", key, cursor});
    if (r.is_error()) {
      throw invalid_input("after", "'" + comfyq::detail::printable(after) + "' is not an event id (" +
                                       std::string(r.error_message()) + "); pass \"0\" or the id of an event you read");
    }
    std::vector<comfyq::store::logged_event> out;
    if (r.is_nil()) return out;
    for (reply_view entry : r.at(0).at(1).elements()) {
      out.push_back({std::string(entry.at(0).string()), detail::decode_event(entry.at(1))});
    }
    return out;
  }
  std::string last_event_id() override {
    reply r = connection().command({"XREVRANGE", prefix_ + "ev", "+", "-", "COUNT", "1"});
    return r.size() == 0 ? "0" : std::string(r.at(0).at(0).string());
  }

 private:
  static void validate_options(const store_options& options) {
    validate_id("queue", options.queue);
    validate(options.scheduler);
    if (options.event_log_limit == 0) throw invalid_input("event_log_limit", "must be at least 1 (10000 is a good start)");
  }

  // A waiting worker is registered for at most this long at a time, renewing as it goes on
  // waiting: a worker that dies while waiting can be handed a job (which then runs again once
  // its lease expires, as after any crash) only within this long after its death.
  static constexpr duration longest_registration = std::chrono::seconds(1);

  static std::string_view flag(bool on) { return on ? "1" : "0"; }
  /// A blocking command's timeout, in the seconds Redis takes.
  static std::string seconds_text(duration wait) { return std::to_string(static_cast<double>(wait.count()) / 1000.0); }
  /// {expires_at, cancel_requested, preempt_requested, drain_requested}, as heartbeat_body returns it.
  static lease_status decode_status(reply_view r) {
    return lease_status{detail::to_time(r.at(0).integer()), r.at(1).integer() != 0, r.at(2).integer() != 0,
                        r.at(3).integer() != 0};
  }

  void set_draining(std::string_view worker, bool draining) {
    if (!is_valid_id(worker)) throw comfyq::store::unknown_worker(worker);  // never seen, as in the memory store
    run(scripts::drain_worker, {worker, flag(draining)});
  }
  static std::string fmt_double(double x) { return nlohmann::json(x).dump(); }

  redis::connection& connection() { return connections_.get(); }

  std::string object_info_key(std::string_view sha256) const { return prefix_ + "oi:" + std::string(sha256); }
  std::string mailbox_key(std::string_view worker) const { return prefix_ + "mb:" + std::string(worker); }

  // Writes the queue's settings (every process of a queue writes the same ones), or only
  // fills in those missing when keep_existing_settings says so.
  void configure() {
    const scheduler_config& c = options_.scheduler;
    reply r = connection().fcall(
        scripts::configure_queue, {queue_key_},
        {to_string(c.policy), std::to_string(c.lease_ttl.count()), std::to_string(c.worker_ttl.count()),
         std::to_string(c.max_attempts), std::to_string(c.history_limit), std::to_string(c.default_estimate.count()),
         fmt_double(c.estimate_smoothing), flag(c.preemption), fmt_double(c.new_tenant.weight),
         std::to_string(c.new_tenant.max_running), std::to_string(c.new_tenant.max_queued),
         std::to_string(options_.event_log_limit), flag(options_.keep_existing_settings)});
    if (r.is_error()) detail::throw_refusal(scripts::configure_queue.name(), r);
    kept_existing_settings_.store(r.integer() == 0);
  }

  std::string now_argument() const {
    return options_.clock ? std::to_string((*options_.clock)().time_since_epoch().count()) : std::string();
  }

  // Runs a transition with ARGV = now, args...; a queue whose settings vanished (a Redis that
  // restarted empty) is configured again and the call retried once.
  reply run(const library_function& f, std::initializer_list<std::string_view> args, std::uint64_t token = 0) {
    return run(f, std::span(args.begin(), args.size()), token);
  }
  reply run(const library_function& f, std::span<const std::string_view> args, std::uint64_t token = 0) {
    std::string now = now_argument();
    std::vector<std::string_view> argv{now};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string_view keys[] = {queue_key_};
    reply r = connection().fcall(f, keys, argv);
    if (r.is_error_code("COMFYQ") && r.error_message() == "COMFYQ unconfigured") {
      configure();
      r = connection().fcall(f, keys, argv);
    }
    if (r.is_error()) detail::throw_refusal(f.name(), r, token);
    return r;
  }

  store_options options_;
  std::string prefix_;
  std::string queue_key_;
  pool connections_;
  std::atomic<bool> kept_existing_settings_{false};
  detail::forecast_mirror forecasts_;
};

}  // namespace comfyq::redis
