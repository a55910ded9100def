#pragma once
// Who used the GPUs when: each tenant's GPU time in buckets of a minute, kept from the event
// feed, so that a dashboard can show the share of the last hour and how it moved, which the
// store's totals (tenant_snapshot::gpu_time, of the whole workshop) cannot. A run counts from
// its lease to its end (requeued or finished), the time its worker was given to it; a run still
// going counts up to the time of the report. Time is a parameter: nothing here reads a clock.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "comfyq/events.hpp"
#include "comfyq/model.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/util/string_map.hpp"

namespace comfyq::server {

/// One tenant's use of the GPUs over a report's window.
struct tenant_usage {
  std::string tenant{};
  duration total{};              ///< in the window
  double share = 0.0;            ///< total / every tenant's total in the window (0 when nothing ran)
  std::vector<duration> series;  ///< per bucket, oldest first
};

/// Every tenant's use over [from, to), in buckets of `bucket` ending at `to`.
struct usage_report {
  time_point from{}, to{};
  duration bucket{};
  std::vector<tenant_usage> tenants;  ///< by tenant id; those that used nothing in the window are left out
};

class usage_history {
 public:
  /// Keeps `retention` of history in buckets of `bucket`.
  explicit usage_history(duration bucket = std::chrono::minutes(1), duration retention = std::chrono::hours(24))
      : bucket_(bucket), retention_(retention) {}

  /// Takes the feed's events in order (event_feed::delivery).
  void observe(const std::vector<store::logged_event>& events) {
    const std::lock_guard lock(mutex_);
    for (const store::logged_event& logged : events) {
      const event& e = logged.value;
      switch (e.type) {
        case event_type::leased: running_.insert_or_assign(e.job, run{e.tenant, e.at}); break;
        case event_type::requeued:
        case event_type::succeeded:
        case event_type::failed:
        case event_type::cancelled:
        case event_type::dead: end_run(e.job, e.at); break;
        default: break;
      }
    }
  }

  /// The use of the `buckets` buckets that end at `now` (the last one partly elapsed).
  usage_report report(time_point now, std::size_t buckets = 60) const {
    const std::lock_guard lock(mutex_);
    const std::int64_t last = index_of(now);
    const std::int64_t first = last - static_cast<std::int64_t>(buckets) + 1;
    usage_report out{.from = start_of(first), .to = now, .bucket = bucket_, .tenants = {}};
    std::map<std::string, std::vector<duration>> series;
    const auto add = [&](const std::string& tenant, std::int64_t index, duration used) {
      if (index < first || index > last || used <= duration::zero()) return;
      std::vector<duration>& s = series[tenant];
      s.resize(buckets);
      s[static_cast<std::size_t>(index - first)] += used;
    };
    for (const auto& [tenant, used] : used_) {
      for (auto it = used.lower_bound(first); it != used.end() && it->first <= last; ++it) add(tenant, it->first, it->second);
    }
    for (const auto& entry : running_) {
      const run& r = entry.second;  // not a structured binding: clang 14 cannot capture one
      spread(r.since, now, [&](std::int64_t index, duration part) { add(r.tenant, index, part); });
    }
    duration everyone{};
    for (auto& [tenant, s] : series) {
      tenant_usage u{.tenant = tenant, .total = {}, .share = 0.0, .series = std::move(s)};
      for (duration d : u.series) u.total += d;
      everyone += u.total;
      out.tenants.push_back(std::move(u));
    }
    for (tenant_usage& u : out.tenants) {
      u.share = everyone > duration::zero() ? static_cast<double>(u.total.count()) / static_cast<double>(everyone.count()) : 0.0;
    }
    return out;
  }

 private:
  struct run {
    std::string tenant;
    time_point since;
  };

  void end_run(const std::string& job, time_point at) {
    const auto found = running_.find(job);
    if (found == running_.end()) return;  // leased before the oldest event the feed read
    std::map<std::int64_t, duration>& used = used_[found->second.tenant];
    spread(found->second.since, at, [&](std::int64_t index, duration part) { used[index] += part; });
    used.erase(used.begin(), used.lower_bound(index_of(at - retention_)));
    running_.erase(found);
  }

  // Calls take(bucket index, the part of [from, to) in it) for each bucket [from, to) touches.
  template <class Take>
  void spread(time_point from, time_point to, Take take) const {
    while (from < to) {
      const std::int64_t index = index_of(from);
      const time_point end = std::min(to, start_of(index + 1));
      take(index, end - from);
      from = end;
    }
  }

  std::int64_t index_of(time_point t) const {
    const std::int64_t ms = t.time_since_epoch().count();
    const std::int64_t size = bucket_.count();
    return ms >= 0 ? ms / size : (ms - size + 1) / size;
  }
  time_point start_of(std::int64_t index) const { return time_point(bucket_ * index); }

  duration bucket_;
  duration retention_;
  mutable std::mutex mutex_;
  util::string_map<run> running_;                                   ///< by job
  std::map<std::string, std::map<std::int64_t, duration>> used_;  ///< by tenant, by bucket index
};

}  // namespace comfyq::server
