#pragma once
// The embedded store: a comfyq::scheduler behind a mutex, with a clock, an event log and
// waiting workers. One process, nothing to install; what the server uses by default.
//
//   comfyq::store::memory queue;                       // fair_share, system clock
//   std::string id = queue.submit({.tenant = "alice", .workflow = graph});
//   if (auto lease = queue.wait_for_lease("gpu0", std::chrono::seconds(5))) { ... }

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/scheduler.hpp"
#include "comfyq/store/clock.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/store/detail/event_log.hpp"
#include "comfyq/store/detail/job_ids.hpp"
#include "comfyq/util/string_map.hpp"
#include "comfyq/worker_info.hpp"

namespace comfyq::store {

struct memory_options {
  scheduler_config scheduler{};
  store::clock clock = system_now;
  std::size_t event_log_limit = 10'000;  ///< events kept for readers that resume
};

class memory final : public contract {
  // Runs a change under the lock at the clock's now, and wakes waiting workers and readers
  // when it logged anything (a submission, a requeue, a resume...).
  template <class Change>
  auto changed(Change&& change) {
    std::lock_guard lock(mutex_);
    std::uint64_t seen = log_.last();
    struct notify_on_exit {
      memory& self;
      std::uint64_t seen;
      ~notify_on_exit() { self.notify_if_logged(seen); }
    } notify{*this, seen};
    return change(clock_());
  }

 public:
  explicit memory(memory_options options = {})
      : clock_(checked(std::move(options.clock))),
        queue_(std::move(options.scheduler)),
        log_(options.event_log_limit, first_event_id(clock_())) {
    queue_.on_event([this](const event& e) { log_.append(e); });
  }

  void set_tenant(const tenant_config& tenant) override {
    changed([&](time_point now) { queue_.set_tenant(tenant, now); });
  }
  std::optional<tenant_config> find_tenant(std::string_view id) override {
    std::lock_guard lock(mutex_);
    const tenant_config* found = queue_.find_tenant(id);
    return found ? std::optional(*found) : std::nullopt;
  }
  void pause_tenant(std::string_view id) override {
    changed([&](time_point now) { queue_.pause_tenant(id, now); });
  }
  void resume_tenant(std::string_view id) override {
    changed([&](time_point now) { queue_.resume_tenant(id, now); });
  }
  void pause_queue() override {
    changed([&](time_point now) { queue_.pause_queue(now); });
  }
  void resume_queue() override {
    changed([&](time_point now) { queue_.resume_queue(now); });
  }
  void set_policy(policy p) override {
    changed([&](time_point now) { queue_.set_policy(p, now); });
  }
  void set_preemption(bool on) override {
    changed([&](time_point now) { queue_.set_preemption(on, now); });
  }
  queue_ttls ttls() override {
    // Fixed at construction: no lock needed.
    return {.lease_ttl = queue_.config().lease_ttl, .worker_ttl = queue_.config().worker_ttl};
  }

  std::string submit(submit_request request) override {
    return changed([&](time_point now) {
      if (request.id.empty()) request.id = unused_job_id(now, {});
      return queue_.submit(std::move(request), now);
    });
  }
  std::vector<std::string> submit_many(std::vector<submit_request> requests) override {
    return changed([&](time_point now) {
      std::vector<std::string_view> generated;
      for (submit_request& request : requests) {
        if (request.id.empty()) generated.push_back(request.id = unused_job_id(now, generated));
      }
      return queue_.submit_many(std::move(requests), now);
    });
  }
  std::optional<comfyq::lease> lease(std::string_view worker) override {
    return changed([&](time_point now) { return queue_.lease(worker, now); });
  }
  std::optional<comfyq::lease> wait_for_lease(std::string_view worker, duration timeout) override {
    std::unique_lock lock(mutex_);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::uint64_t before = log_.last();
      std::optional<comfyq::lease> granted = queue_.lease(worker, clock_());
      notify_if_logged(before);
      if (granted) return granted;
      std::uint64_t seen = log_.last();
      if (!changes_.wait_until(lock, deadline, [&] { return log_.last() != seen; })) return std::nullopt;
    }
  }
  lease_status heartbeat(std::string_view id, std::uint64_t token) override {
    return changed([&](time_point now) { return queue_.heartbeat(id, token, now); });
  }
  lease_status wait_for_stop_request(std::string_view id, std::uint64_t token, duration timeout) override {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const std::uint64_t before = log_.last();
      const lease_status status = queue_.lease_status_of(id, token, clock_());  // may reap, and log
      notify_if_logged(before);
      if (status.cancel_requested || status.preempt_requested) return status;
      if (std::chrono::steady_clock::now() >= deadline) return status;
      // Requests are logged (cancel_requested, preempt_requested): every one wakes this wait. The
      // check after the deadline reaps a lease that expired meanwhile (lease_lost), as in Redis.
      const std::uint64_t seen = log_.last();
      changes_.wait_until(lock, deadline, [&] { return log_.last() != seen; });
    }
  }
  std::optional<comfyq::lease> held_lease(std::string_view worker) override {
    return changed([&](time_point now) { return queue_.held_lease(worker, now); });
  }
  void report_progress(std::string_view id, std::uint64_t token, const nlohmann::json& data) override {
    changed([&](time_point now) { queue_.report_progress(id, token, data, now); });
  }
  void complete(std::string_view id, std::uint64_t token, std::vector<manifest_entry> outputs) override {
    changed([&](time_point now) { queue_.complete(id, token, std::move(outputs), now); });
  }
  std::optional<comfyq::lease> complete_and_lease(std::string_view id, std::uint64_t token,
                                                  std::vector<manifest_entry> outputs,
                                                  std::string_view worker) override {
    return changed([&](time_point now) {
      queue_.complete(id, token, std::move(outputs), now);
      return queue_.lease(worker, now);
    });
  }
  void fail(std::string_view id, std::uint64_t token, std::string_view reason, failure kind) override {
    changed([&](time_point now) { queue_.fail(id, token, reason, kind, now); });
  }
  void release(std::string_view id, std::uint64_t token) override {
    changed([&](time_point now) { queue_.release(id, token, now); });
  }
  job_state cancel(std::string_view id) override {
    return changed([&](time_point now) { return queue_.cancel(id, now); });
  }
  void set_priority(std::string_view id, bool priority) override {
    changed([&](time_point now) { queue_.set_priority(id, priority, now); });
  }
  void retry(std::string_view id) override {
    changed([&](time_point now) { queue_.retry(id, now); });
  }
  std::size_t expire() override {
    return changed([&](time_point now) { return queue_.expire(now); });
  }
  void touch_worker(std::string_view worker) override {
    changed([&](time_point now) { queue_.touch_worker(worker, now); });
  }

  void register_worker(const worker_info& worker) override {
    changed([&](time_point now) { queue_.register_worker(worker, now); });
  }
  bool remove_worker(std::string_view worker) override {
    return changed([&](time_point now) { return queue_.remove_worker(worker, now); });
  }
  void drain_worker(std::string_view worker) override {
    changed([&](time_point now) { queue_.set_draining(worker, true, now); });
  }
  void resume_worker(std::string_view worker) override {
    changed([&](time_point now) { queue_.set_draining(worker, false, now); });
  }
  void put_object_info(std::string_view sha256, std::string_view document) override {
    validate_object_info(sha256, document);  // outside the lock: hashing megabytes takes a while
    std::lock_guard lock(mutex_);
    object_infos_.try_emplace(std::string(sha256), document);
  }
  std::optional<std::string> object_info(std::string_view sha256) override {
    std::lock_guard lock(mutex_);
    auto it = object_infos_.find(sha256);
    return it == object_infos_.end() ? std::nullopt : std::optional(it->second);
  }

  std::optional<job> find(std::string_view id) override {
    std::lock_guard lock(mutex_);
    const job* found = queue_.find(id);
    return found ? std::optional(*found) : std::nullopt;
  }
  job_page list_jobs(const job_query& q) override {
    std::lock_guard lock(mutex_);
    return queue_.list_jobs(q);
  }
  std::optional<queue_position> position(std::string_view id) override {
    std::lock_guard lock(mutex_);
    return queue_.position(id, clock_());
  }
  std::vector<queue_position> forecast(std::size_t workers = 0,
                                       std::size_t limit = std::numeric_limits<std::size_t>::max()) override {
    std::lock_guard lock(mutex_);
    return queue_.forecast(clock_(), workers, limit);
  }
  queue_snapshot snapshot() override {
    std::lock_guard lock(mutex_);
    return queue_.snapshot(clock_());
  }

  std::vector<logged_event> read_events(std::string_view after, std::size_t max, duration wait) override {
    std::uint64_t cursor = detail::event_log::parse_id(after);
    std::unique_lock lock(mutex_);
    changes_.wait_for(lock, wait, [&] { return log_.has_after(cursor); });
    return log_.read(cursor, max);
  }
  std::string last_event_id() override {
    std::lock_guard lock(mutex_);
    return log_.last_id();
  }

 private:
  // The scheduler's own ids count from "j1" in every scheduler: the store's are unique beyond
  // this queue's life (store/detail/job_ids.hpp). One the queue holds, or `also_taken`, is drawn
  // again.
  std::string unused_job_id(time_point now, std::span<const std::string_view> also_taken) const {
    for (;;) {
      std::string id = detail::generated_job_id(now);
      if (queue_.find(id) == nullptr && std::find(also_taken.begin(), also_taken.end(), id) == also_taken.end()) return id;
    }
  }

  static store::clock checked(store::clock clock) {
    if (!clock) throw invalid_input("clock", "must be set (store::system_now is the usual one)");
    return clock;
  }

  // A store that starts later numbers its events from higher up: 1,000 per millisecond of its
  // clock at start. A client that resumes after the process restarted, with an id it saw
  // before, then gets the new run's events rather than silence until the ids pass its own.
  static std::uint64_t first_event_id(time_point start) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(start.time_since_epoch().count(), 0)) * 1000;
  }

  // Wakes waiting workers and event readers when the log grew since `seen`.
  void notify_if_logged(std::uint64_t seen) {
    if (log_.last() != seen) changes_.notify_all();
  }

  store::clock clock_;
  std::mutex mutex_;
  std::condition_variable changes_;
  scheduler queue_;
  detail::event_log log_;
  comfyq::util::string_map<std::string> object_infos_;  ///< /object_info documents by sha256
};

}  // namespace comfyq::store
