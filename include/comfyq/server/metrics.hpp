#pragma once
// The server's Prometheus metrics (GET /metrics). What the queue holds now (jobs per tenant,
// workers by state, whether it is paused) is read from a snapshot at each scrape; how long jobs
// waited and ran, and how they ended, is counted from the event feed as it happens.
//
// Counted from the store's newest event as the server starts (count_after): a restarted server
// starts its counters at zero, as Prometheus expects of a process that starts, rather than
// counting again what the feed replays from the kept log. The replay still tells when the jobs
// that wait or run began, so that their wait and run times count once they start or finish.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "comfyq/events.hpp"
#include "comfyq/model.hpp"
#include "comfyq/server/event_feed.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/util/string_map.hpp"

namespace comfyq::server {

/// Prometheus's text format, as a scrape answers it.
inline constexpr char metrics_content_type[] = "text/plain; version=0.0.4";

class server_metrics {
 public:
  server_metrics() {
    // Each outcome shows from the first scrape on, at 0 until it happens.
    for (const event_type outcome : {event_type::succeeded, event_type::failed, event_type::cancelled, event_type::dead}) {
      finished(outcome);
    }
  }
  server_metrics(const server_metrics&) = delete;
  server_metrics& operator=(const server_metrics&) = delete;

  /// Counts only the events after `last_id` (the store's last_event_id() as the server starts).
  void count_after(std::string_view last_id) {
    const std::lock_guard lock(mutex_);
    counted_after_ = event_order(last_id);
  }

  /// Takes the feed's events in order (event_feed::delivery).
  void observe(const std::vector<store::logged_event>& events) {
    const std::lock_guard lock(mutex_);
    for (const store::logged_event& logged : events) {
      const event& e = logged.value;
      const bool counted = !counted_after_ || event_order(logged.id) > counted_after_;
      switch (e.type) {
        case event_type::submitted:
        case event_type::retried:
        case event_type::requeued:  // the run ended without a result: the job waits again
          waiting_since_[e.job] = e.at;
          running_since_.erase(e.job);
          break;
        case event_type::leased:
          if (const auto since = waiting_since_.find(e.job); since != waiting_since_.end()) {
            if (counted) wait_.Observe(seconds(e.at - since->second));
            waiting_since_.erase(since);
          }
          running_since_[e.job] = e.at;
          break;
        case event_type::succeeded:
        case event_type::failed:
        case event_type::cancelled:
        case event_type::dead:
          if (const auto since = running_since_.find(e.job); since != running_since_.end()) {
            if (counted) run_.Observe(seconds(e.at - since->second));
            running_since_.erase(since);
          }
          waiting_since_.erase(e.job);
          if (counted) finished(e.type).Increment();
          break;
        default: break;
      }
    }
  }

  /// A scrape in Prometheus's text format: `queue` and `stream_clients` as they are now, and
  /// what observe() counted.
  std::string scrape(const queue_snapshot& queue, std::size_t stream_clients) {
    const std::lock_guard lock(mutex_);
    for (const tenant_snapshot& tenant : queue.tenants) {
      queued_family_.Add({{"tenant", tenant.config.id}, {"lane", "normal"}})
          .Set(static_cast<double>(tenant.queued - tenant.queued_priority));
      queued_family_.Add({{"tenant", tenant.config.id}, {"lane", "priority"}}).Set(static_cast<double>(tenant.queued_priority));
      running_family_.Add({{"tenant", tenant.config.id}}).Set(static_cast<double>(tenant.running));
    }
    for (const worker_state state : {worker_state::idle, worker_state::busy, worker_state::down,
                                     worker_state::draining, worker_state::comfyui_down}) {
      const auto in_state = std::count_if(queue.workers.begin(), queue.workers.end(),
                                          [state](const worker_snapshot& w) { return w.state == state; });
      workers_family_.Add({{"state", std::string(to_string(state))}}).Set(static_cast<double>(in_state));
    }
    stream_clients_.Set(static_cast<double>(stream_clients));
    paused_.Set(queue.paused ? 1 : 0);
    return prometheus::TextSerializer().Serialize(registry_.Collect());
  }

 private:
  prometheus::Counter& finished(event_type outcome) {
    return finished_family_.Add({{"outcome", std::string(to_string(outcome))}});
  }

  static double seconds(duration d) { return std::chrono::duration<double>(d).count(); }

  // Buckets in seconds: a ComfyUI job runs for seconds to minutes, and waits up to an hour
  // behind a busy workshop.
  static prometheus::Histogram::BucketBoundaries wait_buckets() {
    return {1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600};
  }
  static prometheus::Histogram::BucketBoundaries run_buckets() { return {1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800}; }

  std::mutex mutex_;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> counted_after_;  ///< nullopt: every event counts
  util::string_map<time_point> waiting_since_;  ///< queued jobs: since when they wait
  util::string_map<time_point> running_since_;  ///< running jobs: when their run began

  prometheus::Registry registry_;
  prometheus::Family<prometheus::Gauge>& queued_family_ =
      prometheus::BuildGauge().Name("comfyq_jobs_queued").Help("Jobs waiting, per tenant and lane (normal or priority)").Register(registry_);
  prometheus::Family<prometheus::Gauge>& running_family_ =
      prometheus::BuildGauge().Name("comfyq_jobs_running").Help("Jobs running, per tenant").Register(registry_);
  prometheus::Family<prometheus::Gauge>& workers_family_ =
      prometheus::BuildGauge().Name("comfyq_workers").Help("Workers, by state").Register(registry_);
  prometheus::Gauge& stream_clients_ = prometheus::BuildGauge()
                                           .Name("comfyq_event_stream_clients")
                                           .Help("Open event streams (GET /api/v1/events)")
                                           .Register(registry_)
                                           .Add({});
  prometheus::Gauge& paused_ =
      prometheus::BuildGauge().Name("comfyq_queue_paused").Help("1 while the queue is paused").Register(registry_).Add({});
  prometheus::Histogram& wait_ = prometheus::BuildHistogram()
                                     .Name("comfyq_job_wait_seconds")
                                     .Help("How long a job waited in the queue before a run began")
                                     .Register(registry_)
                                     .Add({}, wait_buckets());
  prometheus::Histogram& run_ = prometheus::BuildHistogram()
                                    .Name("comfyq_job_run_seconds")
                                    .Help("How long the run that finished a job took")
                                    .Register(registry_)
                                    .Add({}, run_buckets());
  prometheus::Family<prometheus::Counter>& finished_family_ = prometheus::BuildCounter()
                                                                  .Name("comfyq_jobs_finished_total")
                                                                  .Help("Jobs that reached a final state, by outcome")
                                                                  .Register(registry_);
};

}  // namespace comfyq::server
