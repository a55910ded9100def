#pragma once
// Queue positions and ETAs by replaying the real picks forward on a lookahead of the live
// scheduling state: W workers, every run taking exactly its estimate, no new arrivals.
// Because the lookahead runs the same dispatcher code as the live queue (and the estimator
// learns from each simulated run as the live one would), "position k" means the k-th job the
// live queue would lease under those assumptions. Runs that end at the same instant are taken
// in lease (token) order.
//
// A replay costs O(tenants) to begin and O(log tenants) per job it starts, so the first N
// positions cost O(tenants + N log tenants) whatever the queue's length. It yields starts one
// at a time and can be resumed, which is what forecast_cache does: one replay per change of
// the queue, shared by every reader, taken as far as the deepest position asked for.
//
// Time. A replay depends on `now` only through when each worker becomes free: a worker idle
// now, or whose run is already overdue, is free at `now`; one whose run should end later, at
// that end. So a replay made at `now` gives exactly what a replay made at a later `now'`
// would, with the ETAs that follow from "free at now" moved by now' - now, as long as no
// comparison of a free time that follows `now` with one that does not would come out
// differently, and no run became overdue in between. The replay tracks the latest such
// `now'` (valid_until), so a cached forecast stays exact while time passes. With several
// workers, some runs overdue and some not, that is often only a millisecond for a deep replay;
// forecast_cache then answers from it for up to scheduler_config::forecast_reuse anyway, which
// differs from an exact answer only where two workers free up within that long of each other.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <string_view>
#include <vector>

#include "comfyq/engine/cost_estimator.hpp"
#include "comfyq/engine/dispatcher.hpp"
#include "comfyq/model.hpp"

namespace comfyq::engine {

/// A run in progress when the forecast starts.
struct running_run {
  std::uint32_t tenant = 0;
  std::string_view shape;
  duration charged{};
  time_point ends{};
  std::uint64_t token = 0;
};

/// One simulated start: job `job` (a handle) starts at `at`, which moves with now when
/// `follows_now` (see the header).
struct forecast_start {
  std::uint32_t job = no_handle;
  time_point at{};
  bool follows_now = false;
};

class forecast_replay {
 public:
  /// `live` and `estimates` must not change while the replay is in use; `running` is copied.
  forecast_replay(const dispatcher& live, const cost_estimator& estimates, std::span<const running_run> running,
                  std::size_t workers, time_point now, std::uint64_t last_token)
      : state_(live), estimates_(estimates), now_(now), last_token_(last_token), frees_(later{this}) {
    for (std::size_t i = running.size(); i < workers; ++i) frees_.push({now, 0, 0, {}, {}, false, true});
    for (const running_run& r : running) {
      bool overdue = r.ends <= now;
      // An end still ahead holds until it passes; after that the worker is free "now".
      if (!overdue) valid_until_ = std::min(valid_until_, r.ends + duration(1));
      frees_.push({overdue ? now : r.ends, r.token, r.tenant, r.shape, r.charged, true, overdue});
    }
  }

  // The heap's comparator refers to this object.
  forecast_replay(const forecast_replay&) = delete;
  forecast_replay& operator=(const forecast_replay&) = delete;

  time_point now() const noexcept { return now_; }
  /// The starts yielded so far are exact for every now' in [now(), valid_until()).
  time_point valid_until() const noexcept { return valid_until_; }

  /// The next job to start, or nothing when every job that can start has. `cost_of(handle)`
  /// is what sets the charge of a queued job: a job_cost.
  template <class CostOf>
  std::optional<forecast_start> next(CostOf&& cost_of) {
    for (;;) {
      if (idle_ > 0) {
        if (std::uint32_t h = state_.pick(); h != no_handle) {
          --idle_;
          std::uint32_t tenant = state_.entry(h).tenant;
          const job_cost cost = cost_of(h);
          std::string_view shape = cost.shape;
          duration estimate = charge_for(estimates_, tenant, cost);
          state_.start(h, estimate);
          frees_.push({current_.at + estimate, ++last_token_, tenant, shape, estimate, true, current_.follows_now});
          return forecast_start{h, current_.at, current_.follows_now};
        }
      }
      if (frees_.empty()) return std::nullopt;
      current_ = frees_.top();
      frees_.pop();
      if (current_.ends_run) {
        state_.finish(current_.tenant, no_handle, current_.charged, current_.charged);
        estimates_.record(current_.tenant, current_.shape, current_.charged);
      }
      ++idle_;
    }
  }

 private:
  struct free_at {
    time_point at;
    std::uint64_t token;  // 0: a worker that is idle now
    std::uint32_t tenant;
    std::string_view shape;
    duration charged;
    bool ends_run;
    bool follows_now;  ///< `at` moves with now
  };

  // Heap order: the earlier free first, ties in token order. Comparing a free time that follows
  // now with one that does not bounds how far now may move before the answer changes.
  struct later {
    forecast_replay* replay;
    bool operator()(const free_at& a, const free_at& b) const {
      if (a.follows_now != b.follows_now) {
        const free_at& moving = a.follows_now ? a : b;
        const free_at& fixed = a.follows_now ? b : a;
        // The moving one is first until it passes the fixed one (or meets it, if its token is
        // larger); the other way round nothing changes as now moves on. Their tokens differ.
        if (moving.at < fixed.at || (moving.at == fixed.at && moving.token < fixed.token)) {
          duration room = fixed.at - moving.at + duration(moving.token < fixed.token ? 1 : 0);
          replay->valid_until_ = std::min(replay->valid_until_, replay->now_ + room);
        }
      }
      return a.at != b.at ? a.at > b.at : a.token > b.token;
    }
  };

  dispatcher_lookahead state_;
  estimate_overlay estimates_;
  time_point now_;
  time_point valid_until_ = time_point::max();
  std::uint64_t last_token_;
  std::priority_queue<free_at, std::vector<free_at>, later> frees_;
  free_at current_{};
  std::size_t idle_ = 0;
};

/// Starts of one replay, kept for every reader until the queue changes: answers position
/// queries by a lookup once the replay has passed the job, and takes the replay further only
/// as far as a query needs.
class forecast_cache {
 public:
  /// Takes the replay for `generation` of the queue (a number that changes with every change
  /// of what a forecast reads) and `workers` until `enough()` or its end, asked at `now`: the
  /// kept replay while it holds at `now` or was made less than `reuse` before, else a new one
  /// from `begin()`, which returns a std::unique_ptr<forecast_replay> made at `now`.
  /// `cost_of(handle)` as for the replay.
  template <class Begin, class CostOf, class Enough>
  void replay_until(std::uint64_t generation, std::size_t workers, time_point now, duration reuse, Begin&& begin,
                    CostOf&& cost_of, Enough&& enough) {
    // At most twice: a new replay holds at its own instant.
    do {
      prepare(generation, workers, now, reuse, begin);
    } while (!extend(now, reuse, cost_of, enough));
  }

  /// The index in starts() of job `h`, if the replay started it.
  std::optional<std::size_t> rank_of(std::uint32_t h) const {
    if (h >= stamp_.size() || stamp_[h] != epoch_) return std::nullopt;
    return rank_[h];
  }
  const std::vector<forecast_start>& starts() const noexcept { return starts_; }

  /// When start `s` is expected, asked at `now`.
  time_point eta(const forecast_start& s, time_point now) const {
    return s.follows_now ? s.at + (now - replay_->now()) : s.at;
  }

 private:
  // Whether the kept replay may answer at `now`.
  bool serves(time_point now, duration reuse) const {
    return replay_->now() <= now && (now < replay_->valid_until() || now - replay_->now() < reuse);
  }

  template <class Begin>
  void prepare(std::uint64_t generation, std::size_t workers, time_point now, duration reuse, Begin& begin) {
    if (replay_ && generation == generation_ && workers == workers_ && serves(now, reuse)) return;
    replay_ = begin();
    generation_ = generation;
    workers_ = workers;
    starts_.clear();
    done_ = false;
    if (++epoch_ == 0) {  // wrapped: old stamps could pass for current ones
      std::fill(stamp_.begin(), stamp_.end(), 0u);
      epoch_ = 1;
    }
  }

  // False if the replay, taken further, may no longer answer at `now`.
  template <class CostOf, class Enough>
  bool extend(time_point now, duration reuse, CostOf& cost_of, Enough& enough) {
    while (!done_ && !enough()) {
      std::optional<forecast_start> s = replay_->next(cost_of);
      if (!s) {
        done_ = true;
        break;
      }
      if (s->job >= stamp_.size()) {
        stamp_.resize(s->job + 1, 0u);
        rank_.resize(s->job + 1, 0u);
      }
      stamp_[s->job] = epoch_;
      rank_[s->job] = static_cast<std::uint32_t>(starts_.size());
      starts_.push_back(*s);
    }
    return serves(now, reuse);
  }

  std::unique_ptr<forecast_replay> replay_;
  std::uint64_t generation_ = 0;
  std::size_t workers_ = 0;
  std::vector<forecast_start> starts_;
  bool done_ = false;
  // rank_[h] is valid when stamp_[h] == epoch_: nothing is cleared between replays.
  std::vector<std::uint32_t> stamp_;
  std::vector<std::uint32_t> rank_;
  std::uint32_t epoch_ = 0;
};

}  // namespace comfyq::engine
