#pragma once
// A copy, in this process, of what a forecast reads of a queue kept in Redis: every tenant's
// account, the jobs queued in each lane with their shapes, the averages of the estimates, the
// runs in progress and the queue's policy, pause and counters. It is changed record by record,
// from the records as Redis stores them, and answers positions and forecasts with the memory
// store's replay (engine::forecast_cache), kept until the copy changes. forecast_mirror.hpp
// keeps it up to date.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/engine/cost_estimator.hpp"
#include "comfyq/engine/dispatcher.hpp"
#include "comfyq/engine/forecast.hpp"
#include "comfyq/redis/detail/decode.hpp"
#include "comfyq/redis/reply.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/util/string_map.hpp"

namespace comfyq::redis::detail {

class queue_copy {
 public:
  /// `reuse`: scheduler_config::forecast_reuse.
  explicit queue_copy(duration reuse) : reuse_(reuse) { clear(); }

  /// Empty, as before anything was read.
  void clear() {
    state_ = std::make_unique<comfyq::engine::dispatcher>();
    estimates_ = std::make_unique<comfyq::engine::cost_estimator>(duration(60'000), 0.3);  // set_estimating() settles it
    tenant_ids_.clear();
    tenant_records_.clear();
    jobs_.clear();
    job_handles_.clear();
    free_handles_.clear();
    averages_.clear();
    running_.clear();
    policy_ = policy::fair_share;
    paused_ = false;
    turns_ = last_token_ = 0;
    ++generation_;
  }

  // ---- changing it, from what Redis holds ---------------------------------------------------

  /// A tenant's record (nil: none).
  void apply_tenant(std::string_view id, reply_view record) {
    if (record.is_nil()) return;  // tenants are never removed
    const std::string_view packed = record.string();
    const tenant_record saved = decode_tenant_record(packed);
    const comfyq::engine::tenant_account account{.weight = saved.weight,
                                                 .max_running = saved.max_running,
                                                 .paused = saved.paused,
                                                 .settled_clock = saved.settled_clock,
                                                 .in_flight = saved.in_flight,
                                                 .turn = saved.turn,
                                                 .running = saved.running};
    auto known = tenant_ids_.find(id);
    if (known == tenant_ids_.end()) {
      tenant_ids_.emplace(std::string(id), state_->restore_tenant(account));
      tenant_records_.emplace_back(packed);
    } else if (tenant_records_[known->second] != packed) {
      state_->restore_account(known->second, account);
      tenant_records_[known->second] = packed;
    } else {
      return;
    }
    ++generation_;
  }

  /// A job's record (nil: gone). A job is in its lane while its record says queued.
  void apply_job(std::string_view id, reply_view record) {
    if (record.is_nil()) {
      leave(id);
      return;
    }
    const job_record j = decode_job_record(record.string());
    if (j.queued) {
      enter(id, j.tenant, j.seq, j.priority, {j.shape, j.estimate});
    } else {
      leave(id);
    }
  }

  /// The records of the jobs running now (nil: gone since).
  void apply_running(reply_view records) {
    std::vector<running_job> now_running;
    for (reply_view record : records.elements()) {
      if (record.is_nil()) continue;
      const job_record j = decode_job_record(record.string());
      auto t = tenant_ids_.find(j.tenant);
      if (t == tenant_ids_.end()) continue;
      now_running.push_back({t->second, j.shape, j.charged, j.started_at, j.token});
    }
    if (now_running == running_) return;
    running_ = std::move(now_running);
    ++generation_;
  }

  /// A field of the averages of the estimates and its value (nil: none).
  void apply_average(std::string_view field, reply_view value) {
    if (value.is_nil() || !(field.starts_with("s:") || field.starts_with("t:"))) return;
    const double average = to_double(value.string());
    auto known = averages_.find(field);
    if (known != averages_.end() && known->second == average) return;
    if (known == averages_.end()) {
      averages_.emplace(std::string(field), average);
    } else {
      known->second = average;
    }
    restore_average(field, average);
    ++generation_;
  }

  void apply_settings(policy p, bool paused, std::uint64_t turns, std::uint64_t last_token) {
    if (p == policy_ && paused == paused_ && turns == turns_ && last_token == last_token_) return;
    if (p != state_->current_policy()) state_->set_policy(p);
    state_->set_paused(paused);
    state_->restore_turns(turns);
    policy_ = p;
    paused_ = paused;
    turns_ = turns;
    last_token_ = last_token;
    ++generation_;
  }

  /// The queue's default_estimate and estimate_smoothing.
  void set_estimating(duration fallback, double smoothing) {
    if (fallback == estimates_->fallback() && smoothing == estimates_->smoothing()) return;
    estimates_ = std::make_unique<comfyq::engine::cost_estimator>(fallback, smoothing);
    for (const auto& [field, average] : averages_) restore_average(field, average);
    ++generation_;
  }

  // ---- answering -----------------------------------------------------------------------------

  /// Where a queued job stands at `now` with `live` workers up, as scheduler::position().
  std::optional<queue_position> position(std::string_view id, time_point now, std::size_t live) {
    auto found = job_handles_.find(id);
    if (found == job_handles_.end()) return std::nullopt;  // not queued
    const std::uint32_t h = found->second;
    if (state_->paused() || state_->tenant(jobs_[h].tenant).paused) return std::nullopt;
    replay_until(now, live, [&] { return forecast_.rank_of(h).has_value(); });
    const std::optional<std::size_t> rank = forecast_.rank_of(h);
    if (!rank) return std::nullopt;
    return position_at(*rank, now, live > 0);
  }

  /// As scheduler::forecast(), with `live` workers up.
  std::vector<queue_position> forecast(time_point now, std::size_t live, std::size_t workers, std::size_t limit) {
    const std::size_t up = workers > 0 ? workers : live;
    replay_until(now, up, [&] { return forecast_.starts().size() >= limit; });
    std::vector<queue_position> out;
    out.reserve(std::min(limit, forecast_.starts().size()));
    for (std::size_t k = 0; k < forecast_.starts().size() && k < limit; ++k) out.push_back(position_at(k, now, up > 0));
    return out;
  }

 private:
  struct mirrored_job {
    std::string id;
    std::string shape;
    duration estimate{};  ///< the submitter's; 0: none
    std::uint64_t seq = 0;
    std::uint32_t tenant = 0;
    bool priority = false;
  };
  struct running_job {
    std::uint32_t tenant = 0;
    std::string shape;
    duration charged{};
    time_point started_at{};
    std::uint64_t token = 0;
    bool operator==(const running_job&) const = default;
  };

  void enter(std::string_view id, std::string_view tenant, std::uint64_t seq, bool priority, comfyq::engine::job_cost cost) {
    auto t = tenant_ids_.find(tenant);
    if (t == tenant_ids_.end()) return;  // a tenant not read yet: the events that name the job name it too
    if (auto found = job_handles_.find(id); found != job_handles_.end()) {
      const mirrored_job& j = jobs_[found->second];
      if (j.seq == seq && j.tenant == t->second && j.priority == priority) return;
      leave(id);  // the id was forgotten and used again
    }
    std::uint32_t h;
    if (free_handles_.empty()) {
      h = static_cast<std::uint32_t>(jobs_.size());
      jobs_.emplace_back();
    } else {
      h = free_handles_.back();
      free_handles_.pop_back();
    }
    jobs_[h] = mirrored_job{std::string(id), std::string(cost.shape), cost.submitted, seq, t->second, priority};
    job_handles_.emplace(jobs_[h].id, h);
    state_->restore_job(h, t->second, seq, priority);
    ++generation_;
  }

  void leave(std::string_view id) {
    auto found = job_handles_.find(id);
    if (found == job_handles_.end()) return;
    const std::uint32_t h = found->second;
    state_->remove(h);
    job_handles_.erase(found);
    free_handles_.push_back(h);
    ++generation_;
  }

  // "s:<shape>" is a shape's average, "t:<tenant>:<shape>" a tenant's (ids have no ':').
  void restore_average(std::string_view field, double average) {
    if (field.starts_with("s:")) {
      estimates_->restore_shape(field.substr(2), average);
      return;
    }
    const std::size_t colon = field.find(':', 2);
    if (colon == std::string_view::npos) return;
    auto t = tenant_ids_.find(field.substr(2, colon - 2));
    if (t != tenant_ids_.end()) estimates_->restore(t->second, field.substr(colon + 1), average);
  }

  template <class Enough>
  void replay_until(time_point now, std::size_t up, Enough&& enough) {
    const std::size_t workers = std::max<std::size_t>(up, 1);
    auto begin = [&] {
      std::vector<comfyq::engine::running_run> running;
      for (const running_job& r : running_) {
        running.push_back({r.tenant, r.shape, r.charged, r.started_at + r.charged, r.token});
      }
      return std::make_unique<comfyq::engine::forecast_replay>(*state_, *estimates_, running, workers, now, last_token_);
    };
    auto cost_of = [this](std::uint32_t h) { return comfyq::engine::job_cost{jobs_[h].shape, jobs_[h].estimate}; };
    forecast_.replay_until(generation_, workers, now, reuse_, begin, cost_of, enough);
  }

  queue_position position_at(std::size_t rank, time_point now, bool eta_known) const {
    const comfyq::engine::forecast_start& s = forecast_.starts()[rank];
    return queue_position{jobs_[s.job].id, rank + 1,
                          eta_known ? std::optional<time_point>(forecast_.eta(s, now)) : std::nullopt};
  }

  duration reuse_;
  std::unique_ptr<comfyq::engine::dispatcher> state_;
  std::unique_ptr<comfyq::engine::cost_estimator> estimates_;
  comfyq::util::string_map<std::uint32_t> tenant_ids_;
  std::vector<std::string> tenant_records_;  ///< as last read, by tenant index: what changed
  std::vector<mirrored_job> jobs_;           ///< by handle
  comfyq::util::string_map<std::uint32_t> job_handles_;  ///< queued jobs only
  std::vector<std::uint32_t> free_handles_;
  comfyq::util::string_map<double> averages_;  ///< estimate fields as last read
  std::vector<running_job> running_;
  policy policy_ = policy::fair_share;
  bool paused_ = false;
  std::uint64_t turns_ = 0;
  std::uint64_t last_token_ = 0;
  std::uint64_t generation_ = 0;  ///< counts changes of the copy
  comfyq::engine::forecast_cache forecast_;
};

}  // namespace comfyq::redis::detail
