#pragma once
// What went wrong lately, for the instructor's dashboard: jobs that failed or died (ComfyUI's
// rejections among them), runs that ended without a result and wait again (a worker lost),
// workers whose ComfyUI stopped answering, all kept from the event feed; and workers no longer
// heard from, which no event says (a worker that dies cannot), so they are found in snapshots.
// The newest `keep`.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "comfyq/events.hpp"
#include "comfyq/model.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/util/string_map.hpp"
#include "comfyq/worker_info.hpp"

namespace comfyq::server {

struct recent_error {
  time_point at{};
  std::string kind{};  ///< job_failed, job_dead, job_requeued, comfyui_down, worker_gone
  std::string tenant{}, job{}, worker{};
  std::string reason{};
};

class recent_errors {
 public:
  explicit recent_errors(std::size_t keep = 100) : keep_(keep) {}

  /// Takes the feed's events in order (event_feed::delivery).
  void observe(const std::vector<store::logged_event>& events) {
    const std::lock_guard lock(mutex_);
    for (const store::logged_event& logged : events) {
      const event& e = logged.value;
      if (e.type == event_type::leased) running_on_.insert_or_assign(e.job, e.worker);
      if (std::optional<recent_error> error = error_of(e)) add(std::move(*error));
      if (is_end_of_run(e.type)) running_on_.erase(e.job);
    }
  }

  /// Takes the workers' states from a snapshot: a worker found down counts as gone from the
  /// time it was last heard from plus `worker_ttl`, once, until it is heard from again.
  void observe_workers(const queue_snapshot& snapshot, duration worker_ttl) {
    const std::lock_guard lock(mutex_);
    std::set<std::string, std::less<>> gone;
    for (const worker_snapshot& w : snapshot.workers) {
      if (w.state != worker_state::down) continue;
      gone.insert(w.id);
      if (gone_.contains(w.id)) continue;
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(worker_ttl).count();
      add({.at = w.last_seen + worker_ttl, .kind = "worker_gone", .tenant = {}, .job = w.job, .worker = w.id,
           .reason = "not heard from for " + std::to_string(seconds) + " s: its process stopped, or its machine is "
                     "unreachable" + (w.job.empty() ? std::string() : "; its job waits again when its lease expires")});
    }
    gone_ = std::move(gone);
  }

  /// Newest first.
  std::vector<recent_error> latest() const {
    const std::lock_guard lock(mutex_);
    return {errors_.begin(), errors_.end()};
  }

 private:
  std::optional<recent_error> error_of(const event& e) {
    const auto on_job = [&](std::string kind) {
      const auto worker = running_on_.find(e.job);
      return recent_error{.at = e.at, .kind = std::move(kind), .tenant = e.tenant, .job = e.job,
                          .worker = !e.worker.empty() || worker == running_on_.end() ? e.worker : worker->second,
                          .reason = e.reason};
    };
    switch (e.type) {
      case event_type::failed: return on_job("job_failed");
      case event_type::dead: return on_job("job_dead");
      case event_type::requeued: return on_job("job_requeued");
      case event_type::worker_changed: {
        const bool down = e.data.is_object() && e.data.value("condition", "") == to_string(worker_condition::comfyui_down);
        const bool was_down = comfyui_down_.contains(e.worker);
        if (down) comfyui_down_.insert(e.worker);
        else comfyui_down_.erase(e.worker);
        if (!down || was_down) return std::nullopt;  // said once, when it goes down
        return recent_error{.at = e.at, .kind = "comfyui_down", .tenant = {}, .job = {}, .worker = e.worker,
                            .reason = "its ComfyUI (" + e.data.value("comfyui", std::string()) + ") does not answer"};
      }
      default: return std::nullopt;
    }
  }

  // In time order, newest first: a worker found gone may have gone before the latest event.
  void add(recent_error error) {
    const auto later = std::find_if(errors_.begin(), errors_.end(), [&](const recent_error& e) { return e.at <= error.at; });
    errors_.insert(later, std::move(error));
    if (errors_.size() > keep_) errors_.pop_back();
  }

  static bool is_end_of_run(event_type type) {
    return type == event_type::requeued || type == event_type::succeeded || type == event_type::failed ||
           type == event_type::cancelled || type == event_type::dead;
  }

  std::size_t keep_;
  mutable std::mutex mutex_;
  std::deque<recent_error> errors_;
  util::string_map<std::string> running_on_;  ///< the worker of each running job, by job
  std::set<std::string, std::less<>> comfyui_down_;  ///< workers whose ComfyUI is down
  std::set<std::string, std::less<>> gone_;          ///< workers down in the last snapshot
};

}  // namespace comfyq::server
